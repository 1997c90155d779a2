#!/usr/bin/env bash
# Speed at sequence 128, side by side in one run: Systole's integer reference on a W8A8 MiniLM
# program vs onnxruntime on its own int8 model of the same encoder (quantize_dynamic, per-channel
# int8 weights: ORT's fastest int8 CPU path for this model), on the same padded token ids of the
# evaluation split. Prints both JSON reports and the ratio of seconds per sentence.
# Needs scripts/setup-oracles.sh, scripts/setup-minilm.sh and a built systole (PROFILE=release).
# SEQ (default 128), SPLIT (default eval), BATCH (Systole's sentences per run, default 32).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${SYSTOLE_CACHE:-$REPO/.cache}"
PROFILE="${PROFILE:-release}"
BIN="$REPO/target/$PROFILE/systole"
PY="$CACHE/venv/bin/python"
M="$CACHE/minilm"
SEQ="${SEQ:-128}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
[[ -x "$BIN" ]] || { echo "bench-minilm-int8: build $BIN first" >&2; exit 2; }
[[ -f "$M/model.onnx" ]] || { echo "bench-minilm-int8: run scripts/setup-minilm.sh first" >&2; exit 2; }
ORTQ="$TMP/dynamic-w8c.onnx"
"$PY" - "$M/model.onnx" "$ORTQ" <<'PY'
import sys
from onnxruntime.quantization import QuantType, quantize_dynamic
quantize_dynamic(sys.argv[1], sys.argv[2], weight_type=QuantType.QInt8, per_channel=True)
PY
"$BIN" quantize "$M/model.onnx" --calib-sentences "$REPO/models/text/sentences.tsv" \
  --tokenizer "$M/tokenizer.json" --seq "$SEQ" -o "$TMP/w8a8.sysq" --json > "$TMP/quantize.json"
"$BIN" embed "$M/model.onnx" --tokenizer "$M/tokenizer.json" \
  --sentences "$REPO/models/text/sentences.tsv" --split "${SPLIT:-eval}" --seq "$SEQ" \
  --batch "${BATCH:-32}" --sysq "$TMP/w8a8.sysq" --tokens-out "$TMP/tok" --json > "$TMP/systole.json"
"$PY" "$REPO/scripts/minilm-oracle.py" "$ORTQ" "$TMP/tok_ids.npy" "$TMP/tok_mask.npy" \
  "$TMP/ort.npy" --repeat 3 > "$TMP/ort.json"
"$PY" - "$TMP" <<'PY'
import json, sys
d = sys.argv[1]
s = json.load(open(f"{d}/systole.json"))
o = json.load(open(f"{d}/ort.json"))
q = s["quantized"]
print(json.dumps({
    "seq": s["seq"], "sentences": s["sentences"],
    "systole_float_s_per_sentence": s["seconds_per_sentence"],
    "systole_int_s_per_sentence": q["seconds_per_sentence"],
    "systole_int_mean_cosine": q["mean_cosine"],
    "onnxruntime_int8_s_per_sentence": o["seconds_per_sentence"],
    "onnxruntime": o["onnxruntime"],
    "ratio_systole_int_over_ort_int8": q["seconds_per_sentence"] / o["seconds_per_sentence"],
}, indent=1))
PY
