"""Figures of a run: training curves, confusion matrix, phase maps, planes, SEPN corrections.

Headless matplotlib (Agg); every figure is written as PNG and PDF. ``photonic-dat plot RUN_DIR``
writes all of them into ``RUN_DIR/figures``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

STYLE = {"font.size": 9, "axes.titlesize": 9, "axes.labelsize": 9, "legend.fontsize": 8,
         "figure.dpi": 150, "savefig.bbox": "tight"}


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(STYLE)
    return plt


def save_figure(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path.with_suffix(".png"))
    fig.savefig(path.with_suffix(".pdf"))
    pyplot().close(fig)
    return path.with_suffix(".png")


def plot_curves(metrics: list[dict[str, Any]], path: Path, title: str = "") -> Path:
    """Model vs physical validation accuracy, losses and queries per epoch."""
    plt = pyplot()
    ep = [int(r["epoch"]) for r in metrics]

    def col(key):
        return [float(r[key]) if r.get(key) not in (None, "") else math.nan for r in metrics]

    # markers, so that a one-epoch run (a single point per curve) still shows its values
    mark = {"marker": "o", "ms": 3}
    fig, axes = plt.subplots(1, 3, figsize=(10, 2.8))
    ax = axes[0]
    ax.plot(ep, col("model_val_acc"), label="ideal model", **mark)
    if "sepn_model_val_acc" in metrics[0]:
        ax.plot(ep, col("sepn_model_val_acc"), label="model + SEPN", **mark)
    ax.plot(ep, col("physical_val_acc"), label="physical system", lw=2, **mark)
    ax.set(xlabel="epoch", ylabel="validation accuracy")
    ax.legend()
    ax.grid(alpha=0.3)
    ax = axes[1]
    # ensemble members log the ensemble's mean losses (training/ensemble.py)
    pre = "ensemble_" if "ensemble_loss" in metrics[0] else ""
    ax.plot(ep, col(pre + "loss"), label="task loss", **mark)
    ax.set(xlabel="epoch", ylabel="task loss" + (" (ensemble mean)" if pre else ""))
    if pre + "loss_sim" in metrics[0]:
        ax2 = ax.twinx()
        ax2.semilogy(ep, col(pre + "loss_sim"), color="C3", label="similarity loss", **mark)
        ax2.set_ylabel("similarity loss", color="C3")
    ax.grid(alpha=0.3)
    ax = axes[2]
    ax.plot(ep, col("queries"), **mark)
    ax.set(xlabel="epoch", ylabel="physical queries (samples)")
    ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_confusion(pred: torch.Tensor, labels: torch.Tensor, path: Path, title: str) -> Path:
    plt = pyplot()
    k = int(max(labels.max(), pred.max())) + 1
    cm = torch.zeros(k, k)
    cm.index_put_((labels.long(), pred.long()), torch.ones(len(labels)), accumulate=True)
    cm = cm / cm.sum(1, keepdim=True).clamp(min=1)
    fig, ax = plt.subplots(figsize=(3.6, 3.2))
    im = ax.imshow(cm.numpy(), cmap="Blues", vmin=0, vmax=1)
    for i in range(k):
        for j in range(k):
            if cm[i, j] >= 0.01:
                ax.text(j, i, f"{cm[i, j]:.2f}"[1:] if cm[i, j] < 1 else "1", ha="center",
                        va="center", fontsize=5, color="white" if cm[i, j] > 0.5 else "black")
    ax.set(xlabel="predicted", ylabel="true", title=title, xticks=range(k), yticks=range(k))
    fig.colorbar(im, ax=ax, fraction=0.046)
    return save_figure(fig, path)


def plot_mesh_phases(model, path: Path) -> Path:
    """theta and phi of every MZI, by column (x) and top mode (y), one row per mesh."""
    plt = pyplot()
    meshes = list(model.meshes)
    fig, axes = plt.subplots(len(meshes), 2, figsize=(6.5, 2.6 * len(meshes)), squeeze=False)
    for i, mesh in enumerate(meshes):
        lay = mesh.layout
        for j, name in enumerate(("theta", "phi")):
            img = torch.full((lay.modes - 1, lay.n_columns), math.nan)
            vals = getattr(mesh, name).detach().cpu() % (2 * math.pi)
            img[lay.top, lay.column] = vals
            ax = axes[i][j]
            im = ax.imshow(img.numpy(), cmap="twilight", vmin=0, vmax=2 * math.pi, aspect="auto",
                           interpolation="nearest")
            ax.set(title=f"mesh {i + 1}: {name}", xlabel="column", ylabel="top mode")
            fig.colorbar(im, ax=ax, fraction=0.046, label="rad")
    fig.tight_layout()
    return save_figure(fig, path)


def plot_mask_phases(model, path: Path) -> Path:
    """The trained phase mask of every diffractive layer (rad, wrapped to [0, 2pi))."""
    plt = pyplot()
    masks = list(model.masks)
    fig, axes = plt.subplots(1, len(masks), figsize=(3.0 * len(masks), 2.8), squeeze=False)
    for k, mask in enumerate(masks):
        ax = axes[0][k]
        img = (mask.phase.detach().cpu() % (2 * math.pi)).numpy()
        im = ax.imshow(img, cmap="twilight", vmin=0, vmax=2 * math.pi, interpolation="nearest")
        ax.set(title=f"mask {k + 1}", xticks=[], yticks=[])
        fig.colorbar(im, ax=ax, fraction=0.046, label="rad")
    fig.tight_layout()
    return save_figure(fig, path)


def _as_image(v: torch.Tensor, shape) -> torch.Tensor:
    return v.reshape(*shape).detach().cpu()


def plot_planes(model, x: torch.Tensor, system, sepns, path: Path, known=None) -> Path:
    """Intensity at every plane for one sample: ideal model, physical system, DAT model (with
    ``known``, the errors realisation it carries, e.g. fitted mask shifts)."""
    plt = pyplot()
    with torch.no_grad():
        ideal = model(x).plane_intensities()
        phys = system.measure(x, internal=True).planes()
        rows = [("ideal model", ideal), ("physical system", phys)]
        if sepns is not None:
            label = "DAT model (SEPN on" + (", fitted shifts)" if known is not None else ")")
            rows.append((label, model(
                x, sepns=sepns, sepn_weight=1.0, errors=known).plane_intensities()))
    n = model.n_planes
    fig, axes = plt.subplots(len(rows), n, figsize=(2.3 * n, 2.2 * len(rows)), squeeze=False)
    for i, (label, planes) in enumerate(rows):
        for k in range(n):
            img = _as_image(planes[k][0], model.plane_shapes[k])
            ax = axes[i][k]
            ax.imshow((img / img.max().clamp(min=1e-12)).numpy(), cmap="inferno", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(f"plane {k + 1}" + (" (output)" if k == n - 1 else ""))
            if k == 0:
                ax.set_ylabel(label)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_sepn_corrections(model, x: torch.Tensor, sepns, path: Path, known=None) -> Path:
    """Amplitude and phase of each SEPN's correction SEPN(field) at its plane, for one sample
    (``known``: the errors realisation the DAT model carries, e.g. fitted mask shifts)."""
    plt = pyplot()
    with torch.no_grad():
        trace = model(x, sepns=sepns, sepn_weight=1.0, errors=known)
        field_in = x
        corr = []
        for k in range(model.n_planes):
            if k > 0:
                field_in = model.after_plane(k - 1, trace.planes[k - 1], known)
            ideal = model.propagate(k, field_in, known)
            corr.append(model.apply_sepn(k, sepns[k], ideal))
    n = model.n_planes
    fig, axes = plt.subplots(2, n, figsize=(2.4 * n, 4.4), squeeze=False)
    for k in range(n):
        c = _as_image(corr[k][0], model.plane_shapes[k])
        a = axes[0][k].imshow(c.abs().numpy(), cmap="viridis")
        fig.colorbar(a, ax=axes[0][k], fraction=0.046)
        p = axes[1][k].imshow(torch.angle(c).numpy(), cmap="twilight", vmin=-math.pi, vmax=math.pi)
        fig.colorbar(p, ax=axes[1][k], fraction=0.046)
        axes[0][k].set_title(f"SEPN {k + 1}: |correction|")
        axes[1][k].set_title(f"SEPN {k + 1}: phase")
        for ax in (axes[0][k], axes[1][k]):
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    return save_figure(fig, path)


def plot_run(run_dir: str | Path, sample: int = 0) -> list[Path]:
    """All figures of a finished run into RUN_DIR/figures; returns the PNG paths."""
    from .sepn import build_sepn
    from .summary import read_rows
    from .training import checkpoint
    from .training.alignment import alignment
    from .training.deploy import load_run
    from .training.evaluate import physical_predictions
    from .training.run import build_system, load_data, read_summary

    run_dir = Path(run_dir)
    cfg, selected, _ = load_run(run_dir)
    summary = read_summary(run_dir)
    out = run_dir / "figures"
    paths = [plot_curves(read_rows(run_dir / "metrics.csv"), out / "curves",
                         f"{summary['method']} on {summary['dataset']}")]
    data = load_data(cfg)
    system = build_system(cfg, selected)
    images, labels = data.test
    pred = physical_predictions(selected, system, images, cfg.train.eval_batch_size)
    acc = float((pred == labels).float().mean())
    paths.append(plot_confusion(pred, labels, out / "confusion_physical",
                                f"physical system (acc {acc:.3f})"))
    if hasattr(selected, "meshes"):
        paths.append(plot_mesh_phases(selected, out / "phases"))
    elif hasattr(selected, "masks"):
        paths.append(plot_mask_phases(selected, out / "phases"))
    state = checkpoint.load_weights(run_dir / "selected.pt")
    sepns = None
    if state.get("sepns"):
        d = cfg.dat
        sepns = torch.nn.ModuleList(
            build_sepn(d.sepn, tuple(d.sepn_features), plane_shape=shape,
                       modulation_shape=shape if d.sepn_modulation else None)
            for shape in selected.plane_shapes)
        sepns.load_state_dict(state["sepns"])
        sepns.eval()
    x = selected.encode(images[sample : sample + 1])
    known = alignment(state.get("fitted_shifts"))
    paths.append(plot_planes(selected, x, system, sepns, out / "planes", known))
    if sepns is not None:
        paths.append(plot_sepn_corrections(selected, x, sepns, out / "sepn_corrections", known))
    return paths
