#!/usr/bin/env bash
# Accuracy vs weight format vs calibration method on the bundled digits models, through the
# integer reference: the table in docs/quantization.md. Usage: scripts/quant-table.sh [OUT_DIR]
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
cargo build --release --quiet
S="$REPO/target/release/systole"
OUT="${1:-$REPO/target/quant-table}"
mkdir -p "$OUT"
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
row() { # model calib test weights acts method extra...
  local m=$1 c=$2 x=$3 w=$4 a=$5 meth=$6; shift 6
  local f="$OUT/$(basename "$m" .onnx)-$(echo "$w-$a-$meth-$*" | tr -c 'a-zA-Z0-9\n' '_').sysq"
  local q; q=$("$S" quantize "$m" --calib "$c" --weights "$w" --acts "$a" --method "$meth" "$@" -o "$f" --json)
  local bits; bits=$(echo "$q" | field "['avg_bits']")
  local t1; t1=$("$S" eval "$f" --data "$x" --labels models/data/digits_test_y.npy --json | field "['top1']")
  printf '| %s | %s | %s | %s | %s | %.3f | %.2f |\n' "$(basename "$m" .onnx)" "$w" "$a" "$meth" "${*:-}" "$bits" "$(python3 -c "print(100*$t1)")"
}
echo "| model | weights | acts | method | options | bits/weight | top-1 % |"
echo "|---|---|---|---|---|---|---|"
for spec in "models/digits_mlp.onnx models/data/digits_calib_x.npy models/data/digits_test_x.npy" \
            "models/digits_cnn.onnx models/data/digits_calib_x_img.npy models/data/digits_test_x_img.npy"; do
  set -- $spec
  m=$1 c=$2 x=$3
  t1=$("$S" eval "$m" --data "$x" --labels models/data/digits_test_y.npy --json | field "['top1']")
  printf '| %s | float32 | float32 | - | - | 32 | %.2f |\n' "$(basename "$m" .onnx)" "$(python3 -c "print(100*$t1)")"
  for w in int8 int6 int5 int4 int3 int2 int4:g16 pow2:4 kmeans:4 kmeans:3:ch fp8e4m3 fp8e5m2 mx:8:g32 mx:4:g16 "ap_fixed<8,3,RND,SAT>"; do
    row "$m" "$c" "$x" "$w" int8 minmax
  done
  row "$m" "$c" "$x" int8 int8 minmax --per-tensor
  for meth in percentile:99.99 mse kl; do row "$m" "$c" "$x" int4 int8 "$meth"; row "$m" "$c" "$x" int8 int4 "$meth"; done
  row "$m" "$c" "$x" int8 int4 minmax
  row "$m" "$c" "$x" int8 "ap_fixed<10,5,RND,SAT>" minmax
  row "$m" "$c" "$x" int8 int8 minmax --prune 0.5
  row "$m" "$c" "$x" int8 int8 minmax --prune 2:4
  row "$m" "$c" "$x" int4 int8 minmax --prune 2:4
  for b in 3 3.5 4 5; do row "$m" "$c" "$x" int8 int8 minmax --budget "avg-bits=$b"; done
done
