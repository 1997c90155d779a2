"""MLPerf Tiny reference architectures at their real sizes, random weights, exported by tf2onnx.

The four Keras definitions follow the MLPerf Tiny training code (github.com/mlcommons/tiny),
layer for layer (the L2 regularizers are irrelevant without training and are left out):

  resnet8     benchmark/training/image_classification/keras_model.py, resnet_v1_eembc(): ResNet-8
              on CIFAR-10 32x32x3, 10 classes, 16/32/64 filters (the MLPerf Tiny v0.5-v1.3
              benchmark model, ~78k parameters; the file's default became conv_filters=26 in 2026,
              commit 9adec29, and that change is not followed here).
  dscnn       benchmark/training/keyword_spotting/keras_model.py, get_model() 'ds_cnn': input
              49x10x1 (MFCC: 49 frames x 10 coefficients), 12 classes, 64 filters, first Conv
              (10,4) stride (2,2), four depthwise-separable blocks, AveragePooling2D (24,5), Dense.
  mobilenet   benchmark/training/visual_wake_words/vww_model.py, mobilenet_v1(): MobileNetV1 with
              width 0.25 (8 first filters) on 96x96x3, 2 classes (person / no person).
  autoencoder benchmark/training/anomaly_detection/keras_model.py, get_model(640): FC autoencoder
              640-128-128-128-128-8-128-128-128-128-640, Dense+BatchNormalization+ReLU.

Weights: seeded random, not trained. Keras' initializers draw the kernels (he_normal where the
reference says so, glorot_uniform elsewhere); biases, BatchNormalization gamma and beta are then
drawn at random (so that no parameter is trivially 0 or 1), and the BatchNormalization moving
mean and variance are set to the statistics the layer sees on a batch of 64 random inputs (one
forward pass in training mode with momentum 0), which keeps activations at a realistic scale
through the depth of the network. Inputs: CIFAR and VWW images uniform in [0, 1] (the references
divide pixels by 255), KWS MFCC and anomaly-detection log-mel features standard normal.

Run through models/train/train.sh (step `tiny`). Writes models/tiny/<name>.onnx,
models/tiny/<name>_x.npy (a few random inputs, NCHW for the conv nets) and
models/tiny/<name>_ort.npy (onnxruntime's output on them) and models/tiny/tiny.json.
"""
from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf2onnx  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from digits_data import MODELS_DIR  # noqa: E402
from keras_export import export, op_counts, ort_run  # noqa: E402

TINY_DIR = os.path.join(MODELS_DIR, "tiny")
L = tf.keras.layers


def resnet8() -> tf.keras.Model:
    """resnet_v1_eembc() with num_filters = 16 (image_classification/keras_model.py)."""
    def conv(x, f, k, s):
        return L.Conv2D(f, kernel_size=k, strides=s, padding="same",
                        kernel_initializer="he_normal")(x)

    inputs = L.Input(shape=[32, 32, 3], name="input")
    x = conv(inputs, 16, 3, 1)
    x = L.BatchNormalization()(x)
    x = L.Activation("relu")(x)
    # first stack
    y = conv(x, 16, 3, 1)
    y = L.BatchNormalization()(y)
    y = L.Activation("relu")(y)
    y = conv(y, 16, 3, 1)
    y = L.BatchNormalization()(y)
    x = L.add([x, y])
    x = L.Activation("relu")(x)
    # second and third stacks: stride 2, 1x1 stride-2 projection shortcut without BN
    for f in (32, 64):
        y = conv(x, f, 3, 2)
        y = L.BatchNormalization()(y)
        y = L.Activation("relu")(y)
        y = conv(y, f, 3, 1)
        y = L.BatchNormalization()(y)
        x = conv(x, f, 1, 2)
        x = L.add([x, y])
        x = L.Activation("relu")(x)
    pool_size = int(np.amin(x.shape[1:3]))
    x = L.AveragePooling2D(pool_size=pool_size)(x)
    y = L.Flatten()(x)
    outputs = L.Dense(10, activation="softmax", kernel_initializer="he_normal",
                      name="probabilities")(y)
    return tf.keras.Model(inputs=inputs, outputs=outputs, name="resnet8")


def dscnn() -> tf.keras.Model:
    """get_model() 'ds_cnn' (keyword_spotting/keras_model.py): 49 frames x 10 MFCC, 12 labels."""
    input_shape = [49, 10, 1]
    filters = 64
    final_pool_size = (int(input_shape[0] / 2), int(input_shape[1] / 2))  # (24, 5)
    inputs = L.Input(shape=input_shape, name="input")
    x = L.Conv2D(filters, (10, 4), strides=(2, 2), padding="same")(inputs)
    x = L.BatchNormalization()(x)
    x = L.Activation("relu")(x)
    x = L.Dropout(rate=0.2)(x)
    for _ in range(4):
        x = L.DepthwiseConv2D(depth_multiplier=1, kernel_size=(3, 3), padding="same")(x)
        x = L.BatchNormalization()(x)
        x = L.Activation("relu")(x)
        x = L.Conv2D(filters, (1, 1), padding="same")(x)
        x = L.BatchNormalization()(x)
        x = L.Activation("relu")(x)
    x = L.Dropout(rate=0.4)(x)
    x = L.AveragePooling2D(pool_size=final_pool_size)(x)
    x = L.Flatten()(x)
    outputs = L.Dense(12, activation="softmax", name="probabilities")(x)
    return tf.keras.Model(inputs=inputs, outputs=outputs, name="dscnn")


def mobilenet_v1() -> tf.keras.Model:
    """mobilenet_v1() (visual_wake_words/vww_model.py): alpha 0.25, 96x96x3, 2 classes."""
    def conv(x, f, k, s):
        return L.Conv2D(f, kernel_size=k, strides=s, padding="same",
                        kernel_initializer="he_normal")(x)

    def bn_relu(x):
        return L.Activation("relu")(L.BatchNormalization()(x))

    def dw(x, s):
        return L.DepthwiseConv2D(kernel_size=3, strides=s, padding="same",
                                 kernel_initializer="he_normal")(x)

    inputs = L.Input(shape=[96, 96, 3], name="input")
    num_filters = 8
    x = bn_relu(conv(inputs, num_filters, 3, 2))
    # layers 2..14: (depthwise stride, pointwise filters doubled before it?)
    plan = [(1, True), (2, True), (1, False), (2, True), (1, False), (2, True),
            (1, False), (1, False), (1, False), (1, False), (1, False), (2, True), (1, False)]
    for stride, double in plan:
        x = bn_relu(dw(x, stride))
        if double:
            num_filters *= 2
        x = bn_relu(conv(x, num_filters, 1, 1))
    x = L.AveragePooling2D(pool_size=x.shape[1:3])(x)
    x = L.Flatten()(x)
    outputs = L.Dense(2, activation="softmax", name="probabilities")(x)
    return tf.keras.Model(inputs=inputs, outputs=outputs, name="mobilenet_v1_025")


def autoencoder(input_dim: int = 640) -> tf.keras.Model:
    """get_model(640) (anomaly_detection/keras_model.py)."""
    inputs = L.Input(shape=(input_dim,), name="input")
    h = inputs
    for units in (128, 128, 128, 128, 8, 128, 128, 128, 128):
        h = L.Dense(units)(h)
        h = L.BatchNormalization()(h)
        h = L.Activation("relu")(h)
    h = L.Dense(input_dim, name="reconstruction")(h)
    return tf.keras.Model(inputs=inputs, outputs=h, name="fc_autoencoder")


# name: (builder, NHWC input shape, export with inputs_as_nchw, committed samples, input kind)
MODELS = {
    "resnet8": (resnet8, (32, 32, 3), True, 8, "uniform"),
    "dscnn": (dscnn, (49, 10, 1), True, 8, "normal"),
    "mobilenet_v1_025": (mobilenet_v1, (96, 96, 3), True, 4, "uniform"),
    "fc_autoencoder": (autoencoder, (640,), False, 8, "normal"),
}


def draw(rng, kind, n, shape):
    if kind == "uniform":
        return rng.uniform(0.0, 1.0, size=(n, *shape)).astype(np.float32)
    return rng.standard_normal(size=(n, *shape)).astype(np.float32)


def randomize(model: tf.keras.Model, rng, x_stats: np.ndarray) -> None:
    """Random biases and BN affine parameters; BN moving statistics from one training-mode pass."""
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            gamma, beta, _, _ = layer.get_weights()
            c = gamma.shape[0]
            layer.set_weights([rng.uniform(0.5, 1.5, c).astype(np.float32),
                               rng.normal(0.0, 0.2, c).astype(np.float32),
                               np.zeros(c, np.float32), np.ones(c, np.float32)])
            layer.momentum = 0.0
        elif isinstance(layer, (L.Conv2D, L.DepthwiseConv2D, L.Dense)) and layer.use_bias:
            w = layer.get_weights()
            w[-1] = rng.normal(0.0, 0.05, w[-1].shape).astype(np.float32)
            layer.set_weights(w)
    # One forward pass in training mode: every BN normalizes with its batch statistics and, with
    # momentum 0, stores them as its moving statistics; inference then computes the same thing.
    model(x_stats, training=True)
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            layer.momentum = 0.99


def main(names) -> None:
    os.makedirs(TINY_DIR, exist_ok=True)
    tf.config.experimental.enable_op_determinism()
    summary_path = os.path.join(TINY_DIR, "tiny.json")
    summary = json.load(open(summary_path)) if os.path.exists(summary_path) else {}
    for name in names:
        build, shape, nchw, n, kind = MODELS[name]
        seed = list(MODELS).index(name)
        # fresh Keras name counters (layer names, hence ONNX names, do not depend on what ran before)
        tf.keras.backend.clear_session()
        tf.keras.utils.set_random_seed(seed)
        rng = np.random.default_rng(seed)
        model = build()
        randomize(model, rng, draw(rng, kind, 64, shape))
        x = draw(rng, kind, n, shape)
        ref = model.predict(x, verbose=0)
        path = os.path.join(TINY_DIR, f"{name}.onnx")
        m = export(model, shape, path,
                   f"MLPerf Tiny reference {name} (Keras, random seeded weights, untrained); "
                   f"input float32 {'NCHW' if nchw else ''} "
                   f"{[ 'N', shape[2], shape[0], shape[1]] if nchw else ['N', *shape]}",
                   nchw=nchw)
        x_onnx = np.ascontiguousarray(x.transpose(0, 3, 1, 2)) if nchw else x
        y = ort_run(path, x_onnx)
        np.save(os.path.join(TINY_DIR, f"{name}_x.npy"), x_onnx)
        np.save(os.path.join(TINY_DIR, f"{name}_ort.npy"), y)
        diff = float(np.abs(y - ref).max())
        print(f"  onnxruntime {ort.__version__}: output {list(y.shape)}, range "
              f"[{y.min():.3g}, {y.max():.3g}], max |ort - keras| {diff:.2e}, "
              f"argmax {y.argmax(1).tolist() if y.shape[1] <= 12 else '-'}")
        summary[name] = dict(params=int(model.count_params()), input=list(x_onnx.shape),
                             output=list(y.shape), seed=seed,
                             max_abs_ort_minus_keras=float(f"{diff:.3g}"),
                             onnx_bytes=os.path.getsize(path), ops=op_counts(m),
                             tensorflow=tf.__version__, tf2onnx=tf2onnx.__version__,
                             onnxruntime=ort.__version__)
        with open(summary_path, "w") as f:
            json.dump(dict(sorted(summary.items())), f, indent=1)
            f.write("\n")
        if diff > 1e-4:
            raise SystemExit(f"{name}: onnxruntime and Keras differ by {diff:.2e}")


if __name__ == "__main__":
    main(sys.argv[1:] or list(MODELS))
