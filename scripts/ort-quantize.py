"""onnxruntime `quantize_static` on the bundled digits models: the 8-bit peer of Systole's quantizer.

Run with the oracle venv (scripts/setup-oracles.sh):

    .cache/venv/bin/python scripts/ort-quantize.py            # quantize + evaluate (about 20 s)
    .cache/venv/bin/python scripts/ort-quantize.py --bench    # ... and time ORT float vs int8 QDQ CNN

For each model (digits_mlp.onnx, digits_cnn.onnx):
  1. `quant_pre_process` (ORT's recommended pre-step: ORT graph optimization, which folds
     BatchNormalization into Conv, then ONNX shape inference).  Symbolic shape inference is
     skipped: it needs sympy (not in the oracle venv) and is only useful for transformer-style
     dynamic shapes; ONNX shape inference gives every tensor of these two models a full shape
     (the script checks that).  Gemm biases of shape [1, N] are then reshaped to [N] (identical
     semantics), working around an onnxruntime 1.32 quantizer bug with per-channel Gemm weights.
  2. `quantize_static` in QDQ format with int8 weights (symmetric, ORT's default) per-channel and
     per-tensor, uint8 and int8 activations (asymmetric, ORT's default), and the MinMax, Entropy
     and Percentile (99.999, ORT's default) calibration methods, plus `entropy2048` (see
     METHODS below: ORT's default Entropy degenerates to the full range): 16 models per network.
     Calibration data: models/data/digits_calib_x{,_img}.npy (200 samples, drawn from the training
     split), fed as one batch of 200 so the histogram methods see one histogram over all samples.
  3. top-1 on the 360 held-out test samples in onnxruntime (CPU EP), plus the number of test
     predictions that differ from the float model and max |p_q - p_float|.  quantize_static
     quantizes the Softmax output too (step 1/255), so the top two probabilities can tie; the
     script counts ties and also reports `top1_logits`, the argmax of the dequantized Softmax input.

Writes ${SYSTOLE_CACHE:-<repo>/.cache}/ort-quant/:
    digits_{mlp,cnn}.pre.onnx                           preprocessed float model (BN folded)
    digits_{mlp,cnn}.qdq.{u8,s8}s8.{pc,pt}.{minmax,entropy,percentile,entropy2048}.onnx
    digits_{mlp,cnn}.entropy2048.calib.json             calibration cache of the entropy2048 runs
        (u8s8 = uint8 activations / int8 weights; pc = per-channel weights, pt = per-tensor)
    results.json                                        accuracies (and bench figures with --bench)
and prints the same JSON on stdout (progress on stderr).

--bench: times onnxruntime on the CNN at batch 256 (the test set tiled), intra-op threads 2
(--threads), inter-op 1, sequential execution, ORT_ENABLE_ALL graph optimizations: the float model
and the int8 QDQ models (per-channel MinMax, u8s8 and s8s8; per-tensor u8s8). ROUNDS rounds of RUNS
session.run calls each, the models interleaved inside every round so machine noise hits all alike;
figure = median over rounds of the per-round median (and the fastest round, which other load
disturbs less). The load average before and after goes into
the JSON: other work on the machine (a build) slows ORT's spinning thread pool a lot. Also
records which ops ORT actually executes after its graph optimizations (QDQ -> QLinearConv /
QGemm ... fusion) so one can see the int8 kernels really run.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import sys
import time
from collections import Counter

import numpy as np
import onnx
import onnx.numpy_helper
import onnx.shape_inference
import onnxruntime as ort
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                      QuantType, quant_pre_process, quantize_static)
from onnxruntime.quantization.calibrate import create_calibrator, save_tensors_data

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
MODELS = os.path.join(REPO, "models")
DATA = os.path.join(MODELS, "data")
CACHE = os.environ.get("SYSTOLE_CACHE") or os.path.join(REPO, ".cache")

# name -> (model file, calibration inputs, test inputs)
NETS = {
    "mlp": ("digits_mlp.onnx", "digits_calib_x.npy", "digits_test_x.npy"),
    "cnn": ("digits_cnn.onnx", "digits_calib_x_img.npy", "digits_test_x_img.npy"),
}
ACTS = {"u8": QuantType.QUInt8, "s8": QuantType.QInt8}
GRAN = {"pc": True, "pt": False}
METHODS = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
           "percentile": CalibrationMethod.Percentile, "entropy2048": CalibrationMethod.Entropy}
# Entropy as quantize_static runs it (num_bins = num_quantized_bins = 128) has a single candidate
# threshold, the whole histogram range, so it equals a symmetric MinMax. `entropy2048` is the same
# KL calibrator with num_bins=2048 (ORT's percentile default) and num_quantized_bins=128, built
# with create_calibrator and handed to quantize_static through its calibration cache file.
ENTROPY2048 = {"num_bins": 2048, "num_quantized_bins": 128}
# The int8 QDQ CNN that the speed benchmark (docs/benchmarks.md) runs in ORT.
BENCH_QDQ = ["digits_cnn.qdq.u8s8.pc.minmax.onnx", "digits_cnn.qdq.s8s8.pc.minmax.onnx",
             "digits_cnn.qdq.u8s8.pt.minmax.onnx"]


def log(*a) -> None:
    print("ort-quantize:", *a, file=sys.stderr, flush=True)


class NpyReader(CalibrationDataReader):
    """All calibration samples in one batch (MinMax over the whole set; one histogram)."""

    def __init__(self, input_name: str, x: np.ndarray):
        self.input_name, self.x, self.done = input_name, x, False

    def get_next(self):
        if self.done:
            return None
        self.done = True
        return {self.input_name: self.x}

    def rewind(self):
        self.done = False


def session(path: str, threads: int = 2, opt_path: str | None = None) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    if opt_path:
        so.optimized_model_filepath = opt_path
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def run(path: str, x: np.ndarray) -> np.ndarray:
    s = session(path)
    return s.run(None, {s.get_inputs()[0].name: x})[0]


def run_logits(path: str, x: np.ndarray) -> np.ndarray:
    """The (dequantized) input of the final Softmax, made a graph output.

    quantize_static also quantizes the Softmax output (uint8/int8, scale 1/255), so
    two classes can tie on the probabilities output (argmax then takes the lower index); the
    argmax of the logits has no such ties.
    """
    m = onnx.load(path)
    sm = [n for n in m.graph.node if n.op_type == "Softmax"][-1]
    m.graph.output.append(onnx.helper.make_tensor_value_info(sm.input[0], onnx.TensorProto.FLOAT, None))
    so = ort.SessionOptions()
    so.log_severity_level = 3
    s = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return s.run([sm.input[0]], {s.get_inputs()[0].name: x})[0]


def check_shapes(path: str) -> None:
    """Every node output of the preprocessed model has a fully known shape (batch symbolic)."""
    m = onnx.load(path)
    known = {vi.name: vi for vi in list(m.graph.value_info) + list(m.graph.output)}
    missing = [o for n in m.graph.node for o in n.output
               if o not in known or not known[o].type.tensor_type.HasField("shape")]
    if missing:
        raise SystemExit(f"{path}: shape inference left tensors without a shape: {missing}")


def flatten_gemm_bias(path: str) -> int:
    """Reshape Gemm bias initializers [1, N] -> [N] in place (same semantics: C broadcasts).

    skl2onnx's MatMul+Add becomes, after ORT's optimizer, Gemm with a [1, N] bias; onnxruntime
    1.32's QDQ quantizer then fails in `_adjust_weight_scale_for_int32_bias` for per-channel
    weights ("truth value of an array ... is ambiguous": it indexes the bias per channel and gets
    a row). A 1-D bias is what every other exporter writes; returns the number reshaped.
    """
    m = onnx.load(path)
    inits = {i.name: i for i in m.graph.initializer}
    users = Counter(x for n in m.graph.node for x in n.input)
    done = 0
    for n in m.graph.node:
        if n.op_type == "Gemm" and len(n.input) > 2 and n.input[2] in inits:
            c = inits[n.input[2]]
            if len(c.dims) == 2 and c.dims[0] == 1 and users[c.name] == 1:
                a = onnx.numpy_helper.to_array(c).reshape(-1)
                c.CopyFrom(onnx.numpy_helper.from_array(a, c.name))
                done += 1
    if done:
        del m.graph.value_info[:]
        m = onnx.shape_inference.infer_shapes(m, strict_mode=True)
        onnx.checker.check_model(m)
        onnx.save(m, path)
    return done


def entropy2048_cache(pre: str, in_name: str, xc: np.ndarray, out_dir: str) -> str:
    """KL thresholds with 2048 histogram bins, saved as a quantize_static calibration cache."""
    path = os.path.join(out_dir, os.path.basename(pre).replace(".pre.onnx", ".entropy2048.calib.json"))
    aug = os.path.join(out_dir, "augmented.tmp.onnx")
    with contextlib.redirect_stdout(io.StringIO()):
        cal = create_calibrator(pre, None, augmented_model_path=aug,
                                calibrate_method=CalibrationMethod.Entropy, extra_options=ENTROPY2048)
        cal.collect_data(NpyReader(in_name, xc))
        save_tensors_data(cal.compute_data(), path)
    for f in (aug, aug + ".data"):
        if os.path.exists(f):
            os.remove(f)
    return path


def ops(path: str) -> dict:
    m = onnx.load(path)
    return dict(sorted(Counter(n.op_type for n in m.graph.node).items()))


def quantize_all(out_dir: str, y: np.ndarray) -> dict:
    res = {}
    for net, (mfile, cfile, tfile) in NETS.items():
        src = os.path.join(MODELS, mfile)
        pre = os.path.join(out_dir, mfile.replace(".onnx", ".pre.onnx"))
        quant_pre_process(src, pre, skip_symbolic_shape=True)
        n_bias = flatten_gemm_bias(pre)
        check_shapes(pre)
        xc = np.load(os.path.join(DATA, cfile))
        xt = np.load(os.path.join(DATA, tfile))
        p_float = run(src, xt)
        p_pre = run(pre, xt)
        entry = {
            "model": f"models/{mfile}", "calib": f"models/data/{cfile}", "test": f"models/data/{tfile}",
            "float_top1": float((p_float.argmax(1) == y).mean()),
            "float_correct": int((p_float.argmax(1) == y).sum()),
            "preprocessed_ops": ops(pre),
            "preprocessed_max_abs_diff": float(np.abs(p_pre - p_float).max()),
            "gemm_bias_flattened": n_bias,
            "quantized": [],
        }
        log(f"{net}: float top-1 {entry['float_top1']:.4f}; preprocessed ops {entry['preprocessed_ops']}")
        in_name = onnx.load(pre).graph.input[0].name
        e2048 = entropy2048_cache(pre, in_name, xc, out_dir)
        for act, at in ACTS.items():
            for gran, pc in GRAN.items():
                for meth, cm in METHODS.items():
                    name = f"{mfile[:-5]}.qdq.{act}s8.{gran}.{meth}.onnx"
                    path = os.path.join(out_dir, name)
                    t0 = time.perf_counter()
                    # ORT's calibrators print histogram details on stdout: keep stdout for JSON.
                    with contextlib.redirect_stdout(io.StringIO()):
                        quantize_static(pre, path, NpyReader(in_name, xc), quant_format=QuantFormat.QDQ,
                                        per_channel=pc, reduce_range=False, activation_type=at,
                                        weight_type=QuantType.QInt8, calibrate_method=cm,
                                        calibration_cache_path=e2048 if meth == "entropy2048" else None)
                    dt = time.perf_counter() - t0
                    onnx.checker.check_model(onnx.load(path))
                    p = run(path, xt)
                    pred = p.argmax(1)
                    top2 = np.sort(p, 1)[:, -2:]
                    pred_l = run_logits(path, xt).argmax(1)
                    r = {
                        "file": name, "activations": "uint8" if act == "u8" else "int8",
                        "weights": "int8", "per_channel": pc, "method": meth,
                        "top1": float((pred == y).mean()), "correct": int((pred == y).sum()),
                        "delta_points": round(100 * (float((pred == y).mean()) - entry["float_top1"]), 2),
                        "pred_differs_from_float": int((pred != p_float.argmax(1)).sum()),
                        "output_ties": int((top2[:, 0] == top2[:, 1]).sum()),
                        "top1_logits": float((pred_l == y).mean()),
                        "correct_logits": int((pred_l == y).sum()),
                        "max_abs_diff_vs_float": float(np.abs(p - p_float).max()),
                        "quantize_seconds": round(dt, 2),
                        "ops": ops(path),
                    }
                    entry["quantized"].append(r)
                    log(f"{name}: top-1 {r['top1']:.4f} ({r['correct']}/{len(y)}), logits "
                        f"{r['correct_logits']}/{len(y)}, {r['output_ties']} ties, "
                        f"{r['pred_differs_from_float']} preds differ from float, {dt:.1f} s")
        res[net] = entry
    return res


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def bench(out_dir: str, threads: int, batch: int, runs: int, rounds: int) -> dict:
    xt = np.load(os.path.join(DATA, NETS["cnn"][2]))
    x = np.ascontiguousarray(np.concatenate([xt] * -(-batch // len(xt)))[:batch], dtype=np.float32)
    paths = {"float": os.path.join(MODELS, "digits_cnn.onnx")}
    paths.update({f: os.path.join(out_dir, f) for f in BENCH_QDQ})
    sess, executed = {}, {}
    for k, p in paths.items():
        opt = os.path.join(out_dir, "ort-optimized." + os.path.basename(p))
        sess[k] = session(p, threads, opt)
        executed[k] = ops(opt)
        os.remove(opt)
    name = sess["float"].get_inputs()[0].name
    for s in sess.values():  # warm-up
        for _ in range(10):
            s.run(None, {name: x})
    per_round = {k: [] for k in sess}
    load_before = [round(v, 2) for v in os.getloadavg()]
    for _ in range(rounds):
        for k, s in sess.items():
            t = []
            for _ in range(runs):
                t0 = time.perf_counter()
                s.run(None, {name: x})
                t.append(time.perf_counter() - t0)
            per_round[k].append(float(np.median(t)))
    f_ms = float(np.median(per_round["float"])) * 1e3
    f_best = min(per_round["float"]) * 1e3
    out = {"batch": batch, "intra_op_threads": threads, "runs_per_round": runs, "rounds": rounds,
           "cpu_count": os.cpu_count(), "machine": cpu_name(),
           "loadavg_1_5_15_before": load_before,
           "loadavg_1_5_15_after": [round(v, 2) for v in os.getloadavg()],
           "models": {}}
    for k in sess:
        ms = float(np.median(per_round[k])) * 1e3
        out["models"][k] = {
            "file": os.path.relpath(paths[k], REPO), "ms_per_batch": round(ms, 4),
            "samples_per_s": round(batch / ms * 1e3), "speedup_vs_float": round(f_ms / ms, 2),
            "round_ms_min_max": [round(min(per_round[k]) * 1e3, 4), round(max(per_round[k]) * 1e3, 4)],
            # the fastest round of each model: less sensitive to other load than the median
            "best_round_speedup_vs_float": round(f_best / (min(per_round[k]) * 1e3), 2),
            "ops_after_ort_optimization": executed[k],
        }
        log(f"bench {k}: {ms:.3f} ms/batch of {batch} ({batch / ms * 1e3:.0f} samples/s), "
            f"x{f_ms / ms:.2f} vs float; executed ops {executed[k]}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bench", action="store_true", help="also time ORT float vs int8 QDQ CNN")
    ap.add_argument("--bench-only", action="store_true",
                    help="only the benchmark (models from a previous run; results.json keeps its accuracies)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--out", default=os.path.join(CACHE, "ort-quant"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rpath = os.path.join(a.out, "results.json")
    y = np.load(os.path.join(DATA, "digits_test_y.npy"))
    if a.bench_only:
        with open(rpath) as f:
            res = json.load(f)
    else:
        res = {"onnxruntime": ort.__version__, "onnx": onnx.__version__, "numpy": np.__version__,
               "python": platform.python_version(), "test_samples": int(len(y)),
               "calib_samples": 200, "percentile": 99.999, "nets": quantize_all(a.out, y)}
    if a.bench or a.bench_only:
        res["bench_cnn"] = bench(a.out, a.threads, a.batch, a.runs, a.rounds)
    tmp = rpath + ".tmp"
    with open(tmp, "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")
    os.replace(tmp, rpath)
    log(f"wrote {rpath}")
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
