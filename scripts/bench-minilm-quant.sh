#!/usr/bin/env bash
# onnxruntime's quantizers on MiniLM (scripts/minilm-ort-quant.py), on the token ids Systole's
# tokenizer gives the calibration and evaluation splits of models/text/sentences.tsv.
# Prints the JSON report (mean/min cosine to float, recall@1, MRR, size, seconds per variant).
# Needs scripts/setup-oracles.sh and scripts/setup-minilm.sh, and a built systole
# (PROFILE=release by default). OUT (default .cache/ort-minilm) keeps the quantized models.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${SYSTOLE_CACHE:-$REPO/.cache}"
PROFILE="${PROFILE:-release}"
BIN="$REPO/target/$PROFILE/systole"
M="$CACHE/minilm"
OUT="${OUT:-$CACHE/ort-minilm}"
[[ -x "$BIN" ]] || { echo "bench-minilm-quant: build $BIN first" >&2; exit 2; }
[[ -f "$M/model.onnx" ]] || { echo "bench-minilm-quant: run scripts/setup-minilm.sh first" >&2; exit 2; }
mkdir -p "$OUT"
for split in calib eval; do
  "$BIN" embed "$M/model.onnx" --tokenizer "$M/tokenizer.json" \
    --sentences "$REPO/models/text/sentences.tsv" --split "$split" --batch 256 \
    --tokens-out "$OUT/$split" >/dev/null
done
"$CACHE/venv/bin/python" "$REPO/scripts/minilm-ort-quant.py" "$M/model.onnx" \
  "$OUT/calib" "$OUT/eval" "$REPO/models/text/sentences.tsv" "$OUT" --repeat "${REPEAT:-3}"
