#!/usr/bin/env bash
# Side by side on one machine, in one run: Systole's float reference (`systole embed`) and
# onnxruntime (scripts/minilm-oracle.py) embed the same token ids of the evaluation sentences.
# Prints Systole's JSON report, onnxruntime's timing and the max |diff| of the embeddings.
# Needs scripts/setup-oracles.sh and scripts/setup-minilm.sh. Build first (PROFILE=release by
# default: cargo build --release -p systole); SPLIT (default eval), BATCH (default 256: one run of the model for all sentences, as the onnxruntime side does).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${SYSTOLE_CACHE:-$REPO/.cache}"
PROFILE="${PROFILE:-release}"
BIN="$REPO/target/$PROFILE/systole"
M="$CACHE/minilm"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
[[ -x "$BIN" ]] || { echo "bench-minilm: build $BIN first" >&2; exit 2; }
[[ -f "$M/model.onnx" ]] || { echo "bench-minilm: run scripts/setup-minilm.sh first" >&2; exit 2; }
"$BIN" embed "$M/model.onnx" --tokenizer "$M/tokenizer.json" \
  --sentences "$REPO/models/text/sentences.tsv" --split "${SPLIT:-eval}" --batch "${BATCH:-256}" \
  --tokens-out "$TMP/tok" -o "$TMP/systole.npy" --json | tee "$TMP/systole.json"
"$CACHE/venv/bin/python" "$REPO/scripts/minilm-oracle.py" "$M/model.onnx" \
  "$TMP/tok_ids.npy" "$TMP/tok_mask.npy" "$TMP/ort.npy" --repeat 3
"$CACHE/venv/bin/python" - "$TMP" <<'PY'
import json, sys
import numpy as np
d = sys.argv[1]
a, b = np.load(f"{d}/systole.npy"), np.load(f"{d}/ort.npy")
print(json.dumps({"max_abs_diff_vs_onnxruntime": float(np.abs(a - b).max())}))
PY
