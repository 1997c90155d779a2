#!/usr/bin/env bash
# Systole vs onnxruntime on the bundled digits models at batch 256 (one run, side by side;
# results go into docs/benchmarks.md): the float reference vs ORT float, then the integer
# reference on an int8 .sysq vs ORT on its own int8 QDQ model (quantize_static, uint8
# activations, int8 per-channel weights, MinMax). Usage: scripts/bench-vs-ort.sh [RUNS]
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
RUNS="${1:-50}"
scripts/setup-oracles.sh
cargo build --release --quiet
PY="${SYSTOLE_CACHE:-$REPO/.cache}/venv/bin/python"
for m in cnn mlp; do
  x=models/data/digits_test_x.npy
  [[ $m == cnn ]] && x=models/data/digits_test_x_img.npy
  "$PY" scripts/bench-vs-ort.py target/release/systole "models/digits_$m.onnx" "$x" 256 "$RUNS"
done
CACHE="${SYSTOLE_CACHE:-$REPO/.cache}"
[[ -f "$CACHE/ort-quant/digits_cnn.qdq.u8s8.pc.minmax.onnx" ]] || "$PY" scripts/ort-quantize.py >/dev/null
mkdir -p target/bench
target/release/systole quantize models/digits_cnn.onnx --calib models/data/digits_calib_x_img.npy \
  -o target/bench/digits_cnn_int8.sysq --json >/dev/null
"$PY" scripts/bench-vs-ort.py target/release/systole "$CACHE/ort-quant/digits_cnn.qdq.u8s8.pc.minmax.onnx" \
  models/data/digits_test_x_img.npy 256 "$RUNS" target/bench/digits_cnn_int8.sysq
