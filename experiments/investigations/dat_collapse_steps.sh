#!/usr/bin/env bash
# Issue 4 follow-up: look inside DAT's late one-epoch collapses (results/investigations/README.md).
# Reruns the collapsing recipe run (MNIST, phase std 0.08, training seed 1 = error seed 1, DAT w/ IS
# 10k, the paper's recipe; its physical validation accuracy fell from 0.927 to 0.791 at epoch 28)
# with every iteration's task loss, similarity loss and training accuracy written to steps.csv
# (train.log_every=1), so the iterations before a collapse can be read with
# photonic_dat.training.loop.read_steps. A second run repeats the recipe with the SEPN
# learning rate divided by 10 (1e-4 throughout), to see whether the collapses go with it.
# ~25 min per run on one CPU core; resumable. Usage: bash experiments/investigations/dat_collapse_steps.sh
set -euo pipefail
PD=${PD:-.venv/bin/photonic-dat}
OUT=results/investigations/runs
COMMON=(--method dat --set dat.internal_states=unitary --set "dat.sepn_features=[4,8,16]"
        --set errors.phase_std=0.08 --set train.seed=1 --set system.error_seed=1
        --set train.threads=1 --set train.log_every=1)
run_or_resume() {  # run_dir, then the arguments of a fresh run
  local run=$1; shift
  [ -f "$run/summary.json" ] && return 0
  if [ -f "$run/checkpoint.pt" ]; then $PD train --resume "$run" --quiet; return; fi
  $PD train mpnn-mnist "$@" --out "$run" --quiet
}
run_or_resume $OUT/collapse-steps-recipe-s1 "${COMMON[@]}"
run_or_resume $OUT/collapse-steps-sepnlr1e-4-s1 "${COMMON[@]}" --set dat.sepn_lr=0.0001
