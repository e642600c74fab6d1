"""Tests of the ``impasto`` command line: exit codes, one-line errors, no stray files.

The contract under test (see ``impasto.cli``):

* exit 0 on success, 2 on bad input with exactly one line on stderr that says
  what went wrong, 130 on Ctrl-C;
* a failed or interrupted run never creates the output file, never leaves a
  ``.partial`` temporary behind, and never touches an output that already exists;
* intermediate images written with ``--save-iter`` survive an interrupt.

The CLI is called in-process through ``impasto.cli.main`` wherever possible;
only the tests about ``--help`` start-up cost and a real SIGINT use a child
process. Runs are tiny (32-64 px, a few steps) so the file stays quick on CPU.
"""

from __future__ import annotations

import json
import logging
import math
import re
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageFile

from cli_run import run_main, stylize_argv
from impasto import cli

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"

# Cheapest possible run; failure tests add --json so that stdout must stay empty too.
TINY = ["--image-size", "32", "--num-iterations", "2", "-q"]


# --------------------------------------------------------------------------- fixtures


def example(name: str) -> Path:
    """An image of examples/, or skip the test where it is missing."""
    path = EXAMPLES / name
    if not path.is_file():
        pytest.skip(f"example image missing: {path}")
    return path


@pytest.fixture
def cli_content() -> Path:
    return example("tubingen.jpg")


@pytest.fixture
def cli_style() -> Path:
    return example("starry_night.jpg")


@pytest.fixture(autouse=True)
def _restore_logging():
    """main() reconfigures the root logger (basicConfig(force=True)) onto the captured
    stderr of the test that called it; put the previous handlers back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)


# --------------------------------------------------------------------------- helpers


def partial_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.endswith(".partial"))


def assert_one_error_line(rc: int, out: str, err: str) -> str:
    """rc == 2, nothing on stdout, exactly one non-empty line on stderr containing 'error'."""
    assert rc == 2, f"exit code {rc}; stderr:\n{err}"
    assert out == "", f"stdout should stay empty on failure, got {out!r}"
    text = err.strip()
    assert text, "no error message on stderr"
    lines = text.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{err}"
    line = lines[0]
    assert "error" in line, line
    assert line.startswith(("impasto: error:", "impasto stylize: error:")), line
    assert "Traceback" not in err
    assert "usage:" not in err
    assert "\r" not in err, f"progress bar printed on failure: {err!r}"
    return line


def assert_no_output(output: Path) -> None:
    assert not output.exists(), f"{output} was created by a failing run"
    assert partial_files(output.parent) == [], "temporary .partial files left behind"


def fail_run(argv, output: Path, capsys) -> str:
    """Run argv (which must fail), check the contract, return the error line."""
    rc, out, err = run_main(argv, capsys)
    line = assert_one_error_line(rc, out, err)
    assert_no_output(output)
    return line


# --------------------------------------------------------------------------- bad image files


def write_png_with_fake_size(path: Path, width: int, height: int) -> Path:
    """A real small PNG whose IHDR claims width x height (CRC recomputed so it parses)."""
    Image.new("RGB", (8, 8), (200, 40, 40)).save(path, format="PNG")
    data = bytearray(path.read_bytes())
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    path.write_bytes(bytes(data))
    return path


def make_bad_image(kind: str, folder: Path) -> Path:
    if kind == "missing":
        return folder / "missing.jpg"
    if kind == "directory":
        path = folder / "a_directory.jpg"
        path.mkdir()
        return path
    if kind == "empty":
        path = folder / "empty.jpg"
        path.write_bytes(b"")
        return path
    if kind == "text_as_jpg":
        path = folder / "notes.jpg"
        path.write_text("this is not a picture\njust some text\n")
        return path
    if kind == "truncated_jpeg":
        data = (EXAMPLES / "tubingen.jpg").read_bytes()
        path = folder / "truncated.jpg"
        path.write_bytes(data[: len(data) // 2])
        return path
    if kind == "bomb_png":
        return write_png_with_fake_size(folder / "bomb.png", 30000, 30000)
    if kind == "animated_gif":
        path = folder / "animated.gif"
        frames = [Image.new("RGB", (64, 64), colour) for colour in ((255, 0, 0), (0, 0, 255))]
        frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
        with Image.open(path) as im:
            assert getattr(im, "n_frames", 1) == 2
        return path
    if kind == "1x1":
        path = folder / "dot.png"
        Image.new("RGB", (1, 1), (10, 20, 30)).save(path)
        return path
    if kind == "8x8":
        path = folder / "tiny.png"
        Image.new("RGB", (8, 8), (10, 20, 30)).save(path)
        return path
    raise AssertionError(kind)


# The kinds of bad image, each with a word the message must contain so the user knows what is wrong.
BAD_IMAGE_HINT = {
    "missing": "no such file",
    "directory": "directory",
    "empty": "empty",
    "text_as_jpg": "not a recognised image",
    "truncated_jpeg": "truncated",
    "bomb_png": "decompression bomb",
    "animated_gif": "frames",
    "1x1": "at least 16",
    "8x8": "at least 16",
}
BAD_IMAGES = list(BAD_IMAGE_HINT)


@pytest.mark.parametrize("role", ["content", "style"])
@pytest.mark.parametrize("kind", BAD_IMAGES)
def test_bad_image_fails_with_one_line(kind, role, tmp_path, capsys, monkeypatch, cli_content, cli_style):
    bad = make_bad_image(kind, tmp_path)
    output = tmp_path / "out.png"
    content, style = (bad, cli_style) if role == "content" else (cli_content, bad)
    decoded = []  # sizes of the images whose pixels were decoded
    real_load = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda im: decoded.append(im.size) or real_load(im))
    line = fail_run(stylize_argv(content, style, output, *TINY, "--json"), output, capsys)
    assert BAD_IMAGE_HINT[kind] in line.lower(), line
    # The message names the file or at least which input it was.
    assert bad.name in line or f"{role} image" in line, line
    if kind == "bomb_png":
        # Refused from the header: no 900-megapixel decode, no network load.
        assert (30000, 30000) not in decoded
        assert "30000x30000" in line or "pixels" in line, line


@pytest.mark.parametrize("kind", ["truncated_jpeg", "late_weights_error"])
def test_existing_output_is_left_untouched(kind, tmp_path, capsys, cli_content, cli_style):
    output = tmp_path / "out.png"
    Image.new("RGB", (20, 10), (1, 2, 3)).save(output)
    before = output.read_bytes()
    if kind == "truncated_jpeg":
        argv = stylize_argv(make_bad_image(kind, tmp_path), cli_style, output, *TINY)
    else:  # fails inside the run, after the images were read
        argv = stylize_argv(cli_content, cli_style, output, *TINY, "--weights", tmp_path / "none.pth")
    rc, out, err = run_main(argv, capsys)
    assert_one_error_line(rc, out, err)
    assert output.read_bytes() == before
    assert partial_files(tmp_path) == []


# --------------------------------------------------------------------------- bad output paths


def test_unknown_output_extension(tmp_path, capsys, cli_content, cli_style):
    output = tmp_path / "out.xyz"
    line = fail_run(stylize_argv(cli_content, cli_style, output, *TINY), output, capsys)
    assert ".xyz" in line and ".png" in line, line


def test_missing_output_folder(tmp_path, capsys, cli_content, cli_style):
    output = tmp_path / "nope" / "out.png"
    line = fail_run(stylize_argv(cli_content, cli_style, output, *TINY), output, capsys)
    assert "does not exist" in line, line
    assert not output.parent.exists()


def test_output_is_an_existing_directory(tmp_path, capsys, cli_content, cli_style):
    output = tmp_path / "out.png"
    output.mkdir()
    rc, out, err = run_main(stylize_argv(cli_content, cli_style, output, *TINY), capsys)
    line = assert_one_error_line(rc, out, err)
    assert "directory" in line, line
    assert output.is_dir() and list(output.iterdir()) == []
    assert partial_files(tmp_path) == []


# --------------------------------------------------------------------------- weights


def test_weights_file_missing(tmp_path, capsys, cli_content, cli_style):
    output = tmp_path / "out.png"
    missing = tmp_path / "missing.pth"
    line = fail_run(stylize_argv(cli_content, cli_style, output, *TINY, "--weights", missing), output, capsys)
    assert "missing.pth" in line and "not found" in line, line


def test_weights_file_is_text(tmp_path, capsys, cli_content, cli_style):
    output = tmp_path / "out.png"
    weights = tmp_path / "vgg.pth"
    weights.write_text("not a state dict\n")
    line = fail_run(stylize_argv(cli_content, cli_style, output, *TINY, "--weights", weights), output, capsys)
    assert "vgg.pth" in line, line


def test_weights_torchvision_absent_from_hub_cache(tmp_path, monkeypatch, capsys, cli_content, cli_style):
    import torch.hub

    hub = tmp_path / "hub"
    hub.mkdir()
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(hub))
    output = tmp_path / "out.png"
    line = fail_run(stylize_argv(cli_content, cli_style, output, *TINY, "--weights", "torchvision"), output, capsys)
    # Says where the file should be and what to do about it.
    assert str(hub) in line, line
    assert "download" in line and "--weights" in line, line


def test_late_failure_without_quiet_prints_no_progress_bar(tmp_path, capsys, cli_content, cli_style):
    """Without -q, an error raised while the run is being set up is still one line."""
    output = tmp_path / "out.png"
    argv = stylize_argv(cli_content, cli_style, output, "--image-size", "32", "--num-iterations", "2")
    argv += ["--weights", tmp_path / "missing.pth"]
    fail_run(argv, output, capsys)


# --------------------------------------------------------------------------- nonsense options


# Options that each make ``impasto stylize`` fail with one line (the test ids are these strings).
NONSENSE = [
    "--image-size 0",
    "--image-size abc",
    "--style-weight -1",
    "--content-weight nan",
    "--tv-weight inf",
    "--num-iterations 0",
    "--learning-rate 0",
    "--style-layers relu9_9",  # an unknown layer
    "--style-layer-weights 1 2",  # not one weight per layer
    "--style-layer-weights 1,x,1,1,1",
    "--pooling median",
    "--device tpu",
    "--device cuda",
    "--print-iter -1",
    "--save-iter -2",
    "--image-size 16",  # too small for VGG's pooling
]


@pytest.mark.parametrize("options", NONSENSE)
def test_nonsense_option_fails_with_one_line(options, tmp_path, capsys, cli_content, cli_style):
    extra = options.split()
    if extra == ["--device", "cuda"]:
        import torch

        if torch.cuda.is_available():
            pytest.skip("a CUDA GPU is present, so --device cuda is valid here")
    output = tmp_path / "out.png"
    line = fail_run(stylize_argv(cli_content, cli_style, output, *TINY, "--json", *extra), output, capsys)
    flag = extra[0].lstrip("-").replace("-", "_")
    value = extra[1]
    # The message points at the offending option or value.
    assert flag in line or flag.replace("_", "-") in line or value in line, line


def test_elongated_content_image_fails_with_one_line(tmp_path, capsys, cli_style):
    """800x16 passes the 16 px minimum but shrinks to 32x1 at --image-size 32: too small for VGG."""
    wide = tmp_path / "wide.png"
    Image.new("RGB", (800, 16), (120, 30, 60)).save(wide)
    output = tmp_path / "out.png"
    line = fail_run(stylize_argv(wide, cli_style, output, *TINY), output, capsys)
    assert "content image" in line and "image_size" in line, line


# --------------------------------------------------------------------------- Ctrl-C


def test_keyboard_interrupt_in_process(tmp_path, monkeypatch, capsys, cli_content, cli_style):
    from impasto.losses.perceptual import StyleTransferLoss

    original = StyleTransferLoss.forward
    calls = {"n": 0}

    def interrupting_forward(self, image):
        calls["n"] += 1
        if calls["n"] == 6:
            raise KeyboardInterrupt
        return original(self, image)

    monkeypatch.setattr(StyleTransferLoss, "forward", interrupting_forward)
    output = tmp_path / "out.png"
    options = ["--image-size", "32", "--num-iterations", "20", "--save-iter", "2", "-q"]
    rc, out, err = run_main(stylize_argv(cli_content, cli_style, output, *options), capsys)
    assert rc == 130, err
    assert calls["n"] == 6
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "interrupted" in lines[0], err
    assert out == ""
    assert_no_output(output)
    # L-BFGS evaluates the loss once per step: steps 1-5 finished, so 2 and 4 were saved.
    for step in (2, 4):
        saved = cli.intermediate_path(output, step)
        assert saved == tmp_path / f"out_{step}.png"
        with Image.open(saved) as im:
            im.load()
            assert im.format == "PNG" and im.mode == "RGB" and max(im.size) == 32
            assert im.text.get("impasto:step") == str(step)
    assert not cli.intermediate_path(output, 6).exists()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupt_that_was_swallowed_ends_the_run_at_the_next_progress_event(signum):
    """Python only prints an exception raised inside a finaliser; the signal is remembered, and the next
    progress event of any command raises it again (cli.interrupts)."""
    import os

    from impasto.cli import interrupts
    from impasto.cli.common import ProgressBar

    previous = interrupts.install()
    try:
        try:
            os.kill(os.getpid(), signum)
            time.sleep(1)  # the handler runs at the next bytecode; the sleep is never finished
        except KeyboardInterrupt:
            pass  # swallowed, as a finaliser would
        with pytest.raises(KeyboardInterrupt):
            ProgressBar("stylize", quiet=True).update(10)
        interrupts.install()  # the next command starts clean
        ProgressBar("stylize", quiet=True).update(10)
    finally:
        interrupts.restore(previous)
    assert signal.getsignal(signal.SIGINT) is previous[signal.SIGINT]


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_in_subprocess(signum, tmp_path, cli_content, cli_style):
    output = tmp_path / "out.png"
    third = tmp_path / "out_3.png"
    options = ["--image-size", "64", "--num-iterations", "2000", "--save-iter", "3", "-q"]
    cmd = [sys.executable, "-m", "impasto", *map(str, stylize_argv(cli_content, cli_style, output, *options))]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not third.exists():
            if proc.poll() is not None:
                out, err = proc.communicate()
                pytest.fail(f"impasto exited early with {proc.returncode}:\n{err}")
            if time.monotonic() > deadline:
                pytest.fail("no intermediate image after 60 s")
            time.sleep(0.05)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "interrupted" in lines[0], err
    assert out == ""
    assert_no_output(output)
    with Image.open(third) as im:  # written atomically, so complete even though the run was killed
        im.load()
        assert im.format == "PNG" and max(im.size) == 64


# --------------------------------------------------------------------------- success


def test_json_summary_and_png_metadata(tmp_path, capsys, cli_content, cli_style):
    output = tmp_path / "out.png"
    options = ["--image-size", "48", "--num-iterations", "3", "-q", "--json"]
    rc, out, err = run_main(stylize_argv(cli_content, cli_style, output, *options), capsys)
    assert rc == 0, err
    assert len(out.strip().splitlines()) == 1, out
    summary = json.loads(out)
    assert isinstance(summary, dict)
    for key in ("output", "seconds", "losses", "config", "peak_rss_mb"):
        assert key in summary, key
    assert Path(summary["output"]) == output
    assert set(summary["losses"]) >= {"content", "style", "tv", "total"}
    assert all(math.isfinite(v) for v in summary["losses"].values())
    assert summary["config"]["image_size"] == 48
    assert summary["config"]["steps"] == 3  # --num-iterations is the old name of --steps
    assert summary["seconds"] >= 0 and summary["peak_rss_mb"] > 0
    assert err.strip() == ""  # -q and --json: nothing else on stderr
    with Image.open(output) as im:
        assert im.format == "PNG"
        assert max(im.size) == 48
        assert tuple(summary.get("size", im.size)) == im.size
        config = json.loads(im.text["impasto:config"])
    assert config["image_size"] == 48
    assert partial_files(tmp_path) == []


def test_neural_style_spellings(tmp_path, capsys, cli_content, cli_style):
    output = tmp_path / "out.png"
    options = ["--image_size", "40", "--num_iterations", "2", "--style_layers", "relu1_1,relu2_1"]
    options += ["--style_layer_weights", "1,0.5", "-q", "--json"]
    rc, out, err = run_main(stylize_argv(cli_content, cli_style, output, *options), capsys)
    assert rc == 0, err
    config = json.loads(out)["config"]
    assert config["image_size"] == 40
    assert config["steps"] == 2
    assert config["style_layers"] == ["relu1_1", "relu2_1"]
    assert config["style_layer_weights"] == [1.0, 0.5]
    with Image.open(output) as im:
        assert max(im.size) == 40


def test_jpeg_output(tmp_path, capsys, cli_content, cli_style):
    output = tmp_path / "out.jpg"
    rc, out, err = run_main(stylize_argv(cli_content, cli_style, output, *TINY), capsys)
    assert rc == 0, err
    assert out == ""
    with Image.open(output) as im:
        im.load()
        assert im.format == "JPEG" and im.mode == "RGB" and max(im.size) == 32
        description = im.getexif().get(0x010E)
    assert description is not None
    assert json.loads(json.loads(description)["impasto:config"])["image_size"] == 32
    assert partial_files(tmp_path) == []


def test_print_iter_logs_steps(tmp_path, capsys, cli_content, cli_style):
    output = tmp_path / "out.png"
    rc, out, err = run_main(stylize_argv(cli_content, cli_style, output, *TINY, "--print-iter", "1"), capsys)
    assert rc == 0, err
    step_lines = [line for line in err.splitlines() if re.search(r"\bstep \d+/\d+", line)]
    assert len(step_lines) == 2, err
    assert step_lines[0].startswith("impasto:") and "1/2" in step_lines[0] and "total" in step_lines[0]
    assert output.is_file()


def test_help_does_not_import_torch():
    code = "import sys, impasto.cli; impasto.cli.build_parser(); print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_module_help_lists_stylize():
    result = subprocess.run([sys.executable, "-m", "impasto", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "stylize" in result.stdout


def test_stylize_help_shows_both_spellings(capsys):
    rc, out, err = run_main(["stylize", "--help"], capsys)
    assert rc == 0
    for flag in ("--image-size", "--image_size", "--style-layer-weights", "--print-iter", "--save-iter", "--json"):
        assert flag in out, flag
