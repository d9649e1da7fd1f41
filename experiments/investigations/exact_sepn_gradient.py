"""Is the best possible SEPN a good gradient? (issue 4: why DAT trails the oracle on a mesh)

A mesh with errors implements ``U'`` instead of ``U``. The dense linear SEPN with
``D = U' U^H - 1`` reproduces every plane of the erroneous network exactly (tested in
``tests/sepn/test_linear.py``): it is the best any SEPN at the mesh's output plane can do. Its
gradient with respect to the phases is still ``(1 + D) dU/dtheta``, while the hardware's is
``dU'/dtheta``; the two differ wherever the error sits *before* a phase shifter in the mesh.

For each mesh-network run directory (a member of a finished ensemble group, or a single run)
this loads the end-of-training physical parameters and SEPNs, builds the exact SEPNs of the
system's error realisation at those parameters, and reports on test batches the cosine between
the hardware's task gradient and: the ideal model's (PAT), the trained SEPNs' (DAT's own task
gradient), the exact SEPNs' (output fused; every plane fused) and those of SEPNs that predict
every plane's intensity exactly as well but with other per-mode phases on the internal planes
(:func:`exact_sepns` with ``phase_std``): what intensity measurements cannot tell apart. One
CSV row per run.

    PYTHONPATH=src python experiments/investigations/exact_sepn_gradient.py \
        --out results/investigations/exact_sepn_gradient.csv RUN_DIR [RUN_DIR ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))
from gradient_fidelity import run_cli  # noqa: E402

from photonic_dat.config import load_config
from photonic_dat.models.factory import build_model
from photonic_dat.sepn import build_sepn, learnable_families
from photonic_dat.training import checkpoint
from photonic_dat.training.fidelity import gradient_fidelity
from photonic_dat.training.oracle import system_realisation
from photonic_dat.training.run import build_system, load_data


def exact_sepns(model, realisation, phase_std: float = 0.0, seed: int = 0) -> nn.ModuleList:
    """Linear SEPNs with ``D_k = U'_k U_k^H - 1`` for every mesh of ``model``.

    ``phase_std > 0``: an *intensity-equivalent* model instead. The electro-optic activation
    acts on each mode as ``z c(|z|^2)``, so a per-mode phase ``P_k = diag(exp(i phi))`` on
    internal plane k passes through it and can be undone by the next mesh's SEPN:
    ``1 + D_k = P_k U'_k P_{k-1}^* U_k^H`` (``phi`` ~ N(0, phase_std), none on the last plane)
    predicts every plane's *intensity* exactly, as the exact SEPNs do, with other phases.
    """
    g = torch.Generator().manual_seed(seed)
    sepns, p_prev, n = [], None, len(model.meshes)
    for k, mesh in enumerate(model.meshes):
        with torch.no_grad():
            ideal, real = mesh.unitary(), mesh.unitary(realisation[k])
            modes = ideal.shape[0]
            p_k = None
            if phase_std > 0 and k < n - 1:
                phi = torch.randn(modes, generator=g, dtype=torch.float64) * phase_std
                p_k = torch.polar(torch.ones_like(phi), phi).to(ideal.dtype)
                real = p_k[:, None] * real
            if p_prev is not None:
                real = real * p_prev.conj()[None, :]
            p_prev = p_k
            d = real @ ideal.conj().T - torch.eye(modes, dtype=ideal.dtype)
            sepn = build_sepn("linear", (4, 8, 16), plane_shape=model.plane_shapes[k])
            sepn.matrix.copy_(torch.stack([d.real, d.imag]))
        sepns.append(sepn.requires_grad_(False))
    return nn.ModuleList(sepns)


@torch.no_grad()
def check_same_intensities(model, realisation, exact, other, images) -> None:
    """``other`` predicts the same plane intensities as ``exact`` (and as the hardware)."""
    x = model.encode(images)
    want = model(x, errors=realisation).plane_intensities()
    for sepns in (exact, other):
        got = model(x, sepns=sepns, sepn_weight=1.0).plane_intensities()
        for a, b in zip(got, want, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-5)


@torch.no_grad()
def d_errors(model, realisation, trained, exact, images) -> dict[str, float]:
    """Mean over meshes of the trained ``D``'s relative error: as a matrix (Frobenius), and on
    the fields the hardware actually sends into that mesh's output plane (``D y``, y = U x)."""
    x = model.encode(images)
    trace = model(x, errors=realisation)
    matrix = on_data = 0.0
    for k, (t, e) in enumerate(zip(trained, exact, strict=True)):
        dt, de = t.correction_matrix(), e.correction_matrix()
        matrix += float((dt - de).norm() / de.norm())
        x_k = x if k == 0 else model.after_plane(k - 1, trace.planes[k - 1], realisation)
        y = model.propagate(k, x_k, None).reshape(x.shape[0], -1)
        on_data += float((y @ (dt - de).T).norm() / (y @ de.T).norm())
    n = len(exact)
    return {"trained_d_rel_error": matrix / n, "trained_d_rel_error_on_data": on_data / n}


def measure(run_dir: Path, n_batches: int, batch_size: int) -> dict:
    cfg = load_config(run_dir / "config.yaml")
    if cfg.model.kind != "mesh":
        raise SystemExit(f"{run_dir}: exact SEPNs are defined for mesh networks only")
    cfg.train.init_from = None
    cfg.system.internal_detection = "field"  # fused planes carry the hardware's exact state
    model = build_model(cfg.model, seed=cfg.train.seed)
    system = build_system(cfg, model)
    state = checkpoint.load(run_dir / "checkpoint.pt")
    model.load_state_dict(state["model"])
    realisation = system_realisation(model, cfg)
    images, labels = load_data(cfg).test
    batches = [(images[i * batch_size:(i + 1) * batch_size],
                labels[i * batch_size:(i + 1) * batch_size]) for i in range(n_batches)]
    exact = exact_sepns(model, realisation)
    row = {"run": str(run_dir), "epoch": state["epoch"]}
    out = gradient_fidelity(model, system, cfg, batches, exact, fuse_internal=False)
    row.update(ideal=out["ideal"], exact_sepn_output_fused=out["sepn"])
    out = gradient_fidelity(model, system, cfg, batches, exact, fuse_internal=True)
    row["exact_sepn_all_fused"] = out["sepn"]
    for std in (0.3, 3.0):  # intensity-equivalent models (3 rad: phases all but uniform)
        ambiguous = exact_sepns(model, realisation, phase_std=std, seed=cfg.train.seed)
        check_same_intensities(model, realisation, exact, ambiguous, batches[0][0])
        out = gradient_fidelity(model, system, cfg, batches, ambiguous, fuse_internal=False)
        row[f"intensity_equivalent_{std:g}rad"] = out["sepn"]
    sepn_state = state.get("sepns") or (state.get("method") or {}).get("sepns")
    if sepn_state is not None and cfg.dat.sepn in ("linear", "mesh"):
        extra = [{"mesh": m, "learn": learnable_families(cfg.error_spec())}
                 if cfg.dat.sepn == "mesh" else {} for m in model.meshes]
        trained = nn.ModuleList(build_sepn(cfg.dat.sepn, (4, 8, 16), plane_shape=s, **kw)
                                for s, kw in zip(model.plane_shapes, extra, strict=True))
        trained.load_state_dict(sepn_state)
        row["trained_sepn"] = gradient_fidelity(model, system, cfg, batches, trained)["sepn"]
        row.update(d_errors(model, realisation, trained, exact, batches[0][0]))
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}


def main() -> None:
    run_cli(measure, __doc__.splitlines()[0])


if __name__ == "__main__":
    main()
