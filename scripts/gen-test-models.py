#!/usr/bin/env python3
"""Writes the small ONNX models that the compiler's golden and snapshot tests read; all are
committed, so the tests need no Python:

  compiler/tests/passes/<pass>/<case>.onnx   from <case>.onnxtxt beside it (ONNX textual syntax,
                                             onnx.parser); its doc_string holds the source's
                                             sha256, which compiler/tests/passes.rs checks
  compiler/tests/data/tiny_encoder.onnx      a one-layer BERT-style encoder in the shape of the
                                             MiniLM export (docs/transformers.md), hidden 8,
                                             2 heads, FFN 16, vocabulary 16, sequence 6, batch 1;
                                             weights from numpy's RandomState(19)

Usage (the oracle venv of scripts/setup-oracles.sh has onnx and numpy):
  .cache/venv/bin/python scripts/gen-test-models.py           # (re)write every model
  .cache/venv/bin/python scripts/gen-test-models.py --check   # exit 1 if a committed file differs
"""
import hashlib
import pathlib
import sys

import numpy as np
import onnx
import onnx.parser
from onnx import TensorProto, helper, numpy_helper

REPO = pathlib.Path(__file__).resolve().parent.parent
PASSES = REPO / "compiler" / "tests" / "passes"
ENCODER = REPO / "compiler" / "tests" / "data" / "tiny_encoder.onnx"
PRODUCER = "scripts/gen-test-models.py"


def pass_input(src: pathlib.Path) -> bytes:
    text = src.read_text()
    m = onnx.parser.parse_model(text)
    onnx.checker.check_model(m, full_check=True)
    m.producer_name = PRODUCER
    m.doc_string = "source sha256 " + hashlib.sha256(text.encode()).hexdigest()
    return m.SerializeToString()


def tiny_encoder() -> bytes:
    rng = np.random.RandomState(19)
    vocab, seq, hidden, heads, ffn = 16, 6, 8, 2, 16
    d = hidden // heads
    inits = []

    def const(name, array):
        inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def weight(name, *shape, scale=0.5):
        return const(name, (rng.standard_normal(shape) * scale).astype(np.float32))

    def f32(name, v):
        return const(name, np.array(v, dtype=np.float32))

    def i64(name, v):
        return const(name, np.array(v, dtype=np.int64))

    nodes = []

    def node(op, ins, out, **attrs):
        nodes.append(helper.make_node(op, ins, [out], name=out, **attrs))
        return out

    def layer_norm(x, name):
        g = const(name + ".gamma", (1 + 0.1 * rng.standard_normal(hidden)).astype(np.float32))
        b = weight(name + ".beta", hidden, scale=0.1)
        return node("LayerNormalization", [x, g, b], name, axis=-1, epsilon=1e-5)

    def linear(x, name, k, n):
        w = weight(name + ".weight", k, n, scale=1 / np.sqrt(k))
        b = weight(name + ".bias", n, scale=0.1)
        return node("Add", [node("MatMul", [x, w], name + "/MatMul"), b], name)

    def heads_of(x, name, perm):
        r = node("Reshape", [x, i64(name + ".shape", [1, seq, heads, d])], name + "/Reshape")
        return node("Transpose", [r], name + "/Transpose", perm=perm)

    emb = node("Gather", [weight("word_embeddings", vocab, hidden), "input_ids"], "embeddings/word")
    x = node("Add", [emb, weight("position_embeddings", 1, seq, hidden)], "embeddings/add")
    x = layer_norm(x, "embeddings/LayerNorm")
    q = heads_of(linear(x, "attention/query", hidden, hidden), "attention/q", [0, 2, 1, 3])
    k = heads_of(linear(x, "attention/key", hidden, hidden), "attention/k", [0, 2, 3, 1])
    v = heads_of(linear(x, "attention/value", hidden, hidden), "attention/v", [0, 2, 1, 3])
    s = node("MatMul", [q, k], "attention/scores")
    s = node("Div", [s, f32("sqrt_d", np.sqrt(d))], "attention/scaled")
    # The mask chain of the export: (1 - mask) * large negative, added to the scores.
    m = node("Unsqueeze", ["attention_mask", i64("mask_axes", [1, 2])], "mask/unsqueeze")
    m = node("Cast", [m], "mask/cast", to=TensorProto.FLOAT)
    m = node("Sub", [f32("one", 1.0), m], "mask/invert")
    m = node("Mul", [m, f32("min_value", -10000.0)], "mask/bias")
    s = node("Add", [s, m], "attention/masked")
    p = node("Softmax", [s], "attention/probs", axis=-1)
    o = node("MatMul", [p, v], "attention/context")
    o = node("Transpose", [o], "attention/context/Transpose", perm=[0, 2, 1, 3])
    o = node("Reshape", [o, i64("hidden_shape", [1, seq, hidden])], "attention/context/Reshape")
    o = linear(o, "attention/output", hidden, hidden)
    x = layer_norm(node("Add", [o, x], "attention/residual"), "attention/LayerNorm")
    h = linear(x, "ffn/intermediate", hidden, ffn)
    # Exact GELU as the export writes it: x * (1 + erf(x / sqrt 2)) * 0.5.
    e = node("Div", [h, f32("sqrt2", np.sqrt(2.0))], "ffn/gelu/div")
    e = node("Erf", [e], "ffn/gelu/erf")
    e = node("Add", [e, "one"], "ffn/gelu/add")
    e = node("Mul", [h, e], "ffn/gelu/mul")
    e = node("Mul", [e, f32("half", 0.5)], "ffn/gelu")
    f = linear(e, "ffn/output", ffn, hidden)
    x = node("Add", [f, x], "ffn/residual")
    nodes.append(helper.make_node("LayerNormalization", [x, *[
        const("ffn/LayerNorm.gamma", (1 + 0.1 * rng.standard_normal(hidden)).astype(np.float32)),
        weight("ffn/LayerNorm.beta", hidden, scale=0.1)]], ["token_embeddings"],
        name="ffn/LayerNorm", axis=-1, epsilon=1e-5))
    graph = helper.make_graph(
        nodes,
        "tiny_encoder",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, seq]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, [1, seq])],
        [helper.make_tensor_value_info("token_embeddings", TensorProto.FLOAT, [1, seq, hidden])],
        inits,
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(m, full_check=True)
    m.producer_name = PRODUCER
    m.doc_string = "a one-layer BERT-style encoder for the compiler's snapshot tests"
    return m.SerializeToString()


def main() -> int:
    check = "--check" in sys.argv[1:]
    wanted = {src.with_suffix(".onnx"): pass_input(src) for src in sorted(PASSES.glob("*/*.onnxtxt"))}
    wanted[ENCODER] = tiny_encoder()
    stale = []
    for path, data in wanted.items():
        rel = path.relative_to(REPO)
        if path.exists() and path.read_bytes() == data:
            continue
        stale.append(str(rel))
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            print(f"wrote {rel} ({len(data)} bytes)", file=sys.stderr)
    if check and stale:
        print("out of date (run scripts/gen-test-models.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    print(f"{len(wanted)} models, {len(stale)} {'stale' if check else 'written'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
