"""Video: reading/writing with timing, audio and rotation kept; flow and reliability; the stabiliser;
the warping error; stylize_video with resume; the CLI's one-line errors. Clips are made here with
PyAV (tiny, a second or two), so nothing depends on files outside the repository."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

av = pytest.importorskip("av")
pytest.importorskip("cv2")

from impasto.cli import main  # noqa: E402
from impasto.errors import InputError, ResumeError  # noqa: E402
from impasto.video.flow import FlowEstimator, flow_pair, reliable_weights, warp  # noqa: E402
from impasto.video.io import VideoWriter, probe, read_frames  # noqa: E402
from impasto.video.metrics import WarpingError, evaluate_video, pair_warping_error  # noqa: E402
from impasto.video.pipeline import stylize_video  # noqa: E402
from impasto.video.stabilize import Stabilizer, blend  # noqa: E402


def scene(i: int, w: int, h: int) -> np.ndarray:
    """A textured background with a bright square moving 2 px right per frame (uint8 RGB)."""
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([(xx * 7 + yy * 3) % 256, (xx * 2 + yy * 11) % 256, ((xx // 4 + yy // 4) % 2) * 200], -1)
    x0 = 4 + 2 * i
    img[h // 4 : h // 4 + h // 3, x0 : x0 + w // 4] = (250, 240, 30)
    return img.astype(np.uint8)


def make_clip(
    path: Path,
    *,
    frames: int = 12,
    size: tuple[int, int] = (64, 48),
    rate: int = 10,
    audio: bool = True,
    pts: list[int] | None = None,
    rotation: int = 0,
) -> Path:
    """An H.264 clip (time base 1/rate/100, so pts may vary), optionally with an AAC sine and rotation."""
    w, h = size
    tb = Fraction(1, rate * 100)
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=rate)
        v.width, v.height, v.pix_fmt = w, h, "yuv444p" if w % 2 or h % 2 else "yuv420p"
        v.time_base = tb
        v.codec_context.time_base = tb
        if rotation:
            v.set_display_rotation(rotation)
        a = out.add_stream("aac", rate=16000) if audio else None
        if a is not None:
            a.layout = "mono"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(scene(i, w, h), format="rgb24")
            frame.pts, frame.time_base = (pts[i] if pts else i * 100), tb
            for p in v.encode(frame):
                out.mux(p)
        for p in v.encode():
            out.mux(p)
        if a is not None:
            n = int(16000 * frames / rate)
            t = np.arange(n) / 16000
            samples = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
            for start in range(0, n, 1024):
                f = av.AudioFrame.from_ndarray(samples[:, start : start + 1024].copy(), format="fltp", layout="mono")
                f.sample_rate, f.pts = 16000, start
                for p in a.encode(f):
                    out.mux(p)
            for p in a.encode():
                out.mux(p)
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.mp4")


def assert_same_timing(out: Path, src: Path) -> None:
    a, b = probe(src), probe(out)
    assert b.frames == a.frames
    assert b.rate == a.rate
    assert abs(b.duration - a.duration) <= 1 / float(a.rate) + 1e-6
    assert (b.audio is not None) == (a.audio is not None)


# ---------------------------------------------------------------- io


def test_probe_describes_the_clip(clip: Path) -> None:
    info = probe(clip)
    assert (info.width, info.height, info.frames, info.rate) == (64, 48, 12, Fraction(10))
    assert info.audio == "aac" and info.rotation == 0
    assert info.duration == pytest.approx(1.2, abs=0.1)


def test_writer_keeps_variable_pts_rotation_audio_and_odd_size(tmp_path: Path) -> None:
    pts = [0, 100, 200, 450, 500, 900, 1000, 1100]  # irregular gaps: variable frame rate
    src = make_clip(tmp_path / "vfr.mp4", frames=len(pts), size=(65, 47), pts=pts, rotation=90)
    info = probe(src)
    assert info.rotation == 90
    out = tmp_path / "copy.mp4"
    with VideoWriter(out, info, (65, 47)) as writer:
        for f in read_frames(info):
            writer.write(f.rgb, f.pts, f.duration)
    copy = probe(out)
    assert (copy.width, copy.height, copy.rotation, copy.audio) == (65, 47, 90, "aac")
    times = [f.pts * info.time_base for f in read_frames(info)]
    assert times == [Fraction(p, 1000) for p in pts]  # the source really is variable-rate
    assert [f.pts * copy.time_base for f in read_frames(copy)] == times
    assert_same_timing(out, src)


def test_writer_leaves_nothing_when_interrupted(tmp_path: Path, clip: Path) -> None:
    info = probe(clip)
    out = tmp_path / "out.mp4"
    with pytest.raises(KeyboardInterrupt):
        with VideoWriter(out, info, (64, 48)) as writer:
            for f in read_frames(info):
                writer.write(f.rgb, f.pts)
                raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- flow, stabiliser, metric


def test_warp_and_flow_recover_a_shift() -> None:
    import cv2

    texture = cv2.GaussianBlur(np.random.default_rng(0).random((64, 96)).astype(np.float32), (0, 0), 2)
    texture = (255 * (texture - texture.min()) / np.ptp(texture)).astype(np.uint8)
    previous, current = texture[:, 4:68], texture[:, 2:66]  # the view pans: content moves 2 px right
    pair = flow_pair(FlowEstimator("medium"), previous, current)
    inner = (slice(8, -8), slice(8, -8))
    assert np.median(pair.backward[inner][..., 0]) == pytest.approx(-2.0, abs=0.3)
    assert pair.weights[inner].mean() > 0.8
    warped = warp(previous.astype(np.float32)[..., None], pair.backward)[..., 0]
    assert np.abs(warped - current)[inner].mean() < 0.25 * np.abs(previous.astype(np.float32) - current)[inner].mean()
    shift = np.zeros((3, 4, 2), np.float32)
    shift[..., 0] = 1
    assert warp(np.arange(12, dtype=np.float32).reshape(3, 4, 1), shift)[0, :, 0].tolist() == [1, 2, 3, 3]


def test_reliable_weights_flag_inconsistent_flow() -> None:
    fwd = np.zeros((20, 20, 2), np.float32)
    bwd = np.zeros((20, 20, 2), np.float32)
    assert reliable_weights(fwd, bwd).min() == 1.0
    fwd[5:10, 5:10, 0] = 5.0  # forward says "moved 5 px", backward says "stayed": disocclusion
    weights = reliable_weights(fwd, bwd)
    assert weights[7, 7] == 0.0 and weights[17, 17] == 1.0


def test_pair_warping_error_is_the_mean_square_over_reliable_pixels() -> None:
    a = np.zeros((4, 4, 3), np.float32)
    b = np.full((4, 4, 3), 0.1, np.float32)
    weights = np.ones((4, 4), np.float32)
    weights[0] = 0
    b[0] = 1.0  # unreliable row: ignored
    assert pair_warping_error(a, b, weights) == pytest.approx(0.01)
    assert np.isnan(pair_warping_error(a, b, np.zeros((4, 4), np.float32)))


def test_blend_and_stabilizer_strength_zero_is_off() -> None:
    s = np.random.default_rng(0).random((8, 8, 3)).astype(np.float32)
    p = np.zeros_like(s)
    assert np.allclose(blend(s, p, np.ones((8, 8)), 0.5), 0.5 * s)
    stab = Stabilizer(0.0)
    assert stab(s, s) is s or np.array_equal(stab(s, s), s)
    with pytest.raises(InputError):
        Stabilizer(1.0)


def test_stabilizer_lowers_the_warping_error_of_flickering_frames() -> None:
    rng = np.random.default_rng(0)
    frames = [scene(i, 64, 48).astype(np.float32) / 255 for i in range(8)]
    noisy = [np.clip(f + rng.normal(0, 0.08, f.shape), 0, 1).astype(np.float32) for f in frames]  # flicker
    raw, steady = WarpingError(), WarpingError()
    stab = Stabilizer(0.8)
    for f, n in zip(frames, noisy):
        raw.add(f, n)
        steady.add(f, stab(f, n))
    assert steady.output < 0.6 * raw.output
    assert raw.input == pytest.approx(steady.input)


def test_warping_error_of_the_input_itself_is_its_floor(clip: Path) -> None:
    ev = evaluate_video(clip, clip)
    assert ev.frames == 12
    assert ev.warping_error == pytest.approx(ev.input_warping_error)
    assert ev.input_warping_error < 0.01


# ---------------------------------------------------------------- temporal objective


def test_temporal_term_is_weighted_mean_square_on_reliable_pixels() -> None:
    torch = pytest.importorskip("torch")
    from impasto.losses.terms import LossTerms
    from impasto.video.temporal import TemporalObjective

    zero = torch.zeros(())
    objective = TemporalObjective(
        lambda x: LossTerms(zero, zero, zero), torch.zeros(1, 3, 2, 2), torch.tensor([[[[1.0, 0.0], [1.0, 1.0]]]]), 2.0
    )
    terms = objective(torch.full((1, 3, 2, 2), 1 / 255))
    # three reliable pixels of four, each (1 grey level)^2, over 12 values, times 2
    assert float(terms.temporal) == pytest.approx(2.0 * 9 / 12)
    assert terms.as_floats()["total"] == pytest.approx(1.5)


# ---------------------------------------------------------------- stylize_video


def test_fast_video_keeps_frames_timing_and_sound(tmp_path: Path, clip: Path) -> None:
    out = tmp_path / "out.mp4"
    events = []
    result = stylize_video(clip, out, model="starry-night-lite", flow_preset="ultrafast", callback=events.append)
    assert_same_timing(out, clip)
    assert result.frames == 12 and [e.step for e in events] == list(range(1, 13))
    assert {"fps", "eta"} <= set(events[-1].losses)
    assert not (tmp_path / "out.mp4.frames").exists()
    first = next(read_frames(probe(out))).rgb.astype(np.float32)
    assert np.abs(first - scene(0, 64, 48)).mean() > 10  # stylised, not copied


def test_resume_continues_and_never_leaves_a_partial_output(tmp_path: Path, clip: Path) -> None:
    out = tmp_path / "out.mp4"

    def stop_at_5(event) -> None:
        if event.step == 5:
            raise KeyboardInterrupt

    opts = {"model": "starry-night-lite", "flow_preset": "ultrafast", "batch_size": 2}
    with pytest.raises(KeyboardInterrupt):
        stylize_video(clip, out, callback=stop_at_5, **opts)
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".out.mp4")]
    work = tmp_path / "out.mp4.frames"
    assert len(list(work.glob("*.npy"))) >= 5
    with pytest.raises(InputError, match="resume"):
        stylize_video(clip, out, **opts)
    with pytest.raises(ResumeError, match="stabilize"):
        stylize_video(clip, out, resume=True, **{**opts, "stabilize": 0.5})
    result = stylize_video(clip, out, resume=True, **opts)
    assert result.resumed >= 5 and result.frames == 12
    assert_same_timing(out, clip)
    assert not work.exists()


@pytest.mark.slow
def test_universal_methods_run_with_given_decoders(tmp_path: Path, clip: Path) -> None:
    pytest.importorskip("impasto.universal.cascade")
    from impasto.nets.decoder import VGGDecoder

    style = np.random.default_rng(0).random((48, 48, 3)).astype(np.float32)
    out = tmp_path / "adain.mp4"
    stylize_video(
        clip,
        out,
        method="adain",
        style=style,
        decoders={"relu1_1": VGGDecoder("relu1_1")},
        flow_preset="ultrafast",
        audio=False,
    )
    info = probe(out)
    assert info.frames == 12 and info.audio is None


@pytest.mark.parametrize(
    ("option", "values", "bad", "message"),
    [
        ("smooth_stats", (0.0, 0.6), 1.0, r"in \[0, 1\)"),
        ("anchor", (0.0, 1.0), 1.5, "anchor must be between 0 and 1"),
    ],
)
def test_wct_adain_options_are_checked_recorded_and_act(
    tmp_path: Path, clip: Path, option: str, values: tuple[float, float], bad: float, message: str
) -> None:
    pytest.importorskip("impasto.universal.cascade")
    from impasto.universal.decoders import load_decoder_set

    with pytest.raises(InputError, match=f"{option} is for wct and adain"):
        stylize_video(clip, tmp_path / "f.mp4", model="starry-night-lite", **{option: 0.5})
    with pytest.raises(InputError, match=message):
        stylize_video(clip, tmp_path / "a.mp4", method="wct", style="starry-night", **{option: bad})
    assert not list(tmp_path.iterdir())
    style = np.random.default_rng(0).random((48, 48, 3)).astype(np.float32)
    decoders = load_decoder_set(["relu4_1", "relu3_1"], None)  # shipped: random ones saturate to 0 or 1
    kw = {"method": "wct", "style": style, "decoders": decoders, "flow_preset": "ultrafast", "audio": False}
    last = []
    for i, value in enumerate(values):
        result = stylize_video(clip, tmp_path / f"{i}.mp4", stabilize=0.0, keep_frames=True, **kw, **{option: value})
        assert result.settings[option] == value and result.frames == 12
        last.append(np.load(sorted((tmp_path / f"{i}.mp4.frames").glob("*.npy"))[-1]).astype(np.float32))
    assert np.abs(last[0] - last[1]).mean() > 1e-3  # the option acted


# ---------------------------------------------------------------- the CLI's bad inputs


def _cli_error(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("impasto: error: ") and "\n" not in err and "Traceback" not in err
    return err


def test_cli_video_writes_the_clip(tmp_path: Path, clip: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o.mkv"
    assert (
        main(
            [
                "video",
                str(clip),
                "-o",
                str(out),
                "--model",
                "starry-night-lite",
                "--flow",
                "ultrafast",
                "--image-size",
                "32",
                "-q",
                "--json",
            ]
        )
        == 0
    )
    info = probe(out)
    assert (info.width, info.height, info.frames) == (32, 24, 12)
    assert main(["evaluate-video", str(clip), str(out), "--json"]) == 0
    assert '"warping_error"' in capsys.readouterr().out


def test_cli_bad_inputs_are_one_line_errors_without_output(
    tmp_path: Path, clip: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.mp4"
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    audio_only = tmp_path / "sound.m4a"
    with av.open(str(audio_only), "w") as c:
        a = c.add_stream("aac", rate=16000)
        a.layout = "mono"
        f = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        f.sample_rate, f.pts = 16000, 0
        for p in [*a.encode(f), *a.encode()]:
            c.mux(p)
    empty = tmp_path / "empty.mkv"  # a video stream without a frame
    with av.open(str(empty), "w") as c:
        s = c.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        c.start_encoding()
    zero_bytes = tmp_path / "zero.mp4"
    zero_bytes.write_bytes(b"")
    cases = {
        "not a video": [str(text), "-o", str(out)],
        "no video stream": [str(audio_only), "-o", str(out)],
        "zero-length": [str(empty), "-o", str(out)],
        "zero bytes": [str(zero_bytes), "-o", str(out)],
        "missing folder": [str(clip), "-o", str(tmp_path / "nowhere" / "out.mp4")],
        "unknown extension": [str(clip), "-o", str(tmp_path / "out.xyz")],
        "codec": [str(clip), "-o", str(out), "--codec", "no-such-codec"],
        "output is input": [str(clip), "-o", str(clip)],
        "missing input": [str(tmp_path / "missing.mp4"), "-o", str(out)],
        "no style": [str(clip), "-o", str(out), "--method", "gatys"],
    }
    before = clip.stat().st_size
    for name, args in cases.items():
        err = _cli_error(["video", *args, "-q"], capsys)
        assert not out.exists(), name
        assert err, name
    assert clip.stat().st_size == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.mkv", "notes.mp4", "sound.m4a", "zero.mp4"]
    assert "no video stream" in _cli_error(["video", str(audio_only), "-o", str(out)], capsys)
    assert "no video frames" in _cli_error(["video", str(empty), "-o", str(out)], capsys)


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True, reason="root can write anywhere")
def test_cli_unwritable_folder(tmp_path: Path, clip: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        assert "not writable" in _cli_error(["video", str(clip), "-o", str(folder / "o.mp4"), "-q"], capsys)
    finally:
        folder.chmod(0o700)


@pytest.mark.slow
def test_gatys_video_with_temporal_loss(tmp_path: Path) -> None:
    from impasto.config import GatysConfig

    src = make_clip(tmp_path / "tiny.mp4", frames=3, size=(48, 32), audio=False)
    style = np.random.default_rng(0).random((32, 32, 3)).astype(np.float32)
    out = tmp_path / "gatys.mp4"
    events = []
    result = stylize_video(
        src,
        out,
        method="gatys",
        style=style,
        config=GatysConfig(steps=4, multiscale="off"),
        later_steps=2,
        flow_preset="ultrafast",
        callback=events.append,
    )
    assert result.frames == 3 and probe(out).frames == 3
    assert [e.step for e in events] == [1, 2, 3]
    with pytest.raises(InputError, match="stabilize"):
        stylize_video(src, tmp_path / "x.mp4", method="gatys", style=style, stabilize=0.5)


def test_a_work_dir_with_other_files_keeps_them(tmp_path: Path, clip: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    stylize_video(clip, tmp_path / "a.mp4", model="starry-night-lite", flow_preset="ultrafast", work_dir=work)
    assert not work.exists()  # created empty by the run: removed with its frames
    work.mkdir()
    (work / "mine.txt").write_text("keep me")
    with pytest.raises(InputError, match="not empty"):  # a folder with other files is not taken over
        stylize_video(clip, tmp_path / "b.mp4", model="starry-night-lite", work_dir=work)
    assert (work / "mine.txt").read_text() == "keep me" and not (tmp_path / "b.mp4").exists()
