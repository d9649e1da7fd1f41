"""The tutorials in docs/ run end to end in tiny mode, and the guides' Python blocks compile."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _run(name: str, out: Path, *args: str, env_extra: dict[str, str] | None = None) -> str:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg", **(env_extra or {})}
    proc = subprocess.run([sys.executable, str(DOCS / name), "--out", str(out), *args],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert f"outputs: {out}" in proc.stdout
    return proc.stdout


def _accuracy(line_start: str, text: str) -> float:
    m = re.search(rf"^{re.escape(line_start)}\s+.*?([01]\.\d{{3}})\s", text + " ", re.M)
    assert m, f"no line starting {line_start!r} in:\n{text}"
    return float(m.group(1))


def test_tutorial_reproduce_tiny(tmp_path):
    out = tmp_path / "reproduce"
    text = _run("tutorial_reproduce.py", out, "--tiny")
    for step in ("[1/3] sweep spec (tiny scale)", "[2/3] ran 4 job(s)", "[3/3] report"):
        assert step in text
    assert "photonic-dat reproduce" in text
    for label in ("direct deployment", "PAT", "DAT w/ IS"):
        assert 0.0 <= _accuracy(label, text) <= 1.0
    report = out / "report"
    for suffix in ("md", "csv", "png", "pdf"):
        assert (report / f"mnist-phase0.08.{suffix}").exists()
    assert "| mnist | dat_is_10k | 0 | 0.08 | 1 |" in (report / "mnist-phase0.08.md").read_text()
    assert (out / "sweep.yaml").exists()
    runs = sorted(p.parent.name for p in (out / "mnist-phase0.08").rglob("summary.json"))
    assert len(runs) == 4  # in-silico training, its deployment, PAT, DAT


def test_tutorial_dpnn_tiny_via_environment(tmp_path):
    out = tmp_path / "dpnn"
    text = _run("tutorial_dpnn.py", out, env_extra={"PHOTONIC_DAT_TUTORIAL_TINY": "1"})
    assert "2 masks of 32 x 32 px" in text
    for step in ("[1/4] in-silico training", "[2/4] direct deployment", "[3/4] DAT w/ IS",
                 "[4/4] figures"):
        assert step in text
    for label in ("in silico (ideal model)", "direct deployment", "DAT w/ IS (physical)"):
        assert 0.0 <= _accuracy(label, text) <= 1.0
    for run in ("insilico", "dat"):
        assert (out / run / "summary.json").exists() and (out / run / "metrics.csv").exists()
    for fig in ("curves", "confusion_physical", "planes", "sepn_corrections"):
        assert (out / "dat" / "figures" / f"{fig}.png").exists()


def test_tutorial_hardware_tiny(tmp_path):
    out = tmp_path / "hardware"
    text = _run("tutorial_hardware.py", out, "--tiny")
    for step in ("[1/6] network", "[2/6] bench", "[3/6] exposure and calibration", "[4/6] system ready",
                 "[5/6] DAT on the bench", "[6/6] SLM bitmaps"):
        assert step in text
    # the fitted crop of the first camera (no mask in front of it) equals the bench's hidden one
    m = re.search(r"plane 0: crop \(x0, y0, x1, y1\) = \((\d+), (\d+), .*?hides x0, y0 = (\d+), (\d+)\)",
                  text)
    assert m and m.group(1, 2) == m.group(3, 4)
    assert "200 training queries" in text
    for name in ("calibration_plane0.npz", "calibration_plane2.npz", "measurements.jsonl", "model.npz",
                 "slm/masks.0.phase.png", "slm/masks.1.phase.png", "slm/lut.csv",
                 "dat_run/summary.json", "dat_run/selected.pt", "dat_run/config.yaml"):
        assert (out / name).exists(), name
    from photonic_dat.export import read_png_gray

    assert read_png_gray(out / "slm" / "masks.0.phase.png").shape == (32, 32)


@pytest.mark.parametrize("guide", ["lab_adapter.md", "README.md"])
def test_python_blocks_of_the_guides_compile(guide):
    text = (DOCS / guide).read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks or guide == "README.md"
    for i, block in enumerate(blocks):
        compile(block, f"{guide} block {i + 1}", "exec")
