#!/usr/bin/env bash
# Issue 5 follow-up: the DPNN joint-error smoke test (experiments/dpnn_joint_smoke.sh) with a
# larger hardware training budget, to see how far DAT and PAT get towards the error-free 0.938.
#   outfuse16: the 8-epoch output-fusion DAT run continued to 16 epochs on the same 10k subset
#              (copied, then resumed with train.epochs=16; resumption is exact);
#   *-full:    full MNIST training split (55k), lr 0.01 (the in-silico preset's), 3 epochs;
#              dat-full uses the dpnn-cpu preset's DAT settings (l2 plane loss, zero-initialised
#              SEPNs, whole detector image fitted, fusion at the output only, shared forward).
#   dat-small: dat-full with SEPN features (2, 4, 8) instead of (4, 8, 16): 20k instead of 78k
#              real parameters per SEPN and about half the iteration time (issue 7).
#   dat-nowarm: dat-full without the warm-up epoch (SEPN weight 1 from the first iteration; the
#              SEPNs start at zero, so the model starts as the ideal one). During the warm-up the
#              physical parameters take PAT-like steps, which hurt on this hardware draw.
#   dat-nowarm6: dat-nowarm continued to 6 epochs (copied, resumed with train.epochs=6; the
#              learning rates halve after epoch 4 as in the preset).
#   dat-nowarm-decay: dat-nowarm with the learning rates halved after every epoch (lr_step 1).
# Resumable: finished runs are skipped. Usage: ONLY=<name> bash experiments/dpnn_dat_budget.sh
set -euo pipefail
PD=${PD:-.venv/bin/photonic-dat}
OUT=results/dpnn/runs
IS=$OUT/insilico-mnist-s0
ERR=(--set errors.shift_std=0.5 --set errors.distance_std=0.02 --set errors.fab_phase_std=0.3
     --set errors.fab_corr_length=2 --set system.error_seed=0)
FULL=(--set train.init_from=$IS --set train.threads=1 --set train.checkpoint_every=50
      --set train.lr=0.01 --epochs 3)
ONLY=${ONLY:-}
want() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ]; }
run_or_resume() {  # run_dir, then the arguments of a fresh run
  local run=$1; shift
  [ -f "$run/summary.json" ] && return 0
  if [ -f "$run/checkpoint.pt" ]; then $PD train --resume "$run" --quiet; return; fi
  $PD train dpnn-cpu "$@" --out "$run" --quiet
}
if want outfuse16; then
  run=$OUT/joint-dat-outfuse16-mnist-s0
  if [ ! -f "$run/summary.json" ]; then
    if [ ! -d "$run" ]; then
      cp -r $OUT/joint-dat-outfuse-mnist-s0 "$run"; rm -f "$run/summary.json"
    fi
    $PD train --resume "$run" --set train.epochs=16 --quiet
  fi
fi
want pat-full && run_or_resume $OUT/joint-pat-full-mnist-s0 --method pat "${ERR[@]}" "${FULL[@]}"
want dat-full && run_or_resume $OUT/joint-dat-full-mnist-s0 --method dat \
  --set dat.internal_states=unitary --set dat.warmup_epochs=1 "${ERR[@]}" "${FULL[@]}"
want dat-small && run_or_resume $OUT/joint-dat-small-mnist-s0 --method dat \
  --set dat.internal_states=unitary --set dat.warmup_epochs=1 --set "dat.sepn_features=[2,4,8]" \
  "${ERR[@]}" "${FULL[@]}"
want dat-nowarm && run_or_resume $OUT/joint-dat-nowarm-mnist-s0 --method dat \
  --set dat.internal_states=unitary --set dat.warmup_epochs=0 "${ERR[@]}" "${FULL[@]}"
if want dat-nowarm6; then
  run=$OUT/joint-dat-nowarm6-mnist-s0
  if [ ! -f "$run/summary.json" ]; then
    if [ ! -d "$run" ]; then
      cp -r $OUT/joint-dat-nowarm-mnist-s0 "$run"; rm -f "$run/summary.json"
    fi
    $PD train --resume "$run" --set train.epochs=6 --quiet
  fi
fi
want dat-nowarm-decay && run_or_resume $OUT/joint-dat-nowarm-decay-mnist-s0 --method dat \
  --set dat.internal_states=unitary --set dat.warmup_epochs=0 --set train.lr_step=1 \
  "${ERR[@]}" "${FULL[@]}"
exit 0
