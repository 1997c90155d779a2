#!/usr/bin/env bash
# Create (or reuse) the Python oracle venv: onnx, onnxruntime, numpy, scikit-learn.
# Venv: ${SYSTOLE_CACHE:-<repo>/.cache}/venv. Idempotent: a stamp holds the sha256 of
# scripts/requirements-oracles.txt; a second run with an unchanged file and a working venv
# does nothing. Progress goes to stderr. Set PYTHON to choose the interpreter (default python3).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${SYSTOLE_CACHE:-$REPO/.cache}"
VENV="$CACHE/venv"
REQ="$REPO/scripts/requirements-oracles.txt"
STAMP="$VENV/.systole-oracles.sha256"
PY="${PYTHON:-python3}"

log() { echo "setup-oracles: $*" >&2; }

want="$(sha256sum "$REQ" | cut -d' ' -f1)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]] &&
   "$VENV/bin/python" -c 'import onnx, onnxruntime, numpy, sklearn' >/dev/null 2>&1; then
  log "venv $VENV is up to date (requirements sha256 $want)"
  exit 0
fi

mkdir -p "$CACHE"
if ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
  log "creating venv $VENV with $("$PY" --version 2>&1)"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
fi
log "installing $REQ"
"$VENV/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip >&2
"$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$REQ" >&2
"$VENV/bin/python" - >&2 <<'PY'
import onnx, onnxruntime, numpy, sklearn
print(f"setup-oracles: onnx {onnx.__version__}, onnxruntime {onnxruntime.__version__}, "
      f"numpy {numpy.__version__}, scikit-learn {sklearn.__version__}")
PY
echo "$want" > "$STAMP"
log "done: $VENV"
