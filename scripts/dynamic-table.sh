#!/usr/bin/env bash
# Static vs dynamic activation quantization (quantize --dynamic), through the integer reference:
# the tables in docs/quantization.md ("Dynamic quantization") and docs/transformers.md.
# Usage: scripts/dynamic-table.sh [--minilm] [OUT_DIR]
#   digits MLP and CNN: top-1 on the 360 held-out digits (seconds);
#   --minilm also: MiniLM-L3 W8A8 and W4A8 int4:g64 (RTN and GPTQ), mean/min cosine to float
#   and retrieval on the eval split (scripts/setup-minilm.sh first; GPTQ takes minutes).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
MINILM=0
if [ "${1:-}" = "--minilm" ]; then MINILM=1; shift; fi
cargo build --release --quiet -p systole
S="$REPO/target/release/systole"
OUT="${1:-$REPO/target/dynamic-table}"
mkdir -p "$OUT"
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(d$1)"; }
pct() { python3 -c "print(f'{100*$1:.2f}')"; }
row() { # model calib test weights acts method dynamic(yes|no)
  local m=$1 c=$2 x=$3 w=$4 a=$5 meth=$6 dyn=$7
  local flag=(); [ "$dyn" = yes ] && flag=(--dynamic)
  local f="$OUT/$(basename "$m" .onnx)-$(echo "$w-$a-$meth-$dyn" | tr -c 'a-zA-Z0-9\n' '_').sysq"
  "$S" quantize "$m" --calib "$c" --weights "$w" --acts "$a" --method "$meth" "${flag[@]}" -o "$f" --json >/dev/null
  local t1; t1=$("$S" eval "$f" --data "$x" --labels models/data/digits_test_y.npy --json | field "['top1']")
  local how="static $meth"; [ "$dyn" = yes ] && how="dynamic (per sample)"
  printf '| %s | %s | %s | %s | %s |\n' "$(basename "$m" .onnx)" "$w" "$a" "$how" "$(pct "$t1")"
}
echo "| model | weights | acts | activation scales | top-1 % |"
echo "|---|---|---|---|---|"
for spec in "models/digits_mlp.onnx models/data/digits_calib_x.npy models/data/digits_test_x.npy" \
            "models/digits_cnn.onnx models/data/digits_calib_x_img.npy models/data/digits_test_x_img.npy"; do
  set -- $spec
  m=$1 c=$2 x=$3
  t1=$("$S" eval "$m" --data "$x" --labels models/data/digits_test_y.npy --json | field "['top1']")
  printf '| %s | float32 | float32 | - | %s |\n' "$(basename "$m" .onnx)" "$(pct "$t1")"
  for w in int8 int4; do
    for a in int8 int4 int3; do
      row "$m" "$c" "$x" "$w" "$a" minmax no
      row "$m" "$c" "$x" "$w" "$a" mse no
      row "$m" "$c" "$x" "$w" "$a" minmax yes
    done
  done
done
[ "$MINILM" = 1 ] || exit 0
M="${SYSTOLE_CACHE:-$REPO/.cache}/minilm"
SENT=models/text/sentences.tsv
echo
echo "| MiniLM-L3 | activation scales | mean cosine | min cosine | recall@1 | MRR | quantize s |"
echo "|---|---|---|---|---|---|---|"
mrow() { # label dynamic(yes|no) quantize-args...
  local label=$1 dyn=$2; shift 2
  local flag=(); [ "$dyn" = yes ] && flag=(--dynamic)
  local f="$OUT/minilm-$(echo "$label-$dyn" | tr -c 'a-zA-Z0-9\n' '_').sysq"
  local qs; qs=$("$S" quantize "$M/model.onnx" --calib-sentences "$SENT" --tokenizer "$M/tokenizer.json" \
      "$@" "${flag[@]}" -o "$f" --json | field "['seconds']")
  local e; e=$("$S" embed "$M/model.onnx" --tokenizer "$M/tokenizer.json" --sentences "$SENT" \
      --split eval --sysq "$f" --json)
  local how="static (MSE)"; [ "$dyn" = yes ] && how="dynamic (per token, linear inputs)"
  printf '| %s | %s | %.5f | %.5f | %.3f | %.3f | %.1f |\n' "$label" "$how" \
    "$(echo "$e" | field "['quantized']['mean_cosine']")" "$(echo "$e" | field "['quantized']['min_cosine']")" \
    "$(echo "$e" | field "['quantized']['retrieval']['recall_at_1']")" "$(echo "$e" | field "['quantized']['retrieval']['mrr']")" "$qs"
}
for dyn in no yes; do mrow "W8A8 int8" "$dyn"; done
for dyn in no yes; do mrow "W4A8 int4:g64" "$dyn" --weights int4:g64; done
for dyn in no yes; do mrow "W4A8 int4:g64 GPTQ" "$dyn" --weights int4:g64 --gptq; done
