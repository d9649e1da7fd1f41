"""Sweep expansion, resumption and report generation on a tiny sweep."""

import json
from pathlib import Path

import pytest
import yaml

from photonic_dat.cli import main
from photonic_dat.summary import read_rows
from photonic_dat.sweep import (
    SweepError,
    expand_errors,
    load_spec,
    plan,
    spec_names,
    train_command,
)

TINY = """
name: tiny
presets: {mnist: demo}
datasets: [mnist]
errors:
  - {phase_std: [0.05, 0.15]}
methods:
  direct_deploy: {train.method: insilico}
  pat: {train.method: pat}
seeds: 2
draws: 1
overrides: {dataset.train_subset: 300, dataset.test_subset: 200, dataset.val_size: 100,
            model.modes: 16, train.batch_size: 100}
"""


@pytest.fixture()
def tiny_spec(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


def test_builtin_specs_expand_to_the_paper_grids():
    assert {"mpnn-individual", "mpnn-variants", "mpnn-joint"} <= set(spec_names())
    ind = plan(load_spec("mpnn-individual"), __import__("pathlib").Path("/r"))
    trains = [j for j in ind if j.kind == "train"]
    deploys = [j for j in ind if j.kind == "deploy"]
    # 2 datasets x 3 seeds x (1 in-silico + 8 methods x 10 settings)
    assert len(trains) == 2 * 3 * (1 + 8 * 10)
    assert len(deploys) == 2 * 3 * 10
    joint = plan(load_spec("mpnn-joint"), __import__("pathlib").Path("/r"), seeds=1)
    assert len([j for j in joint if j.kind == "deploy"]) == 2 * 5
    assert len(expand_errors(load_spec("mpnn-variants").errors)) == 12


def test_expand_errors_crosses_lists_within_an_entry():
    got = expand_errors([{"bs_std": [0.1, 0.2], "phase_std": 0.05}, {"phase_std": [0.3]}])
    assert got == [{"bs_std": 0.1, "phase_std": 0.05}, {"bs_std": 0.2, "phase_std": 0.05},
                   {"phase_std": 0.3}]


def test_same_seed_and_draw_meet_the_same_system(tiny_spec, tmp_path):
    jobs = plan(load_spec(tiny_spec), tmp_path)
    seeds = {(j.variant, j.seed, j.draw, j.error_seed) for j in jobs if j.errors}
    for _, seed, draw, es in seeds:
        assert es == seed + 100 * draw
    spec = load_spec(tiny_spec)
    spec.overrides["train.device"] = "cuda"
    cmd = train_command(spec, [j for j in jobs if j.variant == "pat"][0], 3, tmp_path)
    assert "train.epochs=3" in cmd and "system.error_seed=0" in cmd
    assert "train.device=cuda" in cmd


def test_a_resumed_point_runs_where_the_sweep_runs_now(tiny_spec, tmp_path):
    """A point interrupted on a GPU machine (train.device=cuda in its config.yaml) resumes on
    the device this sweep gives, the preset's (cpu) when it gives none."""
    spec = load_spec(tiny_spec)
    job = [j for j in plan(spec, tmp_path) if j.variant == "pat"][0]
    job.run_dir.mkdir(parents=True)
    (job.run_dir / "config.yaml").write_text("train: {device: cuda}\n")
    (job.run_dir / "checkpoint.pt").write_bytes(b"")
    cmd = train_command(spec, job, None, tmp_path)
    assert cmd[cmd.index("--resume") + 1] == str(job.run_dir)
    assert "train.device=cpu" in cmd and "train.threads=1" in cmd
    assert "dataset.data_dir=null" in cmd and "train.eval_batch_size=2500" in cmd  # preset's
    assert not any(c.startswith("train.epochs") for c in cmd)  # the stored config decides
    spec.overrides["train.device"] = "cuda"
    cmd = train_command(spec, job, None, tmp_path)
    assert "train.device=cuda" in cmd and "train.device=cpu" not in cmd
    # stopped between the two renames of a checkpoint write: only the previous one is there
    (job.run_dir / "checkpoint.pt").rename(job.run_dir / "checkpoint.pt.prev")
    assert "--resume" in train_command(spec, job, None, tmp_path)


def test_a_resumed_ensemble_runs_where_the_sweep_runs_now(tiny_spec, tmp_path):
    from photonic_dat.sweep import ensemble_command, group_dir

    spec = load_spec(tiny_spec)
    jobs = [j for j in plan(spec, tmp_path) if j.variant == "pat" and j.errors
            and j.errors == plan(spec, tmp_path)[-1].errors]
    group = group_dir(jobs)
    group.mkdir(parents=True)
    (group / "checkpoint.pt.prev").write_bytes(b"")  # an ensemble stopped on a GPU machine
    for job in jobs:
        job.run_dir.mkdir(parents=True)
        (job.run_dir / "config.yaml").write_text("train: {device: cuda}\n")
    cmd = ensemble_command(spec, jobs, None, tmp_path)
    assert cmd[3] == "train-ensemble" and "train.device=cpu" in cmd
    assert all((j.run_dir / "config.yaml").read_text() == "train: {device: cuda}\n"
               for j in jobs)  # a resumed ensemble keeps its members' configs


def test_bad_specs_and_arguments_end_in_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\npresets: {}\ndatasets: [mnist]\nerrors: []\nmethods: {}\nfoo: 1\n")
    with pytest.raises(SweepError, match="unknown sweep key 'foo'"):
        load_spec(bad)
    assert main(["reproduce", "no-such-sweep"]) == 2
    assert "unknown sweep" in capsys.readouterr().err
    assert main(["reproduce", "mpnn-joint", "--only", "magic"]) == 2
    assert "--only 'magic'" in capsys.readouterr().err


def test_tiny_sweep_runs_resumes_and_reports(tiny_spec, tmp_path, capsys):
    out = tmp_path / "sweeps"
    argv = ["reproduce", str(tiny_spec), "--epochs", "1", "--jobs", "2", "--out", str(out),
            "--quiet"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "10 jobs, 0 already done, 10 ran, 0 failed" in text
    rows = read_rows(out / "tiny" / "tiny.csv")
    assert len(rows) == 8
    assert {r["variant"] for r in rows} == {"direct_deploy", "pat"}
    pat = [r for r in rows if r["variant"] == "pat"]
    assert all(int(r["queries"]) == 300 for r in pat)
    md = (out / "tiny" / "tiny.md").read_text()
    assert "| mnist | pat | 0 | 0.15 | 2 |" in md
    assert (out / "tiny" / "tiny.png").exists()
    # resumption: everything is skipped; a lost point is redone alone
    assert main(argv) == 0
    assert "10 already done, 0 ran" in capsys.readouterr().out
    lost = out / "tiny" / "mnist" / "pat" / "phase0.15" / "s1-d0" / "summary.json"
    first = json.loads(lost.read_text())["physical_test_acc"]
    lost.unlink()
    assert main(argv) == 0
    assert "9 already done, 1 ran" in capsys.readouterr().out
    # an interrupted point (checkpoint, no summary) resumes and finishes identically
    assert json.loads(lost.read_text())["physical_test_acc"] == pytest.approx(first, abs=1e-6)
    # points trained otherwise are not silently reused or resumed with their own settings
    assert main([*argv, "--set", "train.lr=0.5"]) == 2
    err = capsys.readouterr().err.strip()
    assert "was trained with train.lr=0.003, this sweep asks for 0.5 (6 point(s) differ)" in err
    # a point trained with a setting the sweep no longer gives (an earlier --set) is refused too
    stored = lost.parent / "config.yaml"
    original = stored.read_text()
    stored.write_text(original.replace("\n  lr: 0.003", "\n  lr: 0.5", 1))
    assert main(argv) == 2
    assert "was trained with train.lr=0.5, this sweep asks for 0.003 (1 point(s) differ)" in \
        capsys.readouterr().err
    stored.write_text(original)
    assert main(["reproduce", str(tiny_spec), "--epochs", "2", *argv[4:]]) == 2
    assert "train.epochs=1, this sweep asks for 2" in capsys.readouterr().err
    assert main([*argv, "--set", "errors.bs_std=0.02", "--only", "direct_deploy"]) == 2
    assert "was deployed with errors.bs_std=0.0, this sweep asks for 0.02" in \
        capsys.readouterr().err
    # ... but settings that do not change what a point computes may differ, and an in-silico
    # training never meets the hardware
    assert main([*argv, "--set", "train.eval_batch_size=50", "--set", "system.read_noise=0.01",
                 "--only", "direct_deploy"]) == 0
    assert "6 jobs, 6 already done, 0 ran" in capsys.readouterr().out


def test_dpnn_specs_expand_and_start_from_the_in_silico_run(tmp_path):
    from photonic_dat.sweep import error_keys, source_run

    ind = load_spec("dpnn-individual")
    keys = error_keys(ind)
    assert len(keys) >= 5 and "shift_std" in keys and "quant_levels" in keys
    assert all(len([e for e in expand_errors(ind.errors) if k in e]) >= 4 for k in keys)
    joint = load_spec("dpnn-joint")
    assert len(expand_errors(joint.errors)) >= 3 and joint.seeds >= 3
    jobs = plan(joint, tmp_path, seeds=1)
    dat = next(j for j in jobs if j.variant == "dat_is" and j.kind == "train")
    source = tmp_path / dat.dataset / "direct_deploy" / "train-s0"
    assert source_run(joint, dat, tmp_path) == source
    cmd = train_command(joint, dat, None, tmp_path)
    assert f"train.init_from={source}" in cmd
    insilico = next(j for j in jobs if j.variant == "direct_deploy" and j.kind == "train")
    assert source_run(joint, insilico, tmp_path) is None
    joint.methods["pat"]["train.init_from"] = "@pat"
    with pytest.raises(SweepError, match="must name an in-silico method"):
        source_run(joint, next(j for j in jobs if j.variant == "pat"), tmp_path)


def test_report_of_a_non_mpnn_sweep_has_its_own_columns_and_no_paper(tmp_path):
    from photonic_dat.report import sweep_report

    rows = []
    for variant, base in (("direct_deploy", 0.5), ("dat_is", 0.9)):
        for seed in range(2):
            for shift in (0.5, 1.0):
                rows.append({"dataset": "mnist", "variant": variant, "seed": seed,
                             "shift_std": shift, "fab_phase_std": 0.0,
                             "physical_test_acc": base - 0.1 * shift + 0.01 * seed,
                             "physical_test_acc_final": base, "model_test_acc": 0.9,
                             "wall_s": 10.0})
            rows.append({"dataset": "mnist", "variant": variant, "seed": seed,
                         "shift_std": 0.5, "fab_phase_std": 0.3, "physical_test_acc": base,
                         "physical_test_acc_final": base, "model_test_acc": 0.9, "wall_s": 1.0})
    md = sweep_report("toy", rows, tmp_path, keys=("shift_std", "fab_phase_std")).read_text()
    assert "| dataset | variant | shift std | fab phase std | n |" in md
    assert "paper" not in md
    assert "| mnist | dat_is | 1 | 0 | 2 | 0.805 ± 0.007 |" in md
    assert (tmp_path / "toy.png").exists()


def test_deployments_meet_the_errors_fixed_by_the_overrides(tmp_path):
    from photonic_dat.sweep import deploy_errors

    spec = load_spec("dpnn-joint")
    job = next(j for j in plan(spec, tmp_path, seeds=1) if j.kind == "deploy")
    errors = deploy_errors(spec, job)
    assert errors["fab_corr_length"] == 2.0  # from overrides, as the trained points see it
    assert errors["shift_std"] == dict(job.errors)["shift_std"]


def test_report_files_drop_the_family_prefix_and_rank_the_methods(tmp_path):
    from photonic_dat.report import report_stem, sweep_report

    assert report_stem("dpnn-joint") == "joint" and report_stem("mpnn-individual") == "individual"
    assert report_stem("toy") == "toy" and report_stem("mpnn-") == "mpnn-"
    rows = []
    accs = {"direct_deploy": (0.5, 0.6), "pat": (0.8, 0.55), "dat_is": (0.9, 0.7)}
    for variant, (mild, severe) in accs.items():
        for seed in range(3):
            for shift, acc in ((0.5, mild), (1.0, severe)):
                rows.append({"dataset": "mnist", "variant": variant, "seed": seed,
                             "shift_std": shift, "physical_test_acc": acc + 0.01 * seed,
                             "physical_test_acc_final": acc, "model_test_acc": 0.93,
                             "wall_s": 1.0})
    md = sweep_report("dpnn-toy", rows, tmp_path, keys=("shift_std",)).read_text()
    assert (tmp_path / "toy.csv").exists() and (tmp_path / "toy.md").exists()
    # mild: 0.9 >= 0.8 >= 0.5 holds; severe: PAT (0.55) falls below direct deployment (0.6)
    assert "| mnist | shift=0.5 | 0.930 | 0.510 ± 0.010 (n=3) | 0.810 ± 0.010 (n=3) | " \
           "0.910 ± 0.010 (n=3) | -0.020 | yes (3) |" in md
    assert "| mnist | shift=1 | 0.930 |" in md and "| -0.220 | **no** (3) |" in md
    # the order is checked on the runs all three methods have: an extra PAT seed is left out
    from photonic_dat.report import ranking_table

    extra = {**rows[6], "seed": 7, "physical_test_acc": 0.0}  # a PAT run of another seed
    assert rows[6]["variant"] == "pat"
    table = "\n".join(ranking_table([*rows, extra], ("shift_std",)))
    assert "(n=4)" in table and "yes (3)" in table


def test_points_are_claimed_so_that_parallel_sweeps_do_not_collide(tiny_spec, tmp_path, capsys):
    import subprocess
    import sys

    from photonic_dat.sweep import LOCK_NAME, claim, release

    point = tmp_path / "p"
    fd = claim(point)
    assert fd is not None
    assert claim(point) is None  # held (flock: even another open file of this process)
    release(fd)
    fd = claim(point)  # a lock file left behind by an ended holder is free
    assert fd is not None
    # a child that inherited the lock keeps it after the sweep's own descriptor is closed
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"],
                             pass_fds=(fd,))
    release(fd)
    try:
        assert claim(point) is None
    finally:
        child.kill()
        child.wait()
    fd = claim(point)
    assert fd is not None

    out = tmp_path / "sweeps"
    busy = out / "tiny" / "mnist" / "pat" / "phase0.05" / "s0-d0"
    held = claim(busy)  # another sweep process is training this point
    argv = ["reproduce", str(tiny_spec), "--epochs", "1", "--seeds", "1", "--out", str(out)]
    assert main([*argv, "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "5 jobs, 1 already done, 4 ran, 0 failed" in captured.out
    assert "left to another process" in captured.out and not (busy / "summary.json").exists()
    release(held)
    assert main([*argv, "--quiet"]) == 0
    assert "4 already done, 1 ran" in capsys.readouterr().out
    assert (busy / "summary.json").exists() and (busy / LOCK_NAME).exists()
    release(fd)


def test_an_interrupted_sweep_starts_no_further_point(tiny_spec, tmp_path, monkeypatch):
    import photonic_dat.sweep as sweep

    started = []

    def fake_group(spec, group, epochs, root, together):
        started.append(group[0].run_dir)
        if len(started) == 1:
            raise KeyboardInterrupt  # as Ctrl-C or a time limit's SIGINT would
        return [(job, 0) for job in group]

    monkeypatch.setattr(sweep, "_run_group", fake_group)
    with pytest.raises(KeyboardInterrupt):
        sweep.run_sweep(load_spec(tiny_spec), tmp_path, seeds=6, jobs=1, progress=False)
    # six in-silico trainings were queued; at most the one taken while the first stopped ran
    assert 1 <= len(started) <= 2


def test_a_training_ended_by_sigint_stops_the_sweep(tiny_spec, tmp_path, monkeypatch):
    import photonic_dat.sweep as sweep

    started = []

    def fake_group(spec, group, epochs, root, together):
        started.append(group[0].run_dir)
        return [(job, 130) for job in group]  # its training process got the SIGINT

    monkeypatch.setattr(sweep, "_run_group", fake_group)
    with pytest.raises(KeyboardInterrupt, match="6 point"):  # the stopped one, 5 not started
        sweep.run_sweep(load_spec(tiny_spec), tmp_path, seeds=6, jobs=1, progress=False)
    assert len(started) == 1
    # the next sweep starts afresh
    monkeypatch.setattr(sweep, "_run_group", lambda *a: [(job, 0) for job in a[1]])
    assert sweep.run_sweep(load_spec(tiny_spec), tmp_path, seeds=1, jobs=1, progress=False,
                           only=["direct_deploy"])["failed"] == 3  # the fake trains nothing


def test_a_stopped_last_training_stops_the_sweep_rather_than_failing(tiny_spec, tmp_path,
                                                                     monkeypatch, capsys):
    import signal

    import photonic_dat.sweep as sweep

    monkeypatch.setattr(sweep, "_run_group",
                        lambda spec, group, *a: [(job, -signal.SIGTERM) for job in group])
    with pytest.raises(KeyboardInterrupt, match="1 point"):
        sweep.run_sweep(load_spec(tiny_spec), tmp_path, seeds=1, jobs=1, progress=False,
                        only=["direct_deploy"])
    assert "failed" not in capsys.readouterr().out


def test_sigterm_to_the_sweep_alone_stops_its_trainings(tiny_spec, tmp_path, monkeypatch, capsys):
    """`kill PID` (or a scheduler's SIGTERM) reaching only the sweep process ends it as Ctrl-C
    does, and its running trainings stop too, even ones that ignore SIGINT (as processes
    started in the background by a script do)."""
    import os
    import signal
    import sys
    import threading

    import photonic_dat.sweep as sweep

    slow = "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(60)"
    monkeypatch.setattr(sweep, "train_command", lambda *a: [sys.executable, "-c", slow])
    children = []
    start = sweep._start_child
    stop = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM))
    once = threading.Lock()

    def recorded(*args):
        child = start(*args)
        if child is not None:
            children.append(child)
            if once.acquire(blocking=False):  # the sweep is waiting on it: stop the sweep
                stop.start()
        return child

    monkeypatch.setattr(sweep, "_start_child", recorded)
    # without main's own handler SIGTERM would end the test process: record it instead
    caught = []
    before = signal.signal(signal.SIGTERM, lambda *a: caught.append(a))
    try:
        rc = main(["reproduce", str(tiny_spec), "--jobs", "2", "--out", str(tmp_path),
                   "--quiet"])
    finally:
        stop.cancel()
        if stop.is_alive():
            stop.join()
        signal.signal(signal.SIGTERM, before)
    assert rc == 130 and not caught
    assert "interrupted; rerun the same command to resume" in capsys.readouterr().err
    assert children and all(c.returncode == -signal.SIGTERM for c in children)
    assert not sweep._CHILDREN


def test_a_point_whose_source_is_missing_says_so(tiny_spec, tmp_path, capsys):
    spec = tiny_spec.read_text().replace("pat: {train.method: pat}",
                                         'pat: {train.method: pat, train.init_from: "@direct_deploy"}')
    path = tmp_path / "src.yaml"
    path.write_text(spec)
    argv = ["reproduce", str(path), "--epochs", "1", "--seeds", "1", "--only", "pat",
            "--out", str(tmp_path / "o"), "--quiet"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "2 failed" in out and "is not finished (train its method first" in out


def test_ranking_finds_the_mpnn_labels():
    from photonic_dat.report import ranking_table

    rows = [{"dataset": "mnist", "variant": v, "seed": 0, "phase_std": 0.1,
             "physical_test_acc": a, "model_test_acc": 0.97}
            for v, a in (("direct_deploy", 0.5), ("pat", 0.7), ("dat_no_is_4k", 0.8),
                         ("dat_is_10k", 0.9))]
    table = ranking_table(rows, ("phase_std",))
    assert "| dat_no_is_4k | dat_is_10k |" in table[0]
    assert table[2].endswith("| -0.070 | yes (1) |")
    # a further DAT w/ IS variant gets its own column and its own gap, named
    mod = {**rows[-1], "variant": "dat_is_mod", "physical_test_acc": 0.95}
    table = ranking_table([*rows, mod], ("phase_std",))
    assert table[0].startswith("| dataset | setting | error-free | direct_deploy | pat | "
                               "dat_no_is_4k | dat_is_10k | dat_is_mod |")
    assert table[2].endswith("| 0.950 ± 0.000 (n=1) | -0.070, -0.020 (dat_is_mod) | yes (1) |")


def test_compute_counts_each_training_once(tmp_path):
    from photonic_dat.report import sweep_report

    rows = [{"dataset": "mnist", "variant": "direct_deploy", "seed": 0, "phase_std": p,
             "physical_test_acc": 0.9, "model_test_acc": 0.95, "wall_s": 100.0,
             "deployed_from": "runs/train-s0"} for p in (0.02, 0.04, 0.06)]
    rows.append({"dataset": "mnist", "variant": "pat", "seed": 0, "phase_std": 0.02,
                 "physical_test_acc": 0.9, "model_test_acc": 0.9, "wall_s": 50.0,
                 "run_dir": "runs/pat"})
    md = sweep_report("mpnn-toy", rows, tmp_path, keys=("phase_std",)).read_text()
    assert "direct_deploy 100, pat 50; total 0.0 core-hours" in md


def test_ensemble_sweep_trains_the_seeds_of_a_point_in_one_process(tiny_spec, tmp_path, capsys):
    out = tmp_path / "sweeps"
    argv = ["reproduce", str(tiny_spec), "--epochs", "1", "--ensemble", "--out", str(out),
            "--quiet"]
    assert main(argv) == 0
    assert "10 jobs, 0 already done, 10 ran, 0 failed" in capsys.readouterr().out
    point = out / "tiny" / "mnist" / "pat" / "phase0.15"
    assert (point / "ensemble-s0-d0+s1-d0" / "checkpoint.pt").exists()
    summaries = [json.loads((point / f"s{s}-d0" / "summary.json").read_text()) for s in (0, 1)]
    assert [s["seed"] for s in summaries] == [0, 1]
    assert all(s["ensemble"]["members"] == 2 and s["queries"] == 300 for s in summaries)
    assert len(read_rows(out / "tiny" / "tiny.csv")) == 8
    assert main(argv) == 0
    assert "10 already done, 0 ran" in capsys.readouterr().out
    assert main(["reproduce", "dpnn-joint", "--ensemble", "--out", str(out)]) == 2
    assert "--ensemble is for mesh networks" in capsys.readouterr().err


def test_ensemble_sweep_trains_a_mesh_sepn_method_one_seed_at_a_time(tmp_path, capsys):
    spec = tmp_path / "tiny_mesh.yaml"
    spec.write_text(TINY.replace("name: tiny", "name: tiny_mesh")
                    .replace("  - {phase_std: [0.05, 0.15]}", "  - {phase_std: [0.1]}")
                    .replace("  pat: {train.method: pat}",
                             "  dat_mesh: {train.method: dat, dat.internal_states: unitary,"
                             " dat.sepn: mesh, dat.warmup_epochs: 0}"))
    out = tmp_path / "sweeps"
    argv = ["reproduce", str(spec), "--epochs", "1", "--ensemble", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    assert "0 failed" in capsys.readouterr().out
    point = out / "tiny_mesh" / "mnist" / "dat_mesh" / "phase0.1"
    assert not list(point.glob("ensemble-*"))  # a mesh-parameter SEPN holds a single mesh
    assert all((point / f"s{s}-d0" / "summary.json").exists() for s in (0, 1))
    assert (out / "tiny_mesh" / "mnist" / "direct_deploy" / "train-s0" / "summary.json").exists()


def test_points_that_need_a_single_run_leave_the_ensemble():
    from photonic_dat.config import ConfigError, load_config
    from photonic_dat.sweep import _ensemble_capable
    from photonic_dat.training.ensemble import check_members

    assert _ensemble_capable({"dat.sepn": "linear", "train.rollback": 0})
    assert not _ensemble_capable({"dat.sepn": "mesh"})
    assert not _ensemble_capable({"train.rollback": 0.02})
    cfgs = [load_config("mpnn-mnist", [f"train.seed={s}", f"system.error_seed={s}",
                                       "train.method=pat", "train.rollback=0.02"])
            for s in (0, 1)]
    with pytest.raises(ConfigError, match="train.rollback"):
        check_members(cfgs)


def test_a_slice_of_a_built_in_sweep_must_define_its_points_the_same_way(tmp_path):
    experiments = Path(__file__).resolve().parents[1] / "experiments"
    for path in sorted(experiments.glob("*.yaml")):  # the committed slices agree
        assert load_spec(path).methods
    base = yaml.safe_load((experiments / "dpnn_individual_dat.yaml").read_text())
    base["methods"]["dat_is"]["train.epochs"] = 3
    bad = tmp_path / "slice.yaml"
    bad.write_text(yaml.safe_dump(base))
    with pytest.raises(SweepError, match="method 'dat_is' differs"):
        load_spec(bad)
    base["methods"]["dat_is"]["train.epochs"] = 1
    base["overrides"] = {}
    bad.write_text(yaml.safe_dump(base))
    with pytest.raises(SweepError, match="overrides differ"):
        load_spec(bad)
    base["name"] = "my-own-sweep"  # another name: its own point directories, anything goes
    bad.write_text(yaml.safe_dump(base))
    assert load_spec(bad).name == "my-own-sweep"
