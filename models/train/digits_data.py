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


def bilinear_matrix(n_in: int, n_out: int) -> np.ndarray:
    """[n_out, n_in] float64 weights of 1-D bilinear resampling with half-pixel centres and
    clamped edges (TF2 `tf.image.resize(..., "bilinear")`, PyTorch `align_corners=False`)."""
    a = np.zeros((n_out, n_in))
    for o in range(n_out):
        src = min(max((o + 0.5) * n_in / n_out - 0.5, 0.0), n_in - 1.0)
        i0 = int(np.floor(src))
        i1 = min(i0 + 1, n_in - 1)
        f = src - i0
        a[o, i0] += 1.0 - f
        a[o, i1] += f
    return a


def to_img16(x: np.ndarray) -> np.ndarray:
    """[N,64] -> [N,1,16,16] (NCHW): the 8x8 image upsampled 2x by bilinear interpolation
    (separable, half-pixel centres, edges clamped), computed in float64, stored float32."""
    a = bilinear_matrix(8, 16)
    img = x.reshape(-1, 8, 8).astype(np.float64)
    up = np.einsum("oi,nij,pj->nop", a, img, a)
    return np.ascontiguousarray(up[:, None, :, :], dtype=np.float32)


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


def describe(model, strict: bool = True) -> str:
    """One-line summary of the graph. `strict`: exit if an op is outside ALLOWED_OPS; otherwise
    list those ops in the summary (the model families of issue 20 are meant to find gaps)."""
    from collections import Counter
    ops = Counter(n.op_type for n in model.graph.node)
    bad = {(n.domain, n.op_type) for n in model.graph.node
           if n.op_type not in ALLOWED_OPS or n.domain not in ("", "ai.onnx")}
    if bad and strict:
        raise SystemExit(f"exported graph has ops outside the supported list: {sorted(bad)}")

    def sig(vi):
        dims = [d.dim_param or d.dim_value for d in vi.type.tensor_type.shape.dim]
        return f"{vi.name} {dims}"

    opsets = {o.domain or "ai.onnx": o.version for o in model.opset_import}
    extra = f"ops outside ALLOWED_OPS {sorted(bad)}, " if bad else ""
    return (f"opsets {opsets}, ops {dict(sorted(ops.items()))}, {extra}"
            f"inputs {[sig(v) for v in model.graph.input]}, "
            f"outputs {[sig(v) for v in model.graph.output]}")
