#!/usr/bin/env bash
# The main job on a bundled model: build Systole, inspect the digits CNN, run it on the
# float reference over the held-out digits test set, then quantize it (int8, and mixed precision
# under a 4-bit average budget) and print float → quantized accuracy and the size saved.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
echo "==> building systole (release)" >&2
cargo build --release --quiet
S="$REPO/target/release/systole"
OUT="${SYSTOLE_DEMO_OUT:-$REPO/target/demo}"
mkdir -p "$OUT"

echo "==> systole inspect models/digits_cnn.onnx"
"$S" inspect models/digits_cnn.onnx
echo
echo "==> systole run models/digits_cnn.onnx on the 360 held-out digits"
"$S" run models/digits_cnn.onnx --input models/data/digits_test_x_img.npy \
  --labels models/data/digits_test_y.npy --output "$OUT/digits_cnn_probs.npy"
echo
echo "==> systole run models/digits_mlp.onnx on the same digits"
"$S" run models/digits_mlp.onnx --input models/data/digits_test_x.npy \
  --labels models/data/digits_test_y.npy --output "$OUT/digits_mlp_probs.npy"
echo
echo "==> the digits CNN after the pass pipeline (BatchNorm folded, ReLU fused, im2col view)"
"$S" inspect models/digits_cnn.onnx --dump-after conv-as-gemm
echo
echo "==> systole quantize: int8 per channel, then per-layer bits under avg-bits=4"
"$S" quantize models/digits_cnn.onnx --calib models/data/digits_calib_x_img.npy -o "$OUT/digits_cnn_int8.sysq"
"$S" quantize models/digits_cnn.onnx --calib models/data/digits_calib_x_img.npy \
  --budget avg-bits=4 --write-alloc "$OUT/digits_cnn_alloc.ron" -o "$OUT/digits_cnn_mixed.sysq"
echo
echo "==> float → quantized top-1 on the 360 held-out digits (integer reference)"
for m in models/digits_cnn.onnx "$OUT/digits_cnn_int8.sysq" "$OUT/digits_cnn_mixed.sysq"; do
  "$S" eval "$m" --data models/data/digits_test_x_img.npy --labels models/data/digits_test_y.npy
done
echo
echo "==> systole simulate: the int8 CNN on an 8x8 weight-stationary array, every PE every cycle,"
echo "    checked against the integer reference; then the same on a 16x16 with the fast engine"
"$S" simulate "$OUT/digits_cnn_int8.sysq" --hw edge-8x8 --input models/data/digits_test_x_img.npy \
  --csv "$OUT/digits_cnn_edge8.csv" --plot-dir "$OUT/digits_cnn_edge8" --schedule "$OUT/digits_cnn_edge8.schedule"
"$S" simulate "$OUT/digits_cnn_int8.sysq" --hw edge-16x16 --input models/data/digits_test_x_img.npy --fast
echo
echo "==> systole compile: the int8 CNN for edge-8x8 (ROMs, instruction ROM, systole_params.vh, manifest)"
rm -rf "$OUT/build-cnn-edge8"
"$S" compile "$OUT/digits_cnn_int8.sysq" --hw edge-8x8 -o "$OUT/build-cnn-edge8"
if command -v verilator >/dev/null 2>&1; then
  echo
  echo "==> systole verify: the build's RTL under Verilator vs the exact simulator vs the integer reference"
  "$S" verify "$OUT/build-cnn-edge8" --input models/data/digits_test_x_img.npy --rtl verilator
else
  echo "(verilator is not installed: skipping systole verify; scripts/test.sh installs it)"
fi
