"""Keras -> ONNX export shared by train_families.py and tiny_models.py (tf2onnx, opset 13).

The same recipe as train_cnn.py: tf2onnx `from_keras` with `inputs_as_nchw` for image inputs,
BatchNormalization kept as an op (tf2onnx's back-to-back Conv+BN fusion rule is dropped so that
Systole's own BN-folding pass does it), the unused `ai.onnx.ml` opset import removed, the batch
dimension made the symbolic `N`, and `onnx.checker` (full check) run before saving.
"""
from __future__ import annotations

import os
import re
import sys
from collections import Counter

import numpy as np
import onnx
import onnxruntime as ort
import tensorflow as tf
import tf2onnx

sys.path.insert(0, os.path.dirname(__file__))
from digits_data import describe, set_batch_dim_param  # noqa: E402

OPSET = 13


def export(model: tf.keras.Model, shape_nhwc, path: str, doc: str, nchw: bool = True) -> onnx.ModelProto:
    """Export `model` (input named "input", shape [None, *shape_nhwc]) to `path`."""
    spec = [tf.TensorSpec([None, *shape_nhwc], tf.float32, name="input")]
    from tf2onnx.optimizer import back_to_back_optimizer as b2b
    b2b._func_map.pop(("Conv", "BatchNormalization"), None)
    m, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=OPSET,
                                      inputs_as_nchw=["input"] if nchw else None)
    used = {n.domain for n in m.graph.node}
    keep = [o for o in m.opset_import if o.domain in ("", "ai.onnx") or o.domain in used]
    del m.opset_import[:]
    m.opset_import.extend(keep)
    set_batch_dim_param(m)
    canonical_names(m)
    m.doc_string = doc
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, path)
    print(f"{os.path.basename(path)}: {os.path.getsize(path)} bytes, params "
          f"{model.count_params()}, {describe(m, strict=False)}")
    print("  node order:", " ".join(n.op_type for n in m.graph.node))
    return m


def canonical_names(m: onnx.ModelProto) -> None:
    """Renumber tf2onnx's generated suffixes (`name__123`) in order of first use and sort the
    initializers by first use. tf2onnx draws those numbers from a process-global counter whose
    values vary from run to run, so without this two exports of the same weights differ in bytes."""
    g = m.graph
    # tf2onnx merges equal constants and keeps the name of one of them, chosen in set order:
    # call an initializer read by several inputs `shared_const` instead.
    uses: dict[str, int] = {}
    for n in g.node:
        for x in n.input:
            uses[x] = uses.get(x, 0) + 1
    shared = {t.name: f"shared_const__{k}" for k, t in enumerate(g.initializer)
              if uses.get(t.name, 0) > 1}
    for t in g.initializer:
        t.name = shared.get(t.name, t.name)
    for n in g.node:
        for i, x in enumerate(n.input):
            n.input[i] = shared.get(x, x)
    # tf2onnx names a DepthwiseConv2D+BiasAdd it fuses into one Conv `Conv__N` (output
    # `Conv__M:0`): name it after its Keras layer, read off the bias (`<layer>/BiasAdd/...`).
    node_names = {n.name for n in g.node}
    values = {x for n in g.node for x in list(n.input) + list(n.output)}
    for n in g.node:
        if "/" in n.name or not n.output:
            continue
        bias = next((x for x in n.input if x.endswith("/BiasAdd/ReadVariableOp:0")), None)
        if bias is None:
            continue
        base = bias[: -len("/ReadVariableOp:0")]
        if base not in node_names:
            node_names.add(base)
            n.name = base
        old, new = n.output[0], base + ":0"
        if "/" not in old and new not in values:
            values.add(new)
            for c in g.node:
                for i, x in enumerate(c.input):
                    if x == old:
                        c.input[i] = new
            for vi in g.output:
                if vi.name == old:
                    vi.name = new
            n.output[0] = new
    mapping: dict[str, str] = {}
    counter = iter(range(1, 1 << 30))

    def canon(name: str) -> str:
        if not name or not re.search(r"__\d+", name):
            return name
        if name not in mapping:
            mapping[name] = re.sub(r"__\d+", lambda _: f"__{next(counter)}", name)
        return mapping[name]

    order: list[str] = []
    for n in g.node:
        n.name = canon(n.name)
        for i, x in enumerate(n.input):
            n.input[i] = canon(x)
            order.append(n.input[i])
        for i, x in enumerate(n.output):
            n.output[i] = canon(x)
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        vi.name = canon(vi.name)
    first = {name: k for k, name in reversed(list(enumerate(order)))}
    inits = list(g.initializer)
    for t in inits:
        t.name = canon(t.name)
    inits.sort(key=lambda t: (first.get(t.name, len(order)), t.name))
    del g.initializer[:]
    g.initializer.extend(inits)
    assert len(set(mapping.values())) == len(mapping), "canonical names collide"


def ort_run(path: str, x: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    inp, out = sess.get_inputs()[0], sess.get_outputs()[0]
    return sess.run([out.name], {inp.name: x})[0].astype(np.float32)


def op_counts(m: onnx.ModelProto) -> dict:
    return dict(sorted(Counter(n.op_type for n in m.graph.node).items()))
