"""End to end on the real clips of ../shared/videos (skipped when that folder is absent): the whole
clip through ``impasto video``, checked for frame count, duration, frame rate and sound."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("av")
pytest.importorskip("cv2")

from impasto.cli import main  # noqa: E402
from impasto.video.io import probe  # noqa: E402

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "videos"


def shared_clip(name: str) -> Path:
    path = VIDEOS / name
    if not path.is_file():
        pytest.skip(f"shared clip not available: {path}")
    return path


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "size"),
    [("bigbuckbunny.mp4", "128"), ("carphone_pristine.mp4", None)],  # carphone at its own 176x144
)
def test_real_clip_keeps_frames_duration_rate_and_sound(tmp_path: Path, name: str, size: str | None) -> None:
    src = shared_clip(name)
    out = tmp_path / "out.mp4"
    args = ["video", str(src), "-o", str(out), "--model", "starry-night-lite", "--flow", "ultrafast", "-q"]
    assert main(args + (["--image-size", size] if size else [])) == 0
    a, b = probe(src), probe(out)
    assert b.frames == a.frames
    assert b.rate == a.rate
    assert abs(b.duration - a.duration) <= 1 / float(a.rate)
    assert b.audio == a.audio  # aac copied for Big Buck Bunny, none for carphone
    if size is None:
        assert (b.width, b.height) == (a.width, a.height)
    else:
        assert max(b.width, b.height) == int(size) and b.width % 2 == 0 and b.height % 2 == 0
