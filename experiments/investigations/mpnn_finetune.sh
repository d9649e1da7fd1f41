#!/usr/bin/env bash
# Issue 4, "beyond the paper": MPNN hardware-in-the-loop training started from the trained
# in-silico network (as a lab would), 10 epochs (lr 1e-3 halved every 4 epochs), MNIST, phase
# std 0.08 and 0.10, training seed s = error seed s; results/investigations/README.md.
# Variants: PAT, oracle (exact error model: the ceiling), DAT w/ IS with the paper's U-Net SEPN
# (4, 8, 16), the same zero-initialised with 2 warm-up epochs (seeds 0-1), and DAT w/ IS with the dense
# linear SEPN (dat.sepn=linear) at SEPN learning rates 1e-3 (+ variants) and 1e-4.
# About 1.5 min (PAT, oracle), 2.5 min (linear SEPN) and 7.5 min (U-Net) per run on one core.
# Resumable: finished runs are skipped. Usage: bash experiments/investigations/mpnn_finetune.sh
set -euo pipefail
PD=${PD:-.venv/bin/photonic-dat}
OUT=results/investigations/runs
SRC=results/mpnn/sweeps/mpnn-individual/mnist/direct_deploy   # in-silico runs (mpnn-individual)
COMMON=(--quiet --no-plot --set train.epochs=10 --set train.lr_step=4 --set train.threads=1)
DAT=(--method dat --set dat.internal_states=unitary --set dat.warmup_epochs=0)
LIN=("${DAT[@]}" --set dat.sepn=linear --set dat.sepn_zero_init=true)
run() {  # name, seed, phase std, then the method arguments
  local name=$1 seed=$2 std=$3; shift 3
  [ -f "$OUT/$name-s$seed/summary.json" ] && return 0
  $PD train mpnn-mnist "${COMMON[@]}" "$@" --set errors.phase_std="$std" \
    --set train.init_from="$SRC/train-s$seed" --set train.seed="$seed" \
    --set system.error_seed="$seed" --out "$OUT/$name-s$seed"
}
for s in 0 1 2; do
  run finetune-pat-10ep "$s" 0.08 --method pat
  run finetune-oracle-10ep "$s" 0.08 --method oracle
  run finetune-dat-is-10ep "$s" 0.08 "${DAT[@]}"
  [ "$s" = 2 ] || run finetune-dat-is-zero-warm2-10ep "$s" 0.08 "${DAT[@]}" --set dat.sepn_zero_init=true \
    --set dat.warmup_epochs=2
  run finetune-dat-is-linear-10ep "$s" 0.08 "${LIN[@]}"
  run finetune-dat-is-linear-slr1e-4-10ep "$s" 0.08 "${LIN[@]}" --set dat.sepn_lr=0.0001
  run finetune-ps0.1-pat-10ep "$s" 0.1 --method pat
  run finetune-ps0.1-oracle-10ep "$s" 0.1 --method oracle
  run finetune-ps0.1-dat-is-linear-slr1e-4-10ep "$s" 0.1 "${LIN[@]}" --set dat.sepn_lr=0.0001
done
# seed-0 variants of the linear SEPN and the U-Net control at the low SEPN learning rate
run finetune-dat-is-linear-nosim-10ep 0 0.08 "${LIN[@]}" --set dat.sim_to_physical=false
run finetune-dat-is-linear-nosim-slr1e-2-10ep 0 0.08 "${LIN[@]}" --set dat.sim_to_physical=false \
  --set dat.sepn_lr=0.01
run finetune-dat-is-linear-outfuse-10ep 0 0.08 "${LIN[@]}" --set dat.fuse_internal=false
run finetune-dat-is-unet-slr1e-4-10ep 0 0.08 "${DAT[@]}" --set dat.sepn_zero_init=true \
  --set dat.sepn_lr=0.0001
