#!/usr/bin/env bash
# Float reference vs onnxruntime on the bundled digits models at batch 256 (one run, side by
# side; results go into docs/benchmarks.md). Usage: scripts/bench-vs-ort.sh [RUNS]
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
