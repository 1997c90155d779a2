"""Re-verify the bundled digits models with onnxruntime (run with the oracle venv):

    scripts/setup-oracles.sh && .cache/venv/bin/python models/train/check_ort.py

For each model: checks the ONNX file, lists its ops, runs onnxruntime on the held-out test set,
prints the accuracy and the max |diff| against the stored outputs in models/data/.
Exits 1 if an accuracy is below its target or the outputs differ by more than 1e-5.
"""
from __future__ import annotations

import os
import sys
from collections import Counter

import numpy as np
import onnx
import onnxruntime as ort

MODELS = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DATA = os.path.join(MODELS, "data")
# model, test input file, stored onnxruntime outputs, accuracy target
CASES = [
    ("digits_mlp.onnx", "digits_test_x.npy", "digits_mlp_ort_test.npy", 0.96),
    ("digits_cnn.onnx", "digits_test_x_img.npy", "digits_cnn_ort_test.npy", 0.97),
    # QDQ models of models/train/qat_cnn.py (4-bit weights, 8-bit activations)
    ("digits_cnn_qat4.onnx", "digits_test_x_img.npy", "digits_cnn_qat4_ort_test.npy", 0.9872),
    ("digits_cnn_ptq4.onnx", "digits_test_x_img.npy", "digits_cnn_ptq4_ort_test.npy", 0.97),
    # CNN families of models/train/train_families.py on digits upsampled to 16x16 (issue 20)
    ("digits_resnet.onnx", "digits16_test_x_img.npy", "digits_resnet_ort_test.npy", 0.97),
    ("digits_mobilenet.onnx", "digits16_test_x_img.npy", "digits_mobilenet_ort_test.npy", 0.97),
    ("digits_dscnn.onnx", "digits16_test_x_img.npy", "digits_dscnn_ort_test.npy", 0.97),
]
# MLPerf Tiny reference nets with random weights (models/train/tiny_models.py): no labels, only
# the stored outputs on the stored inputs (models/tiny/<name>_x.npy, <name>_ort.npy).
TINY = ["resnet8", "dscnn", "mobilenet_v1_025", "fc_autoencoder"]


def main() -> int:
    y = np.load(os.path.join(DATA, "digits_test_y.npy"))
    ok = True
    print(f"onnx {onnx.__version__}, onnxruntime {ort.__version__}")
    for model_file, x_file, ref_file, target in CASES:
        path = os.path.join(MODELS, model_file)
        m = onnx.load(path)
        onnx.checker.check_model(m, full_check=True)
        ops = dict(sorted(Counter(n.op_type for n in m.graph.node).items()))
        x = np.load(os.path.join(DATA, x_file))
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        inp, out = sess.get_inputs()[0], sess.get_outputs()[0]
        got = sess.run([out.name], {inp.name: x})[0]
        ref = np.load(os.path.join(DATA, ref_file))
        acc = float((got.argmax(1) == y).mean())
        diff = float(np.abs(got - ref).max())
        good = acc >= target and diff <= 1e-5
        ok &= good
        print(f"{model_file}: {os.path.getsize(path)} B, opset "
              f"{[(o.domain or 'ai.onnx', o.version) for o in m.opset_import]}, ops {ops}")
        print(f"  input {inp.name} {inp.shape} {inp.type} -> output {out.name} {out.shape}")
        print(f"  test accuracy {acc:.4f} ({int((got.argmax(1) == y).sum())}/{len(y)}), "
              f"target {target}; max |ort - {ref_file}| {diff:.2e}  {'OK' if good else 'FAIL'}")
    for name in TINY:
        path = os.path.join(MODELS, "tiny", f"{name}.onnx")
        m = onnx.load(path)
        onnx.checker.check_model(m, full_check=True)
        ops = dict(sorted(Counter(n.op_type for n in m.graph.node).items()))
        x = np.load(os.path.join(MODELS, "tiny", f"{name}_x.npy"))
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        inp, out = sess.get_inputs()[0], sess.get_outputs()[0]
        got = sess.run([out.name], {inp.name: x})[0]
        ref = np.load(os.path.join(MODELS, "tiny", f"{name}_ort.npy"))
        diff = float(np.abs(got - ref).max())
        good = diff <= 1e-5
        ok &= good
        print(f"tiny/{name}.onnx: {os.path.getsize(path)} B, ops {ops}")
        print(f"  input {inp.name} {inp.shape} -> output {out.name} {out.shape}; "
              f"max |ort - {name}_ort.npy| {diff:.2e}  {'OK' if good else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
