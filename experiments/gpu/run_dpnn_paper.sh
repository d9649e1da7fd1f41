#!/usr/bin/env bash
# Issue 6, prepared for a lent GPU: the paper-scale diffractive network (dpnn-paper: 5 masks of
# 200 x 200) under the moderate joint error (per-mask shift std 0.5 px, gap error 2 %, fabrication
# phase 0.3 rad with 2 px correlation, error seed 0): an in-silico network, its direct deployment,
# then PAT and DAT w/ IS started from it, on the same simulated hardware. Outputs are files under
# $OUT (run directories with summary.json, metrics.csv, figures; direct.csv): bring them back and
# commit them. Resumable (finished runs are skipped). Sized for a short loan with the env vars:
#   IS_EPOCHS (2), HIL_EPOCHS (1), TRAIN_SUBSET (full split when empty), DEV (cuda), EXTRA (more
#   --set arguments for every run), OUT (results/dpnn/paper).
# Usage (repository root): bash experiments/gpu/run_dpnn_paper.sh
set -euo pipefail
make -s .venv/.installed >/dev/null 2>&1 || true
PD=${PD:-.venv/bin/photonic-dat}
OUT=${OUT:-results/dpnn/paper}
DEV=${DEV:-cuda}
SET=(--set train.device=$DEV --set train.checkpoint_every=200)
[ -n "${TRAIN_SUBSET:-}" ] && SET+=(--set dataset.train_subset=$TRAIN_SUBSET)
# shellcheck disable=SC2206
SET+=(${EXTRA:-})
ERR=(--set errors.shift_std=0.5 --set errors.distance_std=0.02 --set errors.fab_phase_std=0.3
     --set errors.fab_corr_length=2 --set system.error_seed=0)
IS=$OUT/insilico-s0
run_or_resume() {  # run_dir, then the arguments of a fresh run
  local run=$1; shift
  [ -f "$run/summary.json" ] && return 0
  if [ -f "$run/checkpoint.pt" ]; then $PD train --resume "$run" --quiet; return; fi
  $PD train dpnn-paper "$@" "${SET[@]}" --out "$run" --quiet
}
command -v nvidia-smi >/dev/null && nvidia-smi -L || true
run_or_resume $IS --epochs "${IS_EPOCHS:-2}"
[ -f $OUT/direct.csv ] || $PD evaluate $IS --errors shift_std=0.5 --errors distance_std=0.02 \
  --errors fab_phase_std=0.3 --errors fab_corr_length=2 --csv $OUT/direct.csv --quiet
HIL=(--epochs "${HIL_EPOCHS:-1}" --set train.init_from=$IS "${ERR[@]}")
run_or_resume $OUT/pat-s0 --method pat "${HIL[@]}"
run_or_resume $OUT/dat-s0 --method dat --set dat.internal_states=unitary \
  --set dat.warmup_epochs=0 "${HIL[@]}"
for r in $IS $OUT/pat-s0 $OUT/dat-s0; do
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(sys.argv[1], \
d['method'], 'physical test', round(d['physical_test_acc'], 4), 'wall', d['wall_s'], 's')" \
    $r/summary.json
done
cat $OUT/direct.csv
