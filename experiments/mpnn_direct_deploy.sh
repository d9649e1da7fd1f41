#!/usr/bin/env bash
# Issue 2 evidence: the paper's 50-epoch in-silico MPNN (3 seeds) on MNIST and Fashion-MNIST,
# deployed on systems with phase errors (std 0.02-0.10) or beam-splitter errors (std 0.02-0.10),
# 3 error draws each. Resumable: finished trainings and deployments are skipped.
# Usage: bash experiments/mpnn_direct_deploy.sh   (from the repository root, after `make test`)
set -euo pipefail
PD=${PD:-.venv/bin/photonic-dat}
OUT=results/mpnn
SEEDS=${SEEDS:-"0 1 2"}
LEVELS=0.02,0.04,0.06,0.08,0.1
for ds in mnist fmnist; do
  for seed in $SEEDS; do
    run=$OUT/runs/insilico-$ds-s$seed
    if [ ! -f "$run/summary.json" ]; then
      if [ -f "$run/checkpoint.pt" ]; then
        $PD train --resume "$run" --quiet --set train.threads=1
      else
        $PD train mpnn-$ds --set train.seed=$seed --set train.threads=1 --out "$run" --quiet
      fi
    fi
    csv=$OUT/deploy/$ds-s$seed.csv
    if [ ! -f "$csv" ]; then
      $PD evaluate "$run" --sweep phase_std=0,$LEVELS --sweep bs_std=$LEVELS --draws 3 \
        --csv "$csv" --quiet
    fi
  done
done
.venv/bin/python experiments/report_direct_deploy.py
