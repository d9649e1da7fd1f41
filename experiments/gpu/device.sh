#!/usr/bin/env bash
# This machine's side of a GPU loan (README.md here). A device call sends the session's main
# checkout (tracked and untracked-not-ignored files, at most 64 MiB with what it carries) and
# brings back at most 8 files of 16 MiB from $OUT. The committed checkpoints and figures under
# results/ are far larger (~390 MiB), so for the call the bulky ones are taken out of the index
# and ignored, and put back after. Kept: the weights that runs start from (in-silico runs,
# direct_deploy/train-s*) and those of unfinished runs (no summary.json), a few MiB.
#
#   bash experiments/gpu/device.sh pack [DATASET...]   # before the call (default: mnist)
#   bash experiments/gpu/device.sh unpack DIR          # after it: every outputs.tgz.partNN in DIR
#   bash experiments/gpu/device.sh restore [--force]   # after it: index and ignores as before
#   bash experiments/gpu/device.sh size                # MiB that a call would send now
#
# Between pack and restore a pre-commit hook refuses commits (the index then lacks ~1,600
# files; pack refuses where another pre-commit hook exists); restore before committing.
set -euo pipefail
cd "$(dirname "$0")/../.."
EXCLUDE=$(git rev-parse --git-path info/exclude)
HOOK=$(git rev-parse --git-path hooks/pre-commit)
MARK="photonic-dat device pack"
BEGIN="# >>> $MARK (bash experiments/gpu/device.sh restore)"
END="# <<< $MARK"
PY=${PY:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}

size() {  # MiB of the files a call would send (missing files count nothing)
  { git ls-files -z; git ls-files -z --others --exclude-standard; } \
    | xargs -0 -r stat -c %s -- 2>/dev/null | awk '{s += $1} END {printf "%.1f", s / 1048576}' \
    || true
}

bulky() {  # tracked results files a call can do without, NUL-separated
  git ls-files -z -- ':(glob)results/**/*.pt' ':(glob)results/**/*.png' ':(glob)results/**/*.pdf' \
    | while IFS= read -r -d '' f; do
        d=$(dirname "$f")
        case "$f" in
          *.pt)
            case "$d" in *insilico*|*/direct_deploy/train-s*) continue ;; esac
            if [[ "$(basename "$d")" == ensemble-* ]]; then  # finished when all members are
              finished=1
              IFS=+ read -r -a members <<<"$(basename "$d" | sed 's/^ensemble-//')"
              for m in "${members[@]}"; do
                [ -f "$(dirname "$d")/$m/summary.json" ] || finished=0
              done
              [ "$finished" = 1 ] || continue
            else
              [ -f "$d/summary.json" ] || continue
            fi ;;
        esac
        printf '%s\0' "$f"
      done
}

listed() {  # the files the exclude block lists, NUL-separated
  awk -v b="$BEGIN" -v e="$END" '$0 == b {on = 1; next} $0 == e {on = 0} on && /^\// \
    {printf "%s%c", substr($0, 2), 0}' "$EXCLUDE"
}

restore() {  # [--force]
  if grep -qF "$BEGIN" "$EXCLUDE" 2>/dev/null; then
    head=$(sed -n "s/^# head \([0-9a-f]*\)$/\1/p" "$EXCLUDE" | head -1)
    if [ -n "$head" ] && [ "$head" != "$(git rev-parse HEAD)" ] && [ "${1:-}" != --force ]; then
      echo "device.sh: HEAD moved since pack ($head -> $(git rev-parse HEAD)); if that commit" \
        "deleted the packed files, revert it (git revert / git reset), then run" \
        "'device.sh restore --force'" >&2
      exit 1
    fi
    awk -v b="$BEGIN" -v e="$END" '$0 == b {skip = 1} !skip {print} $0 == e {skip = 0}' \
      "$EXCLUDE" >"$EXCLUDE.tmp" && mv "$EXCLUDE.tmp" "$EXCLUDE"
    git reset -q -- results
  fi
  if grep -qF "$MARK" "$HOOK" 2>/dev/null; then rm -f "$HOOK"; fi
  echo "restored: index and ignores as committed; $(size) MiB would travel now"
}

case "${1:-}" in
  pack)
    shift
    datasets=("${@:-mnist}")
    if [ -e "$HOOK" ] && ! grep -qF "$MARK" "$HOOK"; then
      echo "device.sh: $HOOK exists, so no guard against committing while packed can be put" \
        "there; move it aside for the call" >&2
      exit 1
    fi
    mkdir -p .device/data "$(dirname "$EXCLUDE")" "$(dirname "$HOOK")"
    for name in "${datasets[@]}"; do
      PYTHONPATH=src "$PY" -m photonic_dat export-data "$name" ".device/data/$name"
    done
    printf '#!/bin/sh\n# %s\necho "the tree is packed for a GPU call: run bash %s restore" >&2\nexit 1\n' \
      "$MARK" "experiments/gpu/device.sh" >"$HOOK"
    chmod +x "$HOOK"
    if ! grep -qF "$BEGIN" "$EXCLUDE" 2>/dev/null; then  # a second pack reuses the first's list
      list=$(mktemp)
      bulky >"$list"
      { echo "$BEGIN"; echo "# head $(git rev-parse HEAD)"
        tr '\0' '\n' <"$list" | sed 's/^/\//'; echo "$END"; } >>"$EXCLUDE"
      rm -f "$list"
    fi
    listed | xargs -0 -r git rm -q --cached --ignore-unmatch --
    echo "packed: $(size) MiB of tree; data under .device/data: $(du -sm .device/data | cut -f1)" \
      "MiB (name .device/data in the call's carry; the sum must stay under 64 MiB)"
    echo "after the call: bash experiments/gpu/device.sh unpack FILES_AT, then ... restore"
    ;;
  unpack)
    dir=${2:?usage: device.sh unpack DIR (the folder the files of a call landed in)}
    found=0
    while IFS= read -r folder; do
      found=1
      names=$(mktemp)
      if ! cat "$folder"/outputs.tgz.part* | tar -xzvf - -C . >"$names"; then
        echo "device.sh: the parts in $folder end early (more came out than a call returns);" \
          "what was complete is unpacked" >&2
      fi
      # a run that finished there and came back without its checkpoint.pt
      # (KEEP_FINISHED_CHECKPOINTS=0) must not keep an older one from here beside its summary
      { grep '/summary\.json$' "$names" || true; } | while IFS= read -r summary; do
        d=$(dirname "$summary")
        if ! grep -qxF "$d/checkpoint.pt" "$names" && [ -e "$d/checkpoint.pt" ]; then
          rm -f "$d/checkpoint.pt" "$d/checkpoint.pt.prev"
          echo "removed $d/checkpoint.pt: older than the summary that came back without it"
        fi
      done
      echo "unpacked $folder into $(pwd):"
      cut -d/ -f1-4 "$names" | sort -u | head -20
      rm -f "$names"
    done < <(find "$dir" -name 'outputs.tgz.part00' -printf '%h\n' | sort)
    if [ "$found" = 0 ]; then echo "device.sh: no outputs.tgz.part00 under $dir" >&2; exit 1; fi
    ;;
  restore) restore "${2:-}" ;;
  size) echo "$(size) MiB would travel now" ;;
  *) echo "usage: device.sh pack [DATASET...] | unpack DIR | restore | size" >&2; exit 2 ;;
esac
