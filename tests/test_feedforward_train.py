"""Training feed-forward stylisation networks: loss goes down, checkpoints reload exactly, resume continues."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from impasto.api import load_image
from impasto.cli import main
from impasto.errors import InputError, ResumeError
from impasto.feedforward.apply import load_model
from impasto.feedforward.train import FastTrainConfig, PerceptualLoss, train
from impasto.nets import create_net
from impasto.train.checkpoint import load_checkpoint
from impasto.train.data import ImageFolder, crop_side
from impasto.transforms import resize_long_side, to_tensor


@pytest.fixture()
def tiny(tiny_fast_config) -> FastTrainConfig:
    """A run small enough for a test (see ``tiny_fast_config``), checkpointed and sampled every 2 steps."""
    return tiny_fast_config(steps=3, batch_size=2, content_layers=("relu2_2",), checkpoint_every=2, sample_every=2)


def test_config_validation(tiny: FastTrainConfig) -> None:
    assert tiny.validate() is tiny
    with pytest.raises(InputError, match="style image"):
        tiny.replace(style="").validate()
    with pytest.raises(InputError, match="kernel"):
        tiny.replace(kernel=4).validate()
    with pytest.raises(InputError, match="relu9_9"):
        tiny.replace(style_layers=("relu9_9",)).validate()
    with pytest.raises(InputError, match="style_layer_weights"):
        tiny.replace(style_layer_weights=(1.0,)).validate()
    with pytest.raises(InputError, match="unknown option"):
        tiny.replace(colour=1)
    with pytest.raises(InputError, match="crop_min"):
        tiny.replace(crop_min=64).validate()  # above the crop
    assert FastTrainConfig.from_dict(tiny.to_dict()) == tiny


def test_training_lowers_the_perceptual_loss(tiny: FastTrainConfig, tmp_path: Path) -> None:
    cfg = tiny.replace(steps=12, checkpoint_every=100, sample_every=0)
    data = ImageFolder.from_folder(cfg.data, cfg.crop, cfg.load_size, exclude=cfg.exclude)
    photos = data.batch(4, step=999, seed=7)  # a fixed batch not drawn during training
    style = resize_long_side(to_tensor(load_image(cfg.style)), cfg.style_size)
    loss_fn = PerceptualLoss(cfg, style)
    torch.manual_seed(cfg.seed)  # the same initial weights as the run
    with torch.no_grad():
        before = float(loss_fn(create_net("johnson", **cfg.arch_kwargs())(photos), photos)["total"])
    state = train(cfg, tmp_path / "run")
    with torch.no_grad():
        after = float(loss_fn(state.nets["net"](photos), photos)["total"])
    assert after < 0.5 * before, (before, after)
    totals = [row["total"] for row in state.history]
    assert len(totals) == 12 and min(totals[-3:]) < totals[0]


def test_crop_sides_vary_per_step_within_the_range_and_repeat_on_resume(tiny: FastTrainConfig) -> None:
    sides = [crop_side(step, 0, 32, 64) for step in range(200)]
    assert set(sides) == set(range(32, 65, 4))  # every multiple of 4 in range, nothing else
    assert sides == [crop_side(step, 0, 32, 64) for step in range(200)]
    assert sides != [crop_side(step, 1, 32, 64) for step in range(200)]
    assert crop_side(5, 0, 64, 64) == 64
    data = ImageFolder.from_folder(tiny.data, 64, 64, exclude=tiny.exclude)
    assert data.batch(2, step=3, crop=40).shape == (2, 3, 40, 40)
    with pytest.raises(ValueError):
        data.batch(2, step=3, crop=80)


def test_training_on_mixed_crop_sizes(tiny: FastTrainConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tiny.replace(crop=48, crop_min=32, steps=6, checkpoint_every=100, sample_every=0)
    shapes = []
    batch = ImageFolder.batch

    def recording(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        out = batch(self, *args, **kwargs)
        shapes.append(tuple(out.shape[-2:]))
        return out

    monkeypatch.setattr(ImageFolder, "batch", recording)
    state = train(cfg, tmp_path / "run")
    assert len(state.history) == 6 and all(math.isfinite(row["total"]) for row in state.history)
    assert shapes == [(s, s) for s in (crop_side(step, cfg.seed, 32, 48) for step in range(1, 7))]
    assert len(set(shapes)) > 1


def test_run_folder_and_checkpoint_round_trip(tiny: FastTrainConfig, tmp_path: Path) -> None:
    run = tmp_path / "run"
    state = train(tiny, run)
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step_000002.jpg"]
    assert (run / "loss.png").stat().st_size > 1000
    assert (run / "history.csv").read_text().splitlines()[0] == "step,content,style,tv,total"
    data = load_checkpoint(run / "checkpoint.pt", kind="fast")
    assert data["step"] == 3 and data["nets"]["net"]["arch"] == "johnson"
    assert data["nets"]["net"]["kwargs"] == {"width": 4, "blocks": 1, "kernel": 3}
    assert data["config"]["style"] == tiny.style
    x = torch.rand(2, 3, 37, 45)
    net = state.nets["net"].eval()
    with torch.no_grad():
        assert torch.equal(load_model(run / "checkpoint.pt").net(x), net(x))
    with pytest.raises(InputError, match="--resume"):
        train(tiny, run)


def test_resume_continues_at_the_saved_step_and_matches_an_uninterrupted_run(
    tiny: FastTrainConfig, tmp_path: Path
) -> None:
    cfg = tiny.replace(sample_every=0)
    straight = train(cfg.replace(steps=4), tmp_path / "straight")
    train(cfg.replace(steps=2), tmp_path / "split")
    resumed = train(cfg.replace(steps=4), tmp_path / "split", resume=True)
    assert resumed.step == 4 and [r["step"] for r in resumed.history] == [1, 2, 3, 4]
    for (name, a), b in zip(straight.nets["net"].state_dict().items(), resumed.nets["net"].state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6), name
    with pytest.raises(ResumeError, match="crop"):
        train(cfg.replace(crop=48, steps=6), tmp_path / "split", resume=True)


def test_lr_decay_lowers_the_rate_to_zero_and_survives_resume(
    tiny: FastTrainConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tiny.replace(sample_every=0, steps=6, lr_decay_steps=4)
    rates: list[float] = []
    adam_step = torch.optim.Adam.step

    def recording_step(self: torch.optim.Adam, *args: object, **kwargs: object) -> object:
        rates.append(self.param_groups[0]["lr"])
        return adam_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", recording_step)
    straight = train(cfg, tmp_path / "straight")
    lr = cfg.lr
    assert rates == pytest.approx([lr, lr, lr, 0.75 * lr, 0.5 * lr, 0.25 * lr])
    assert straight.optimizers["net"].param_groups[0]["lr"] == pytest.approx(0.0)
    rates.clear()
    train(cfg, tmp_path / "split", steps=3)  # stopped after 3 of the 6 planned steps
    resumed = train(cfg, tmp_path / "split", resume=True)
    assert rates[3:] == pytest.approx([0.75 * lr, 0.5 * lr, 0.25 * lr])
    for (name, a), b in zip(straight.nets["net"].state_dict().items(), resumed.nets["net"].state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6), name
    rates.clear()  # extended to 10 steps on resume: the decay moves to the new end, from the first new step
    train(cfg.replace(steps=10), tmp_path / "split", resume=True)
    assert rates == pytest.approx([lr, 0.75 * lr, 0.5 * lr, 0.25 * lr])
    with pytest.raises(InputError, match="lr_decay_steps"):
        tiny.replace(lr_decay_steps=-1).validate()


def test_distillation_without_vgg_brings_a_lighter_net_towards_its_teacher(
    tiny: FastTrainConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from impasto.features.vgg import FeatureExtractor

    teacher = train(tiny.replace(steps=2, sample_every=0), tmp_path / "teacher")
    cfg = tiny.replace(
        width=2,
        steps=40,
        learning_rate=2e-2,
        sample_every=0,
        checkpoint_every=100,
        content_weight=0.0,
        style_weight=0.0,
        tv_weight=0.0,
        teacher=str(tmp_path / "teacher" / "checkpoint.pt"),
    )
    with pytest.raises(InputError, match="nothing to learn"):
        cfg.replace(teacher_weight=0.0).validate()
    with pytest.raises(InputError, match="neither a file nor a shipped model"):
        train(cfg.replace(teacher=str(tmp_path / "missing.pt")), tmp_path / "bad")
    assert not (tmp_path / "bad").exists()  # a bad input leaves no empty run folder behind

    def no_vgg(*args: object, **kwargs: object) -> None:
        raise AssertionError("the VGG ran during pure distillation")

    monkeypatch.setattr(FeatureExtractor, "forward", no_vgg)
    data = ImageFolder.from_folder(cfg.data, cfg.crop, cfg.load_size, exclude=cfg.exclude)
    photos = data.batch(4, step=999, seed=7)
    torch.manual_seed(cfg.seed)
    student = create_net("johnson", **cfg.arch_kwargs())
    with torch.no_grad():
        wanted = teacher.nets["net"](photos)
        before = float((student(photos) - wanted).pow(2).mean())
    state = train(cfg, tmp_path / "student")
    assert set(state.history[-1]) == {"step", "content", "style", "tv", "teacher", "total"}
    with torch.no_grad():
        after = float((state.nets["net"](photos) - wanted).pow(2).mean())
    assert after < 0.3 * before, (before, after)


def test_cli_train_and_resume(tiny: FastTrainConfig, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    flags = [
        "--style",
        tiny.style,
        "--data",
        tiny.data,
        "--exclude",
        "starry_night.jpg",
        "--batch-size",
        "1",
        "--crop",
        "32",
        "--max-side",
        "64",
        "--style-size",
        "64",
        "--width",
        "4",
        "--blocks",
        "1",
        "--kernel",
        "3",
        "--style-layers",
        "relu1_2,relu2_2",
        "--precision",
        "fp32",
        "--device",
        "cpu",
        "-q",
    ]
    assert main(["fast", "train", "-o", str(out), "--steps", "1", *flags]) == 0
    assert main(["fast", "train", "-o", str(out), "--steps", "2", *flags]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["fast", "train", "-o", str(out), "--steps", "2", "--resume", *flags]) == 0
    assert load_checkpoint(out / "checkpoint.pt")["step"] == 2
    assert main(["fast", "train", "-o", str(tmp_path / "x"), "--data", tiny.data, "--steps", "1"]) == 2
    assert "style image" in capsys.readouterr().err


def test_init_from_copies_the_weights_of_another_run(tiny: FastTrainConfig, tmp_path: Path) -> None:
    from impasto.feedforward.train import _load_initial_weights

    first = train(tiny.replace(steps=1, sample_every=0), tmp_path / "a")
    net = create_net("johnson", **tiny.arch_kwargs())
    _load_initial_weights(net, tiny.replace(init_from=str(tmp_path / "a" / "checkpoint.pt")))
    for name, value in first.nets["net"].state_dict().items():
        assert torch.equal(net.state_dict()[name], value), name
    with pytest.raises(InputError, match="init-from"):
        _load_initial_weights(
            create_net("johnson", width=8, blocks=1, kernel=3),
            tiny.replace(width=8, init_from=str(tmp_path / "a" / "checkpoint.pt")),
        )
