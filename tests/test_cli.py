import json
import subprocess
import sys

import pytest

from photonic_dat.cli import main
from photonic_dat.summary import SUMMARY_COLUMNS, read_rows

TINY = ["--set", "dataset.train_subset=600", "--set", "dataset.test_subset=300",
        "--set", "dataset.val_size=200", "--set", "train.batch_size=100",
        "--set", "model.modes=16"]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "insilico"
    assert main(["train", "mpnn-mnist", "--epochs", "2", "--out", str(out), "--quiet", *TINY]) == 0
    assert (out / "figures" / "curves.png").exists()  # figures are written at the end of a run
    return out


def test_train_writes_a_run_directory(trained_run):
    for name in ("config.yaml", "metrics.csv", "checkpoint.pt", "selected.pt", "summary.json"):
        assert (trained_run / name).exists(), name
    summary = json.loads((trained_run / "summary.json").read_text())
    required = {"method", "dataset", "preset", "errors", "seed", "error_seed", "epochs", "queries",
                "model_test_acc", "physical_test_acc", "physical_test_acc_final",
                "selected_epoch", "wall_s", "internal_states", "sepn"}
    assert required <= set(summary)
    assert summary["method"] == "insilico" and summary["epochs"] == 2
    assert 0 <= summary["physical_test_acc"] <= 1 and summary["selected_epoch"] in (1, 2)
    rows = read_rows(trained_run / "metrics.csv")
    assert [r["epoch"] for r in rows] == ["1", "2"]


def test_evaluate_sweeps_errors_into_a_csv(trained_run, tmp_path, capsys):
    csv_path = tmp_path / "deploy.csv"
    assert main(["evaluate", str(trained_run), "--sweep", "phase_std=0,0.2", "--draws", "2",
                 "--csv", str(csv_path), "--quiet"]) == 0
    rows = read_rows(csv_path)
    assert len(rows) == 4
    assert list(rows[0])[: len(SUMMARY_COLUMNS)] == SUMMARY_COLUMNS
    free = [float(r["physical_test_acc"]) for r in rows if float(r["phase_std"]) == 0]
    noisy = [float(r["physical_test_acc"]) for r in rows if float(r["phase_std"]) == 0.2]
    summary = json.loads((trained_run / "summary.json").read_text())
    assert free == [pytest.approx(summary["model_test_acc"], abs=1e-5)] * 2
    assert noisy[0] != noisy[1]  # two draws are two systems
    assert "physical test acc" in capsys.readouterr().out


@pytest.mark.parametrize("argv,match", [
    (["train", "mpnn-mnist", "--set", "train.epoch=2"], "unknown config key 'train.epoch'"),
    (["train", "no-such-preset"], "unknown preset"),
    (["train"], "train needs CONFIG"),
    (["train", "--resume", "/nonexistent/run"], "cannot resume"),
    (["evaluate", "/nonexistent/run"], "not a finished run directory"),
    (["train", "mpnn-mnist", "--data-dir", "/nonexistent/dir"], "not found"),
    (["export-data", "kmnist", "/tmp/kmnist"], "unknown dataset 'kmnist'"),
    (["export-data", "mnist", "/tmp/m", "--data-dir", "/nonexistent/dir"], "not found"),
])
def test_user_mistakes_end_in_one_line(argv, match, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("photonic-dat: error:") and match in err
    assert "\n" not in err


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a machine without CUDA")
def test_a_gpu_device_on_a_machine_without_one_ends_in_one_line(trained_run, capsys):
    assert main(["train", "mpnn-mnist", "--set", "train.device=cuda", *TINY]) == 2
    assert "no CUDA device" in capsys.readouterr().err
    assert main(["evaluate", str(trained_run), "--device", "cuda:1", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "no CUDA device" in err and "--device cpu" in err and "\n" not in err
    assert main(["evaluate", str(trained_run), "--device", "tpu", "--quiet"]) == 2
    assert "not allowed" in capsys.readouterr().err


def test_evaluate_rejects_bad_error_keys(trained_run, capsys):
    assert main(["evaluate", str(trained_run), "--sweep", "phase=0.1"]) == 2
    assert "unknown error key 'errors.phase'" in capsys.readouterr().err


def test_export_data_writes_a_folder_that_data_dir_reads(tmp_path, capsys):
    import numpy as np
    import torch

    from photonic_dat.data import load_dataset, write_idx

    src = tmp_path / "src"
    src.mkdir()
    rng = np.random.default_rng(0)
    for stem, shape in (("train-images-idx3-ubyte", (12, 28, 28)), ("train-labels-idx1-ubyte", (12,)),
                        ("t10k-images-idx3-ubyte", (4, 28, 28)), ("t10k-labels-idx1-ubyte", (4,))):
        write_idx(src / stem, rng.integers(0, 10, shape))
    assert main(["export-data", "fashion_mnist", str(tmp_path / "out"), "--data-dir", str(src)]) == 0
    assert f"fashion-mnist: 4 IDX files in {tmp_path / 'out'}" in capsys.readouterr().out
    got = load_dataset("fmnist", data_dir=tmp_path / "out", val_size=2)
    want = load_dataset("fmnist", data_dir=src, val_size=2)
    assert torch.equal(got.train[0], want.train[0]) and torch.equal(got.test[1], want.test[1])


def test_module_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "photonic_dat", "presets"], capture_output=True,
                         text=True, check=True)
    assert "mpnn-mnist" in out.stdout


def test_demo_quick_prints_the_comparison(tmp_path, capsys):
    assert main(["demo", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for label in ("direct deployment", "PAT", "DAT w/ IS"):
        assert label in out
    assert (tmp_path / "demo.png").stat().st_size > 1000
    assert len(read_rows(tmp_path / "demo.csv")) == 3


def test_export_mzi_table_and_npz_round_trip(trained_run, tmp_path, capsys):
    import torch

    from photonic_dat.export import import_model
    from photonic_dat.training.deploy import load_run

    assert main(["export", str(trained_run), "--format", "npz", "--out", str(tmp_path)]) == 0
    _, selected, _ = load_run(trained_run)
    again = import_model(tmp_path / "model.npz")
    x = selected.encode(torch.rand(4, 28, 28))
    assert torch.allclose(again(x).scores, selected(x).scores, atol=1e-6)
    assert main(["export", str(trained_run), "--format", "mzi-csv", "--out", str(tmp_path),
                 "--option", "p_2pi_mw=30"]) == 0
    header = (tmp_path / "mzi_table.csv").read_text().splitlines()[0]
    assert "theta_power_mw" in header
    assert main(["export", str(trained_run), "--format", "slm-png", "--out", str(tmp_path)]) == 2
    assert "slm-png needs a model with 2-D phase masks" in capsys.readouterr().err


def test_a_finished_run_without_its_last_checkpoint(trained_run, tmp_path):
    """As a run comes back from a GPU loan without checkpoint.pt: it loads when its last epoch
    was selected (final = selected) and says why not otherwise."""
    import shutil

    import torch

    from photonic_dat.training.deploy import load_run

    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    (run / "checkpoint.pt").unlink()
    (run / "checkpoint.pt.prev").unlink(missing_ok=True)
    summary = json.loads((run / "summary.json").read_text())
    (run / "summary.json").write_text(json.dumps({**summary, "selected_epoch": 2, "epochs": 2}))
    _, selected, final = load_run(run)
    for a, b in zip(selected.parameters(), final.parameters(), strict=True):
        assert torch.equal(a, b)
    (run / "summary.json").write_text(json.dumps({**summary, "selected_epoch": 1, "epochs": 2}))
    with pytest.raises(FileNotFoundError, match="has no checkpoint.pt"):
        load_run(run)


def test_sigterm_stops_a_training_at_its_last_checkpoint(tmp_path):
    """A training started in the background by a script (so SIGINT is ignored) and then sent
    SIGTERM (a time limit, `kill`) ends as Ctrl-C ends it: exit 130, one line saying how to
    resume, its last checkpoint intact and no summary."""
    import signal
    import time

    from photonic_dat.training.checkpoint import load

    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "photonic_dat", "train", "mpnn-mnist", "--epochs", "500",
           "--out", str(out), "--quiet", "--no-plot", *TINY, "--set", "train.checkpoint_every=1"]
    child = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        deadline = time.monotonic() + 180
        while not (out / "checkpoint.pt").exists():
            assert child.poll() is None, child.stderr.read()
            assert time.monotonic() < deadline, "no checkpoint after 180 s"
            time.sleep(0.2)
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=120)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == 130, err
    assert "interrupted; resume with `photonic-dat train --resume RUN_DIR`" in err
    assert not (out / "summary.json").exists()
    state = load(out / "checkpoint.pt")  # or its .prev, were it stopped between the two
    assert (state["epoch"], state["it"]) > (0, 0)
