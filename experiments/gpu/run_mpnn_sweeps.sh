#!/usr/bin/env bash
# Prepared script for a lent GPU machine (issue 4): the three MPNN reproduction sweeps, many
# points in parallel on one GPU, the 3 seeds of each point as one ensemble process (--ensemble:
# one network with a member axis, so every kernel launch serves 3 runs). Outputs are files under
# results/mpnn (run directories with summaries, CSV, figures, Markdown): bring them back and
# commit them. Resumable: rerun to continue.
# Usage (repository root, on the GPU machine): bash experiments/gpu/run_mpnn_sweeps.sh [JOBS]
set -euo pipefail
JOBS=${1:-12}
make -s .venv/.installed >/dev/null 2>&1 || true
PD=.venv/bin/photonic-dat
nvidia-smi -L || true
for spec in mpnn-individual mpnn-joint mpnn-variants; do
  $PD reproduce $spec --seeds 3 --jobs "$JOBS" --ensemble --set train.device=cuda \
    --set train.eval_batch_size=10000 --out results/mpnn/sweeps --report-dir results/mpnn --quiet
done
$PD compare-paper results/mpnn/individual.csv results/mpnn/joint.csv results/mpnn/variants.csv \
  --out results/mpnn/paper_comparison.md
