"""Aggregate result rows, compare with the paper's published numbers, and plot.

Rows are the run-summary rows of results CSVs (see :mod:`photonic_dat.summary`). The paper's
numbers ship with the package (``paper/dat_mpnn_official_results.csv``).
"""

from __future__ import annotations

import csv
import math
import re
from collections import defaultdict
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

#: our dataset names -> the paper's
PAPER_DATASET = {"mnist": "MNIST", "fashion-mnist": "FMNIST"}


def paper_rows() -> list[dict[str, Any]]:
    """The official results: dataset (ours), bs_std, phase_std, method, accuracies (floats)."""
    inverse = {v: k for k, v in PAPER_DATASET.items()}
    text = (resources.files("photonic_dat") / "paper" / "dat_mpnn_official_results.csv").read_text()
    out = []
    for r in csv.DictReader(text.splitlines()):
        out.append({
            "dataset": inverse[r["dataset"]],
            "bs_std": float(r["bs_error_std"]),
            "phase_std": float(r["phase_error_std"]),
            "method": r["method"],
            "model_test_acc": float(r["model_test_acc"]),
            "physical_test_acc": float(r["physical_test_acc"]),
        })
    return out


def paper_lookup(method: str) -> dict[tuple[str, float, float], float]:
    return {(r["dataset"], r["bs_std"], r["phase_std"]): r["physical_test_acc"]
            for r in paper_rows() if r["method"] == method}


def mean_std(values: list[float]) -> tuple[float, float]:
    n = len(values)
    if n == 0:
        return float("nan"), float("nan")
    mu = sum(values) / n
    sd = math.sqrt(sum((v - mu) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return mu, sd


def aggregate(rows: Iterable[dict[str, Any]], keys: tuple[str, ...],
              metrics: tuple[str, ...] = ("physical_test_acc", "physical_test_acc_final",
                                          "model_test_acc")) -> list[dict[str, Any]]:
    """Group rows by ``keys``; mean, std and count of each metric per group."""
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[tuple(_num(r[k]) for k in keys)].append(r)
    out = []
    for key in sorted(groups, key=lambda k: tuple(str(x) if isinstance(x, str) else f"{x:012.6f}"
                                                  for x in k)):
        rs = groups[key]
        row: dict[str, Any] = dict(zip(keys, key, strict=True))
        row["n"] = len(rs)
        for m in metrics:
            vals = [float(r[m]) for r in rs if r.get(m) not in (None, "")]
            row[f"{m}_mean"], row[f"{m}_std"] = mean_std(vals)
        out.append(row)
    return out


def _num(v: Any) -> Any:
    try:
        return float(v)
    except (TypeError, ValueError):
        return v


def plot_degradation(agg: list[dict[str, Any]], paper: dict[tuple[str, float, float], float],
                     path: Path, title: str) -> Path:
    """Accuracy vs error std, one panel per dataset x error type, ours (mean ± std) vs paper."""
    from .viz import pyplot

    plt = pyplot()

    datasets = sorted({r["dataset"] for r in agg})
    kinds = (("phase_std", "phase error std (rad)"), ("bs_std", "beam-splitter error std"))
    fig, axes = plt.subplots(len(datasets), 2, figsize=(8, 3.0 * len(datasets)), squeeze=False)
    for i, ds in enumerate(datasets):
        for j, (key, label) in enumerate(kinds):
            other = "bs_std" if key == "phase_std" else "phase_std"
            pts = sorted((r[key], r["physical_test_acc_mean"], r["physical_test_acc_std"])
                         for r in agg if r["dataset"] == ds and r[other] == 0)
            ax = axes[i][j]
            if pts:
                xs, ys, es = zip(*pts, strict=True)
                ax.errorbar(xs, ys, yerr=es, marker="o", capsize=3, label="ours (mean ± std)")
            ppts = sorted((k[2] if key == "phase_std" else k[1], v) for k, v in paper.items()
                          if k[0] == ds and (k[1] if key == "phase_std" else k[2]) == 0)
            if ppts:
                xs, ys = zip(*ppts, strict=True)
                ax.plot(xs, ys, "s--", color="gray", label="paper (1 run)")
            ax.set_xlabel(label)
            ax.set_ylabel("physical test accuracy")
            ax.set_title(f"{ds}", fontsize=10)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    from .viz import save_figure

    return save_figure(fig, path)


def _fmt_ms(mean: float, std: float) -> str:
    return "" if mean != mean else f"{mean:.3f} ± {std:.3f}"


MPNN_KEYS = ("bs_std", "phase_std")

#: axis labels of the error magnitudes (SI units where they have one)
KEY_LABELS = {
    "bs_std": "beam-splitter error std", "phase_std": "phase error std (rad)",
    "shift_std": "lateral shift std (pixels)", "distance_std": "gap distance error std (relative)",
    "rotation_std": "in-plane rotation std (deg)", "fab_phase_std": "fabrication phase std (rad)",
    "response_gamma": "response-curve distortion gamma", "quant_levels": "phase levels",
    "beam_waist": "illumination beam waist (m)", "gain_std": "detector gain std",
}


def _active(row: dict[str, Any], keys: tuple[str, ...]) -> list[str]:
    return [k for k in keys if float(row.get(k) or 0) != 0]


def setting_label(row: dict[str, Any], keys: tuple[str, ...]) -> str:
    """Short label of an error setting: ``"0.04/0.06"`` for MPNN pairs, else ``key=value`` parts."""
    if tuple(keys) == MPNN_KEYS:
        return f"{row['bs_std']:g}/{row['phase_std']:g}"
    parts = [f"{k.replace('_std', '')}={float(row[k]):g}" for k in _active(row, keys)]
    return "\n".join(parts) or "ideal"


def plot_sweep(agg: list[dict[str, Any]], paper: list[dict[str, Any]], path: Path,
               title: str, keys: tuple[str, ...] = MPNN_KEYS) -> Path | None:
    """Accuracy vs error magnitude per variant (one error active) or grouped bars (joint errors).

    One line panel per (dataset, error key) and one bar panel per dataset for the settings that
    combine several errors. ``paper`` rows (MPNN only) are drawn dashed / as black ticks.
    """
    from .viz import pyplot

    plt = pyplot()

    if not agg:
        return None
    single = [r for r in agg if len(_active(r, keys)) == 1]
    joint = [r for r in agg if len(_active(r, keys)) > 1]
    datasets = sorted({r["dataset"] for r in agg})
    variants = list(dict.fromkeys(r["variant"] for r in agg))
    colours = {v: f"C{i}" for i, v in enumerate(variants)}
    panels = []
    for ds in datasets:
        for key in keys:
            if any(r["dataset"] == ds and _active(r, keys) == [key] for r in single):
                panels.append(("line", ds, key))
        if any(r["dataset"] == ds for r in joint):
            panels.append(("bar", ds, None))
    if not panels:
        return None
    ncols = min(4, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    # each panel its own accuracy axis: an error that costs one point must not be drawn flat
    # beside one that costs eighty
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.4 * nrows), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    # error-free: the in-silico networks on their ideal model (direct-deployment points)
    free = {}
    for ds in datasets:
        vals = [r["model_test_acc_mean"] for r in agg if r["dataset"] == ds
                and r["variant"] == "direct_deploy" and r.get("model_test_acc_mean") == r.get(
                    "model_test_acc_mean")]
        if vals:
            free[ds] = sum(vals) / len(vals)
    for ax, (kind, ds, key) in zip(axes.flat, panels, strict=False):
        if ds in free:
            ax.axhline(free[ds], color="0.4", ls=":", lw=1, label="error-free")
        if kind == "line":
            for v in variants:
                pts = sorted((float(r[key]), r["physical_test_acc_mean"], r["physical_test_acc_std"])
                             for r in single if r["dataset"] == ds and r["variant"] == v
                             and _active(r, keys) == [key])
                if pts:
                    xs, ys, es = zip(*pts, strict=True)
                    ax.errorbar(xs, ys, yerr=es, marker="o", ms=3, capsize=2, color=colours[v],
                                label=v)
                pp = sorted((p[key], p["physical_test_acc"]) for p in paper
                            if p["dataset"] == ds and p["method"] == v
                            and _active(p, keys) == [key])
                if pp:
                    xs, ys = zip(*pp, strict=True)
                    ax.plot(xs, ys, "x--", color=colours[v], alpha=0.5, lw=0.8)
            if key == "quant_levels":
                ax.set_xscale("log", base=2)
            ax.set_xlabel(KEY_LABELS.get(key, key))
            ax.set_title(f"{ds}, {key.replace('_std', '')} errors")
        else:
            settings = list(dict.fromkeys(tuple(float(r[k]) for k in keys)
                                          for r in joint if r["dataset"] == ds))
            width = 0.8 / max(1, len(variants))
            for i, v in enumerate(variants):
                ys, es = [], []
                for setting in settings:
                    hit = [r for r in joint if r["dataset"] == ds and r["variant"] == v
                           and tuple(float(r[k]) for k in keys) == setting]
                    ys.append(hit[0]["physical_test_acc_mean"] if hit else math.nan)
                    es.append(hit[0]["physical_test_acc_std"] if hit else 0)
                xs = [j + (i - (len(variants) - 1) / 2) * width for j in range(len(settings))]
                ax.bar(xs, ys, width, yerr=es, color=colours[v], label=v, capsize=2)
                for j, setting in enumerate(settings):
                    pv = [p["physical_test_acc"] for p in paper if p["dataset"] == ds
                          and p["method"] == v and tuple(p[k] for k in keys) == setting]
                    if pv:
                        ax.plot(xs[j], pv[0], "k_", ms=8)
            labels = [setting_label(dict(zip(keys, st, strict=True)), keys) for st in settings]
            ax.set_xticks(range(len(settings)), labels, fontsize=6 if len(keys) > 2 else None)
            ax.set_xlabel("BS std / PS std  (black ticks: paper)" if paper else "error setting")
            ax.set_title(f"{ds}, joint errors")
        ax.set_ylabel("physical test accuracy")
        ax.grid(alpha=0.3)
    legend: dict[str, Any] = {}  # one legend for all panels, outside them (bars stay visible)
    for ax in fig.axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, handle)
    fig.legend(legend.values(), legend.keys(), loc="center left", bbox_to_anchor=(0.87, 0.5),
               fontsize=7)
    fig.suptitle(title + (" (dashed: paper)" if paper else ""))
    fig.tight_layout(rect=(0, 0, 0.87, 1))
    from .viz import save_figure

    return save_figure(fig, path)


def report_stem(name: str) -> str:
    """File stem of a sweep's report: the spec name without its family prefix, so that
    ``mpnn-joint`` reports to ``results/mpnn/joint.*`` and ``dpnn-joint`` to ``results/dpnn/``."""
    for prefix in ("mpnn-", "dpnn-"):
        if name.startswith(prefix) and len(name) > len(prefix):
            return name[len(prefix):]
    return name


#: the methods compared in the ranking table, in the order of the claim checked there
RANKED = ("direct_deploy", "noise_aware", "pat", "dat_no_is", "dat_is", "oracle")


def ranking_table(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> list[str]:
    """Markdown table, one row per (dataset, error setting): the error-free accuracy (the
    in-silico networks on their ideal model, from the direct-deployment points), each method's
    selected physical test accuracy (mean ± std over its n runs; variants beyond the ranked
    roles, e.g. ``dat_is_mod``, in further columns), DAT w/ IS (and each further DAT w/ IS
    variant, named) minus error-free, and whether DAT w/ IS >= PAT >= direct deployment holds
    for the means over the (seed, draw) pairs that all three have run (their number in
    brackets)."""
    cells: dict[tuple, dict[str, dict[tuple, dict[str, Any]]]] = defaultdict(
        lambda: defaultdict(dict))
    for r in rows:
        key = (r["dataset"], *(float(r.get(k) or 0) for k in keys))
        cells[key][r["variant"]][(int(r.get("seed") or 0), int(r.get("draw") or 0))] = r
    labels = {v for c in cells.values() for v in c}
    role = {}
    for r in RANKED:  # the label playing each role: exact, or the one "<role>_<size>" label
        cands = [v for v in labels if v == r or re.fullmatch(re.escape(r) + r"_\d+k", v)]
        if r in cands or len(cands) == 1:
            role[r] = r if r in cands else cands[0]
    if not cells or not {"direct_deploy", "pat", "dat_is"} <= set(role):
        return []
    methods = [role[r] for r in RANKED if r in role]
    methods += sorted(labels - set(methods))  # further variants (e.g. dat_is_mod) at the end
    gapped = [m for m in methods if m == role["dat_is"]
              or (m.startswith("dat_is") and m not in role.values())]
    lines = ["| dataset | setting | error-free | " + " | ".join(methods)
             + " | DAT w/ IS - error-free | DAT w/ IS >= PAT >= direct (common runs) |",
             "|---|---|---|" + "---|" * len(methods) + "---|---|"]

    def acc(runs: dict[tuple, dict[str, Any]], which=None, field="physical_test_acc"):
        return mean_std([float(runs[k][field]) for k in (which or runs)])

    for key in sorted(cells, key=lambda k: (k[0], *k[1:])):
        c = cells[key]
        setting = setting_label(dict(zip(keys, key[1:], strict=True)), keys).replace("\n", ", ")
        free = acc(c["direct_deploy"], field="model_test_acc")[0] if "direct_deploy" in c \
            else float("nan")
        parts = [f"{_fmt_ms(*acc(c[m]))} (n={len(c[m])})" if m in c else "" for m in methods]
        gaps = [(m, acc(c[m])[0] - free) for m in gapped if c.get(m) and free == free]
        gap = ", ".join(f"{g:+.3f}" if m == role["dat_is"] else f"{g:+.3f} ({m})"
                        for m, g in gaps)
        order = ""
        trio = [c.get(role[r], {}) for r in ("dat_is", "pat", "direct_deploy")]
        common = sorted(set(trio[0]) & set(trio[1]) & set(trio[2]))
        if common:
            a, b, d = (acc(t, common)[0] for t in trio)
            verdict = "n/a" if a != a or b != b or d != d else "yes" if a >= b >= d else "**no**"
            order = f"{verdict} ({len(common)})"
        lines.append(f"| {key[0]} | {setting} | {'' if free != free else f'{free:.3f}'} | "
                     + " | ".join(parts) + f" | {gap} | {order} |")
    return lines


def sweep_report(name: str, rows: list[dict[str, Any]], out_dir: Path,
                 command: str = "", keys: tuple[str, ...] = MPNN_KEYS) -> Path:
    """CSV of all points, figure and a Markdown section (beside the paper's numbers for MPNN).

    ``keys``: the error fields the sweep varies (the spec's error keys); the paper's numbers are
    shown only for the MPNN keys (beam-splitter and phase std).
    """
    from .summary import write_rows

    out_dir.mkdir(parents=True, exist_ok=True)
    stem = report_stem(name)
    csv_path = write_rows(rows, out_dir / f"{stem}.csv") if rows else None
    keys = tuple(keys)
    with_paper = set(keys) <= set(MPNN_KEYS)
    if with_paper:
        keys = MPNN_KEYS
    for r in rows:
        for k in keys:
            r.setdefault(k, 0.0)
    agg = aggregate(rows, ("dataset", "variant", *keys),
                    metrics=("physical_test_acc", "physical_test_acc_final", "model_test_acc",
                             "wall_s"))
    paper = paper_rows() if with_paper else []
    fig = plot_sweep(agg, paper, out_dir / f"{stem}.png", name, keys)
    wall: dict[str, float] = {}
    counted = set()  # a deployment carries its training's wall-clock: count each training once
    for r in rows:
        run = r.get("deployed_from") or r.get("run_dir") or id(r)
        if run in counted:
            continue
        counted.add(run)
        wall[r["variant"]] = wall.get(r["variant"], 0.0) + float(r.get("wall_s") or 0)
    lines = [f"## {name}", ""]
    if command:
        lines += [f"Command: `{command}`", ""]
    cols = [k.replace("_", " ") for k in keys]
    lines += [f"{len(rows)} finished points; CSV: `{csv_path.name if csv_path else '-'}`. "
              "Physical test accuracy, mean ± std over seeds x draws; *selected* = epoch chosen on "
              "physical (in-silico: model) validation accuracy, *final* = last epoch."
              + (" The paper's numbers are one run each, selected on test accuracy."
                 if with_paper else ""), "",
              "| dataset | variant | " + " | ".join(cols) + " | n | ours (selected) | ours (final) "
              + ("| paper | ours - paper |" if with_paper else "|"),
              "|---|---|" + "---|" * len(cols) + "---|---|---|" + ("---|---|" if with_paper else "")]
    lookup = {(p["dataset"], p["method"], p["bs_std"], p["phase_std"]): p["physical_test_acc"]
              for p in paper}
    for r in agg:
        line = (f"| {r['dataset']} | {r['variant']} | "
                + " | ".join(f"{float(r[k]):g}" for k in keys)
                + f" | {r['n']} | {_fmt_ms(r['physical_test_acc_mean'], r['physical_test_acc_std'])} "
                f"| {_fmt_ms(r['physical_test_acc_final_mean'], r['physical_test_acc_final_std'])} |")
        if with_paper:
            p = lookup.get((r["dataset"], r["variant"], *(r[k] for k in MPNN_KEYS)))
            line += (" | |" if p is None
                     else f" {p:.3f} | {r['physical_test_acc_mean'] - p:+.3f} |")
        lines.append(line)
    ranking = ranking_table(rows, keys)
    if ranking:
        lines += ["", "Per setting (selected physical test accuracy, mean ± std over n runs; "
                  "error-free = the in-silico networks on their ideal model):", "", *ranking]
    total_h = sum(wall.values()) / 3600
    lines += ["", "Compute (training wall-clock, s, one thread per run; each training counted "
              "once, direct_deploy = its in-silico trainings): "
              + ", ".join(f"{k} {v:.0f}" for k, v in wall.items())
              + f"; total {total_h:.1f} core-hours.", ""]
    if fig is not None:
        lines += [f"![{name}]({fig.name})", ""]
    md = out_dir / f"{stem}.md"
    md.write_text("\n".join(lines))
    return md


def queries_to_fraction(metrics: list[dict[str, Any]], fraction: float = 0.9,
                        key: str = "physical_val_acc") -> float:
    """Physical queries spent when ``key`` first reaches ``fraction`` of its final value.

    ``metrics``: the per-epoch rows of a run's ``metrics.csv`` (``queries`` is cumulative).
    Epoch resolution: the answer is the query count at the end of the first such epoch.
    """
    if not metrics:
        raise ValueError("no epochs in the metrics")
    final = float(metrics[-1][key])
    for row in metrics:
        if float(row[key]) >= fraction * final:
            return float(row["queries"])
    return float(metrics[-1]["queries"])  # unreachable for fraction <= 1


def plot_query_budget(curves: dict[str, list[dict[str, Any]]], path: Path, title: str = "",
                      start: float | None = None, fraction: float = 0.9) -> Path:
    """Physical validation accuracy vs physical queries, one line per run (label -> metrics).

    ``start``: the accuracy before any query (direct deployment), drawn at 0 queries. A marker
    shows where each curve first reaches ``fraction`` of its final accuracy.
    """
    from .viz import pyplot

    plt = pyplot()

    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    for i, (label, rows) in enumerate(curves.items()):
        qs = [float(r["queries"]) for r in rows]
        acc = [float(r["physical_val_acc"]) for r in rows]
        if start is not None:
            qs, acc = [0.0, *qs], [start, *acc]
        ax.plot(qs, acc, "o-", ms=3, color=f"C{i}", label=label)
        q90 = queries_to_fraction(rows, fraction)
        ax.axvline(q90, color=f"C{i}", ls=":", lw=0.8)
    ax.set_xlabel("physical queries (images sent through the hardware)")
    ax.set_ylabel("physical validation accuracy")
    ax.set_title(title or f"measurement budget (dotted: {fraction:.0%} of final)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    from .viz import save_figure

    return save_figure(fig, path)
