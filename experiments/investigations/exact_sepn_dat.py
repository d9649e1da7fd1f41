"""DAT with the *exact* SEPNs (issue 4): the ceiling of any output-side error model on a mesh.

Trains like a finished DAT run (its ``config.yaml``: same start, schedule, selection), but
before every step each mesh's SEPN is set to the exact ``D = U' U^H - 1`` of the system's error
realisation at the current phases (:func:`exact_sepn_gradient.exact_sepns`) and the SEPNs are
not trained. The forward is then the hardware's at every plane; the gradient is
``(1 + D) dU/dtheta`` instead of the hardware's ``dU'/dtheta``. The accuracy this reaches is
what DAT could give with a perfectly fitted SEPN; the gap to the oracle is the architecture's,
the gap below it is the fit's. With ``--phase-std`` the SEPNs are exact in every plane's
intensity but carry other per-mode phases on the internal planes (fixed for the run): the best
an intensity-only fit can be sure of. Simulation only (it reads the realisation).

    PYTHONPATH=src python experiments/investigations/exact_sepn_dat.py \
        --config RUN_DIR/config.yaml --out results/investigations/runs/exact-sepn-dat-s0
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from exact_sepn_gradient import exact_sepns  # noqa: E402

from photonic_dat.config import load_config  # noqa: E402
from photonic_dat.training import run  # noqa: E402
from photonic_dat.training.dat import DAT  # noqa: E402
from photonic_dat.training.oracle import system_realisation  # noqa: E402


class ExactSEPNDAT(DAT):
    """DAT whose SEPNs are the exact error of the current phases, refreshed every step."""

    phase_std = 0.0  # > 0: an intensity-equivalent model with other internal phases

    def __init__(self, model, system, cfg):
        super().__init__(model, system, cfg)
        if cfg.dat.sepn != "linear":
            raise SystemExit("exact SEPNs are linear: the run's config needs dat.sepn=linear")
        self.realisation = system_realisation(model, cfg)
        for group in self.sepn_opt.param_groups:
            group["lr"] = 0.0

    def step(self, images, labels, epoch):
        with torch.no_grad():
            target = exact_sepns(self.model, self.realisation, self.phase_std,
                                seed=self.cfg.train.seed)  # the same phases at every step
            for sepn, exact in zip(self.sepns, target, strict=True):
                sepn.matrix.copy_(exact.matrix)
        return super().step(images, labels, epoch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--phase-std", type=float, default=0.0,
                        help="rad; > 0: SEPNs that predict every intensity exactly but carry "
                             "other per-mode phases on the internal planes (fixed for the run)")
    args = parser.parse_args()
    cfg = load_config(args.config)
    cfg.train.threads = args.threads
    ExactSEPNDAT.phase_std = args.phase_std
    run.METHOD_CLASSES["dat"] = ExactSEPNDAT
    summary = run.train(cfg, args.out, resume=(args.out / "checkpoint.pt").exists(),
                        progress=False)
    print(json.dumps({k: summary[k] for k in ("physical_test_acc", "seed") if k in summary}))


if __name__ == "__main__":
    main()
