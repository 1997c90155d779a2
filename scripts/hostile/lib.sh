# usage: t VERB TAG cmd...   (runs with cwd $REPO, timeout 60)
# Environment: REPO (the checkout; default: the repository holding these scripts), SYSTOLE (the
# binary under test; default: its debug build), HOSTILE_DIR (scratch: inputs, outputs, full.log,
# summary.tsv), PY (a Python with numpy, onnx and onnxruntime; scripts/test.sh makes .cache/venv).
SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export REPO=${REPO:-$(cd "$SCRIPTS/../.." && pwd)}
S=${SYSTOLE:-$REPO/target/debug/systole}
export HOSTILE_DIR=${HOSTILE_DIR:-/tmp/hostile}
H=$HOSTILE_DIR
mkdir -p "$H"
LOG=$H/full.log
PY=${PY:-$REPO/.cache/venv/bin/python}
t() {
  local verb="$1" tag="$2"; shift 2
  local to=${TO:-60}
  local out err rc
  err=$(mktemp); out=$(mktemp)
  ( cd ${CWD:-$REPO} && timeout -k 5 $to "$@" >"$out" 2>"$err" ); rc=$?
  local flag=""
  if grep -q "panicked" "$err" "$out"; then flag="PANIC"; fi
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then flag="$flag TIMEOUT"; fi
  if [ $rc -gt 128 ] && [ $rc -ne 137 ]; then flag="$flag SIGNAL"; fi
  if [ $rc -eq 101 ]; then flag="$flag EXIT101"; fi
  if grep -qiE '\bnan\b|\binf\b' "$out" && [ $rc -eq 0 ]; then flag="$flag NANOUT"; fi
  {
    echo "=== [$verb] [$tag] rc=$rc $flag"
    echo "CMD: $*"
    head -c 600 "$err" | sed 's/^/ERR: /'
    [ -n "$VERBOSE_OUT" ] && head -c 400 "$out" | sed 's/^/OUT: /'
  } >> $LOG
  echo "$verb|$tag|$rc|$flag" >> $H/summary.tsv
  LAST_RC=$rc; LAST_ERR=$(head -c 2000 "$err"); LAST_OUT=$(head -c 4000 "$out")
  rm -f "$out" "$err"
}
