#!/usr/bin/env bash
# One GPU loan for issue 6, start to end: a smoke check of every code path the runs take (DAT
# w/ and w/o IS of dpnn-cpu, DAT w/ IS, PAT and in-silico training of dpnn-paper, resuming and
# deployment, all on the GPU, a few iterations each, about 35 s; nothing else starts when one
# fails, so a second call can follow a fix), then run_dpnn_paper.sh alone, then
# run_dpnn_sweeps.sh with what is left of BUDGET_S (default 520 s, the smoke check included),
# each packing into its own folder of $OUT ($OUT/paper, $OUT/sweeps). GPU use is logged every
# 15 s into $OUT/gpu.csv.
# Usage (repository root, in a device call with timeout_s 600 and carry [".device/data"]):
#   BUDGET_S=520 bash experiments/gpu/run_loan.sh [JOBS]   (JOBS per sweep, default 6)
BUDGET_S=${BUDGET_S:-520}
source "$(dirname "$0")/lib.sh"
JOBS=${1:-6}
DEV=${DEV:-cuda}
OUT=${OUT:-$DEVICE_DIR/out}
mkdir -p "$OUT"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -l 15 \
    >"$OUT/gpu.csv" 2>/dev/null &
  smi=$!
  trap 'kill $smi 2>/dev/null || true; rm -f "$STAMP"' EXIT
fi

SMOKE=$DEVICE_DIR/smoke
rm -rf "$SMOKE"
TINY=(--set train.device=$DEV --set dataset.train_subset=128 --set dataset.val_size=64
      --set dataset.test_subset=128 --set train.checkpoint_every=1 --epochs 1 --quiet --no-plot
      --set errors.shift_std=0.5 --set errors.fab_phase_std=0.3 --set errors.distance_std=0.02)
smoke() {  # NAME PRESET ARGS...: a tiny training on the GPU, its log in $SMOKE/NAME.log
  local name=$1 preset=$2; shift 2
  timeout 240 "${PD[@]}" train "$preset" "${TINY[@]}" "$@" --out "$SMOKE/$name" \
    >"$SMOKE/$name.log" 2>&1
}
mkdir -p "$SMOKE"
t0=$(date +%s)
pids=()
smoke dat_is dpnn-cpu --method dat --set dat.internal_states=unitary --set dat.warmup_epochs=0 &
pids+=($!)
smoke dat_no_is dpnn-cpu --method dat --set dat.internal_states=none --set dat.warmup_epochs=1 \
  --epochs 2 &
pids+=($!)
smoke paper_dat dpnn-paper --method dat --set dat.internal_states=unitary \
  --set dat.warmup_epochs=0 --set train.batch_size=32 &
pids+=($!)
smoke paper_is dpnn-paper --method insilico &
pids+=($!)
smoke paper_pat dpnn-paper --method pat --set train.batch_size=32 &
pids+=($!)
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=1; done
if [ "$failed" = 0 ]; then  # resume on the GPU, then deployment there
  timeout 120 "${PD[@]}" train --resume "$SMOKE/paper_is" --epochs 2 --quiet --no-plot \
    >"$SMOKE/resume.log" 2>&1 || failed=1
  timeout 120 "${PD[@]}" evaluate "$SMOKE/paper_is" --errors shift_std=0.5 --device "$DEV" \
    --quiet >"$SMOKE/evaluate.log" 2>&1 || failed=1
fi
echo "smoke check: $(( $(date +%s) - t0 )) s, $([ $failed = 0 ] && echo passed || echo FAILED)"
for f in "$SMOKE"/*.log; do echo "--- $f"; tail -n 4 "$f"; done
if [ "$failed" != 0 ]; then  # the logs come back only when something failed
  tar -czf "$OUT/smoke_logs.tgz" -C "$DEVICE_DIR" $(cd "$DEVICE_DIR" && ls smoke/*.log)
fi
[ "$failed" = 0 ] || exit 1

# the paper's network first and alone: side by side with 10 sweep points it ran 3.5-7x slower
# (README.md: what the first loan measured); then the sweeps with what is left
echo "starting dpnn-paper with $(seconds_left) s left"
rc=0
OUT=$OUT/paper BUDGET_S=$(seconds_left) bash experiments/gpu/run_dpnn_paper.sh \
  >"$OUT/paper.log" 2>&1 || rc=$?
tail -n 12 "$OUT/paper.log"
if [ "$(seconds_left)" -gt 60 ]; then
  echo "starting the sweeps with $(seconds_left) s left"
  OUT=$OUT/sweeps BUDGET_S=$(seconds_left) bash experiments/gpu/run_dpnn_sweeps.sh "$JOBS" \
    >"$OUT/sweeps.log" 2>&1 || rc=$?
  tail -n 12 "$OUT/sweeps.log"
fi
n=$(find "$OUT" -type f | wc -l)
mib=$(du -sm "$OUT" | cut -f1)
echo "\$OUT holds $n files, $mib MiB (a call brings back 8 files, 64 MiB)"
if [ "$n" -gt 8 ] || [ "$mib" -gt 63 ]; then echo "WARNING: more than a call brings back" >&2; fi
exit $rc
