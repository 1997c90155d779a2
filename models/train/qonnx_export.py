#!/usr/bin/env python3
"""Convert the 4-bit QAT digits CNN from QDQ to QONNX `Quant` nodes with qonnx's own converter.

Input:  models/digits_cnn_qat4.onnx (QuantizeLinear/DequantizeLinear, made by qat_cnn.py; the
        4-bit weights are int8 Q/DQ pairs whose codes lie in [-7, 7]).
Output: models/digits_cnn_qat4_qonnx.onnx (qonnx `Quant` nodes, domain qonnx.custom_op.general)
        models/data/digits_cnn_qat4_qonnx_test.npy (qonnx's executor on the 360 test inputs)

The 4-bit width is what the QAT trained for, but an int8 Q/DQ pair cannot say so. The standard
way to write a sub-8-bit width in plain ONNX is QCDQ (QuantizeLinear, Clip, DequantizeLinear, as
Brevitas exports it), which qonnx's `QCDQToQuant` reads: the Clip bounds give the bit width and
the narrow flag. So the script inserts `Clip(-7, 7)` between each weight's QuantizeLinear and
DequantizeLinear (after checking every code lies inside; nothing is changed numerically) and
lets qonnx fuse each chain into one `Quant(bitwidth=4, narrow=1, signed=1, rounding_mode=ROUND)`.
The activation pairs become 8-bit `Quant` nodes, the int32 bias DequantizeLinears 32-bit ones.

The oracle output is computed by qonnx's own executor (`qonnx.core.onnx_exec.execute_onnx`),
which runs `Quant` in numpy and the standard ops in onnxruntime.

Run in the hls4ml venv (scripts/setup-hls4ml.sh installs qonnx 1.0.0):
    .cache/venv-hls4ml/bin/python models/train/qonnx_export.py [--check]
`--check` converts again into a temporary file and compares it with the committed files
(exit 1 on any difference), so the test command can prove the committed model is the
converter's output.
"""

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.transformation.qcdq_to_qonnx import QCDQToQuant

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "models" / "digits_cnn_qat4.onnx"
DST = REPO / "models" / "digits_cnn_qat4_qonnx.onnx"
ORACLE = REPO / "models" / "data" / "digits_cnn_qat4_qonnx_test.npy"
TEST_X = REPO / "models" / "data" / "digits_test_x_img.npy"
WEIGHT_BITS = 4


def add_weight_clips(model: onnx.ModelProto) -> int:
    """Insert Clip(-(2^(b-1)-1), 2^(b-1)-1) after every QuantizeLinear of an initializer."""
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    lim = 2 ** (WEIGHT_BITS - 1) - 1
    lo_name, hi_name = "qcdq_clip_min", "qcdq_clip_max"
    model.graph.initializer.extend(
        [
            numpy_helper.from_array(np.array(-lim, dtype=np.int8), lo_name),
            numpy_helper.from_array(np.array(lim, dtype=np.int8), hi_name),
        ]
    )
    nodes = list(model.graph.node)
    out = []
    count = 0
    for n in nodes:
        out.append(n)
        if n.op_type != "QuantizeLinear" or n.input[0] not in inits:
            continue
        w, s = inits[n.input[0]], inits[n.input[1]]
        axis = next((a.i for a in n.attribute if a.name == "axis"), 1)
        shape = [1] * w.ndim
        shape[axis] = -1
        codes = np.round(w / s.reshape(shape))
        if codes.min() < -lim or codes.max() > lim:
            sys.exit(f"{n.input[0]}: codes {codes.min()}..{codes.max()} exceed ±{lim}")
        q_out = n.output[0]
        clipped = q_out + "_clipped"
        out.append(helper.make_node("Clip", [q_out, lo_name, hi_name], [clipped], name=q_out + "_clip"))
        for m in nodes:
            if m.op_type == "DequantizeLinear" and m.input[0] == q_out:
                m.input[0] = clipped
        count += 1
    del model.graph.node[:]
    model.graph.node.extend(out)
    return count


def convert(dst: Path, oracle: Path) -> None:
    model = onnx.load(SRC)
    n = add_weight_clips(model)
    # qonnx reads each QuantizeLinear output's element type from value_info.
    model = onnx.shape_inference.infer_shapes(model)
    w = ModelWrapper(model)
    w = w.transform(QCDQToQuant())
    quants = [x for x in w.graph.node if x.op_type == "Quant"]
    left = [x.op_type for x in w.graph.node if x.op_type in ("QuantizeLinear", "DequantizeLinear", "Clip")]
    if left:
        sys.exit(f"QCDQToQuant left {left}")
    w.model.producer_name = "qonnx QCDQToQuant (models/train/qonnx_export.py)"
    onnx.save(w.model, dst)
    x = np.load(TEST_X).astype(np.float32)
    iname = w.graph.input[0].name
    oname = w.graph.output[0].name
    # qonnx's executor wants the input's declared shape to match (the saved model keeps "N").
    run = ModelWrapper(onnx.load(dst))
    run.set_tensor_shape(iname, list(x.shape))
    with warnings.catch_warnings():
        # The intermediate value_info keep the symbolic batch; the executor warns per node.
        warnings.simplefilter("ignore", UserWarning)
        y = execute_onnx(run, {iname: x})[oname].astype(np.float32)
    np.save(oracle, y)
    print(f"{len(quants)} Quant nodes ({n} 4-bit weights), wrote {dst.name}, {oracle.name} {y.shape}", file=sys.stderr)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="compare a fresh conversion with the committed files")
    args = ap.parse_args()
    if not args.check:
        convert(DST, ORACLE)
        return 0
    with tempfile.TemporaryDirectory() as d:
        dst, oracle = Path(d) / DST.name, Path(d) / ORACLE.name
        convert(dst, oracle)
        same_model = onnx.load(dst).graph == onnx.load(DST).graph
        same_out = np.array_equal(np.load(oracle), np.load(ORACLE))
        print(f"model graph equal: {same_model}, oracle output equal: {same_out}", file=sys.stderr)
        return 0 if same_model and same_out else 1


if __name__ == "__main__":
    sys.exit(main())
