# Sourced by the run_*.sh scripts of this folder: what they need on a bare GPU machine.
#
# - No install step: the package runs from this tree (PYTHONPATH=src) with the machine's own
#   python3 and torch (a project .venv is used instead where one exists). Its other needs
#   (numpy, pyyaml, tqdm, matplotlib) are common; datasets come from .device/data/<name>/
#   (IDX files written here by `bash experiments/gpu/device.sh pack`), never from a download.
# - A time budget: run_budgeted stops each command with SIGINT when BUDGET_S seconds (default
#   480) have passed since the script started; runs keep their last checkpoint.
# - pack_on_exit FOLDER...: however the script ends, every file written under the folders since
#   the start goes into $OUT as a gzipped tar split into 15 MiB parts (outputs.tgz.partNN),
#   which is what a device call can bring back; `bash experiments/gpu/device.sh unpack DIR`
#   puts them in place here.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
if [ -z "${PY:-}" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
export PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
DEVICE_DIR=${DEVICE_DIR:-$ROOT/.device}  # data/ (carried here), the start stamp, out/
if [ -d "$DEVICE_DIR/data" ] && [ -z "${PHOTONIC_DAT_DATA_DIR:-}" ]; then
  export PHOTONIC_DAT_DATA_DIR="$DEVICE_DIR/data"
fi
PD=("$PY" -m photonic_dat)
BUDGET_S=${BUDGET_S:-480}
START_S=$(date +%s)
mkdir -p "$DEVICE_DIR"
STAMP=$(mktemp "$DEVICE_DIR/start.XXXXXX")  # on the outputs' file system
trap 'rm -f "$STAMP"' EXIT
command -v nvidia-smi >/dev/null && nvidia-smi -L || true

seconds_left() { echo $((BUDGET_S - ($(date +%s) - START_S))); }

run_budgeted() {  # COMMAND...: run it, stopped with SIGINT at the deadline; 0 if stopped there
  local left rc=0
  left=$(seconds_left)
  if [ "$left" -le "${MIN_START_S:-15}" ]; then echo "budget spent, not started: $*"; return 0; fi
  # the signal goes to timeout's process group: the command and every process it started
  timeout -s INT -k 30 "$left" "$@" || rc=$?
  if [ "$rc" -eq 124 ] || { [ "$rc" -eq 137 ] && [ "$(seconds_left)" -le 0 ]; }; then
    echo "stopped at the time budget (resumable): $*"
    return 0
  fi
  return "$rc"
}

pack_outputs() {  # FOLDER...: files written under them since the start -> $OUT/outputs.tgz.partNN
  local out=${OUT:-$DEVICE_DIR/out} list mib
  mkdir -p "$out"
  list=$(mktemp)
  # small files (summaries, metrics, configs) first, so that a stream cut at the return limit
  # still holds them; symbolic links to run folders are followed
  # KEEP_FINISHED_CHECKPOINTS=0: not the checkpoint.pt of a finished run (summary.json beside
  # it; selected.pt, the network a run is deployed with, still comes back), for many runs
  find -L "$@" -type f -newer "$STAMP" ! -name sweep.lock ! -name '*.tmp' ! -name '*.pt.prev' \
    -printf '%s %p\n' 2>/dev/null | sort -n | while read -r bytes f; do
      if [ "${KEEP_FINISHED_CHECKPOINTS:-1}" = 0 ] && [ "$(basename "$f")" = checkpoint.pt ] \
        && [ -f "$(dirname "$f")/summary.json" ]; then continue; fi
      echo "$bytes $f"
    done >"$list" || true
  mib=$(awk '{s += $1} END {printf "%d", s / 1048576}' "$list")
  sed -i 's/^[0-9]* //' "$list"
  echo "packing $(wc -l <"$list") files ($mib MiB before compression) into $out"
  tar -czf - -T "$list" | split -b 15M -d - "$out/outputs.tgz.part" \
    || echo "WARNING: packing reported an error (a file changed or vanished while read?)" >&2
  rm -f "$list"
  if [ "$(find "$out" -name 'outputs.tgz.part*' | wc -l)" -gt 4 ]; then
    echo "WARNING: more than 4 parts (60 MiB); a call brings back 64 MiB: the last are lost" >&2
  fi
  ls -l "$out"
}

pack_on_exit() {  # FOLDER...: pack them however the script ends (budget, error or success)
  PACK_FOLDERS=("$@")
  trap 'rc=$?; pack_outputs "${PACK_FOLDERS[@]}"; rm -f "$STAMP"; exit $rc' EXIT
}
