"""The one training loop: steps, checkpoints, resume and interruption, on a tiny regression net."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
import torch
from torch import nn

from impasto.errors import InputError, ResumeError
from impasto.nets import create_net, register_net
from impasto.train.checkpoint import load_checkpoint, load_net, save_checkpoint
from impasto.train.loop import TrainState, fit, resume


@register_net("test-linear")
def _linear(features: int = 3) -> nn.Module:
    return nn.Linear(features, 1)


def make_state(features: int = 3) -> TrainState:
    torch.manual_seed(0)
    net = create_net("test-linear", features=features)
    opt = torch.optim.Adam(net.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=20, gamma=0.5)
    return TrainState(
        nets={"net": net},
        archs={"net": ("test-linear", {"features": features})},
        optimizers={"net": opt},
        schedulers={"net": sched},
    )


def step_fn(state: TrainState, step: int) -> dict[str, float]:
    gen = torch.Generator().manual_seed(step)  # the batch depends on the step only
    x = torch.randn(16, 3, generator=gen)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3
    loss = ((state.nets["net"](x) - y) ** 2).mean()
    opt = state.optimizers["net"]
    opt.zero_grad()
    loss.backward()
    opt.step()
    return {"mse": loss.item()}


def test_fit_lowers_the_loss_and_records_history(tmp_path):
    state = fit(make_state(), step_fn, steps=40, kind="test", config={"lr": 0.05}, checkpoint=tmp_path / "c.pt")
    assert state.step == 40 and len(state.history) == 40
    assert state.history[-1]["mse"] < 0.2 * state.history[0]["mse"]
    data = load_checkpoint(tmp_path / "c.pt", kind="test")
    assert data["step"] == 40 and data["config"] == {"lr": 0.05}


def test_resume_continues_at_the_saved_step_and_matches_an_uninterrupted_run(tmp_path):
    full = fit(make_state(), step_fn, steps=12, kind="test", config={})
    part = fit(make_state(), step_fn, steps=7, kind="test", config={}, checkpoint=tmp_path / "c.pt")
    assert part.step == 7
    resumed = resume(make_state(), tmp_path / "c.pt", kind="test")
    assert resumed.step == 7 and len(resumed.history) == 7
    assert resumed.schedulers["net"].last_epoch == 7
    resumed = fit(resumed, step_fn, steps=12, kind="test", config={})
    for a, b in zip(full.nets["net"].parameters(), resumed.nets["net"].parameters()):
        assert torch.equal(a, b)
    assert [h["step"] for h in resumed.history] == list(range(1, 13))


def test_periodic_checkpoints_and_samples(tmp_path):
    seen = []
    fit(
        make_state(),
        step_fn,
        steps=10,
        kind="test",
        config={},
        checkpoint=tmp_path / "c.pt",
        checkpoint_every=4,
        sample_fn=lambda s, k: seen.append((k, s.nets["net"].training)),
        sample_every=5,
    )
    assert seen == [(5, False), (10, False)]  # samples run in eval mode


def test_interrupt_finishes_the_step_and_saves(tmp_path):
    def interrupting(state, step):
        out = step_fn(state, step)
        if step == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return out

    with pytest.raises(KeyboardInterrupt):
        fit(make_state(), interrupting, steps=10, kind="test", config={}, checkpoint=tmp_path / "c.pt")
    assert load_checkpoint(tmp_path / "c.pt")["step"] == 3


def test_checkpoint_rebuilds_the_network(tmp_path):
    state = fit(make_state(), step_fn, steps=3, kind="test", config={}, checkpoint=tmp_path / "c.pt")
    net = load_net(load_checkpoint(tmp_path / "c.pt")["nets"]["net"])
    x = torch.randn(4, 3)
    assert torch.equal(net(x), state.nets["net"](x))


def test_bad_checkpoints_give_one_line_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="cannot read"):
        load_checkpoint(tmp_path / "junk.pt")
    torch.save({"a": 1}, tmp_path / "foreign.pt")
    with pytest.raises(InputError, match="not an impasto checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")
    save_checkpoint(tmp_path / "c.pt", make_state().payload("test", {}))
    with pytest.raises(InputError, match="not 'fast'"):
        load_checkpoint(tmp_path / "c.pt", kind="fast")
    with pytest.raises(ResumeError, match="does not match"):
        resume(make_state(features=5), tmp_path / "c.pt", kind="test")
    with pytest.raises(InputError, match="unknown network"):
        create_net("no-such-net")
    assert not list(tmp_path.glob("*.partial"))


def test_image_folder_crops_are_deterministic_per_step_and_rank(tmp_path):
    from impasto.io import write_image
    from impasto.train.data import ImageFolder

    rng = np.random.default_rng(0)
    for i in range(3):
        write_image(tmp_path / f"im{i}.png", rng.random((40 + 10 * i, 50, 3)).astype(np.float32))
    (tmp_path / "notes.txt").write_text("ignored")
    data = ImageFolder.from_folder(tmp_path, crop=32)
    assert len(data) == 3
    a = data.batch(4, step=7)
    assert a.shape == (4, 3, 32, 32) and 0 <= a.min() and a.max() <= 1
    assert torch.equal(a, data.batch(4, step=7))
    assert not torch.equal(a, data.batch(4, step=8))
    assert not torch.equal(a, data.batch(4, step=7, rank=1))
    small = ImageFolder.from_folder(tmp_path, crop=64)  # images smaller than the crop are enlarged
    assert small.batch(2, step=1).shape == (2, 3, 64, 64)
    with pytest.raises(InputError, match="no images"):
        ImageFolder.from_folder(tmp_path / "empty" if (tmp_path / "empty").mkdir() is None else tmp_path, crop=32)
