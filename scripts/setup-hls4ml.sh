#!/usr/bin/env bash
# Create (or reuse) the hls4ml oracle venv: hls4ml 1.3 + qonnx (+ onnx, onnxruntime, numpy).
# Venv: ${SYSTOLE_CACHE:-<repo>/.cache}/venv-hls4ml. Idempotent: a stamp holds the sha256 of
# scripts/requirements-hls4ml.txt; a second run with an unchanged file and a working venv does
# nothing. hls4ml's emulation (hls_model.compile()) needs only g++ (Debian package g++), which is
# checked here. Progress goes to stderr. Set PYTHON to choose the interpreter (default python3).
# Then: "$VENV/bin/python" scripts/hls4ml-oracle.py   (see docs/hls4ml.md)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${SYSTOLE_CACHE:-$REPO/.cache}"
VENV="$CACHE/venv-hls4ml"
REQ="$REPO/scripts/requirements-hls4ml.txt"

log() { echo "setup-hls4ml: $*" >&2; }

if ! command -v g++ >/dev/null 2>&1; then
  log "g++ not found: hls4ml's C++ emulation needs it (apt-get install g++)"
  exit 2
fi

# shellcheck source=lib/venv.sh
source "$REPO/scripts/lib/venv.sh"
ensure_venv hls4ml "$VENV" "$REQ" "hls4ml qonnx onnx numpy"
if [[ $VENV_INSTALLED == 1 ]]; then
  "$VENV/bin/python" - >&2 <<'PY'
from importlib.metadata import version
import hls4ml, qonnx, onnx, numpy
print(f"setup-hls4ml: hls4ml {hls4ml.__version__}, qonnx {version('qonnx')}, onnx {onnx.__version__}, "
      f"numpy {numpy.__version__}")
PY
fi
