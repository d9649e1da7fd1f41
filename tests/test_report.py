"""Result aggregation helpers: query budgets, sweep figures."""

import pytest

from photonic_dat import report
from photonic_dat.report import plot_query_budget, queries_to_fraction


def _rows(accs, per_epoch=1000):
    return [{"queries": per_epoch * (i + 1), "physical_val_acc": a} for i, a in enumerate(accs)]


def test_queries_to_ninety_percent_of_the_final_accuracy():
    rows = _rows([0.5, 0.8, 0.85, 0.9])
    assert queries_to_fraction(rows, 0.9) == 3000  # 0.8 < 0.81 <= 0.85
    assert queries_to_fraction(rows, 0.5) == 1000
    assert queries_to_fraction(rows, 1.0) == 4000
    # a curve that falls back: the first epoch at 90 % of the *final* value counts
    assert queries_to_fraction(_rows([0.9, 0.95, 0.6]), 0.9) == 1000
    with pytest.raises(ValueError, match="no epochs"):
        queries_to_fraction([])


def test_query_budget_figure(tmp_path):
    path = plot_query_budget({"pat": _rows([0.6, 0.65]), "dat": _rows([0.7, 0.9])},
                             tmp_path / "q.png", start=0.5)
    assert path.exists() and path.with_suffix(".pdf").exists()


def test_sweep_figure_panels_keep_their_own_accuracy_scale(tmp_path, monkeypatch):
    import photonic_dat.viz as viz

    figures = []
    monkeypatch.setattr(viz, "save_figure", lambda fig, path: figures.append(fig) or path)
    keys = ("shift_std", "gain_std")
    agg = []
    for key, accs in (("shift_std", (0.9, 0.5, 0.1)), ("gain_std", (0.935, 0.933, 0.931))):
        for x, acc in zip((0.1, 0.2, 0.3), accs, strict=True):
            row = {"dataset": "mnist", "variant": "pat", "physical_test_acc_mean": acc,
                   "physical_test_acc_std": 0.0, "shift_std": 0.0, "gain_std": 0.0}
            row[key] = x
            agg.append(row)
    report.plot_sweep(agg, [], tmp_path / "s.png", "toy", keys)
    shift_ax, gain_ax = (ax for ax in figures[0].axes if ax.get_visible() and ax.lines)
    assert shift_ax.get_ylim()[1] - shift_ax.get_ylim()[0] > 0.5
    assert gain_ax.get_ylim()[1] - gain_ax.get_ylim()[0] < 0.05
