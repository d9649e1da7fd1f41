#!/usr/bin/env bash
# This machine's side of a GPU loan (README.md here). A device call sends the checkout's
# tracked and untracked-not-ignored files, at most 64 MiB, and brings back at most 8 files of
# 16 MiB from $OUT. The committed run checkpoints and figures under results/ are far larger
# (~390 MiB), so for the call they are taken out of the index and ignored, and put back after.
#
#   bash experiments/gpu/device.sh pack [DATASET...]   # before the call (default: mnist)
#   bash experiments/gpu/device.sh unpack DIR          # after it: the returned outputs.tgz.partNN
#   bash experiments/gpu/device.sh restore             # after it: index and ignores as before
#   bash experiments/gpu/device.sh size                # MiB that a call would send now
#
# Between pack and restore, `git add` skips checkpoints and figures: restore before committing.
set -euo pipefail
cd "$(dirname "$0")/../.."
EXCLUDE=.git/info/exclude
BEGIN="# >>> photonic-dat device pack (bash experiments/gpu/device.sh restore)"
END="# <<< photonic-dat device pack"
BULKY=(':(glob)results/**/*.pt' ':(glob)results/**/*.png' ':(glob)results/**/*.pdf')
PY=${PY:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}

size() {
  { git ls-files -z; git ls-files -z --others --exclude-standard; } \
    | xargs -0 -r stat -c %s -- 2>/dev/null | awk '{s += $1} END {printf "%.1f", s / 1048576}'
}

restore() {
  if grep -qF "$BEGIN" "$EXCLUDE" 2>/dev/null; then
    sed -i "/^$(printf '%s' "$BEGIN" | sed 's/[][\/.*^$]/\\&/g')\$/,/^$END\$/d" "$EXCLUDE"
  fi
  git reset -q -- results
  echo "restored: index and ignores as committed; $(size) MiB would travel now"
}

case "${1:-}" in
  pack)
    shift
    datasets=("${@:-mnist}")
    mkdir -p .device/data
    grep -qxF "/.device/" "$EXCLUDE" 2>/dev/null || echo "/.device/" >>"$EXCLUDE"
    for name in "${datasets[@]}"; do
      PYTHONPATH=src "$PY" -m photonic_dat export-data "$name" ".device/data/$name"
    done
    if ! grep -qF "$BEGIN" "$EXCLUDE"; then
      printf '%s\n%s\n%s\n%s\n%s\n' "$BEGIN" "results/**/*.pt" "results/**/*.png" \
        "results/**/*.pdf" "$END" >>"$EXCLUDE"
    fi
    git rm -r -q --cached --ignore-unmatch -- "${BULKY[@]}"
    mib=$(size)
    data=$(du -sm .device/data | cut -f1)
    echo "packed: $mib MiB of tree (data under .device/data: $data MiB; name .device/data in the"
    echo "call's carry) -- run 'bash experiments/gpu/device.sh restore' after the call"
    ;;
  unpack)
    dir=${2:?usage: device.sh unpack DIR (the folder holding outputs.tgz.partNN)}
    cat "$dir"/outputs.tgz.part* | tar -xzf - -C .
    echo "unpacked into $(pwd):"
    cat "$dir"/outputs.tgz.part* | tar -tzf - | cut -d/ -f1-4 | sort -u | head -20
    ;;
  restore) restore ;;
  size) echo "$(size) MiB would travel now" ;;
  *) echo "usage: device.sh pack [DATASET...] | unpack DIR | restore | size" >&2; exit 2 ;;
esac
