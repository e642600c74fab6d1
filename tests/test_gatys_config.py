"""GatysConfig's option groups: each names the parameters of the function that takes it, and leaves none out."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from impasto.config import GatysConfig
from impasto.losses.perceptual import StyleTransferLoss
from impasto.memory import plan_memory
from impasto.optim.loop import optimize_image

FIELDS = {f.name for f in dataclasses.fields(GatysConfig)}


@pytest.mark.parametrize(
    ("group", "consumer", "passed_apart"),
    [
        # precision is passed resolved ("auto" -> fp32|bf16), style masks as tensors, steps per level
        ("loss_options", StyleTransferLoss.__init__, {"precision", "style_masks"}),
        ("optimizer_options", optimize_image, {"steps"}),
        ("memory_options", plan_memory, {"precision", "steps"}),
    ],
)
def test_each_group_is_every_config_field_its_consumer_takes(group, consumer, passed_apart) -> None:
    options = getattr(GatysConfig(), group)()
    parameters = set(inspect.signature(consumer).parameters)
    assert set(options) <= parameters
    assert set(options) == (parameters & FIELDS) - passed_apart


def test_the_groups_carry_the_values() -> None:
    cfg = GatysConfig(style_weight=3.0, tv_kind="l1", lr=0.5, lbfgs_history=7, clamp=False, tiling="off")
    assert cfg.loss_options()["style_weight"] == 3.0 and cfg.loss_options()["tv_kind"] == "l1"
    assert cfg.optimizer_options() == {
        "optimizer": "lbfgs",
        "lr": 0.5,
        "lr_schedule": "constant",
        "lbfgs_history": 7,
        "line_search": False,
        "clamp": False,
    }
    assert cfg.optimizer_options(lbfgs_history=3)["lbfgs_history"] == 3  # the memory plan's history wins
    assert GatysConfig(optimizer="adam").optimizer_options()["lr"] == 0.02  # the default step size, resolved
    assert cfg.memory_options()["tiling"] == "off" and cfg.memory_options()["lbfgs_history"] == 7
