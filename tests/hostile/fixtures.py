"""Files the hostile cases start from: good and bad images, folders, models and checkpoints.

Each maker writes one named thing into a case's temporary folder. A case names the files it
needs (:attr:`Case.files`); names that appear in its argv are prepared too. Add a file by adding
a maker to :data:`MAKERS`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[2]


def _rgb(path: Path, size: tuple[int, int] = (64, 48), seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)


def _png(size: tuple[int, int], seed: int = 0) -> Callable[[Path], None]:
    return lambda path: _rgb(path, size, seed)


def _truncated(fmt: str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        _rgb(path, (64, 48))
        Image.open(path).convert("RGB").save(path, fmt)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])

    return make


def _bytes(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


def _folder(*names: str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        path.mkdir()
        for i, name in enumerate(names):
            if name.endswith(".png"):
                _rgb(path / name, (40, 32), seed=i + 1)
            else:
                (path / name).write_text("not an image\n")

    return make


def _bomb(path: Path) -> None:
    """A 1-bit PNG of 12000x12000 = 144 M pixels (over the 100 M limit) in a few kB."""
    Image.new("1", (12000, 12000)).save(path, optimize=True)


def _animated(path: Path) -> None:
    frames = [Image.new("RGB", (32, 32), c) for c in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)


def _black_mask(path: Path) -> None:
    Image.new("L", (64, 48), 0).save(path)


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _symlink(target: str) -> Callable[[Path], None]:
    return lambda path: path.symlink_to(target)


def _hardlink(target: str) -> Callable[[Path], None]:
    return lambda path: os.link(path.parent / target, path)


def _shipped(name: str) -> Callable[[Path], None]:
    return lambda path: shutil.copyfile(REPO / "src" / "impasto" / "models" / name, path)


def _generator(in_channels: int, out_channels: int) -> Callable[[Path], None]:
    """A foreign (pytorch-CycleGAN-style) generator state dict with odd channel counts."""

    def make(path: Path) -> None:
        import torch

        from impasto.nets.cyclegan import ResnetGenerator, _reference_index

        net = ResnetGenerator(in_channels, out_channels, ngf=4, n_blocks=1)
        ours_to_ref = {ours: pos for pos, ours in _reference_index(1).items()}
        state = {}
        for key, value in net.state_dict().items():
            parts = key.split(".")
            if parts[0] == "blocks":  # blocks.J.body.K.p -> model.(10+J).conv_block.K.p
                state[f"model.{10 + int(parts[1])}.conv_block.{parts[3]}.{parts[4]}"] = value
            else:
                state[f"model.{ours_to_ref['.'.join(parts[:-1])]}.{parts[-1]}"] = value
        torch.save(state, path)

    return make


def _clip(path: Path) -> None:
    """A 6-frame 32x24 H.264 clip without sound (PyAV, the [video] extra)."""
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 24, "yuv420p"
        for i in range(6):
            frame = np.full((24, 32, 3), 40 * i, np.uint8)
            frame[8:16, 4 + 3 * i : 12 + 3 * i] = (250, 240, 30)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def _study(path: Path) -> None:
    """A studio data folder whose job database is not a database."""
    path.mkdir()
    (path / "studio.db").write_bytes(b"this is not an SQLite database\n" * 4)


MAKERS: dict[str, Callable[[Path], None]] = {
    "c.png": _png((64, 48), 1),  # content
    "s.png": _png((48, 48), 2),  # style
    "r.png": _png((64, 48), 3),  # a result to evaluate
    "wide.png": _png((96, 24), 4),  # another aspect ratio
    "small24.png": _png((24, 18), 5),  # a 24 px result
    "tiny.png": _png((1, 1), 6),  # 1x1
    "thin.png": _png((200, 8), 7),  # 8 px high
    "empty.png": _bytes(b""),
    "empty.jpg": _bytes(b""),
    "trunc.png": _truncated("PNG"),
    "trunc.jpg": _truncated("JPEG"),
    "text.jpg": _bytes(b"this is a text file, not a JPEG\n"),
    "text.png": _bytes(b"hello\n"),
    "notes.txt": _bytes(b"notes\n"),
    "text.pt": _bytes(b"this is not a checkpoint\n"),
    "zero.pt": _bytes(b""),
    "bomb.png": _bomb,
    "anim.gif": _animated,
    "black.png": _black_mask,
    "fifo.png": _fifo,
    "adir.jpg": lambda path: path.mkdir(),
    "emptydir": lambda path: path.mkdir(),
    "photos": _folder("p1.png", "p2.png"),
    "photos2": _folder("q1.png", "q2.png"),
    "junkdir": _folder("a.txt", "b.txt"),
    "badonly": _folder("x.png"),  # replaced below by a folder whose one image is corrupt
    "afile": _bytes(b"a plain file\n"),
    "link.png": _symlink("c.png"),
    "hard.png": _hardlink("c.png"),
    "photolink": _symlink("photos"),
    "m.pt": _shipped("starry-night-lite.pt"),
    "g1in.pth": _generator(1, 3),
    "g4out.pth": _generator(3, 4),
    "g.pth": _generator(3, 3),
    "mask.png": lambda path: Image.new("L", (64, 48), 255).save(path),
    "clip.mp4": _clip,
    "notes.mp4": _bytes(b"this is not a video\n"),
    "badstudio": _study,
}


def _noperm(path: Path) -> None:
    _rgb(path, (64, 48))
    path.chmod(0)


def _readonly_dir(path: Path) -> None:
    path.mkdir()
    path.chmod(0o555)


def _badonly(path: Path) -> None:
    path.mkdir()
    (path / "x.png").write_bytes(b"corrupt")


MAKERS["badonly"] = _badonly
MAKERS["noperm.png"] = _noperm
MAKERS["ro"] = _readonly_dir
# makers that read another fixture need it first
DEPENDS = {"link.png": ("c.png",), "hard.png": ("c.png",), "photolink": ("photos",)}


def prepare(root: Path, names: list[str]) -> None:
    """Create the named fixtures (and those they depend on) inside ``root``."""
    done: set[str] = set()

    def make(name: str) -> None:
        if name in done:
            return
        for dep in DEPENDS.get(name, ()):
            make(dep)
        MAKERS[name](root / name)
        done.add(name)

    for name in names:
        make(name)
