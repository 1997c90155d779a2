# Sourced by the scripts that keep a Python venv in ${SYSTOLE_CACHE:-<repo>/.cache}.
#
# ensure_venv TAG VENV REQUIREMENTS "MODULES"
#   Creates (or reuses) VENV and installs REQUIREMENTS into it. Idempotent: a stamp
#   VENV/.systole-TAG.sha256 holds the sha256 of the requirements file; with an unchanged file and
#   importable MODULES (space-separated, e.g. "onnx numpy") nothing happens. Progress goes to
#   stderr, prefixed with TAG. Sets VENV_INSTALLED=1 when it installed, 0 when it reused.
#   PYTHON chooses the interpreter (default python3).
ensure_venv() {
  local tag="$1" venv="$2" req="$3" modules="$4"
  local stamp="$venv/.systole-$tag.sha256" py="${PYTHON:-python3}" want imports
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  imports="import ${modules// /, }"
  VENV_INSTALLED=0
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] &&
     "$venv/bin/python" -c "$imports" >/dev/null 2>&1; then
    echo "$tag: venv $venv is up to date (requirements sha256 $want)" >&2
    return 0
  fi
  mkdir -p "$(dirname "$venv")"
  if ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
    echo "$tag: creating venv $venv with $("$py" --version 2>&1)" >&2
    rm -rf "$venv"
    "$py" -m venv "$venv"
  fi
  echo "$tag: installing $req" >&2
  "$venv/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip >&2
  "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req" >&2
  "$venv/bin/python" -c "$imports"
  echo "$want" > "$stamp"
  VENV_INSTALLED=1
}
