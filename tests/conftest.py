"""Shared pytest fixtures: paths to the example images.

The core tests use the two photographs shipped in the repository's
``examples/`` folder, so they never skip. Images from the workspace's
``shared/images`` folder (outside the repository) are optional extras: their
fixtures skip the test when that folder is not there.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    """The repository's ``examples/`` folder."""
    return REPO_ROOT / "examples"


@pytest.fixture(scope="session")
def shared_images() -> Path:
    """``shared/images`` next to the repository (may not exist)."""
    return Path(__file__).resolve().parents[2] / "shared" / "images"


def _existing(path: Path) -> Path:
    if not path.is_file():
        pytest.fail(f"expected image missing from the repository: {path}")
    return path


def _shared(shared_images: Path, *parts: str) -> Path:
    path = shared_images.joinpath(*parts)
    if not path.is_file():
        pytest.skip(f"shared image not available: {path}")
    return path


@pytest.fixture(scope="session")
def shared_file(shared_images: Path):
    """``shared_file(*parts)``: the path of a file under ``shared/images``; skips the test when it is absent."""
    return lambda *parts: _shared(shared_images, *parts)


@pytest.fixture(scope="session")
def content_path(examples_dir: Path) -> Path:
    """A photograph (Tübingen, 1024x768) from the repository."""
    return _existing(examples_dir / "tubingen.jpg")


@pytest.fixture(scope="session")
def style_path(examples_dir: Path) -> Path:
    """A painting (Van Gogh's The Starry Night, 1024x640) from the repository."""
    return _existing(examples_dir / "starry_night.jpg")


@pytest.fixture(scope="session")
def golden_gate(shared_images: Path) -> Path:
    """A second content photograph from ``shared/images``; skips when absent."""
    return _shared(shared_images, "content", "golden_gate.jpg")


@pytest.fixture(scope="session")
def the_scream(shared_images: Path) -> Path:
    """A second style painting from ``shared/images``; skips when absent."""
    return _shared(shared_images, "style", "the_scream.jpg")


@pytest.fixture(scope="module")
def one_thread():
    """For tests of tiny networks: one thread is faster than several, and much faster on a busy machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture()
def tiny_fast_config(examples_dir: Path, style_path: Path):
    """Makes a FastTrainConfig small enough for a test: 32 px crops of the Tübingen photo, a 4-channel net,
    two VGG blocks, on the CPU in fp32; keywords add or change fields."""
    from impasto.feedforward.train import FastTrainConfig

    def make(**fields):
        base = dict(
            style=str(style_path),
            data=str(examples_dir),
            exclude=("starry_night.jpg",),
            crop=32,
            load_size=64,
            style_size=64,
            width=4,
            blocks=1,
            kernel=3,
            style_layers=("relu1_2", "relu2_2"),
            lr=1e-2,
            precision="fp32",
            device="cpu",
        )
        return FastTrainConfig(**{**base, **fields})

    return make
