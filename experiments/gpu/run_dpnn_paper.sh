#!/usr/bin/env bash
# Issue 6, prepared for a lent GPU: the paper-scale diffractive network (dpnn-paper: 5 masks of
# 200 x 200) under the moderate joint error (per-mask shift std 0.5 px, gap error 2 %, fabrication
# phase 0.3 rad with 2 px correlation, error seed 0): an in-silico network, its direct deployment,
# then PAT and DAT w/ IS started from it, on the same simulated hardware. Runs on a bare machine
# (lib.sh: no install, data from .device/data, a time budget); outputs go to RUNS (default
# results/dpnn/paper) and, packed, to $OUT. Resumable: finished runs are skipped, interrupted
# ones resume from their checkpoint (carry RUNS to the machine to resume there).
# Sized with environment variables: BUDGET_S (480 s of work), IS_EPOCHS (2), HIL_EPOCHS (1),
# TRAIN_SUBSET (full split when empty), DEV (cuda), EXTRA (more --set arguments for every run).
# Usage (repository root): bash experiments/gpu/run_dpnn_paper.sh   (see README.md here)
source "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-results/dpnn/paper}
DEV=${DEV:-cuda}
# where a run runs, also when it resumes (its config.yaml keeps the device it last ran on)
PLACE=(--set train.device=$DEV --set train.threads=${THREADS:-4})
SET=("${PLACE[@]}" --set train.checkpoint_every=100)
[ -n "${TRAIN_SUBSET:-}" ] && SET+=(--set dataset.train_subset=$TRAIN_SUBSET)
# shellcheck disable=SC2206
SET+=(${EXTRA:-})
ERR=(--set errors.shift_std=0.5 --set errors.distance_std=0.02 --set errors.fab_phase_std=0.3
     --set errors.fab_corr_length=2 --set system.error_seed=0)
IS=$RUNS/insilico-s0
run_or_resume() {  # run_dir, then the arguments of a fresh run
  local run=$1; shift
  [ -f "$run/summary.json" ] && return 0
  if [ -f "$run/checkpoint.pt" ]; then
    run_budgeted "${PD[@]}" train --resume "$run" --quiet --no-plot "${PLACE[@]}"
  else
    run_budgeted "${PD[@]}" train dpnn-paper "$@" "${SET[@]}" --out "$run" --quiet --no-plot
  fi
}
mkdir -p "$RUNS"
pack_on_exit "$RUNS"
run_or_resume $IS --epochs "${IS_EPOCHS:-2}"
if [ -f $IS/summary.json ] && [ ! -f $RUNS/direct.csv ]; then
  run_budgeted "${PD[@]}" evaluate $IS --errors shift_std=0.5 --errors distance_std=0.02 \
    --errors fab_phase_std=0.3 --errors fab_corr_length=2 --csv $RUNS/direct.csv --quiet \
    --device $DEV
fi
if [ -f $IS/summary.json ]; then
  HIL=(--epochs "${HIL_EPOCHS:-1}" --set train.init_from=$IS "${ERR[@]}")
  run_or_resume $RUNS/dat-s0 --method dat --set dat.internal_states=unitary \
    --set dat.warmup_epochs=0 "${HIL[@]}"
  run_or_resume $RUNS/pat-s0 --method pat "${HIL[@]}"
fi
for r in $IS $RUNS/pat-s0 $RUNS/dat-s0; do
  [ -f $r/summary.json ] && "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); \
print(sys.argv[1], d['method'], 'physical test', round(d['physical_test_acc'], 4), \
'wall', d['wall_s'], 's')" $r/summary.json
done
if [ -f $RUNS/direct.csv ]; then cat $RUNS/direct.csv; fi
