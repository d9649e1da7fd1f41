"""RobustSystem against injected hardware faults (FlakySystem): recovery, give-up, log, timing."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch

from photonic_dat.config import from_dict
from photonic_dat.errors import MeshErrorSpec
from photonic_dat.models import MeshPNN
from photonic_dat.models.factory import build_model
from photonic_dat.system import (
    FlakySystem,
    HardwareError,
    Measurement,
    PhysicalSystem,
    RobustSystem,
    SimulatedSystem,
)
from photonic_dat.training.run import METHOD_CLASSES

SPEC = MeshErrorSpec(phase_std=0.05)
DATA_FAULTS = ["timeout", "exception", "nan", "wrong_shape", "negative", "dropped", "duplicate"]


@pytest.fixture(scope="module")
def model():
    return MeshPNN(modes=16, layers=2, seed=1)


def _x(model, n=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return model.encode(torch.rand(n, 28, 28, generator=g))


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


class FakeSleep:
    """Records the requested back-off durations instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, s: float) -> None:
        self.calls.append(s)


def _robust(inner, tmp_path, **kw):
    kw.setdefault("sleep", FakeSleep())
    kw.setdefault("timeout_s", 5.0)  # generous: a busy CPU must not turn a slow answer into a fault
    return RobustSystem(inner, log_path=tmp_path / "log.jsonl", **kw)


@pytest.mark.parametrize("fault", DATA_FAULTS)
def test_each_measure_fault_once_is_recovered(model, tmp_path, fault):
    clean = SimulatedSystem(model, SPEC)
    flaky = FlakySystem(SimulatedSystem(model, SPEC), schedule=["ok", fault], hang_s=5.0)
    robust = _robust(flaky, tmp_path, timeout_s=0.2 if fault == "timeout" else 5.0)
    try:
        params = model.physical_params()
        robust.program(params)
        clean.program(params)
        x0, x1 = _x(model, seed=0), _x(model, seed=1)
        robust.measure(x0)  # a clean first frame (shape learned, a previous frame to duplicate)
        got = robust.measure(x1)
        assert flaky.injected == [("measure", fault)]
        assert torch.equal(got.output, clean.measure(x1).output)
    finally:
        flaky.release()
        robust.close()
    recs = [r for r in _records(tmp_path / "log.jsonl") if r["call"] == "measure"]
    assert [(r["attempt"], r["ok"]) for r in recs] == [(1, True), (1, False), (2, True)]
    assert recs[1]["kind"] == ("timeout" if fault == "timeout" else
                               "exception" if fault == "exception" else "invalid")
    assert robust.failed_attempts == 1 and robust.queries == 12


def test_program_error_once_is_recovered_and_reprogram_on_retry(model, tmp_path):
    clean = SimulatedSystem(model, SPEC)
    flaky = FlakySystem(SimulatedSystem(model, SPEC), program_schedule=["program_error"],
                        schedule=["exception"])
    robust = _robust(flaky, tmp_path)
    params = {k: v + 0.3 for k, v in model.physical_params().items()}
    robust.program(params)
    clean.program(params)
    x = _x(model)
    assert torch.equal(robust.measure(x).output, clean.measure(x).output)
    robust.close()
    calls = [(r["call"], r["attempt"], r["ok"]) for r in _records(tmp_path / "log.jsonl")]
    assert calls == [("program", 1, False), ("program", 2, True), ("measure", 1, False),
                     ("reprogram", None, True), ("measure", 2, True)]
    assert flaky.injected == [("program", "program_error"), ("measure", "exception")]


def test_internal_planes_and_measure_layer_are_validated(model, tmp_path):
    clean = SimulatedSystem(model, SPEC)
    flaky = FlakySystem(SimulatedSystem(model, SPEC), schedule=["nan", "ok", "negative", "dropped"])
    robust = _robust(flaky, tmp_path)
    x = _x(model)
    m = robust.measure(x, internal=True)
    want = clean.measure(x, internal=True)
    assert torch.equal(m.output, want.output)
    assert len(m.internal) == len(want.internal)
    for a, b in zip(m.internal, want.internal, strict=True):
        assert torch.equal(a, b)
    field = torch.randn(4, 16, dtype=torch.complex64, generator=torch.Generator().manual_seed(2))
    assert torch.equal(robust.measure_layer(1, field), clean.measure_layer(1, field))
    assert robust.failed_attempts == 3 and robust.queries == 10
    robust.close()


def test_permanent_fault_raises_one_line_hardware_error_with_log_intact(model, tmp_path):
    flaky = FlakySystem(SimulatedSystem(model, SPEC), faults={"nan": 1.0})
    sleep = FakeSleep()
    robust = _robust(flaky, tmp_path, sleep=sleep, retries=3)
    robust.program(model.physical_params())
    with pytest.raises(HardwareError) as err:
        robust.measure(_x(model))
    msg = str(err.value)
    assert "\n" not in msg and "measure" in msg and "4 attempt" in msg and "non-finite" in msg
    assert err.value.attempts == 4 and err.value.call == "measure"
    recs = _records(tmp_path / "log.jsonl")  # every line parses
    assert [r["call"] for r in recs].count("measure") == 4
    assert [r["call"] for r in recs].count("reprogram") == 3
    assert len(recs) == 1 + 4 + 3
    assert [r["final"] for r in recs if r["call"] == "measure"] == [False, False, False, True]
    assert all(r["kind"] == "invalid" and r["output"]["nonfinite"] > 0
               for r in recs if r["call"] == "measure")
    assert robust.queries == 0 and robust.failed_attempts == 4
    assert sleep.calls == [0.5, 1.0, 2.0]


def test_timeouts_are_short_and_fresh_executor_after_each(model, tmp_path):
    flaky = FlakySystem(SimulatedSystem(model, SPEC), faults={"timeout": 1.0}, hang_s=5.0)
    robust = _robust(flaky, tmp_path, timeout_s=0.02, retries=2)
    try:
        with pytest.raises(HardwareError, match="no answer within 0.02 s"):
            robust.measure(_x(model))
    finally:
        flaky.release()
        robust.close()
    recs = _records(tmp_path / "log.jsonl")
    assert [r["kind"] for r in recs] == ["timeout"] * 3
    assert all(r["duration_s"] < 2.0 for r in recs)


def test_backoff_follows_the_schedule(model, tmp_path):
    sleep = FakeSleep()
    flaky = FlakySystem(SimulatedSystem(model, SPEC), schedule=["exception"] * 4)
    robust = _robust(flaky, tmp_path, sleep=sleep, retries=5)
    robust.measure(_x(model))
    assert sleep.calls == [0.5, 1.0, 2.0, 4.0]
    sleep2 = FakeSleep()
    flaky2 = FlakySystem(SimulatedSystem(model, SPEC), faults={"exception": 1.0})
    robust2 = _robust(flaky2, tmp_path, sleep=sleep2, retries=4, backoff_s=0.1, backoff_factor=3.0,
                      max_backoff_s=1.0)
    with pytest.raises(HardwareError):
        robust2.program(model.physical_params())
    assert sleep2.calls == pytest.approx([0.1, 0.3, 0.9, 1.0])


def test_queries_count_only_successful_samples(model, tmp_path):
    inner = SimulatedSystem(model, SPEC)
    flaky = FlakySystem(inner, schedule=["nan", "ok", "dropped", "wrong_shape", "ok"])
    robust = _robust(flaky, tmp_path)
    robust.measure(_x(model, n=5))
    robust.measure(_x(model, n=3, seed=1))
    assert robust.queries == 8
    assert inner.queries == 5 * 2 + 3 * 3  # the device was paid for the faulty frames too
    robust.queries = 2  # settable, as the training loop does around evaluation
    assert robust.queries == 2
    assert isinstance(robust, PhysicalSystem) and isinstance(flaky, PhysicalSystem)


def test_log_is_append_only_across_instances(model, tmp_path):
    path = tmp_path / "sub" / "log.jsonl"
    x = _x(model)
    with RobustSystem(SimulatedSystem(model, SPEC), log_path=path) as a:
        a.program(model.physical_params())
        a.measure(x)
    first = path.read_bytes()
    with RobustSystem(SimulatedSystem(model, SPEC), log_path=path) as b:
        b.measure(x)
    assert path.read_bytes().startswith(first)
    recs = _records(path)
    assert len(recs) == 3 and len({r["session"] for r in recs}) == 2
    assert recs[0]["params"]["names"] == sorted(model.physical_params())
    m = recs[1]
    assert m["call"] == "measure" and m["batch"] == 6 and m["ok"] and m["error"] is None
    assert m["input"]["shape"] == list(x.shape) and len(m["output"]["sha256"]) == 64
    assert m["params"]["sha256"] == recs[0]["params"]["sha256"]
    assert recs[2]["params"] is None  # b never programmed
    assert m["output"]["sha256"] == recs[2]["output"]["sha256"]  # same input, same system


def test_measured_tensors_saved_atomically(model, tmp_path):
    robust = RobustSystem(SimulatedSystem(model, SPEC), log_path=tmp_path / "log.jsonl",
                          log_tensors_dir=tmp_path / "frames")
    out = robust.measure(_x(model), internal=True)
    robust.close()
    files = sorted((tmp_path / "frames").iterdir())
    assert len(files) == 1 and files[0].suffix == ".pt"
    saved = torch.load(files[0])
    assert torch.equal(saved["output"], out.output) and len(saved["internal"]) == len(out.internal)
    assert _records(tmp_path / "log.jsonl")[0]["tensor_file"] == str(files[0])


def test_saturation_recorded_and_warned_once(model, tmp_path):
    robust = _robust(SimulatedSystem(model, SPEC), tmp_path, saturation=1e-12)
    x = _x(model)
    with pytest.warns(RuntimeWarning, match="saturated"):
        robust.measure(x)
    frac = robust.last_saturated_fraction
    assert frac is not None and frac > 0.01
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        robust.measure(x)
    robust.close()
    recs = _records(tmp_path / "log.jsonl")
    assert [r["saturated_fraction"] for r in recs] == [frac, frac]
    none = RobustSystem(SimulatedSystem(model, SPEC))
    none.measure(x)
    assert none.last_saturated_fraction is None


class _Fixed:
    """A device that returns a fixed output (for validation edge cases)."""

    def __init__(self, out: torch.Tensor) -> None:
        self.out, self.queries = out, 0

    def program(self, params) -> None:
        pass

    def measure(self, x, *, internal=False):
        return Measurement(output=self.out[: x.shape[0]].clone())

    def measure_layer(self, i, field_in):
        return self.out[: field_in.shape[0]].clone()


def test_negative_tolerance_and_expected_shape():
    out = torch.full((4, 10), 0.5)
    out[0, 0] = -1e-7
    robust = RobustSystem(_Fixed(out), clamp_negative=1e-6, sleep=FakeSleep(), timeout_s=None,
                          detect_duplicates=False)
    got = robust.measure(torch.zeros(4, 3))
    assert got.output.min() == 0 and got.output[0, 0] == 0
    strict = RobustSystem(_Fixed(out), sleep=FakeSleep(), retries=1)
    with pytest.raises(HardwareError, match="negative intensity"):
        strict.measure(torch.zeros(4, 3))
    shaped = RobustSystem(_Fixed(out.abs()), expected_output_shape=(12,), sleep=FakeSleep(), retries=0)
    with pytest.raises(HardwareError, match=r"expected \(4, 12\)"):
        shaped.measure(torch.zeros(4, 3))
    assert shaped.failed_attempts == 1


def test_duplicates_only_for_different_inputs():
    robust = RobustSystem(_Fixed(torch.ones(4, 5)), sleep=FakeSleep(), retries=0)
    robust.measure(torch.zeros(4, 3))
    robust.measure(torch.zeros(4, 3))  # same input, same output: fine
    with pytest.raises(HardwareError, match="duplicated frame"):
        robust.measure(torch.ones(4, 3))


def test_caller_errors_are_not_retried(model):
    sleep = FakeSleep()
    robust = RobustSystem(SimulatedSystem(model, SPEC), sleep=sleep)
    with pytest.raises(IndexError):
        robust.measure_layer(99, torch.zeros(2, 16, dtype=torch.complex64))
    assert sleep.calls == [] and robust.failed_attempts == 1


def test_flaky_rejects_bad_configs(model):
    inner = SimulatedSystem(model, SPEC)
    with pytest.raises(ValueError, match="unknown fault"):
        FlakySystem(inner, faults={"melt": 0.1})
    with pytest.raises(ValueError, match="program_schedule"):
        FlakySystem(inner, schedule=["program_error"])
    with pytest.raises(ValueError, match="sum to"):
        FlakySystem(inner, faults={"nan": 0.6, "dropped": 0.6})
    seeded = [FlakySystem(inner, faults={"nan": 0.5}, seed=3) for _ in range(2)]
    x = _x(model)
    for f in seeded:
        for _ in range(10):
            f.measure(x)
    assert seeded[0].injected == seeded[1].injected and 0 < len(seeded[0].injected) < 10


def _pat(robust_inner_schedule, tmp_path, **flaky_kw):
    cfg = from_dict({"model": {"modes": 16, "layers": 2}, "train": {"method": "pat"}})
    model = build_model(cfg.model)
    flaky = FlakySystem(SimulatedSystem(model, SPEC), schedule=robust_inner_schedule, **flaky_kw)
    system = RobustSystem(flaky, timeout_s=0.2, sleep=FakeSleep(), log_path=tmp_path / "log.jsonl")
    return METHOD_CLASSES["pat"](model, system, cfg), model, flaky, system


def test_pat_training_completes_through_faults(tmp_path):
    schedule = ["ok", "timeout", "nan", "ok", "dropped", "wrong_shape", "negative", "ok", "duplicate"]
    method, model, flaky, system = _pat(schedule, tmp_path, hang_s=5.0)
    g = torch.Generator().manual_seed(0)
    before = {k: v.detach().clone() for k, v in model.physical_params().items()}
    try:
        for _ in range(5):
            images, labels = torch.rand(8, 28, 28, generator=g), torch.randint(0, 10, (8,), generator=g)
            out = method.step(images, labels, epoch=0)
            assert torch.isfinite(torch.tensor(out["loss"]))
    finally:
        flaky.release()
        system.close()
    assert system.queries == 5 * 8 and system.failed_attempts == 6
    assert any(not torch.equal(before[k], v) for k, v in model.physical_params().items())
    recs = _records(tmp_path / "log.jsonl")
    assert sum(r["ok"] for r in recs if r["call"] == "measure") == 5


def test_pat_step_with_dead_device_raises_hardware_error(tmp_path):
    method, *_, system = _pat(None, tmp_path, faults={"exception": 1.0})
    with pytest.raises(HardwareError) as err:
        method.step(torch.rand(8, 28, 28), torch.randint(0, 10, (8,)), epoch=0)
    assert "\n" not in str(err.value) and "program" in str(err.value)
    assert "RuntimeError: device error" in str(err.value)
    system.close()
