#!/bin/bash
# Probes for the mesh-parameter SEPN at MNIST phase std 0.11 (issue 4, session 8): seeds 1 and 2
# of dat_is_mesh_ft diverged after epoch 2 at SEPN lr 3e-4. Each probe reruns that point's
# config (10 epochs from the in-silico network) with one change.
# Usage: SEEDS="1 2" bash experiments/investigations/mesh_stability_probes.sh NAME [--set k=v ...]
# (run directory runs/probe-ps0.11-sSEED-mesh_NAME under OUT)
set -euo pipefail
OUT=${OUT:-results/investigations/runs}
name=$1; shift
for s in ${SEEDS:-1}; do
  cfg=results/mpnn/sweeps/mpnn-variants/mnist/dat_is_mesh_ft/phase0.11/s$s-d0/config.yaml
  dir=$OUT/probe-ps0.11-s$s-mesh_$name
  [ -f "$dir/summary.json" ] && continue
  photonic-dat train "$cfg" --quiet --no-plot "$@" --out "$dir"
done
