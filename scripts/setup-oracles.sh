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

# shellcheck source=lib/venv.sh
source "$REPO/scripts/lib/venv.sh"
ensure_venv oracles "$VENV" "$REQ" "onnx onnxruntime numpy sklearn"
if [[ $VENV_INSTALLED == 1 ]]; then
  "$VENV/bin/python" - >&2 <<'PY'
import onnx, onnxruntime, numpy, sklearn
print(f"setup-oracles: onnx {onnx.__version__}, onnxruntime {onnxruntime.__version__}, "
      f"numpy {numpy.__version__}, scikit-learn {sklearn.__version__}")
PY
fi
