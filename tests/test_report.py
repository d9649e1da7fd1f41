"""Result aggregation helpers: query budgets."""

import pytest

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
