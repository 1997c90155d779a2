"""Train models/digits_mlp.onnx: scikit-learn MLPClassifier on digits, exported by skl2onnx.

Run through models/train/train.sh (it creates the venv and runs this). Writes
models/digits_mlp.onnx and models/data/digits_mlp_ort_test.npy, and the data files.
"""
from __future__ import annotations

import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
import skl2onnx
import sklearn
from onnx import utils as onnx_utils
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.neural_network import MLPClassifier

sys.path.insert(0, os.path.dirname(__file__))
from digits_data import DATA_DIR, MODELS_DIR, describe, set_batch_dim_param, split, write_data_files  # noqa: E402

OPSET = 13


def main() -> None:
    s = split()
    write_data_files(s)

    clf = MLPClassifier(hidden_layer_sizes=(64, 32), activation="relu", solver="adam",
                        alpha=1e-3, batch_size=64, learning_rate_init=1e-3, max_iter=400,
                        random_state=0)
    clf.fit(s["x_train"], s["y_train"])
    print(f"sklearn {sklearn.__version__}: train acc {clf.score(s['x_train'], s['y_train']):.4f}, "
          f"test acc {clf.score(s['x_test'], s['y_test']):.4f}, iters {clf.n_iter_}")

    full = convert_sklearn(
        clf, "digits_mlp", initial_types=[("input", FloatTensorType([None, 64]))],
        options={id(clf): {"zipmap": False}}, target_opset={"": OPSET, "ai.onnx.ml": 1})
    print("skl2onnx full graph:", [(n.domain, n.op_type) for n in full.graph.node],
          [o.name for o in full.graph.output])

    # Keep only the probabilities output: drops the label branch (ArgMax /
    # ArrayFeatureExtractor / ai.onnx.ml ops) that skl2onnx adds.
    path = os.path.join(MODELS_DIR, "digits_mlp.onnx")
    onnx.save(full, path)
    onnx_utils.extract_model(path, path, ["input"], ["probabilities"])
    m = onnx.load(path)
    used = {n.domain for n in m.graph.node}
    keep = [o for o in m.opset_import if (o.domain in ("", "ai.onnx")) or o.domain in used]
    del m.opset_import[:]
    m.opset_import.extend(keep)
    set_batch_dim_param(m)
    m.producer_name, m.producer_version = "skl2onnx", skl2onnx.__version__
    m.doc_string = ("scikit-learn MLPClassifier (64,32) relu on sklearn digits; "
                    "input pixels/16 float32 [N,64]; output class probabilities [N,10]")
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, path)
    print("digits_mlp.onnx:", describe(m), f"{os.path.getsize(path)} bytes")

    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    y = sess.run(["probabilities"], {"input": s["x_test"]})[0].astype(np.float32)
    np.save(os.path.join(DATA_DIR, "digits_mlp_ort_test.npy"), y)
    acc = float((y.argmax(1) == s["y_test"]).mean())
    print(f"onnxruntime {ort.__version__}: digits_mlp test accuracy {acc:.4f} "
          f"({int(round(acc * len(y)))}/{len(y)}); max |ort - sklearn| "
          f"{np.abs(y - clf.predict_proba(s['x_test'])).max():.2e}")
    if acc < 0.96:
        raise SystemExit("digits_mlp below the 96 % target")


if __name__ == "__main__":
    main()
