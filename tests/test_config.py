import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from photonic_dat.config import ConfigError, from_dict, load_config, preset_names


def test_presets_load_with_paper_hyperparameters():
    assert {"mpnn-mnist", "mpnn-fmnist", "demo"} <= set(preset_names())
    cfg = load_config("mpnn-mnist")
    assert (cfg.model.modes, cfg.model.layers, cfg.model.layout) == (64, 3, "clements")
    assert (cfg.train.epochs, cfg.train.batch_size, cfg.train.lr) == (50, 500, 1e-3)
    assert (cfg.train.lr_step, cfg.train.lr_gamma) == (10, 0.5)
    assert cfg.dat.sepn_features == [4, 8, 16] and cfg.dat.warmup_epochs == 20
    assert load_config("mpnn-fmnist").dataset.name == "fashion-mnist"


def test_overrides_are_typed():
    cfg = load_config("mpnn-mnist", ["train.epochs=3", "errors.phase_std=0.08",
                                     "dat.sepn_features=[4,6,8]", "dat.internal_states=unitary"])
    assert cfg.train.epochs == 3 and cfg.error_spec().phase_std == 0.08
    assert cfg.dat.sepn_features == [4, 6, 8] and cfg.dat.internal_states == "unitary"


@pytest.mark.parametrize("override,match", [
    ("train.epoch=3", r"unknown config key 'train.epoch' \(did you mean 'epochs'\?\)"),
    ("trian.epochs=3", "unknown config key 'trian'"),
    ("train.epochs=-1", "train.epochs=-1 must be >= 1"),
    ("train.epochs=abc", "train.epochs='abc' must be an integer"),
    ("train.method=magic", "train.method='magic' is not allowed; allowed: insilico"),
    ("errors.phase_std=-0.1", "errors.phase_std=-0.1 must be >= 0"),
    ("errors.phase_sd=0.1", "unknown error key 'errors.phase_sd'"),
    ("model.modes=10", "perfect square"),
    ("dataset.name=cifar", "dataset.name='cifar' is not allowed"),
    ("train.lr=0", "train.lr=0.0 must be > 0"),
    ("dat.internal_states=all", "dat.internal_states='all' is not allowed"),
    ("train.device=tpu", "train.device=.tpu. is not allowed; allowed: cpu, cuda"),
    ("train.device=cudax", "train.device=.cudax. is not allowed"),
    ("epochs", "must look like section.key=value"),
])
def test_mistakes_end_in_one_line(override, match):
    with pytest.raises(ConfigError, match=match) as info:
        load_config("mpnn-mnist", [override])
    assert "\n" not in str(info.value)


def test_a_device_the_machine_lacks_ends_in_one_line(monkeypatch):
    import torch

    from photonic_dat.config import usable_device

    assert usable_device("cpu") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="no CUDA device; run on the CPU"):
        usable_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert usable_device("cuda:0") == "cuda:0"
    with pytest.raises(ConfigError, match="has CUDA devices 0-0"):
        usable_device("cuda:1")


def test_missing_file_and_unknown_preset(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="unknown preset"):
        load_config("mpnn-cifar")
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: {epochs: [1, \n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                     st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8))
_sections = st.sampled_from(["dataset", "model", "errors", "system", "train", "dat", "bogus"])
_keys = st.sampled_from(["name", "epochs", "batch_size", "lr", "modes", "layers", "phase_std",
                         "bs_std", "internal_states", "sepn_features", "val_size", "read_noise",
                         "method", "kind", "nonsense"])


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_sections, st.one_of(_scalars, st.dictionaries(_keys, _scalars,
                                                                         max_size=4)), max_size=4))
def test_config_loader_fuzz_never_tracebacks(data):
    """Any input either loads or raises a one-line ConfigError — never another exception."""
    try:
        from_dict(data)
    except ConfigError as exc:
        assert "\n" not in str(exc)
