#!/usr/bin/env bash
# Train and export the bundled models from scratch (CI does not run this; the outputs are
# committed). Creates (or reuses) the venv ${SYSTOLE_CACHE:-<repo>/.cache}/train-venv from
# models/train/requirements.txt (stamp = sha256 of that file), then writes:
#   models/data/digits_{test_x,test_y,calib_x,test_x_img,calib_x_img}.npy
#   models/digits_mlp.onnx  + models/data/digits_mlp_ort_test.npy   (train_mlp.py)
#   models/digits_cnn.onnx  + models/data/digits_cnn_ort_test.npy   (train_cnn.py)
#   models/digits_cnn_qat4.onnx, models/digits_cnn_ptq4.onnx + models/data/digits_cnn_qat4.json
#                                      (qat_cnn.py: 4-bit QAT fine-tune of digits_cnn.onnx, QDQ export)
#   models/digits_{resnet,mobilenet,dscnn}.onnx + models/data/digits_{resnet,mobilenet,dscnn}_ort_test.npy,
#   models/data/digits16_{test,calib}_x_img.npy + models/data/digits_families.json
#                                      (train_families.py: CNN families on digits upsampled to 16x16)
#   models/tiny/{resnet8,dscnn,mobilenet_v1_025,fc_autoencoder}.onnx + <name>_x.npy + <name>_ort.npy
#   + models/tiny/tiny.json            (tiny_models.py: MLPerf Tiny reference nets, random weights)
# Usage: models/train/train.sh [STEP...]   STEP = mlp | cnn | qat | families | tiny (default: all
# five, in order; qat starts from the committed models/digits_cnn.onnx, so it can run alone;
# families and tiny need no other step).
# Re-verify afterwards with the oracle venv: .cache/venv/bin/python models/train/check_ort.py
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${SYSTOLE_CACHE:-$REPO/.cache}"
VENV="$CACHE/train-venv"
REQ="$REPO/models/train/requirements.txt"

log() { echo "train: $*" >&2; }

steps=("$@")
[[ ${#steps[@]} -eq 0 ]] && steps=(mlp cnn qat families tiny)
for s in "${steps[@]}"; do
  case "$s" in
    mlp|cnn|qat|families|tiny) ;;
    *) echo "train: unknown step '$s' (mlp, cnn, qat, families, tiny)" >&2; exit 2 ;;
  esac
done

# shellcheck source=../../scripts/lib/venv.sh
source "$REPO/scripts/lib/venv.sh"
ensure_venv train "$VENV" "$REQ" "tensorflow tf2onnx skl2onnx onnxruntime"

export TF_CPP_MIN_LOG_LEVEL=2 PYTHONHASHSEED=0 CUDA_VISIBLE_DEVICES=""
for s in "${steps[@]}"; do
  case "$s" in
    mlp)
      log "training digits_mlp (scikit-learn + skl2onnx)"
      "$VENV/bin/python" -W ignore "$REPO/models/train/train_mlp.py" ;;
    cnn)
      log "training digits_cnn (tensorflow-cpu + tf2onnx)"
      "$VENV/bin/python" -W ignore "$REPO/models/train/train_cnn.py" ;;
    qat)
      log "4-bit QAT of digits_cnn (tensorflow-cpu fake-quant fine-tune, QDQ export with onnx.helper)"
      "$VENV/bin/python" -W ignore "$REPO/models/train/qat_cnn.py" ;;
    families)
      log "training digits_resnet, digits_mobilenet, digits_dscnn on 16x16 digits (tensorflow-cpu + tf2onnx)"
      "$VENV/bin/python" -W ignore "$REPO/models/train/train_families.py" ;;
    tiny)
      log "MLPerf Tiny reference nets with random weights (tensorflow-cpu + tf2onnx)"
      "$VENV/bin/python" -W ignore "$REPO/models/train/tiny_models.py" ;;
  esac
done
log "done"
