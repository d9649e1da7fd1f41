"""Every figure type is produced on a tiny real run."""

import pytest

from photonic_dat.cli import main


@pytest.fixture(scope="module")
def dat_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("viz") / "dat"
    argv = ["train", "demo", "--method", "dat", "--epochs", "2", "--out", str(out), "--quiet", "--no-plot",
            "--set", "dataset.train_subset=300", "--set", "dataset.test_subset=100",
            "--set", "dataset.val_size=100", "--set", "model.modes=16",
            "--set", "dat.warmup_epochs=1"]
    assert main(argv) == 0
    return out


def test_plot_writes_every_figure(dat_run, capsys):
    assert main(["plot", str(dat_run)]) == 0
    names = {"curves", "confusion_physical", "phases", "planes", "sepn_corrections"}
    for name in names:
        for ext in (".png", ".pdf"):
            path = dat_run / "figures" / f"{name}{ext}"
            assert path.stat().st_size > 2000, path
    assert len(capsys.readouterr().out.splitlines()) == len(names)


def test_plot_of_a_diffractive_run_shows_its_masks(tmp_path, capsys):
    out = tmp_path / "dpnn"
    argv = ["train", "dpnn-cpu", "--method", "dat", "--epochs", "1", "--out", str(out), "--quiet",
            "--set", "model.n=32", "--set", "model.padding=3", "--set", "model.layers=2",
            "--set", "dataset.train_subset=64", "--set", "dataset.test_subset=32",
            "--set", "dataset.val_size=32", "--set", "train.batch_size=32",
            "--set", "dat.internal_states=unitary", "--set", "errors.shift_std=0.5"]
    assert main(argv) == 0  # figures are written at the end of the run
    for name in ("curves", "confusion_physical", "phases", "planes", "sepn_corrections"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 2000, name


def test_curves_of_a_one_epoch_run_show_every_value(tmp_path, monkeypatch):
    """One epoch is one point per curve: it must be drawn (a marker), not an invisible line."""
    from photonic_dat import viz

    captured = {}
    monkeypatch.setattr(viz, "save_figure", lambda fig, path: captured.setdefault("fig", fig))
    row = {"epoch": 1, "loss": 0.9, "loss_sim": 1.5, "model_val_acc": 0.73,
           "sepn_model_val_acc": 0.87, "physical_val_acc": 0.85, "queries": 55000}
    viz.plot_curves([row], tmp_path / "curves")
    lines = [line for ax in captured["fig"].axes for line in ax.get_lines()]
    assert len(lines) == 6
    for line in lines:
        assert line.get_marker() not in (None, "None", "", " "), line.get_label()
        assert len(line.get_xdata()) == 1
