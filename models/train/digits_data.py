"""The digits data set and its fixed split, shared by train_mlp.py and train_cnn.py.

scikit-learn's bundled `load_digits` (1797 8x8 images, 16 grey levels, no download).
Pixels are scaled to [0, 1] by dividing by 16, float32.

Split (fixed seeds, stratified by class):
  test  : 360 samples held out, never seen in training           (random_state=0)
  train : the other 1437 samples (both models train on all of them)
  calib : 200 samples drawn from `train` (stratified, random_state=1), for quantization
          calibration; a subset of the training data, disjoint from the test set.
"""
from __future__ import annotations

import os

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

N_TEST = 360
N_CALIB = 200
MODELS_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DATA_DIR = os.path.join(MODELS_DIR, "data")


def split():
    """Return dict with x_train, y_train, x_calib, x_test, y_test (x float32 [N,64], y int64)."""
    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=N_TEST, stratify=y, random_state=0)
    _, x_calib, _, y_calib = train_test_split(
        x_train, y_train, test_size=N_CALIB, stratify=y_train, random_state=1)
    return dict(x_train=x_train, y_train=y_train, x_calib=x_calib, y_calib=y_calib,
                x_test=x_test, y_test=y_test)


def to_img(x: np.ndarray) -> np.ndarray:
    """[N,64] -> [N,1,8,8] (NCHW), row-major pixels as in load_digits().images."""
    return np.ascontiguousarray(x.reshape(-1, 1, 8, 8), dtype=np.float32)


def write_data_files(s) -> None:
    os.makedirs(DATA_DIR, exist_ok=True)
    files = {
        "digits_test_x.npy": s["x_test"],
        "digits_test_y.npy": s["y_test"],
        "digits_calib_x.npy": s["x_calib"],
        "digits_test_x_img.npy": to_img(s["x_test"]),
        "digits_calib_x_img.npy": to_img(s["x_calib"]),
    }
    for name, arr in files.items():
        np.save(os.path.join(DATA_DIR, name), arr)
        print(f"wrote models/data/{name} {arr.dtype} {list(arr.shape)}")


def set_batch_dim_param(model, name: str = "N") -> None:
    """Make dim 0 of every graph input and output the symbolic dim `name`."""
    for vi in list(model.graph.input) + list(model.graph.output):
        dims = vi.type.tensor_type.shape.dim
        if len(dims) > 0:
            dims[0].Clear()
            dims[0].dim_param = name


ALLOWED_OPS = {
    "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Relu", "LeakyRelu", "Clip", "Sigmoid",
    "Tanh", "Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "BatchNormalization", "LRN",
    "Flatten", "Reshape", "Transpose", "Concat", "Sum", "Softmax", "Identity", "Dropout",
    "Squeeze", "Unsqueeze", "Shape", "Gather", "Slice", "Cast", "ConstantOfShape", "Constant",
}


def describe(model) -> str:
    from collections import Counter
    ops = Counter(n.op_type for n in model.graph.node)
    bad = {(n.domain, n.op_type) for n in model.graph.node
           if n.op_type not in ALLOWED_OPS or n.domain not in ("", "ai.onnx")}
    if bad:
        raise SystemExit(f"exported graph has ops outside the supported list: {sorted(bad)}")

    def sig(vi):
        dims = [d.dim_param or d.dim_value for d in vi.type.tensor_type.shape.dim]
        return f"{vi.name} {dims}"

    opsets = {o.domain or "ai.onnx": o.version for o in model.opset_import}
    return (f"opsets {opsets}, ops {dict(sorted(ops.items()))}, "
            f"inputs {[sig(v) for v in model.graph.input]}, "
            f"outputs {[sig(v) for v in model.graph.output]}")
