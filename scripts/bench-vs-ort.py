"""Systole vs onnxruntime, side by side in one run (run by scripts/bench-vs-ort.sh).

Usage: bench-vs-ort.py SYSTOLE ORT_MODEL X.npy BATCH RUNS [SYSTOLE_MODEL]. With SYSTOLE_MODEL (a
.sysq) Systole runs that program on the integer reference while onnxruntime runs ORT_MODEL (an
int8 QDQ model): the quantized comparison. Without it both run ORT_MODEL (float).

Both engines run the same model on the same batch and time the model alone (no file I/O):
onnxruntime via session.run with intra-op threads equal to the cores Systole's rayon pool uses;
Systole via `systole run --repeat N --json`, which times interp::run only. The two alternate in
ROUNDS rounds of N runs each, so machine noise hits both alike; each round gives a median per
engine and the reported figures are the medians over rounds.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort


def main() -> int:
    systole, model, x_path, batch, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    ours_model = sys.argv[6] if len(sys.argv) > 6 else model
    x = np.load(x_path)
    reps = -(-batch // x.shape[0])
    x = np.concatenate([x] * reps)[:batch].astype(np.float32)
    threads = os.cpu_count() or 1
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    for _ in range(5):
        sess.run(None, {name: x})
    rounds = 7
    ort_rounds, our_rounds = [], []
    with tempfile.TemporaryDirectory() as d:
        xp = os.path.join(d, "x.npy")
        np.save(xp, x)
        for _ in range(rounds):
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                sess.run(None, {name: x})
                times.append(time.perf_counter() - t0)
            ort_rounds.append(float(np.median(times)))
            out = subprocess.run([systole, "run", ours_model, "--input", xp, "--repeat", str(runs), "--json"],
                                 check=True, capture_output=True, text=True).stdout
            our_rounds.append(json.loads(out)["seconds"])
    ort_med = float(np.median(ort_rounds))
    ours = float(np.median(our_rounds))
    print(json.dumps({
        "model": os.path.basename(model), "systole_model": os.path.basename(ours_model), "batch": batch, "runs_per_round": runs, "rounds": rounds, "threads": threads,
        "onnxruntime_version": ort.__version__,
        "onnxruntime_ms": round(ort_med * 1e3, 3), "systole_ms": round(ours * 1e3, 3),
        "ratio_systole_over_ort": round(ours / ort_med, 2),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
