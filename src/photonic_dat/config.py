"""Validated run configuration: YAML in, typed objects out; presets; ``--set key=value`` overrides.

Every mistake a user can make ends in a :class:`ConfigError` with one line that names the key,
the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .errors import ERROR_SPECS, ErrorSpecError

METHODS = ("insilico", "noise_aware", "pat", "dat", "oracle")
PLANE_LOSSES = ("mse", "l2")
INTERNAL_STATES = ("none", "unitary", "separable")
INTERNAL_DETECTION = ("intensity", "field")  # field: simulated coherent detection (a study)


class ConfigError(ValueError):
    """A configuration mistake (the message is one line that says what to change)."""


@dataclasses.dataclass
class DatasetConfig:
    name: str = "mnist"
    data_dir: str | None = None
    val_size: int = 5000
    train_subset: int | None = None
    test_subset: int | None = None


@dataclasses.dataclass
class ModelConfig:
    kind: str = "mesh"
    modes: int = 64
    layers: int = 3
    layout: str = "clements"
    activation: str = "eo"
    classes: int = 10
    init: str = "haar"  # mesh: haar | uniform; diffractive: zeros | uniform ("haar" -> zeros)
    # diffractive kind only (SI units); ``layers`` and ``classes`` are shared with the mesh kind
    n: int = 64  # pixels per side of every plane
    pitch: float = 4e-4  # pixel pitch (m)
    wavelength: float = 7.5e-4  # wavelength (m)
    distance: float = 0.03  # gap between consecutive planes (m)
    padding: int = 2  # zero-padding factor of the angular-spectrum FFTs
    window: int = 0  # input window side (px); 0 = n // 2
    detector_size: int = 0  # detector square side (px); 0 = round(n / 10)


@dataclasses.dataclass
class SystemConfig:
    error_seed: int = 0
    read_noise: float = 0.0
    internal_detection: str = "intensity"


@dataclasses.dataclass
class TrainConfig:
    method: str = "insilico"
    epochs: int = 50
    batch_size: int = 500
    lr: float = 1e-3
    lr_step: int = 10
    lr_gamma: float = 0.5
    seed: int = 0
    eval_batch_size: int = 2500
    device: str = "cpu"
    threads: int = 0
    checkpoint_every: int = 0
    log_every: int = 0
    init_from: str | None = None
    rollback: float = 0.0
    fit_shifts: bool = False
    shift_search: float = 3.0


@dataclasses.dataclass
class DATConfig:
    sepn: str = "unet"
    sepn_features: list[int] = dataclasses.field(default_factory=lambda: [4, 8, 16])
    sepn_lr: float = 1e-3
    sepn_weight_decay: float = 0.0
    sepn_zero_init: bool = False
    warmup_epochs: int = 20
    sepn_only_epochs: int = 0
    internal_states: str = "none"
    fuse_internal: bool = True
    sim_to_physical: bool = True
    plane_loss: str = "mse"
    fit_output_plane: bool = False
    sepn_dtype: str = "float32"
    shared_forward: bool = False
    sepn_modulation: bool = False


@dataclasses.dataclass
class RunConfig:
    preset: str = "custom"
    dataset: DatasetConfig = dataclasses.field(default_factory=DatasetConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    errors: dict[str, float] = dataclasses.field(default_factory=dict)
    system: SystemConfig = dataclasses.field(default_factory=SystemConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    dat: DATConfig = dataclasses.field(default_factory=DATConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def error_spec(self):
        return ERROR_SPECS[self.model.kind].from_dict(self.errors)


def _allowed(cls) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def _unknown_key(path: str, key: str, allowed: list[str]) -> ConfigError:
    hint = difflib.get_close_matches(key, allowed, n=1)
    extra = f" (did you mean '{hint[0]}'?)" if hint else ""
    return ConfigError(
        f"unknown config key '{path}{key}'{extra}; allowed: {', '.join(allowed)}"
    )


def _coerce(path: str, value: Any, tp: Any) -> Any:
    """Check/convert ``value`` to the annotated type ``tp``; one-line error otherwise."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(path, value, inner[0])
    if origin is list:
        if isinstance(value, str):
            value = [v for v in value.replace("[", "").replace("]", "").split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}={value!r} must be a list")
        return [_coerce(f"{path}[{i}]", v, args[0]) for i, v in enumerate(value)]
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        raise ConfigError(f"{path}={value!r} must be true or false")
    if tp is int:
        if isinstance(value, bool):
            raise ConfigError(f"{path}={value!r} must be an integer")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
        raise ConfigError(f"{path}={value!r} must be an integer")
    if tp is float:
        if isinstance(value, bool):
            raise ConfigError(f"{path}={value!r} must be a number")
        try:
            out = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{path}={value!r} must be a number") from None
        if out != out or out in (float("inf"), float("-inf")):
            raise ConfigError(f"{path}={value!r} must be a finite number")
        return out
    if tp is str:
        if value is None or isinstance(value, (dict, list)):
            raise ConfigError(f"{path}={value!r} must be a string")
        return str(value)
    return value


def _build(cls, data: Any, path: str):
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"'{path.rstrip('.') or 'config'}' must be a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    allowed = _allowed(cls)
    for key, value in data.items():
        if key not in allowed:
            raise _unknown_key(path, str(key), allowed)
        tp = hints[key]
        if dataclasses.is_dataclass(tp):
            kwargs[key] = _build(tp, value, f"{path}{key}.")
        elif key == "errors":
            if value is None:
                value = {}
            if not isinstance(value, dict):
                raise ConfigError(f"'errors' must be a mapping, got {value!r}")
            kwargs[key] = {k: _coerce(f"errors.{k}", v, float) for k, v in value.items()}
        else:
            kwargs[key] = _coerce(f"{path}{key}", value, tp)
    return cls(**kwargs)


def _check_device(path: str, device: str) -> None:
    name, _, index = device.partition(":")
    if not (device in ("cpu", "cuda") or (name == "cuda" and index.isdigit())):
        raise ConfigError(f"{path}={device!r} is not allowed; allowed: cpu, cuda, cuda:N")


def usable_device(device: str) -> str:
    """``device`` (cpu, cuda, cuda:N) when this machine has it, else a one-line ConfigError:
    a run trained on a GPU keeps ``train.device=cuda`` in its config.yaml, and resuming or
    evaluating it elsewhere needs ``--set train.device=cpu`` (or ``--device cpu``)."""
    _check_device("device", device)
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ConfigError(f"device {device!r}: this machine has no CUDA device; run on the "
                              "CPU with --set train.device=cpu (evaluate: --device cpu)")
        index = device.partition(":")[2]
        if index and int(index) >= torch.cuda.device_count():
            raise ConfigError(f"device {device!r}: this machine has CUDA devices "
                              f"0-{torch.cuda.device_count() - 1}")
    return device


def _check_choice(path: str, value: str, allowed) -> None:
    if value not in allowed:
        raise ConfigError(f"{path}={value!r} is not allowed; allowed: {', '.join(allowed)}")


def _check_range(path: str, value: float, lo: float | None = None, hi: float | None = None,
                 lo_open: bool = False) -> None:
    if lo is not None and (value < lo or (lo_open and value == lo)):
        op = ">" if lo_open else ">="
        raise ConfigError(f"{path}={value} must be {op} {lo}")
    if hi is not None and value > hi:
        raise ConfigError(f"{path}={value} must be <= {hi}")


def _validate_diffractive(m: ModelConfig) -> None:
    """Checks of a diffractive model section, physics included (one-line ConfigErrors)."""
    from .optics import Grid, SamplingError, check_sampling, ten_region_layout

    if m.init == "haar":  # the shared default belongs to the mesh kind
        m.init = "zeros"
    _check_choice("model.init", m.init, ("zeros", "uniform"))
    _check_range("model.n", m.n, 8, 4096)
    _check_range("model.layers", m.layers, 1, 64)
    if m.classes != 10:
        raise ConfigError(f"model.classes={m.classes} must be 10 for kind diffractive "
                          "(ten detector regions)")
    for key in ("pitch", "wavelength", "distance"):
        _check_range(f"model.{key}", getattr(m, key), 0, lo_open=True)
    _check_range("model.padding", m.padding, 1, 16)
    _check_range("model.window", m.window, 0, m.n)
    _check_range("model.detector_size", m.detector_size, 0, m.n)
    try:
        ten_region_layout(m.n, m.detector_size or None)
    except ValueError:
        raise ConfigError(
            f"model.detector_size={m.detector_size} is too large for model.n={m.n}: 10 regions "
            f"need 4*size + 3*gap <= n with gap >= 1; use detector_size <= {(m.n - 3) // 4}"
        ) from None
    grid = Grid(m.n, m.pitch, m.wavelength)
    try:
        check_sampling(grid, m.distance, m.padding)
    except SamplingError as exc:
        text = str(exc)  # "angular spectrum with ... (M=...): <problem>; use <fix>"
        problem = text.split("): ", 1)[-1].rsplit("; use ", 1)[0]
        fix = "a shorter model.distance, a larger model.pitch or a larger model.n"
        for padding in range(m.padding + 1, 9):
            try:
                check_sampling(grid, m.distance, padding)
            except SamplingError:
                continue
            fix = f"model.padding={padding} (or {fix})"
            break
        raise ConfigError(
            f"model.distance={m.distance} m is not sampled correctly with model.n={m.n}, "
            f"model.pitch={m.pitch} m, model.wavelength={m.wavelength} m, "
            f"model.padding={m.padding}: {problem}; use {fix}"
        ) from None


def validate(cfg: RunConfig) -> RunConfig:
    """Range and consistency checks beyond types."""
    from .data import DATASET_NAMES, canonical_name

    try:
        cfg.dataset.name = canonical_name(cfg.dataset.name)
    except ValueError:
        raise ConfigError(
            f"dataset.name={cfg.dataset.name!r} is not allowed; allowed: {', '.join(DATASET_NAMES)}"
        ) from None
    _check_range("dataset.val_size", cfg.dataset.val_size, 0)
    for key in ("train_subset", "test_subset"):
        v = getattr(cfg.dataset, key)
        if v is not None:
            _check_range(f"dataset.{key}", v, 1)
    _check_choice("model.kind", cfg.model.kind, tuple(ERROR_SPECS))
    m = cfg.model
    if m.kind == "mesh":
        _check_choice("model.layout", m.layout, ("clements", "reck"))
        _check_choice("model.activation", m.activation, ("eo", "none"))
        _check_choice("model.init", m.init, ("haar", "uniform"))
        _check_range("model.modes", m.modes, 4, 1024)
        side = int(round(m.modes**0.5))
        if side * side != m.modes:
            raise ConfigError(f"model.modes={m.modes} must be a perfect square (16, 36, 64, ...)")
        _check_range("model.layers", m.layers, 1, 64)
        _check_range("model.classes", m.classes, 2, m.modes)
    elif m.kind == "diffractive":
        _validate_diffractive(m)
    t = cfg.train
    _check_choice("train.method", t.method, METHODS)
    _check_range("train.epochs", t.epochs, 1)
    _check_range("train.batch_size", t.batch_size, 1)
    _check_range("train.lr", t.lr, 0, lo_open=True)
    _check_range("train.lr_step", t.lr_step, 1)
    _check_range("train.lr_gamma", t.lr_gamma, 0, 1, lo_open=True)
    _check_range("train.eval_batch_size", t.eval_batch_size, 1)
    _check_range("train.threads", t.threads, 0)
    _check_range("train.checkpoint_every", t.checkpoint_every, 0)
    _check_range("train.log_every", t.log_every, 0)
    _check_range("train.rollback", t.rollback, 0, 1)
    if t.rollback > 0 and t.method not in ("pat", "dat", "oracle"):
        raise ConfigError(f"train.rollback acts on the physical validation accuracy, which "
                          f"train.method={t.method} does not select on: use it with pat, dat "
                          "or oracle")
    if t.init_from is not None and not (Path(t.init_from) / "selected.pt").exists():
        raise ConfigError(
            f"train.init_from={t.init_from!r} is not a finished run directory (no selected.pt)"
        )
    _check_device("train.device", t.device)
    d = cfg.dat
    _check_choice("dat.sepn", d.sepn, ("unet", "resnet", "linear", "mesh"))
    if d.sepn == "mesh" and cfg.model.kind != "mesh":
        raise ConfigError("dat.sepn=mesh learns an MZI mesh's error parameters: it needs "
                          "model.kind=mesh (use unet or linear for a diffractive network)")
    _check_choice("dat.internal_states", d.internal_states, INTERNAL_STATES)
    _check_choice("dat.plane_loss", d.plane_loss, PLANE_LOSSES)
    _check_choice("dat.sepn_dtype", d.sepn_dtype, ("float32", "bfloat16"))
    _check_range("dat.sepn_lr", d.sepn_lr, 0, lo_open=True)
    _check_range("dat.sepn_weight_decay", d.sepn_weight_decay, 0)
    _check_range("dat.warmup_epochs", d.warmup_epochs, 0)
    _check_range("dat.sepn_only_epochs", d.sepn_only_epochs, 0)
    if d.sepn_only_epochs and t.method != "dat":
        raise ConfigError(f"dat.sepn_only_epochs={d.sepn_only_epochs} trains SEPNs, which only "
                          f"train.method=dat has (got {t.method})")
    if t.method == "dat" and d.sepn_only_epochs >= t.epochs:
        raise ConfigError(f"dat.sepn_only_epochs={d.sepn_only_epochs} leaves no epoch to train "
                          f"the network (train.epochs={t.epochs})")
    if not d.sepn_features or any(f < 1 for f in d.sepn_features):
        raise ConfigError(f"dat.sepn_features={d.sepn_features} must be positive integers")
    if d.sepn == "linear" and cfg.model.kind == "diffractive" and cfg.model.n ** 2 > 1024:
        raise ConfigError(f"dat.sepn=linear needs planes of at most 1024 pixels (a dense matrix "
                          f"per plane); model.n={cfg.model.n} gives {cfg.model.n ** 2}: use unet")
    if d.sepn == "unet" and len(d.sepn_features) != 3:
        raise ConfigError(f"dat.sepn_features={d.sepn_features} must have 3 entries for a unet")
    _check_range("train.shift_search", t.shift_search, 0.5)  # the coarse grid's step
    if t.fit_shifts and (t.method not in ("pat", "dat") or cfg.model.kind != "diffractive"):
        raise ConfigError(f"train.fit_shifts fits a diffractive network's mask shifts for the "
                          f"model a hardware-in-the-loop method trains through: use it with "
                          f"model.kind=diffractive and train.method=pat or dat (got "
                          f"{cfg.model.kind}, {t.method})")
    if t.fit_shifts and t.shift_search >= cfg.model.n / 2:
        raise ConfigError(f"train.shift_search={t.shift_search} px must be below half the mask "
                          f"(model.n / 2 = {cfg.model.n / 2})")
    _check_range("system.read_noise", cfg.system.read_noise, 0)
    _check_choice("system.internal_detection", cfg.system.internal_detection, INTERNAL_DETECTION)
    if cfg.system.internal_detection == "field" and (
            t.method != "dat" or d.internal_states not in ("unitary", "separable")):
        raise ConfigError("system.internal_detection=field only acts on internal planes: use it "
                          "with train.method=dat and dat.internal_states=unitary or separable")
    try:
        cfg.error_spec()
    except ErrorSpecError as exc:
        raise ConfigError(str(exc)) from None
    return cfg


def from_dict(data: dict[str, Any]) -> RunConfig:
    return validate(_build(RunConfig, data, ""))


def preset_names() -> list[str]:
    files = resources.files("photonic_dat") / "presets"
    return sorted(p.name[:-5] for p in files.iterdir() if p.name.endswith(".yaml"))


def read_yaml(source: str | Path) -> dict[str, Any]:
    """Read a preset name or a YAML file into a plain dict."""
    text = None
    path = Path(source)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.exists():
            raise ConfigError(f"config file {str(path)!r} does not exist")
        text = path.read_text()
    else:
        name = str(source)
        if name not in preset_names():
            raise ConfigError(
                f"unknown preset or missing file {name!r}; presets: {', '.join(preset_names())}"
            )
        text = (resources.files("photonic_dat") / "presets" / f"{name}.yaml").read_text()
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" (line {line + 1})" if line is not None else ""
        raise ConfigError(f"config {str(source)!r} is not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config {str(source)!r} must be a mapping of sections")
    return data


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` strings (values parsed as YAML scalars)."""
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item!r} must look like section.key=value")
        key, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw) if raw != "" else None
        except yaml.YAMLError:
            value = raw
        parts = key.strip().split(".")
        if len(parts) == 1:
            if parts[0] not in _allowed(RunConfig):
                raise _unknown_key("", parts[0], _allowed(RunConfig))
            data[parts[0]] = value
            continue
        if len(parts) != 2:
            raise ConfigError(f"--set {item!r}: keys have the form section.key")
        section, name = parts
        if section not in _allowed(RunConfig):
            raise _unknown_key("", section, _allowed(RunConfig))
        sub = data.get(section) or {}
        if not isinstance(sub, dict):
            raise ConfigError(f"config section '{section}' must be a mapping")
        sub = dict(sub)
        sub[name] = value
        data[section] = sub
    return data


def load_config(source: str | Path, overrides: list[str] | None = None,
                validated: bool = True) -> RunConfig:
    """Preset name or YAML path, plus ``--set`` overrides -> validated RunConfig (with
    ``validated=False`` keys and types are still checked, values and files are not: for
    comparing settings, e.g. a stored run's whose start run is elsewhere on this machine)."""
    data = read_yaml(source)
    data = apply_overrides(data, overrides or [])
    if "preset" not in data:
        path = Path(str(source))
        data["preset"] = path.stem if path.suffix in (".yaml", ".yml") else str(source)
    return from_dict(data) if validated else _build(RunConfig, data, "")
