#!/usr/bin/env bash
# Issue 6, prepared for a lent GPU: the DAT points of the DPNN sweeps that are left, many
# points at a time on one GPU (one process each): DAT w/o IS at the joint settings (3 seeds,
# MNIST and Fashion-MNIST), then the DAT points of `dpnn-individual` (the slice in
# experiments/dpnn_individual_dat.yaml, DAT w/o IS and w/ IS). Both run side by side, JOBS
# points each. Runs on a bare machine (lib.sh: no install, data from .device/data, a time
# budget); points stopped by the budget keep their checkpoint and resume (on the GPU or on a
# CPU: `reproduce` resumes a point where the sweep runs now). KEEP_FINISHED_CHECKPOINTS=0
# leaves finished points' checkpoint.pt behind when many points would pass what a call returns
# (device.sh unpack then drops an older one here; `load_run` uses selected.pt when the last
# epoch was selected).
# Usage (repository root): bash experiments/gpu/run_dpnn_sweeps.sh [JOBS]   (see README.md here)
source "$(dirname "$0")/lib.sh"
JOBS=${1:-6}
pack_on_exit results/dpnn/sweeps
SET=(--set train.device="${DEV:-cuda}" --out results/dpnn/sweeps --report-dir .device/report
     --quiet)
# shellcheck disable=SC2206
SET+=(${EXTRA:-})
run_budgeted "${PD[@]}" reproduce dpnn-joint --seeds 3 --only "${JOINT_ONLY:-dat_no_is}" \
  --jobs "$JOBS" "${SET[@]}" &
joint=$!
run_budgeted "${PD[@]}" reproduce experiments/dpnn_individual_dat.yaml \
  --only "${INDIVIDUAL_ONLY:-dat_no_is,dat_is}" --jobs "$JOBS" "${SET[@]}" || rc=$?
wait $joint || rc=$?
exit "${rc:-0}"
