#!/usr/bin/env bash
# Prepared for a lent GPU (issue 4): the unfinished points of the three MPNN reproduction
# sweeps, many points in parallel on one GPU, the 3 seeds of each point as one ensemble
# process (--ensemble: one network with a member axis, so every kernel launch serves 3 runs).
# Runs on a bare machine (lib.sh: no install, data from .device/data, a time budget); the
# points finished within BUDGET_S (default 480 s) come back packed in $OUT. Resumable: the next
# call (or `reproduce` here) continues with the points left.
# Usage (repository root): bash experiments/gpu/run_mpnn_sweeps.sh [JOBS]   (see README.md here)
source "$(dirname "$0")/lib.sh"
JOBS=${1:-12}
pack_on_exit results/mpnn/sweeps
for spec in ${SPECS:-mpnn-individual mpnn-joint mpnn-variants}; do
  run_budgeted "${PD[@]}" reproduce $spec --seeds 3 --jobs "$JOBS" --ensemble \
    --set train.device=${DEV:-cuda} --set train.eval_batch_size=10000 \
    --out results/mpnn/sweeps --report-dir .device/report --quiet ${EXTRA:-}
done
