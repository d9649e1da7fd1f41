# Sourced by the run_*.sh scripts of this folder: what they need on a bare GPU machine.
#
# - No install step: the package runs from this tree (PYTHONPATH=src) with the machine's own
#   python3 and torch (a project .venv is used instead where one exists). Its other needs
#   (numpy, pyyaml, tqdm, matplotlib) are common; datasets come from .device/data/<name>/
#   (IDX files written here by `bash experiments/gpu/device.sh pack`), never from a download.
# - A time budget: run_budgeted stops each command with SIGINT when BUDGET_S seconds (default
#   480) have passed since the script started; runs keep their last checkpoint.
# - pack_outputs puts every file written under the given folders since the start into $OUT as
#   a gzipped tar split into 15 MiB parts (outputs.tgz.partNN), which is what a device call
#   can bring back; `bash experiments/gpu/device.sh unpack DIR` restores them here.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
if [ -z "${PY:-}" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
export PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
if [ -d "$ROOT/.device/data" ] && [ -z "${PHOTONIC_DAT_DATA_DIR:-}" ]; then
  export PHOTONIC_DAT_DATA_DIR="$ROOT/.device/data"
fi
PD=("$PY" -m photonic_dat)
BUDGET_S=${BUDGET_S:-480}
START_S=$(date +%s)
STAMP=$(mktemp)
command -v nvidia-smi >/dev/null && nvidia-smi -L || true

seconds_left() { echo $((BUDGET_S - ($(date +%s) - START_S))); }

run_budgeted() {  # COMMAND...: run it, stopped with SIGINT at the deadline; 0 if stopped there
  local left rc=0
  left=$(seconds_left)
  if [ "$left" -le "${MIN_START_S:-15}" ]; then echo "budget spent, not started: $*"; return 0; fi
  timeout -s INT -k 30 "$left" "$@" || rc=$?
  if [ "$rc" -eq 124 ]; then
    echo "stopped at the time budget (resumable): $*"
    return 0
  fi
  return "$rc"
}

pack_outputs() {  # FOLDER...: files written under them since the start -> $OUT/outputs.tgz.partNN
  local out=${OUT:-$ROOT/.device/out} list
  mkdir -p "$out"
  list=$(mktemp)
  # a finished run's checkpoint.pt is left behind (its summary and selected.pt say it all)
  find "$@" -type f -newer "$STAMP" ! -name sweep.lock ! -name '*.pt.prev' ! -name '*.tmp' \
    -print 2>/dev/null | while read -r f; do
      if [ "$(basename "$f")" = checkpoint.pt ] && [ -f "$(dirname "$f")/summary.json" ]; then
        continue
      fi
      echo "$f"
    done >"$list"
  echo "packing $(wc -l <"$list") files into $out"
  tar -czf - -T "$list" | split -b 15M -d - "$out/outputs.tgz.part"
  ls -l "$out"
}
