"""The prepared GPU scripts (experiments/gpu): they parse, stop at their time budget, and pack
what they wrote into parts that unpack to the same files."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

import pytest

GPU = Path(__file__).resolve().parents[1] / "experiments" / "gpu"


@pytest.mark.parametrize("script", sorted(p.name for p in GPU.glob("*.sh")))
def test_scripts_parse(script):
    assert subprocess.run(["bash", "-n", str(GPU / script)]).returncode == 0


def _bash(body: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    script = f"source {GPU / 'lib.sh'}\n{body}\n"
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                               "DEVICE_DIR": str(tmp_path / ".device"), **env})


def test_a_command_is_stopped_at_the_budget_and_the_next_is_not_started(tmp_path):
    proc = _bash("run_budgeted sleep 30; echo after; run_budgeted sleep 30", tmp_path,
                 BUDGET_S="2", MIN_START_S="0")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "stopped at the time budget (resumable): sleep 30" in out
    assert out.index("after") < out.index("budget spent, not started: sleep 30")


def test_a_failing_command_still_fails_and_what_ran_is_packed(tmp_path):
    runs, out = tmp_path / "runs", tmp_path / "out"
    body = f"pack_on_exit {runs}; sleep 1.1; mkdir -p {runs}/a; echo 1 > {runs}/a/metrics.csv\n" \
           "run_budgeted false; echo not-reached"
    proc = _bash(body, tmp_path, BUDGET_S="60", OUT=str(out))
    assert proc.returncode != 0 and "not-reached" not in proc.stdout
    with tarfile.open(out / "outputs.tgz.part00") as tar:
        assert [Path(n).name for n in tar.getnames()] == ["metrics.csv"]


def test_outputs_written_since_the_start_are_packed(tmp_path):
    runs, out = tmp_path / "runs", tmp_path / "out"
    (runs / "old").mkdir(parents=True)
    (runs / "old" / "summary.json").write_text("{}")  # written before the script started
    body = f"""
        sleep 1.1
        mkdir -p {runs}/done {runs}/cut
        echo 1 > {runs}/done/summary.json; echo w > {runs}/done/checkpoint.pt
        echo s > {runs}/done/selected.pt; echo c > {runs}/cut/checkpoint.pt
        touch {runs}/cut/sweep.lock
        pack_outputs {runs}
    """
    proc = _bash(body, tmp_path, OUT=str(out))
    assert proc.returncode == 0, proc.stderr
    parts = sorted(out.iterdir())
    assert [p.name for p in parts] == ["outputs.tgz.part00"]
    with tarfile.open(parts[0]) as tar:
        names = {Path(n).relative_to(runs.relative_to("/")).as_posix() for n in tar.getnames()}
    assert names == {"done/summary.json", "done/selected.pt", "done/checkpoint.pt",
                     "cut/checkpoint.pt"}


def test_finished_checkpoints_can_stay_behind(tmp_path):
    runs, out = tmp_path / "runs", tmp_path / "out"
    body = f"""
        sleep 1.1
        mkdir -p {runs}/done {runs}/cut
        echo 1 > {runs}/done/summary.json; echo w > {runs}/done/checkpoint.pt
        echo s > {runs}/done/selected.pt; echo c > {runs}/cut/checkpoint.pt
        pack_outputs {runs}
    """
    proc = _bash(body, tmp_path, OUT=str(out), KEEP_FINISHED_CHECKPOINTS="0")
    assert proc.returncode == 0, proc.stderr
    assert "packing 3 files" in proc.stdout
    with tarfile.open(out / "outputs.tgz.part00") as tar:
        names = {Path(n).relative_to(runs.relative_to("/")).as_posix() for n in tar.getnames()}
    assert names == {"done/summary.json", "done/selected.pt", "cut/checkpoint.pt"}


def test_unpack_takes_every_folder_and_drops_checkpoints_older_than_a_summary(tmp_path):
    repo, files = tmp_path / "repo", tmp_path / "files"
    (repo / "experiments" / "gpu").mkdir(parents=True)
    (repo / "experiments" / "gpu" / "device.sh").write_text((GPU / "device.sh").read_text())
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    for d in ("runs/a", "runs/b"):  # here before the call: two unfinished runs
        (repo / d).mkdir(parents=True)
        (repo / d / "checkpoint.pt").write_text("old")
    src = tmp_path / "src"  # what came back: a finished without, b unfinished with checkpoint
    for rel, text in (("runs/a/summary.json", "{}"), ("runs/b/checkpoint.pt", "new"),
                      ("paper/direct.csv", "x")):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text)
    for folder, members in (("sweeps", ["runs/a/summary.json", "runs/b/checkpoint.pt"]),
                            ("paper", ["paper/direct.csv"])):
        (files / folder).mkdir(parents=True)
        with tarfile.open(files / folder / "outputs.tgz.part00", "w:gz") as tar:
            for m in members:
                tar.add(src / m, arcname=m)
    proc = subprocess.run(["bash", str(repo / "experiments" / "gpu" / "device.sh"), "unpack",
                           str(files)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert (repo / "runs/a/summary.json").exists() and not (repo / "runs/a/checkpoint.pt").exists()
    assert (repo / "runs/b/checkpoint.pt").read_text() == "new"
    assert (repo / "paper/direct.csv").read_text() == "x"
    assert "removed runs/a/checkpoint.pt" in proc.stdout


def _fake_python(tmp_path: Path) -> Path:
    """A stand-in for the project's python: `-c` snippets run, `-m photonic_dat ...` is logged."""
    fake = tmp_path / "python"
    fake.write_text('#!/bin/bash\nif [ "$1" = -c ]; then exec python3 "$@"; fi\n'
                    f'echo "$*" >> {tmp_path / "calls.log"}\n')
    fake.chmod(0o755)
    return fake


def _finished_run(run: Path, epochs: int, checkpoint: bool) -> None:
    run.mkdir(parents=True)
    (run / "summary.json").write_text(f'{{"epochs": {epochs}, "method": "x", '
                                      '"physical_test_acc": 0.5, "wall_s": 1}')
    if checkpoint:
        (run / "checkpoint.pt").write_text("c")


def test_paper_script_continues_a_finished_run_asked_for_more_epochs(tmp_path):
    runs = tmp_path / "paper"
    _finished_run(runs / "insilico-s0", 2, checkpoint=True)
    (runs / "direct.csv").write_text("x\n")
    _finished_run(runs / "dat-s0", 1, checkpoint=True)
    _finished_run(runs / "pat-s0", 1, checkpoint=False)  # its checkpoint did not travel
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DEVICE_DIR": str(tmp_path / ".dev"),
           "OUT": str(tmp_path / "out"), "PY": str(_fake_python(tmp_path)), "RUNS": str(runs)}
    proc = subprocess.run(["bash", str(GPU / "run_dpnn_paper.sh")], capture_output=True, text=True,
                          timeout=60, env={**env, "HIL_EPOCHS": "3"})
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert len(calls) == 1 and calls[0].startswith(f"-m photonic_dat train --resume {runs}/dat-s0")
    assert calls[0].endswith("--set train.epochs=3")
    assert proc.returncode != 0 and f"cannot continue {runs}/pat-s0 to 3 epochs" in proc.stderr
    (tmp_path / "calls.log").unlink()
    proc = subprocess.run(["bash", str(GPU / "run_dpnn_paper.sh")], capture_output=True, text=True,
                          timeout=60, env=env)  # one epoch asked: both are finished
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "calls.log").exists()
