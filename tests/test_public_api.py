"""The public API: every name in ``impasto.__all__`` resolves, lazily, and the old names still work."""

from __future__ import annotations

import subprocess
import sys

import pytest

import impasto
from impasto import CycleGANConfig, FastTrainConfig, FeedForwardTrainConfig, GatysConfig, InputError


@pytest.mark.parametrize("name", impasto.__all__)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(impasto, name) is not None
    assert name in dir(impasto)


def test_public_functions_are_typed() -> None:
    import inspect

    for name in ("stylize", "evaluate", "stylize_fast", "train_fast", "translate", "train_cyclegan", "load_image"):
        sig = inspect.signature(getattr(impasto, name))
        assert sig.return_annotation is not inspect.Signature.empty, name
        assert getattr(impasto, name).__doc__, name


def test_importing_impasto_does_not_import_torch() -> None:
    code = "import sys, impasto; impasto.GatysConfig; impasto.stylize; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_thing"):
        impasto.no_such_thing  # noqa: B018


def test_old_option_names_are_aliases() -> None:
    cfg = GatysConfig().replace(num_iterations=7, learning_rate=0.5, checkpoint="on")
    assert (cfg.steps, cfg.lr, cfg.recompute) == (7, 0.5, "on")
    assert cfg.num_iterations == 7 and cfg.learning_rate == 0.5  # reading the old names
    assert GatysConfig.from_dict({"niter": 3, "num_iter": 3}).steps == 3
    ff = FeedForwardTrainConfig.from_dict({"learning_rate": 0.01, "max_side": 300})
    assert (ff.lr, ff.load_size) == (0.01, 300)
    assert FastTrainConfig is FeedForwardTrainConfig
    assert CycleGANConfig().replace(learning_rate=1e-3).lr == 1e-3
    with pytest.raises(InputError, match="same option"):
        GatysConfig().replace(steps=3, num_iterations=4)


@pytest.mark.parametrize("cls", [GatysConfig, FeedForwardTrainConfig, CycleGANConfig])
def test_one_unknown_key_policy_with_a_suggestion(cls: type) -> None:
    with pytest.raises(InputError, match=r"unknown option 'stepz'.*did you mean 'steps'"):
        cls().replace(stepz=3)
    with pytest.raises(InputError, match="unknown option 'stepz'"):
        cls.from_dict({"stepz": 3})


@pytest.mark.parametrize("cls", [GatysConfig, FeedForwardTrainConfig, CycleGANConfig])
def test_to_dict_from_dict_round_trip_keeps_none(cls: type) -> None:
    cfg = cls()
    assert cls.from_dict(cfg.to_dict()) == cfg
    if cls is FeedForwardTrainConfig:  # a stored None is not replaced by the default
        assert cls.from_dict({**cfg.to_dict(), "load_size": None}).load_size is None


def test_list_fields_accept_commas_and_sequences() -> None:
    cfg = GatysConfig().replace(style_layers="relu1_1, relu2_1", style_layer_weights=["1", "0.5"])
    assert cfg.style_layers == ("relu1_1", "relu2_1") and cfg.style_layer_weights == (1.0, 0.5)
    with pytest.raises(InputError, match="style_layer_weights takes numbers"):
        GatysConfig().replace(style_layer_weights="1,x")


def test_shipped_model_configs_load() -> None:
    import json
    from pathlib import Path

    models = Path(impasto.__file__).parent / "models"
    cards = sorted(models.glob("*.json"))
    assert cards
    for card in cards:
        cfg = FeedForwardTrainConfig.from_dict(json.loads(card.read_text())["config_of_last_stage"])
        assert cfg.lr > 0 and cfg.load_size is not None


def test_library_errors_name_options_and_the_cli_names_flags() -> None:
    from impasto.cli.common import as_flags

    message = 'fits is about image_size=512 (recompute="on" also lowers the need)'
    assert as_flags(message, GatysConfig) == "fits is about --image-size 512 (--recompute on also lowers the need)"
    with pytest.raises(InputError) as err:
        GatysConfig(steps=0).validate()
    assert "--" not in str(err.value) and str(err.value).startswith("steps ")
