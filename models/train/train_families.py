"""Train three CNN families on digits upsampled to 16x16 (issue 20), exported by tf2onnx.

  digits_resnet.onnx     ResNet-style: stem Conv-BN-ReLU, stage 1 with an identity shortcut,
                         stage 2 (stride 2) with a 1x1 stride-2 projection shortcut (Conv+BN),
                         residual Add + ReLU, GlobalAveragePooling, Dense, Softmax.
  digits_mobilenet.onnx  MobileNet-style: stem Conv-BN-ReLU6, depthwise-separable blocks
                         (DepthwiseConv-BN-ReLU6, pointwise Conv-BN-ReLU6), one squeeze-excitation
                         block (GAP -> Dense -> ReLU -> Dense -> hard sigmoid -> channel-wise Mul),
                         GlobalAveragePooling, Dense, Softmax.
  digits_dscnn.onnx      DS-CNN keyword-spotting style (after MLPerf Tiny's ds_cnn): a first Conv
                         with a non-square kernel (5x3) and a non-square stride (2,1), BN, ReLU;
                         depthwise-separable blocks with ReLU; AveragePooling2D over the whole
                         (non-square, 8x16) map; Flatten; Dense; Softmax.

Inputs: the 8x8 digits upsampled to 16x16 by bilinear interpolation (digits_data.to_img16), same
test / train / calib split as the other models. Run through models/train/train.sh (step
`families`). Writes models/digits_{resnet,mobilenet,dscnn}.onnx, models/data/digits16_{test,calib}
_x_img.npy, models/data/<name>_ort_test.npy and models/data/digits_families.json.
"""
from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf2onnx  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from digits_data import DATA_DIR, MODELS_DIR, split, to_img16  # noqa: E402
from keras_export import export, op_counts, ort_run  # noqa: E402

EPOCHS = 40
TARGET = 0.97
L = tf.keras.layers


def conv_bn(x, ch, k, stride=1, act="relu", name=""):
    x = L.Conv2D(ch, k, strides=stride, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = L.BatchNormalization(name=f"{name}_bn")(x)
    if act == "relu":
        x = L.ReLU(name=f"{name}_relu")(x)
    elif act == "relu6":
        x = L.ReLU(6.0, name=f"{name}_relu6")(x)
    return x


def ds_block(x, ch, stride, act, name):
    """Depthwise-separable block: DepthwiseConv 3x3 - BN - act, pointwise Conv 1x1 - BN - act."""
    x = L.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False, name=f"{name}_dw")(x)
    x = L.BatchNormalization(name=f"{name}_dw_bn")(x)
    x = L.ReLU(6.0 if act == "relu6" else None, name=f"{name}_dw_{act}")(x)
    return conv_bn(x, ch, 1, act=act, name=f"{name}_pw")


def build_resnet() -> tf.keras.Model:
    inp = tf.keras.Input(shape=(16, 16, 1), name="input")
    x = conv_bn(inp, 16, 3, name="stem")
    # stage 1: two 3x3 convs, identity shortcut
    y = conv_bn(x, 16, 3, name="s1a")
    y = conv_bn(y, 16, 3, act=None, name="s1b")
    x = L.ReLU(name="s1_relu")(L.Add(name="s1_add")([x, y]))
    # stage 2: stride 2, 16 -> 32 channels, 1x1 stride-2 projection shortcut with BN
    y = conv_bn(x, 32, 3, stride=2, name="s2a")
    y = conv_bn(y, 32, 3, act=None, name="s2b")
    p = conv_bn(x, 32, 1, stride=2, act=None, name="s2proj")
    x = L.ReLU(name="s2_relu")(L.Add(name="s2_add")([p, y]))
    x = L.GlobalAveragePooling2D(name="gap")(x)
    x = L.Dense(10, name="dense")(x)
    out = L.Softmax(name="probabilities")(x)
    return tf.keras.Model(inp, out, name="digits_resnet")


def build_mobilenet() -> tf.keras.Model:
    inp = tf.keras.Input(shape=(16, 16, 1), name="input")
    x = conv_bn(inp, 16, 3, act="relu6", name="stem")
    x = ds_block(x, 32, 1, "relu6", "ds1")          # 16x16x32
    x = ds_block(x, 64, 2, "relu6", "ds2")          # 8x8x64
    # squeeze-excitation on the 64 channels (reduction 4)
    s = L.GlobalAveragePooling2D(name="se_gap")(x)
    s = L.Dense(16, activation="relu", name="se_fc1")(s)
    s = L.Dense(64, activation="hard_sigmoid", name="se_fc2")(s)
    s = L.Reshape((1, 1, 64), name="se_reshape")(s)
    x = L.Multiply(name="se_mul")([x, s])
    x = ds_block(x, 64, 2, "relu6", "ds3")          # 4x4x64
    x = L.GlobalAveragePooling2D(name="gap")(x)
    x = L.Dense(10, name="dense")(x)
    out = L.Softmax(name="probabilities")(x)
    return tf.keras.Model(inp, out, name="digits_mobilenet")


def build_dscnn() -> tf.keras.Model:
    inp = tf.keras.Input(shape=(16, 16, 1), name="input")
    x = L.Conv2D(64, (5, 3), strides=(2, 1), padding="same", name="conv1")(inp)  # 8x16x64
    x = L.BatchNormalization(name="conv1_bn")(x)
    x = L.ReLU(name="conv1_relu")(x)
    x = L.Dropout(0.2, name="drop1")(x)
    for i in range(1, 4):
        x = ds_block(x, 64, 1, "relu", f"ds{i}")
    x = L.Dropout(0.4, name="drop2")(x)
    x = L.AveragePooling2D(pool_size=(8, 16), name="avgpool")(x)
    x = L.Flatten(name="flatten")(x)
    x = L.Dense(10, name="dense")(x)
    out = L.Softmax(name="probabilities")(x)
    return tf.keras.Model(inp, out, name="digits_dscnn")


MODELS = {
    "digits_resnet": (build_resnet, "ResNet-style (2 residual stages: identity + 1x1 projection "
                      "shortcut, BN, ReLU, Add, GAP, Dense)"),
    "digits_mobilenet": (build_mobilenet, "MobileNet-style (depthwise-separable blocks with "
                         "ReLU6, one squeeze-excitation block with hard sigmoid, GAP, Dense)"),
    "digits_dscnn": (build_dscnn, "DS-CNN keyword-spotting style (Conv 5x3 stride (2,1), "
                     "depthwise-separable blocks, AveragePool 8x16, Dense)"),
}


def main(names) -> None:
    tf.config.experimental.enable_op_determinism()
    s = split()
    x_test, x_calib, x_train = (to_img16(s[k]) for k in ("x_test", "x_calib", "x_train"))
    np.save(os.path.join(DATA_DIR, "digits16_test_x_img.npy"), x_test)
    np.save(os.path.join(DATA_DIR, "digits16_calib_x_img.npy"), x_calib)
    print(f"wrote models/data/digits16_test_x_img.npy {list(x_test.shape)}, "
          f"digits16_calib_x_img.npy {list(x_calib.shape)}")
    nhwc = lambda x: np.ascontiguousarray(x.transpose(0, 2, 3, 1))  # noqa: E731
    summary_path = os.path.join(DATA_DIR, "digits_families.json")
    summary = json.load(open(summary_path)) if os.path.exists(summary_path) else {}
    for name in names:
        build, what = MODELS[name]
        # fresh Keras name counters (layer names, hence ONNX names, do not depend on what ran before)
        tf.keras.backend.clear_session()
        tf.keras.utils.set_random_seed(0)
        model = build()
        model.compile(optimizer=tf.keras.optimizers.Adam(2e-3),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        t0 = time.time()
        model.fit(nhwc(x_train), s["y_train"], epochs=EPOCHS, batch_size=32, verbose=0,
                  callbacks=[tf.keras.callbacks.ReduceLROnPlateau("loss", factor=0.5, patience=5)])
        secs = time.time() - t0
        _, train_acc = model.evaluate(nhwc(x_train), s["y_train"], verbose=0)
        _, test_acc = model.evaluate(nhwc(x_test), s["y_test"], verbose=0)
        print(f"{name}: tensorflow {tf.__version__}, {EPOCHS} epochs in {secs:.0f} s, train acc "
              f"{train_acc:.4f}, test acc {test_acc:.4f}, params {model.count_params()}")
        path = os.path.join(MODELS_DIR, f"{name}.onnx")
        m = export(model, (16, 16, 1), path,
                   f"Keras {what} on sklearn digits upsampled to 16x16 (bilinear); input pixels/16 "
                   "float32 NCHW [N,1,16,16]; output class probabilities [N,10]")
        y = ort_run(path, x_test)
        np.save(os.path.join(DATA_DIR, f"{name}_ort_test.npy"), y)
        correct = int((y.argmax(1) == s["y_test"]).sum())
        ref = model.predict(nhwc(x_test), verbose=0)
        diff = float(np.abs(y - ref).max())
        print(f"  onnxruntime {ort.__version__}: test accuracy {correct / len(y):.4f} "
              f"({correct}/{len(y)}); max |ort - keras| {diff:.2e}")
        summary[name] = dict(params=int(model.count_params()), epochs=EPOCHS,
                             keras_test_top1=round(float(test_acc), 4),
                             ort_test_top1=round(correct / len(y), 4), ort_correct=correct,
                             max_abs_ort_minus_keras=float(f"{diff:.3g}"),
                             onnx_bytes=os.path.getsize(path), ops=op_counts(m),
                             tensorflow=tf.__version__, tf2onnx=tf2onnx.__version__,
                             onnxruntime=ort.__version__)
        with open(summary_path, "w") as f:
            json.dump(dict(sorted(summary.items())), f, indent=1)
            f.write("\n")
        if correct / len(y) < TARGET:
            raise SystemExit(f"{name} below the {TARGET:.0%} target")


if __name__ == "__main__":
    main(sys.argv[1:] or list(MODELS))
