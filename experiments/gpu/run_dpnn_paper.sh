#!/usr/bin/env bash
# Issue 6, prepared for a lent GPU: the paper-scale diffractive network (dpnn-paper: 5 masks of
# 200 x 200) under the moderate joint error (per-mask shift std 0.5 px, gap error 2 %, fabrication
# phase 0.3 rad with 2 px correlation, error seed 0): an in-silico network, its direct deployment,
# then PAT and DAT w/ IS started from it, on the same simulated hardware. Runs on a bare machine
# (lib.sh: no install, data from .device/data, a time budget); outputs go to RUNS (default
# results/dpnn/paper) and, packed, to $OUT. Resumable: finished runs are skipped, interrupted
# ones resume from their checkpoint (carry RUNS to the machine to resume there).
# Sized with environment variables: BUDGET_S (480 s of work in all, from the script's start),
# IS_EPOCHS (2), HIL_EPOCHS (1; more than a finished run has continues it from its checkpoint),
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
epochs_of() {  # run_dir: the epochs its summary reports
  "$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['epochs'])" "$1/summary.json"
}
run_or_resume() {  # run_dir, epochs, then the other arguments of a fresh run
  local run=$1 epochs=$2 more=(); shift 2
  if [ -f "$run/summary.json" ]; then
    [ "$(epochs_of "$run")" -ge "$epochs" ] && return 0
    # a finished run asked for more epochs continues from its last checkpoint (exact resumption)
    if [ ! -f "$run/checkpoint.pt" ]; then
      echo "cannot continue $run to $epochs epochs: its checkpoint.pt is not here (carry it)" >&2
      return 1
    fi
    more=(--set train.epochs="$epochs")
  fi
  if [ -f "$run/checkpoint.pt" ]; then
    run_budgeted "${PD[@]}" train --resume "$run" --quiet --no-plot "${PLACE[@]}" "${more[@]}"
  else
    run_budgeted "${PD[@]}" train dpnn-paper --epochs "$epochs" "$@" "${SET[@]}" --out "$run" \
      --quiet --no-plot
  fi
}
mkdir -p "$RUNS"
pack_on_exit "$RUNS"
run_or_resume $IS "${IS_EPOCHS:-2}"
if [ -f $IS/summary.json ] && [ ! -f $RUNS/direct.csv ]; then
  run_budgeted "${PD[@]}" evaluate $IS --errors shift_std=0.5 --errors distance_std=0.02 \
    --errors fab_phase_std=0.3 --errors fab_corr_length=2 --csv $RUNS/direct.csv --quiet \
    --device $DEV
fi
if [ -f $IS/summary.json ]; then
  HIL=(--set train.init_from=$IS "${ERR[@]}")
  run_or_resume $RUNS/dat-s0 "${HIL_EPOCHS:-1}" --method dat --set dat.internal_states=unitary \
    --set dat.warmup_epochs=0 "${HIL[@]}"
  run_or_resume $RUNS/pat-s0 "${HIL_EPOCHS:-1}" --method pat "${HIL[@]}"
fi
for r in $IS $RUNS/pat-s0 $RUNS/dat-s0; do
  [ -f $r/summary.json ] && "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); \
print(sys.argv[1], d['method'], 'physical test', round(d['physical_test_acc'], 4), \
'wall', d['wall_s'], 's')" $r/summary.json
done
if [ -f $RUNS/direct.csv ]; then cat $RUNS/direct.csv; fi
