import json

import pytest

from photonic_dat import bench


def test_timeit_reports_median_min_max():
    calls = []
    t = bench.timeit(lambda: calls.append(1), repeats=3, warmup=2)
    assert len(calls) == 5
    assert t["min_s"] <= t["median_s"] <= t["max_s"]


def test_mpnn_and_mesh_benchmarks_report_ratios(tmp_path, monkeypatch):
    monkeypatch.setitem(bench.BENCHES, "mpnn",
                        lambda repeats: bench.bench_mpnn(repeats, batch=20, n_eval=50))
    monkeypatch.setitem(bench.BENCHES, "mesh", lambda repeats: bench.bench_mesh(repeats, (16,)))
    rows = bench.run(["mpnn", "mesh"], out_dir=tmp_path, repeats=1)
    cases = {r["case"] for r in rows}
    assert {"insilico", "pat", "dat w/ IS (10k)", "dat separable (10k)"} <= cases
    assert all(r["ratio"] > 0 for r in rows)
    lines = (tmp_path / "mpnn.jsonl").read_text().splitlines()
    record = json.loads(lines[0])["machine"]
    assert record["cpus"] >= 1
    assert isinstance(record["cpu_capability"], str) and record["cpu_capability"]  # e.g. AVX2
    with pytest.raises(ValueError, match="unknown benchmark"):
        bench.run(["nope"], out_dir=tmp_path)


def test_dpnn_benchmark_compares_with_the_bare_reference():
    rows = bench.bench_dpnn(1, ((48, 2),), layers=2)
    ref, ours = rows
    assert ref["ratio"] == 1.0 and ours["ratio"] > 0
    assert ours["rel_field_error"] < 1e-5  # the same physics as the bare FFT chain
    assert ours["peak_rss_mb"] > 0


def test_allocator_setting_can_be_switched_off(monkeypatch):
    from photonic_dat import allocator

    monkeypatch.setenv("PHOTONIC_DAT_MALLOC", "default")
    assert allocator.configure() == "default"
    monkeypatch.delenv("PHOTONIC_DAT_MALLOC")
    assert allocator.configure() in ("retain", "default")


def test_memory_benchmark_reports_peak_and_dat_over_pat():
    rows = bench.bench_memory(1, preset="dpnn-cpu", batch=4, shape=(48, 2))
    pat, dat = rows
    assert pat["ratio"] == 1.0 and dat["ratio"] > 0
    assert dat["peak_rss_mb"] > 0 and dat["n"] == 48 and dat["layers"] == 2


def test_step_flops_count_the_sepn_convolutions_only_in_dat():
    pat = bench._mpnn_setup("pat", batch=10)
    assert bench.step_flops(*pat)["conv"] == 0
    small = bench.step_flops(*bench._mpnn_setup("dat", "unitary", batch=10))["conv"]
    large = bench.step_flops(*bench._mpnn_setup("dat", "unitary", batch=20))["conv"]
    assert small > 0 and large == pytest.approx(2 * small)  # convolution cost is linear in batch
    assert bench.sgemm_rate(64, repeats=1) > 0


def test_ensemble_benchmark_compares_with_standalone_iterations():
    rows = bench.bench_ensemble(1, members=2, batch=10, methods=("pat", "dat-linear"))
    assert [r["ratio"] for r in rows][0] == 1.0 and rows[1]["ratio"] > 0
    assert "one ensemble iteration of 2" in rows[1]["case"] and len(rows) == 4
