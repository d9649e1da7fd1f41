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
