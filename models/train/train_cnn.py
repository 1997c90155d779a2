"""Train models/digits_cnn.onnx: a Keras CNN on digits, exported by tf2onnx.

Conv(16,3x3)-BN-ReLU-MaxPool(2) -> Conv(32,3x3)-BN-ReLU-MaxPool(2) -> Flatten -> Dense(10) -> Softmax.
Keras works channels-last; tf2onnx's `inputs_as_nchw` makes the ONNX input NCHW [N,1,8,8].
Run through models/train/train.sh. Writes models/digits_cnn.onnx and
models/data/digits_cnn_ort_test.npy (needs the data files written by train_mlp.py).
"""
from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf2onnx  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from digits_data import DATA_DIR, MODELS_DIR, describe, set_batch_dim_param, split, to_img  # noqa: E402

OPSET = 13
EPOCHS = 60


def build() -> tf.keras.Model:
    L = tf.keras.layers
    inp = tf.keras.Input(shape=(8, 8, 1), name="input")
    x = inp
    for i, ch in enumerate((16, 32), start=1):
        x = L.Conv2D(ch, 3, padding="same", use_bias=False, name=f"conv{i}")(x)
        x = L.BatchNormalization(name=f"bn{i}")(x)
        x = L.ReLU(name=f"relu{i}")(x)
        x = L.MaxPooling2D(2, name=f"pool{i}")(x)
    x = L.Flatten(name="flatten")(x)
    x = L.Dropout(0.25, name="dropout")(x)
    x = L.Dense(10, name="dense")(x)
    out = L.Softmax(name="probabilities")(x)
    return tf.keras.Model(inp, out, name="digits_cnn")


def main() -> None:
    tf.keras.utils.set_random_seed(0)
    tf.config.experimental.enable_op_determinism()
    s = split()
    # NHWC for Keras: [N,64] -> [N,8,8,1] (same pixel order as the NCHW [N,1,8,8] files).
    nhwc = lambda x: x.reshape(-1, 8, 8, 1)  # noqa: E731
    x_test_img = to_img(s["x_test"])
    assert np.array_equal(x_test_img, np.load(os.path.join(DATA_DIR, "digits_test_x_img.npy")))

    model = build()
    model.compile(optimizer=tf.keras.optimizers.Adam(2e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(nhwc(s["x_train"]), s["y_train"], epochs=EPOCHS, batch_size=32, verbose=0,
              callbacks=[tf.keras.callbacks.ReduceLROnPlateau("loss", factor=0.5, patience=5)])
    _, train_acc = model.evaluate(nhwc(s["x_train"]), s["y_train"], verbose=0)
    _, test_acc = model.evaluate(nhwc(s["x_test"]), s["y_test"], verbose=0)
    print(f"tensorflow {tf.__version__}: train acc {train_acc:.4f}, test acc {test_acc:.4f}, "
          f"params {model.count_params()}")

    spec = [tf.TensorSpec([None, 8, 8, 1], tf.float32, name="input")]
    # tf2onnx's back-to-back optimizer would fuse Conv+BatchNormalization (folding BN into the
    # Conv weights); drop just that rule so BN stays an op (Systole's BN-folding pass does it).
    # Its other rules (cancelling Transpose/Reshape pairs) still run.
    from tf2onnx.optimizer import back_to_back_optimizer as b2b
    b2b._func_map.pop(("Conv", "BatchNormalization"), None)
    m, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=OPSET,
                                      inputs_as_nchw=["input"])
    # tf2onnx declares ai.onnx.ml although no node uses it: keep only used domains.
    used = {n.domain for n in m.graph.node}
    keep = [o for o in m.opset_import if o.domain in ("", "ai.onnx") or o.domain in used]
    del m.opset_import[:]
    m.opset_import.extend(keep)
    set_batch_dim_param(m)
    m.doc_string = ("Keras CNN (Conv-BN-ReLU-MaxPool x2, Dense) on sklearn digits; "
                    "input pixels/16 float32 NCHW [N,1,8,8]; output class probabilities [N,10]")
    onnx.checker.check_model(m, full_check=True)
    path = os.path.join(MODELS_DIR, "digits_cnn.onnx")
    onnx.save(m, path)
    print("digits_cnn.onnx:", describe(m), f"{os.path.getsize(path)} bytes")

    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    out_name = sess.get_outputs()[0].name
    y = sess.run([out_name], {"input": x_test_img})[0].astype(np.float32)
    np.save(os.path.join(DATA_DIR, "digits_cnn_ort_test.npy"), y)
    acc = float((y.argmax(1) == s["y_test"]).mean())
    ref = model.predict(nhwc(s["x_test"]), verbose=0)
    print(f"onnxruntime {ort.__version__}: digits_cnn test accuracy {acc:.4f} "
          f"({int(round(acc * len(y)))}/{len(y)}), output '{out_name}'; "
          f"max |ort - keras| {np.abs(y - ref).max():.2e}")
    if acc < 0.97:
        raise SystemExit("digits_cnn below the 97 % target")


if __name__ == "__main__":
    main()
