#!/usr/bin/env bash
# The main job on a bundled model: build Systole, inspect the digits CNN, run it on the
# float reference over the held-out digits test set and print the accuracy, then show the
# optimized IR that later stages (quantize → compile → simulate) start from.
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
