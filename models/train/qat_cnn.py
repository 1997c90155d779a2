"""4-bit quantization-aware training (QAT) of the digits CNN, exported as an ONNX QDQ model.

Run through models/train/train.sh (training venv; step "qat"), after train_cnn.py:

    .cache/train-venv/bin/python models/train/qat_cnn.py

Writes models/digits_cnn_qat4.onnx (QAT, committed), models/digits_cnn_ptq4.onnx (the
post-training 4-bit baseline on the same grid, committed), their onnxruntime outputs on the test
set models/data/digits_cnn_{qat4,ptq4}_ort_test.npy, and models/data/digits_cnn_qat4.json
(float vs PTQ-4 vs QAT-4 top-1 in onnxruntime, the scales, the training log).

Recipe
  * Start point: the committed float model models/digits_cnn.onnx (Keras CNN of train_cnn.py,
    trained on the 1437-sample train split of digits_data.split()). Its weights are loaded into
    train_cnn.build() and the Keras outputs are checked against onnxruntime's stored outputs, so
    QAT starts from exactly the float model it is compared with.
  * BatchNormalization is folded into the preceding Conv (running statistics, epsilon 1e-3):
    Conv(bias) -> ReLU, the usual "fold BN, then fine-tune" QAT recipe. Architecture otherwise
    unchanged (Dropout 0.25 before Dense during training).
  * Fake quantization (straight-through estimator on round, gradients through clip as in LSQ;
    scales are trainable with LSQ's gradient scaling 1/sqrt(numel * Qp)):
      weights  4-bit symmetric per output channel, integer grid [-7, 7] (narrow range),
               scale initialised to max|w_c| / 7 (= the PTQ-4 baseline);
      biases   int32 on the grid scale_in * scale_w[c] (what the integer kernel adds);
      input    8-bit unsigned, zero point 0, scale initialised to max(calib)/255;
      ReLU outs 8-bit unsigned, zero point 0, scale initialised from the calib set max / 255;
      logits   8-bit signed symmetric, zero point 0 (grid [-127, 127]), init max|logit| / 127.
    Rounding is half to even on both sides (tf.round and ONNX QuantizeLinear).
  * Fine-tune on the train split only (the test split is only evaluated at the end, never used
    to choose anything): Adam 5e-4, 40 epochs, batch 32, ReduceLROnPlateau(loss), fixed seeds,
    TF op determinism. The calib split (a subset of train) initialises the activation scales.
  * PTQ-4 baseline: the same graph and grid, no fine-tuning: weights rounded to nearest with
    scale max|w_c|/7, activation scales from min-max over the calib split.

Export (hand-built with onnx.helper: tf2onnx 1.16.1 converts TF FakeQuant ops only at num_bits=8,
per-tensor, not narrow-range, so it cannot express 4-bit per-channel weights). The graph is the
one a PyTorch-style QAT export produces, NCHW, opset 13 (IR 7):

    input -> Q/DQ(u8) -> Conv(W1: Q/DQ per-channel, b1: int32 DQ) -> Relu -> Q/DQ(u8) -> MaxPool
          -> Conv(W2 ..., b2 ...) -> Relu -> Q/DQ(u8) -> MaxPool -> Flatten
          -> Gemm(transB=1, W3 ..., b3 ...) -> Q/DQ(s8) -> Softmax -> probabilities

Weights are stored as float32 values already on the 4-bit grid (w = q * scale_c, q in [-7, 7])
and pass through QuantizeLinear(int8 zero points, axis 0) -> DequantizeLinear, so
QuantizeLinear(w) gives back q exactly (checked) and DequantizeLinear reproduces w.
"""
from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import tensorflow as tf  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from digits_data import DATA_DIR, MODELS_DIR, set_batch_dim_param, split, to_img  # noqa: E402
from train_cnn import build  # noqa: E402

OPSET = 13
EPOCHS = 40
LR = 5e-4
BN_EPS = 1e-3
W_BITS = 4
W_QMAX = 2 ** (W_BITS - 1) - 1        # 7: symmetric narrow grid [-7, 7]
A_QMAX_U8 = 255                       # unsigned 8-bit activations, zero point 0
A_QMAX_S8 = 127                       # signed 8-bit logits, symmetric, zero point 0


# ---------------------------------------------------------------- float start point

def load_float_keras() -> tf.keras.Model:
    """train_cnn.build() with the weights of the committed models/digits_cnn.onnx."""
    m = onnx.load(os.path.join(MODELS_DIR, "digits_cnn.onnx"))
    init = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    convs = [n for n in m.graph.node if n.op_type == "Conv"]
    bns = [n for n in m.graph.node if n.op_type == "BatchNormalization"]
    mm = [n for n in m.graph.node if n.op_type == "MatMul"][0]
    add = [n for n in m.graph.node if n.op_type == "Add"][0]
    model = build()
    for i, (c, b) in enumerate(zip(convs, bns), start=1):
        w = init[c.input[1]]                                    # OIHW
        model.get_layer(f"conv{i}").set_weights([w.transpose(2, 3, 1, 0)])   # -> HWIO
        eps = [a.f for a in b.attribute if a.name == "epsilon"][0]
        assert abs(eps - BN_EPS) < 1e-9, eps
        gamma, beta, mean, var = (init[x] for x in b.input[1:5])
        model.get_layer(f"bn{i}").set_weights([gamma, beta, mean, var])
    bias = [init[x] for x in add.input if x in init][0]
    model.get_layer("dense").set_weights([init[mm.input[1]], bias])        # [128,10] NHWC order
    return model


def fold_bn(model: tf.keras.Model) -> dict:
    """Float parameters with BN folded: conv kernels HWIO + bias, dense kernel + bias."""
    p = {}
    for i in (1, 2):
        (k,) = model.get_layer(f"conv{i}").get_weights()
        gamma, beta, mean, var = model.get_layer(f"bn{i}").get_weights()
        f = gamma / np.sqrt(var + BN_EPS)
        p[f"w{i}"] = (k * f).astype(np.float32)
        p[f"b{i}"] = (beta - mean * f).astype(np.float32)
    k, b = model.get_layer("dense").get_weights()
    p["w3"], p["b3"] = k.astype(np.float32), b.astype(np.float32)
    return p


# ---------------------------------------------------------------- fake quantization

def round_ste(x):
    return x + tf.stop_gradient(tf.round(x) - x)


def grad_scale(x, g):
    return tf.stop_gradient(x - x * g) + x * g


def fq(x, s, qmin, qmax, g):
    """LSQ fake quantization: clip(round(x / s), qmin, qmax) * s, trainable s."""
    s = grad_scale(tf.maximum(s, 1e-8), g)
    return tf.clip_by_value(round_ste(x / s), qmin, qmax) * s


class QatCnn(tf.keras.Model):
    """Conv(folded BN)-ReLU-MaxPool x2 -> Flatten -> Dropout -> Dense -> Softmax, fake-quantized."""

    def __init__(self, p: dict, act_scales: dict):
        super().__init__(name="digits_cnn_qat4")
        v = lambda a, n: tf.Variable(np.asarray(a, np.float32), name=n)  # noqa: E731
        self.w1, self.b1, self.w2, self.b2 = v(p["w1"], "w1"), v(p["b1"], "b1"), v(p["w2"], "w2"), v(p["b2"], "b2")
        self.w3, self.b3 = v(p["w3"], "w3"), v(p["b3"], "b3")
        ch_max = lambda w, ax: np.abs(w).max(axis=ax)  # noqa: E731
        self.sw1 = v(ch_max(p["w1"], (0, 1, 2)) / W_QMAX, "sw1")
        self.sw2 = v(ch_max(p["w2"], (0, 1, 2)) / W_QMAX, "sw2")
        self.sw3 = v(ch_max(p["w3"], 0) / W_QMAX, "sw3")
        self.sx = v(act_scales["input"], "sx")
        self.sa1 = v(act_scales["relu1"], "sa1")
        self.sa2 = v(act_scales["relu2"], "sa2")
        self.sl = v(act_scales["logits"], "sl")
        self.dropout = tf.keras.layers.Dropout(0.25)

    def qweights(self):
        """Fake-quantized weights and biases (the values the exported model computes with)."""
        gw = lambda w: 1.0 / np.sqrt(np.prod(w.shape[:-1]) * W_QMAX)  # noqa: E731  per-channel numel
        w1 = fq(self.w1, self.sw1, -W_QMAX, W_QMAX, gw(self.w1))
        w2 = fq(self.w2, self.sw2, -W_QMAX, W_QMAX, gw(self.w2))
        w3 = fq(self.w3, self.sw3, -W_QMAX, W_QMAX, gw(self.w3))
        # bias on the int32 grid scale_in * scale_w (no clipping at 32 bits); gradient only to b
        bq = lambda b, s: b + tf.stop_gradient(tf.round(b / s) * s - b)  # noqa: E731
        b1 = bq(self.b1, tf.stop_gradient(self.sx * self.sw1))
        b2 = bq(self.b2, tf.stop_gradient(self.sa1 * self.sw2))
        b3 = bq(self.b3, tf.stop_gradient(self.sa2 * self.sw3))
        return w1, b1, w2, b2, w3, b3

    def call(self, x, training=False, return_logits=False):
        n = tf.cast(tf.size(x) // tf.shape(x)[0], tf.float32)
        ga = lambda q: 1.0 / tf.sqrt(n * q)  # noqa: E731
        w1, b1, w2, b2, w3, b3 = self.qweights()
        x = fq(x, self.sx, 0, A_QMAX_U8, ga(A_QMAX_U8))
        x = tf.nn.relu(tf.nn.conv2d(x, w1, 1, "SAME") + b1)
        x = fq(x, self.sa1, 0, A_QMAX_U8, 1.0 / np.sqrt(8 * 8 * 16 * A_QMAX_U8))
        x = tf.nn.max_pool2d(x, 2, 2, "VALID")
        x = tf.nn.relu(tf.nn.conv2d(x, w2, 1, "SAME") + b2)
        x = fq(x, self.sa2, 0, A_QMAX_U8, 1.0 / np.sqrt(4 * 4 * 32 * A_QMAX_U8))
        x = tf.nn.max_pool2d(x, 2, 2, "VALID")
        x = tf.reshape(x, [-1, 128])                                         # NHWC flatten order
        x = self.dropout(x, training=training)
        logits = fq(tf.matmul(x, w3) + b3, self.sl, -A_QMAX_S8, A_QMAX_S8, 1.0 / np.sqrt(10 * A_QMAX_S8))
        return logits if return_logits else tf.nn.softmax(logits)


def float_folded_forward(p: dict, x: np.ndarray) -> dict:
    """Float BN-folded network; returns the activations the quantizers see (for calibration)."""
    x = tf.constant(x)
    a1 = tf.nn.relu(tf.nn.conv2d(x, p["w1"], 1, "SAME") + p["b1"])
    a2 = tf.nn.relu(tf.nn.conv2d(tf.nn.max_pool2d(a1, 2, 2, "VALID"), p["w2"], 1, "SAME") + p["b2"])
    logits = tf.matmul(tf.reshape(tf.nn.max_pool2d(a2, 2, 2, "VALID"), [-1, 128]), p["w3"]) + p["b3"]
    return {"input": x.numpy(), "relu1": a1.numpy(), "relu2": a2.numpy(), "logits": logits.numpy()}


def minmax_act_scales(p: dict, x_calib_nhwc: np.ndarray) -> dict:
    a = float_folded_forward(p, x_calib_nhwc)
    return {"input": a["input"].max() / A_QMAX_U8, "relu1": a["relu1"].max() / A_QMAX_U8,
            "relu2": a["relu2"].max() / A_QMAX_U8, "logits": np.abs(a["logits"]).max() / A_QMAX_S8}


# ---------------------------------------------------------------- ONNX QDQ export

def qlinear(x, s, zp):
    """numpy emulation of ONNX QuantizeLinear (round half to even, saturate to zp's dtype)."""
    info = np.iinfo(zp.dtype)
    return np.clip(np.rint(x / s) + zp.astype(np.int64), info.min, info.max).astype(zp.dtype)


def export_qdq(params: dict, doc: str, producer: str) -> onnx.ModelProto:
    """params: float weights (HWIO conv, [128,10] NHWC-order dense), biases, and the scales
    sw1/sw2/sw3 (per channel), sx/sa1/sa2/sl (per tensor). Returns the QDQ ModelProto."""
    f32 = lambda a: np.asarray(a, np.float32)  # noqa: E731
    sx, sa1, sa2, sl = (np.float32(params[k]) for k in ("sx", "sa1", "sa2", "sl"))
    # weights in ONNX layout: conv OIHW; Gemm B [10, 128] (transB=1) with the input in NCHW
    # flatten order (c, h, w): Keras' dense rows are (h, w, c)
    w1 = f32(params["w1"]).transpose(3, 2, 0, 1)
    w2 = f32(params["w2"]).transpose(3, 2, 0, 1)
    w3 = f32(params["w3"]).reshape(2, 2, 32, 10).transpose(2, 0, 1, 3).reshape(128, 10).T
    layers = [("conv1", w1, params["b1"], params["sw1"], sx),
              ("conv2", w2, params["b2"], params["sw2"], sa1),
              ("dense", np.ascontiguousarray(w3), params["b3"], params["sw3"], sa2)]
    inits, nodes, wq_check = [], [], {}

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def qdq(x, name, scale, zp, axis=None, q_input_is_weight=False):
        s = const(f"{name}_scale", np.asarray(scale, np.float32))
        z = const(f"{name}_zero_point", zp)
        kw = {} if axis is None else {"axis": axis}
        nodes.append(helper.make_node("QuantizeLinear", [x, s, z], [f"{name}_q"], name=f"{name}_QuantizeLinear", **kw))
        nodes.append(helper.make_node("DequantizeLinear", [f"{name}_q", s, z], [f"{name}_dq"],
                                      name=f"{name}_DequantizeLinear", **kw))
        return f"{name}_dq"

    wdq, bdq = {}, {}
    for name, w, b, sw, s_in in layers:
        sw = f32(sw)
        shape = (-1,) + (1,) * (w.ndim - 1)
        q = np.clip(np.rint(w / sw.reshape(shape)), -W_QMAX, W_QMAX)
        w_grid = f32(q * sw.reshape(shape))                              # float32 on the 4-bit grid
        zp8 = np.zeros(sw.shape, np.int8)
        back = qlinear(w_grid, sw.reshape(shape), zp8.reshape(shape))
        if not np.array_equal(back.astype(np.int64), q.astype(np.int64)):
            raise SystemExit(f"{name}: QuantizeLinear(w) does not give back the 4-bit grid")
        wq_check[name] = [int(back.min()), int(back.max())]
        wdq[name] = qdq(const(f"{name}_weight", w_grid), f"{name}_weight", sw, zp8, axis=0)
        bs = f32(np.float32(s_in) * sw)                                  # bias scale per channel
        bq = np.rint(f32(b) / bs).astype(np.int32)
        bias = const(f"{name}_bias_quantized", bq)
        bsn = const(f"{name}_bias_scale", bs)
        bzp = const(f"{name}_bias_zero_point", np.zeros(bs.shape, np.int32))
        nodes.append(helper.make_node("DequantizeLinear", [bias, bsn, bzp], [f"{name}_bias_dq"],
                                      name=f"{name}_bias_DequantizeLinear", axis=0))
        bdq[name] = f"{name}_bias_dq"

    u8 = lambda: np.array(0, np.uint8)  # noqa: E731
    x = qdq("input", "input", sx, u8())
    for i, s_out in ((1, sa1), (2, sa2)):
        nodes.append(helper.make_node("Conv", [x, wdq[f"conv{i}"], bdq[f"conv{i}"]], [f"conv{i}"],
                                      name=f"conv{i}", kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                                      strides=[1, 1], dilations=[1, 1], group=1))
        nodes.append(helper.make_node("Relu", [f"conv{i}"], [f"relu{i}"], name=f"relu{i}"))
        x = qdq(f"relu{i}", f"relu{i}", s_out, u8())
        nodes.append(helper.make_node("MaxPool", [x], [f"pool{i}"], name=f"pool{i}",
                                      kernel_shape=[2, 2], strides=[2, 2]))
        x = f"pool{i}"
    nodes.append(helper.make_node("Flatten", [x], ["flatten"], name="flatten", axis=1))
    nodes.append(helper.make_node("Gemm", ["flatten", wdq["dense"], bdq["dense"]], ["logits"], name="dense",
                                  transB=1, alpha=1.0, beta=1.0))
    x = qdq("logits", "logits", sl, np.array(0, np.int8))
    nodes.append(helper.make_node("Softmax", [x], ["probabilities"], name="probabilities", axis=1))

    g = helper.make_graph(
        nodes, "digits_cnn_qat4",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 8, 8])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 10])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=7,
                          producer_name=producer, producer_version="1", doc_string=doc)
    m = onnx.shape_inference.infer_shapes(m, strict_mode=True)
    set_batch_dim_param(m)
    onnx.checker.check_model(m, full_check=True)
    # informational only (an importer must read the grid from the data): the declared 4-bit grid
    # and the range QuantizeLinear(w) actually produces per layer
    m.metadata_props.add(key="systole.weight_grid", value=json.dumps(
        {"bits": W_BITS, "qmin": -W_QMAX, "qmax": W_QMAX, "observed": wq_check}, sort_keys=True))
    return m


def ort_eval(m: onnx.ModelProto, x_nchw: np.ndarray, y: np.ndarray):
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    p = sess.run(["probabilities"], {"input": x_nchw})[0]
    return p, float((p.argmax(1) == y).mean())


def scales_of(model: QatCnn) -> dict:
    return {k: getattr(model, k).numpy() for k in ("sw1", "sw2", "sw3", "sx", "sa1", "sa2", "sl")}


def main() -> None:
    tf.keras.utils.set_random_seed(0)
    tf.config.experimental.enable_op_determinism()
    s = split()
    nhwc = lambda x: x.reshape(-1, 8, 8, 1)  # noqa: E731
    x_test_img = to_img(s["x_test"])
    assert np.array_equal(x_test_img, np.load(os.path.join(DATA_DIR, "digits_test_x_img.npy")))
    assert np.array_equal(to_img(s["x_calib"]), np.load(os.path.join(DATA_DIR, "digits_calib_x_img.npy")))
    y_test = s["y_test"]

    # 1. float start point = the committed float model
    fmodel = load_float_keras()
    p_keras = fmodel.predict(nhwc(s["x_test"]), verbose=0)
    p_ort = np.load(os.path.join(DATA_DIR, "digits_cnn_ort_test.npy"))
    start_diff = float(np.abs(p_keras - p_ort).max())
    if start_diff > 1e-5:
        raise SystemExit(f"Keras model with digits_cnn.onnx weights differs from ORT by {start_diff}")
    float_acc = float((p_ort.argmax(1) == y_test).mean())
    p = fold_bn(fmodel)
    pf = float_folded_forward(p, nhwc(s["x_test"]))
    fold_acc = float((pf["logits"].argmax(1) == y_test).mean())
    print(f"tensorflow {tf.__version__}: float start point = models/digits_cnn.onnx "
          f"(max |keras - ort| {start_diff:.1e}); float top-1 {float_acc:.4f}, BN-folded {fold_acc:.4f}")

    act = minmax_act_scales(p, nhwc(s["x_calib"]))
    doc_common = ("digits CNN (Conv-ReLU-MaxPool x2, Gemm; BN folded) in QDQ form: 4-bit symmetric "
                  "per-channel weights (int8 storage, grid [-7,7]), int32 biases, 8-bit activations "
                  "(uint8 zp 0; logits int8 zp 0); input pixels/16 float32 NCHW [N,1,8,8]")

    # 2. PTQ-4 baseline: round-to-nearest, scale max|w|/7, min-max activation scales
    ptq = dict(p, sw1=np.abs(p["w1"]).max((0, 1, 2)) / W_QMAX, sw2=np.abs(p["w2"]).max((0, 1, 2)) / W_QMAX,
               sw3=np.abs(p["w3"]).max(0) / W_QMAX, sx=act["input"], sa1=act["relu1"], sa2=act["relu2"],
               sl=act["logits"])
    m_ptq = export_qdq(ptq, "PTQ (no fine-tuning) " + doc_common, "systole qat_cnn.py (ptq4)")
    _, ptq_acc = ort_eval(m_ptq, x_test_img, y_test)
    print(f"PTQ-4 (RTN, min-max act) top-1 in onnxruntime: {ptq_acc:.4f}")

    # 3. QAT fine-tune
    model = QatCnn(p, act)
    _ = model(nhwc(s["x_calib"][:2]))
    before = float((model(nhwc(s["x_test"])).numpy().argmax(1) == y_test).mean())
    model.compile(optimizer=tf.keras.optimizers.Adam(LR), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    hist = model.fit(nhwc(s["x_train"]), s["y_train"], epochs=EPOCHS, batch_size=32, verbose=0,
                     callbacks=[tf.keras.callbacks.ReduceLROnPlateau("loss", factor=0.5, patience=5)])
    train_loss = [round(float(v), 5) for v in hist.history["loss"]]
    train_acc = float((model(nhwc(s["x_train"])).numpy().argmax(1) == s["y_train"]).mean())
    p_qat_keras = model(nhwc(s["x_test"])).numpy()
    qat_keras_acc = float((p_qat_keras.argmax(1) == y_test).mean())
    print(f"QAT: fake-quant top-1 before fine-tune {before:.4f}; after {EPOCHS} epochs train "
          f"{train_acc:.4f}, test (keras fake-quant) {qat_keras_acc:.4f}; loss {train_loss[0]} -> {train_loss[-1]}")

    qp = dict(w1=model.w1.numpy(), b1=model.b1.numpy(), w2=model.w2.numpy(), b2=model.b2.numpy(),
              w3=model.w3.numpy(), b3=model.b3.numpy(), **scales_of(model))
    if min(float(np.min(v)) for k, v in qp.items() if k.startswith("s")) <= 0:
        raise SystemExit("a learned scale is not positive")
    m_qat = export_qdq(qp, "QAT (fake-quant fine-tune, models/train/qat_cnn.py) " + doc_common,
                       "systole qat_cnn.py (qat4)")
    p_qat_ort, qat_acc = ort_eval(m_qat, x_test_img, y_test)
    agree = int((p_qat_ort.argmax(1) == p_qat_keras.argmax(1)).sum())
    qdiff = float(np.abs(p_qat_ort - p_qat_keras).max())
    print(f"QAT-4 top-1 in onnxruntime {ort.__version__}: {qat_acc:.4f}; argmax agrees with Keras "
          f"fake-quant on {agree}/{len(y_test)}, max |ort - keras| {qdiff:.2e}")

    for m, fname in ((m_qat, "digits_cnn_qat4.onnx"), (m_ptq, "digits_cnn_ptq4.onnx")):
        set_batch_dim_param(m)
        path = os.path.join(MODELS_DIR, fname)
        onnx.save(m, path)
        onnx.checker.check_model(onnx.load(path), full_check=True)
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        out = sess.run(["probabilities"], {"input": x_test_img})[0].astype(np.float32)
        np.save(os.path.join(DATA_DIR, fname.replace(".onnx", "_ort_test.npy")), out)
        print(f"wrote models/{fname} ({os.path.getsize(path)} bytes) and "
              f"models/data/{fname.replace('.onnx', '_ort_test.npy')}")

    rep = {
        "tensorflow": tf.__version__, "onnx": onnx.__version__, "onnxruntime": ort.__version__,
        "test_samples": int(len(y_test)), "epochs": EPOCHS, "lr": LR, "weight_bits": W_BITS,
        "activation_bits": 8,
        "top1_onnxruntime": {"float": float_acc, "ptq4": ptq_acc, "qat4": qat_acc},
        "correct_onnxruntime": {k: int(round(v * len(y_test))) for k, v in
                                {"float": float_acc, "ptq4": ptq_acc, "qat4": qat_acc}.items()},
        "top1_keras": {"float_bn_folded": fold_acc, "qat4_fake_quant_before": before,
                       "qat4_fake_quant": qat_keras_acc, "qat4_train_split": train_acc},
        "qat4_ort_vs_keras": {"argmax_agree": agree, "max_abs_diff": qdiff},
        "train_loss": train_loss,
        "scales": {name: {k: np.asarray(v).round(8).tolist() for k, v in d.items() if k.startswith("s")}
                   for name, d in (("ptq4", ptq), ("qat4", qp))},
    }
    path = os.path.join(DATA_DIR, "digits_cnn_qat4.json")
    with open(path, "w") as f:
        json.dump(rep, f, indent=1)
        f.write("\n")
    print(f"wrote models/data/digits_cnn_qat4.json: top-1 float {float_acc:.4f}, PTQ-4 {ptq_acc:.4f}, "
          f"QAT-4 {qat_acc:.4f}")
    if qat_acc < float_acc - 0.01:
        raise SystemExit("QAT-4 more than 1 point below float")


if __name__ == "__main__":
    main()
