"""Run summaries as CSV rows."""

from photonic_dat.summary import flatten, read_rows, write_rows


def test_rows_keep_contract_columns_first_and_write_lists_readably(tmp_path):
    summary = {"physical_test_acc": 0.91234567, "method": "dat", "errors": {"shift_std": 1.0},
               "fitted_shifts": [[1.515625, -0.5703125], [-2.171875, 0.3515625]]}
    path = write_rows([flatten(summary)], tmp_path / "runs.csv")
    (row,) = read_rows(path)
    assert list(row)[:2] == ["method", "physical_test_acc"]
    assert row["physical_test_acc"] == "0.912346"
    assert row["shift_std"] == "1"
    assert row["fitted_shifts"] == "1.51562,-0.570312;-2.17188,0.351562"
