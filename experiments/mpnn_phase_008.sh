#!/usr/bin/env bash
# Issue 3 evidence: the paper's full recipe (50 epochs, batch 500, SEPN warm-up 20 epochs) on MNIST
# with phase errors of std 0.08 rad: PAT, DAT w/o IS (4k SEPN), DAT w/ IS (10k), separable DAT
# (10k); direct deployment = the in-silico runs of mpnn_direct_deploy.sh on the same systems.
# Training seed s runs on the system with error seed s. Resumable (finished runs are skipped,
# interrupted ones resume from their last epoch checkpoint).
# Usage: SEEDS="0 1" bash experiments/mpnn_phase_008.sh      (one seed per process is fine)
#        SEEDS=2 METHODS="dat_is dat_is_outfuse" bash experiments/mpnn_phase_008.sh
set -euo pipefail
PD=${PD:-.venv/bin/photonic-dat}
OUT=results/mpnn/runs
SEEDS=${SEEDS:-"0 1"}
METHODS=${METHODS:-"pat dat_no_is dat_is dat_separable"}
declare -A ARGS=(
  [pat]="--method pat"
  [dat_no_is]="--method dat --set dat.internal_states=none --set dat.sepn_features=[4,6,8]"
  [dat_is]="--method dat --set dat.internal_states=unitary --set dat.sepn_features=[4,8,16]"
  [dat_separable]="--method dat --set dat.internal_states=separable --set dat.sepn_features=[4,8,16]"
  # DAT w/ IS with the measurement fused at the output only (SEPNs still fitted to the internal
  # planes) and one shared forward: results/investigations/README.md
  [dat_is_outfuse]="--method dat --set dat.internal_states=unitary --set dat.sepn_features=[4,8,16] --set dat.fuse_internal=false --set dat.shared_forward=true"
)
for seed in $SEEDS; do
  for m in $METHODS; do
    run=$OUT/ps0.08-$m-mnist-s$seed
    [ -f "$run/summary.json" ] && continue
    if [ -f "$run/checkpoint.pt" ]; then
      $PD train --resume "$run" --set train.threads=1
    else
      # shellcheck disable=SC2086
      $PD train mpnn-mnist ${ARGS[$m]} --set errors.phase_std=0.08 --set train.seed=$seed \
        --set system.error_seed=$seed --set train.threads=1 --out "$run"
    fi
  done
done
