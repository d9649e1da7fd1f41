"""Every published MPNN number beside ours, point by point, and the issue's claims checked.

Input: run rows (the sweep CSVs written by ``photonic-dat reproduce``, one row per run, with
``dataset``, ``variant``, ``bs_std``, ``phase_std``, ``seed``, ``draw``, ``physical_test_acc``,
``model_test_acc``). Output: one table row per row of the paper's results
(``paper/dat_mpnn_official_results.csv``), with our run of the same method (where we ran it) and
our method beyond the paper that competes with it (:data:`COUNTERPARTS`), and a summary of the
claims: DAT w/ IS at or above the paper within one standard deviation, and DAT above PAT and
direct deployment wherever an error std is at least 0.04.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .report import mean_std, paper_lookup, paper_rows
from .summary import write_rows

_DAT_IS_PAPER = ("dat_is_10k", "dat_is_4k")  # the paper's DAT w/ IS, two U-Net SEPN sizes

#: our methods beyond the paper -> the paper's methods each one competes with (our SEPNs have
#: one size, so one of ours stands beside both of the paper's 4k and 10k SEPN rows)
COUNTERPARTS = {"pat_ft": ("pat",), "dat_is_linear_ft": _DAT_IS_PAPER,
                "dat_is_linear_ft_l2_wd3": _DAT_IS_PAPER, "dat_is_mesh_ft": _DAT_IS_PAPER,
                "dat_is_mesh_ft_lead": _DAT_IS_PAPER, "dat_is_mesh_ft_lead2": _DAT_IS_PAPER,
                "dat_no_is_linear_ft": ("dat_no_is_4k", "dat_no_is_10k"),
                "dat_is_separable_linear_ft": ("dat_is_separable_4k", "dat_is_separable_10k")}

#: the roles of the claims: labels playing DAT w/ IS, PAT and direct deployment
DAT_IS = ("dat_is_10k", "dat_is_linear_ft", "dat_is_linear_ft_l2_wd3", "dat_is_mesh_ft",
          "dat_is_mesh_ft_lead", "dat_is_mesh_ft_lead2")
DAT_NO_IS = ("dat_no_is_4k", "dat_no_is_10k", "dat_no_is_linear_ft")
PAT = ("pat", "pat_ft")
DIRECT = ("direct_deploy",)

Setting = tuple[str, float, float]  # dataset, bs_std, phase_std

#: the columns a results CSV needs (the run rows of an MPNN sweep)
REQUIRED = ("dataset", "variant", "bs_std", "phase_std", "physical_test_acc")


class ComparisonError(ValueError):
    """A results CSV that cannot be compared with the paper (one line)."""


def read_rows(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Rows of the given CSVs; a run appearing in several sweeps (same dataset, method, setting,
    seed, draw: e.g. a setting shared by mpnn-individual and mpnn-variants) counts once."""
    out, seen = [], set()
    for path in paths:
        if not Path(path).exists():
            raise FileNotFoundError(f"no results CSV at {path}")
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
            if missing:
                raise ComparisonError(f"{path} lacks column(s) {', '.join(missing)}: pass the run "
                                      "CSVs of MPNN sweeps (e.g. results/mpnn/joint.csv)")
            for r in reader:
                key = (r["dataset"], r["variant"], float(r.get("bs_std") or 0),
                       float(r.get("phase_std") or 0), r.get("seed"), r.get("draw"))
                if key not in seen:
                    seen.add(key)
                    out.append(r)
    return out


def _accuracies(rows: list[dict[str, Any]]) -> dict[tuple[Setting, str], list[float]]:
    """(setting, method) -> physical test accuracies (selected epoch); the error-free setting
    (0, 0) of ``direct_deploy`` holds the in-silico networks' model accuracy, once per seed."""
    acc: dict[tuple[Setting, str], list[float]] = defaultdict(list)
    free_seen = set()
    for r in rows:
        setting = (r["dataset"], float(r.get("bs_std") or 0), float(r.get("phase_std") or 0))
        if r.get("physical_test_acc") not in (None, ""):
            acc[(setting, r["variant"])].append(float(r["physical_test_acc"]))
        if r["variant"] in DIRECT and r.get("model_test_acc") not in (None, ""):
            seed_key = (r["dataset"], r.get("seed"))
            if seed_key not in free_seen:
                free_seen.add(seed_key)
                acc[((r["dataset"], 0.0, 0.0), r["variant"])].append(float(r["model_test_acc"]))
    return acc


def _best(acc: dict, setting: Setting, labels: tuple[str, ...]) -> tuple[str, float, float, int] | None:
    """The label with the highest mean among ``labels`` at ``setting``: (label, mean, std, n)."""
    found = [(lab, *mean_std(acc[(setting, lab)]), len(acc[(setting, lab)]))
             for lab in labels if acc.get((setting, lab))]
    return max(found, key=lambda t: t[1]) if found else None


def compare(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The comparison table (one dict per paper row) and the claims' summary."""
    acc = _accuracies(rows)
    paper_direct = paper_lookup("direct_deploy")
    nan = float("nan")
    table = []
    for p in sorted(paper_rows(), key=lambda p: (p["dataset"], p["method"], p["bs_std"],
                                                 p["phase_std"])):
        setting = (p["dataset"], p["bs_std"], p["phase_std"])
        same = acc.get((setting, p["method"]), [])
        row: dict[str, Any] = {"dataset": p["dataset"], "bs_std": p["bs_std"],
                               "phase_std": p["phase_std"], "method": p["method"],
                               "paper": p["physical_test_acc"], "ours_n": len(same)}
        row["ours_mean"], row["ours_std"] = mean_std(same)
        beyond = _best(acc, setting, tuple(k for k, v in COUNTERPARTS.items()
                                           if p["method"] in v))
        row["beyond"], row["beyond_mean"], row["beyond_std"], row["beyond_n"] = (
            beyond or ("", nan, nan, 0))
        row["meets_paper"], row["ours_to_free"], row["paper_to_free"] = "", nan, nan
        if p["method"] == "dat_is_10k":
            best = _best(acc, setting, DAT_IS)
            if best is not None:
                row["meets_paper"] = "yes" if best[1] + best[2] >= p["physical_test_acc"] else "no"
                # each against its own error-free network (the in-silico networks differ)
                row["ours_to_free"] = best[1] - mean_std(acc.get(((p["dataset"], 0.0, 0.0),
                                                                  "direct_deploy"), []))[0]
                row["paper_to_free"] = (p["physical_test_acc"]
                                        - paper_direct[(p["dataset"], 0.0, 0.0)])
        table.append(row)

    dat_rows = [r for r in table if r["method"] == "dat_is_10k"]
    summary = {
        "paper_rows": len(table),
        "matched": sum(1 for r in table if r["ours_n"] or r["beyond_n"]),
        "dat_rows": len(dat_rows),
        "dat_meets": sum(r["meets_paper"] == "yes" for r in dat_rows),
        "dat_misses": [r for r in dat_rows if r["meets_paper"] == "no"],
        "dat_unrun": sum(r["meets_paper"] == "" for r in dat_rows),
        "order": _order(acc, DAT_IS),
        "order_no_is": _order(acc, DAT_NO_IS),
    }
    return table, summary


def _order(acc: dict, dat_labels: tuple[str, ...]) -> list[dict[str, Any]]:
    """Per setting with an error std >= 0.04 where one of ``dat_labels`` ran: the best of them,
    of PAT and of direct deployment, and whether DAT is above both ("" when one is missing)."""
    order = []
    for setting in sorted({s for s, lab in acc if lab in dat_labels}):
        if max(setting[1], setting[2]) < 0.04 - 1e-9:
            continue
        dat, pat, direct = (_best(acc, setting, labels) for labels in (dat_labels, PAT, DIRECT))
        verdict = ("" if pat is None or direct is None
                   else "yes" if dat[1] > pat[1] and dat[1] > direct[1] else "no")
        order.append({"setting": setting, "dat": dat, "pat": pat, "direct": direct,
                      "verdict": verdict})
    return order


def _ms(mean: float, std: float, n: int) -> str:
    return "" if not n else f"{mean:.3f} ± {std:.3f} ({n})"


def _diff(mean: float, paper: float, n: int) -> str:
    return "" if not n else f"{mean - paper:+.3f}"


def markdown(table: list[dict[str, Any]], summary: dict[str, Any], sources: list[str]) -> str:
    s = summary
    lines = ["## Every published MPNN number beside ours", "",
             f"Command: `photonic-dat compare-paper {' '.join(sources)}`", "",
             "Physical test accuracy; ours: mean ± std (number of runs) over seeds x draws, epoch "
             "selected on physical validation accuracy; the paper: one run, selected on test "
             "accuracy. The error-free row (0, 0) is the in-silico networks on their ideal model. "
             "*Beyond the paper*: our method that competes with the paper's method ("
             + ", ".join(f"`{k}` for {' and '.join(f'`{m}`' for m in v)}"
                         for k, v in COUNTERPARTS.items()) + ").", "",
             "### Claims", "",
             f"- Paper rows with at least one number of ours: **{s['matched']} of "
             f"{s['paper_rows']}**.",
             f"- DAT w/ IS (best of {', '.join(DAT_IS)}) at or above the paper within one std: "
             f"**{s['dat_meets']} of {s['dat_rows']}** rows"
             + (f"; missed at {', '.join(_miss(r) for r in s['dat_misses'])}"
                if s["dat_misses"] else "")
             + (f"; {s['dat_unrun']} rows not run yet" if s["dat_unrun"] else "") + "."]
    for key, name, labels in (("order", "DAT w/ IS", DAT_IS),
                              ("order_no_is", "DAT w/o IS", DAT_NO_IS)):
        judged = [o for o in s[key] if o["verdict"]]
        if not judged:
            continue
        lost = [o for o in judged if o["verdict"] == "no"]
        lines.append(f"- {name} (best of {', '.join(labels)}) above PAT (best of "
                     f"{', '.join(PAT)}) and direct deployment where an error std >= 0.04: "
                     f"**{len(judged) - len(lost)} of {len(judged)}** settings"
                     + (f"; not at {', '.join(_where_setting(o['setting']) for o in lost)}"
                        if lost else "") + ".")
    lines += ["", "| dataset | BS std | PS std | paper method | paper | ours, same method | "
              "ours - paper | beyond the paper | beyond - paper | DAT w/ IS >= paper - 1 std |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for r in table:
        lines.append(
            f"| {r['dataset']} | {r['bs_std']:g} | {r['phase_std']:g} | {r['method']} | "
            f"{r['paper']:.3f} | {_ms(r['ours_mean'], r['ours_std'], r['ours_n'])} | "
            f"{_diff(r['ours_mean'], r['paper'], r['ours_n'])} | "
            + (f"{r['beyond']}: {_ms(r['beyond_mean'], r['beyond_std'], r['beyond_n'])}"
               if r["beyond_n"] else "")
            + f" | {_diff(r['beyond_mean'], r['paper'], r['beyond_n'])} | {r['meets_paper']} |")
    lines += ["", "### DAT w/ IS against PAT and direct deployment (error std >= 0.04)", "",
              "| dataset | BS std | PS std | DAT w/ IS | PAT | direct | DAT above both |",
              "|---|---|---|---|---|---|---|"]
    for o in s["order"]:
        ds, bs, ps = o["setting"]
        cells = [f"{t[0]}: {t[1]:.3f} ± {t[2]:.3f}" if t else "" for t in
                 (o["dat"], o["pat"], o["direct"])]
        lines.append(f"| {ds} | {bs:g} | {ps:g} | " + " | ".join(cells) + f" | {o['verdict']} |")
    return "\n".join(lines) + "\n"


def _miss(r: dict[str, Any]) -> str:
    where = _where_setting((r["dataset"], r["bs_std"], r["phase_std"]))
    return (f"{where} (below its own error-free network: ours {r['ours_to_free']:+.3f}, the "
            f"paper {r['paper_to_free']:+.3f})")


def _where_setting(setting: Setting) -> str:
    return f"{setting[0]} ({setting[1]:g}, {setting[2]:g})"


def plot(table: list[dict[str, Any]], path: Path) -> Path:
    """Ours against the paper, one marker per paper row with a number of ours (same method:
    filled; beyond the paper: open), one panel per dataset; the diagonal is equality."""
    from .viz import pyplot, save_figure

    plt = pyplot()
    datasets = sorted({r["dataset"] for r in table})
    methods = sorted({r["method"] for r in table})
    colour = {m: f"C{i}" for i, m in enumerate(methods)}
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.4 * len(datasets), 4.2), squeeze=False)
    for ax, ds in zip(axes[0], datasets, strict=True):
        rs = [r for r in table if r["dataset"] == ds]
        for m in methods:
            same = [r for r in rs if r["method"] == m and r["ours_n"]]
            if same:
                ax.errorbar([r["paper"] for r in same], [r["ours_mean"] for r in same],
                            yerr=[r["ours_std"] for r in same], fmt="o", ms=4, capsize=2,
                            color=colour[m], label=m)
            beyond = [r for r in rs if r["method"] == m and r["beyond_n"]]
            if beyond:
                ax.errorbar([r["paper"] for r in beyond], [r["beyond_mean"] for r in beyond],
                            yerr=[r["beyond_std"] for r in beyond], fmt="o", ms=5, capsize=2,
                            mfc="none", color=colour[m], label=f"{beyond[0]['beyond']} (vs {m})")
        lo = min([r["paper"] for r in rs] + [r["ours_mean"] for r in rs if r["ours_n"]])
        ax.plot([lo, 1], [lo, 1], color="0.5", lw=0.8, ls="--")
        ax.set_xlabel("paper (physical test accuracy)")
        ax.set_ylabel("ours (mean ± std over seeds)")
        ax.set_title(ds)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6)
    fig.suptitle("MPNN: ours vs the paper, point by point (above the diagonal: ours higher)",
                 fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def compare_paper(csv_paths: list[Path], out: Path) -> Path:
    """Write ``out`` (Markdown), and the table as CSV and a figure beside it; returns ``out``."""
    rows = read_rows(csv_paths)
    table, summary = compare(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_rows(table, out.with_suffix(".csv"))
    fig = plot(table, out.with_suffix(".png"))
    text = markdown(table, summary, [str(p) for p in csv_paths] + ["--out", str(out)])
    out.write_text(text + f"\n![ours vs the paper]({fig.name})\n")
    return out
