"""Tests for impasto.io.image: reading, validating output paths and writing."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageFile

from impasto.errors import ImageReadError, InputError, OutputPathError
from impasto.io import (
    DEFAULT_MAX_PIXELS,
    OUTPUT_FORMATS,
    check_output_path,
    read_image,
    write_image,
)

SHARED_IMAGES = Path(__file__).resolve().parents[2] / "shared" / "images"
TUBINGEN = SHARED_IMAGES / "content" / "tubingen.jpg"
KODAK = SHARED_IMAGES / "kodak" / "kodim01.png"

RED = (255, 0, 0)


def needs(path: Path) -> Path:
    """Skip the test when a shared image is not present."""
    if not path.is_file():
        pytest.skip(f"shared test image missing: {path}")
    return path


def assert_valid(arr: np.ndarray, shape: tuple[int, int]) -> None:
    """Check the read_image contract: float32, C-contiguous, (H, W, 3), in [0, 1]."""
    assert arr.shape == (*shape, 3)
    assert arr.dtype == np.float32
    assert arr.flags["C_CONTIGUOUS"]
    assert np.isfinite(arr).all()
    assert arr.min() >= 0.0 and arr.max() <= 1.0


# --------------------------------------------------------------------------- bad inputs


def _missing(tmp_path: Path) -> Path:
    return tmp_path / "nope.png"


def _directory(tmp_path: Path) -> Path:
    d = tmp_path / "folder.png"
    d.mkdir()
    return d


def _empty(tmp_path: Path) -> Path:
    p = tmp_path / "empty.jpg"
    p.write_bytes(b"")
    return p


def _text_as_jpg(tmp_path: Path) -> Path:
    p = tmp_path / "notes.jpg"
    p.write_text("this is not a picture\nat all\n")
    return p


def _truncated_jpeg(tmp_path: Path) -> Path:
    data = needs(TUBINGEN).read_bytes()
    p = tmp_path / "half.jpg"
    p.write_bytes(data[: len(data) // 2])
    return p


def _png_bytes(size: tuple[int, int] = (64, 64)) -> bytes:
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (*size[::-1], 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def _corrupt_png(tmp_path: Path) -> Path:
    data = bytearray(_png_bytes())
    start = data.index(b"IDAT") + 8
    for i in range(start, start + 200):
        data[i] ^= 0x5A
    p = tmp_path / "corrupt.png"
    p.write_bytes(bytes(data))
    return p


def _truncated_png(tmp_path: Path) -> Path:
    data = _png_bytes()
    p = tmp_path / "cut.png"
    p.write_bytes(data[: len(data) // 2])
    return p


@pytest.mark.parametrize(
    "make",
    [_missing, _directory, _empty, _text_as_jpg, _truncated_jpeg, _corrupt_png, _truncated_png],
    ids=lambda f: f.__name__.strip("_"),
)
def test_unreadable_inputs_raise_one_line_image_read_error(tmp_path: Path, make) -> None:
    path = make(tmp_path)
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    message = str(info.value)
    assert str(path) in message
    assert "\n" not in message and "\r" not in message
    assert isinstance(info.value, InputError)


def test_truncated_jpeg_is_not_loaded_partially(tmp_path: Path) -> None:
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    with pytest.raises(ImageReadError, match="truncated"):
        read_image(_truncated_jpeg(tmp_path))
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_accepts_str_path(tmp_path: Path) -> None:
    p = tmp_path / "a.png"
    Image.new("RGB", (3, 2), RED).save(p)
    assert_valid(read_image(str(p)), (2, 3))


# --------------------------------------------------------------------------- real photos


def test_reads_real_jpeg_photo() -> None:
    arr = read_image(needs(TUBINGEN))
    with Image.open(TUBINGEN) as im:
        width, height = im.size
    assert_valid(arr, (height, width))
    assert 0.1 < float(arr.mean()) < 0.9
    assert float(arr.std()) > 0.05


def test_reads_real_png_photo() -> None:
    arr = read_image(needs(KODAK))
    with Image.open(KODAK) as im:
        expected = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
    assert_valid(arr, expected.shape[:2])
    np.testing.assert_allclose(arr, expected, atol=1e-6)


# --------------------------------------------------------------------------- decompression bombs


def test_max_pixels_checked_from_header_before_decoding(tmp_path: Path, monkeypatch) -> None:
    p = tmp_path / "big.png"
    Image.new("RGB", (200, 200), RED).save(p)
    calls: list[bool] = []
    original_load = ImageFile.ImageFile.load

    def spy_load(self):
        calls.append(True)
        return original_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy_load)
    with pytest.raises(ImageReadError, match="200x200") as info:
        read_image(p, max_pixels=1000)
    assert str(p) in str(info.value)
    assert calls == []
    assert_valid(read_image(p, max_pixels=200 * 200), (200, 200))


def test_pillow_decompression_bomb_error_maps_to_image_read_error(tmp_path: Path, monkeypatch) -> None:
    p = tmp_path / "big.png"
    Image.new("RGB", (200, 200), RED).save(p)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(ImageReadError, match="decompression bomb"):
        read_image(p)


def test_pillow_bomb_warning_defers_to_max_pixels(tmp_path: Path, monkeypatch) -> None:
    p = tmp_path / "big.png"
    Image.new("RGB", (200, 200), RED).save(p)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 30_000)  # 40_000 px: warning range
    before = Image.MAX_IMAGE_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_valid(read_image(p), (200, 200))
        with pytest.raises(ImageReadError):
            read_image(p, max_pixels=39_999)
    assert Image.MAX_IMAGE_PIXELS == before


def test_default_max_pixels_and_validation(tmp_path: Path) -> None:
    assert DEFAULT_MAX_PIXELS == 100_000_000
    p = tmp_path / "a.png"
    Image.new("RGB", (2, 2)).save(p)
    with pytest.raises(ValueError):
        read_image(p, max_pixels=0)


# --------------------------------------------------------------------------- animation


def _two_frames() -> list[Image.Image]:
    return [Image.new("RGB", (8, 8), RED), Image.new("RGB", (8, 8), (0, 0, 255))]


@pytest.mark.parametrize("name", ["anim.gif", "anim.png", "anim.webp"])
def test_animated_images_are_refused(tmp_path: Path, name: str) -> None:
    p = tmp_path / name
    first, second = _two_frames()
    first.save(p, save_all=True, append_images=[second], duration=100, loop=0)
    with Image.open(p) as im:
        assert getattr(im, "n_frames", 1) == 2
    with pytest.raises(ImageReadError, match="2 frames.*extract a single frame") as info:
        read_image(p)
    assert str(p) in str(info.value)


def test_multi_page_tiff_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "pages.tif"
    first, second = _two_frames()
    first.save(p, save_all=True, append_images=[second])
    with pytest.raises(ImageReadError, match="multi-page"):
        read_image(p)


def test_mpo_camera_jpeg_reads_first_frame(tmp_path: Path) -> None:
    # Many phone cameras write MPO files (a JPEG plus preview frames) as .jpg.
    p = tmp_path / "camera.jpg"
    first, second = _two_frames()
    first.save(p, format="MPO", save_all=True, append_images=[second])
    with Image.open(p) as im:
        assert im.format == "MPO" and im.n_frames == 2
    arr = read_image(p)
    assert_valid(arr, (8, 8))
    np.testing.assert_allclose(arr[4, 4], [1.0, 0.0, 0.0], atol=0.03)


def test_single_frame_gif_is_accepted(tmp_path: Path) -> None:
    p = tmp_path / "still.gif"
    Image.new("RGB", (8, 6), RED).save(p)
    arr = read_image(p)
    assert_valid(arr, (6, 8))
    np.testing.assert_allclose(arr[0, 0], [1.0, 0.0, 0.0], atol=1e-6)


# --------------------------------------------------------------------------- EXIF orientation


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    # Stored 40 wide x 20 high with a red top-left corner; orientation 6 means
    # "rotate 90 degrees clockwise to display", so the displayed image is
    # 20 wide x 40 high and the stored top-left corner ends up top-right.
    stored = Image.new("RGB", (40, 20), (0, 0, 0))
    stored.paste(RED, (0, 0, 5, 5))
    exif = Image.Exif()
    exif[0x0112] = 6
    p = tmp_path / "rotated.png"
    stored.save(p, exif=exif.tobytes())
    arr = read_image(p)
    assert_valid(arr, (40, 20))
    np.testing.assert_allclose(arr[0, -1], [1.0, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(arr[0, 0], [0.0, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(arr[-1, -1], [0.0, 0.0, 0.0], atol=1e-6)


def test_broken_exif_does_not_stop_reading(tmp_path: Path) -> None:
    p = tmp_path / "badexif.jpg"
    Image.new("RGB", (4, 4), RED).save(p, exif=b"Exif\x00\x00garbage-not-tiff")
    assert_valid(read_image(p), (4, 4))


# --------------------------------------------------------------------------- modes


def _save(tmp_path: Path, im: Image.Image, name: str, **kw) -> Path:
    p = tmp_path / name
    im.save(p, **kw)
    return p


def test_mode_rgb(tmp_path: Path) -> None:
    arr = read_image(_save(tmp_path, Image.new("RGB", (5, 3), (255, 128, 0)), "rgb.png"))
    assert_valid(arr, (3, 5))
    np.testing.assert_allclose(arr[1, 2], [1.0, 128 / 255, 0.0], atol=1e-6)


def test_mode_l(tmp_path: Path) -> None:
    arr = read_image(_save(tmp_path, Image.new("L", (5, 3), 51), "l.png"))
    assert_valid(arr, (3, 5))
    np.testing.assert_allclose(arr, 0.2, atol=1e-6)


def test_mode_1(tmp_path: Path) -> None:
    im = Image.new("1", (6, 4), 0)
    im.putpixel((1, 2), 1)
    arr = read_image(_save(tmp_path, im, "bits.png"))
    assert_valid(arr, (4, 6))
    np.testing.assert_allclose(arr[2, 1], [1.0, 1.0, 1.0])
    np.testing.assert_allclose(arr[0, 0], [0.0, 0.0, 0.0])


def test_mode_p(tmp_path: Path) -> None:
    im = Image.new("P", (4, 4), 1)
    im.putpalette([0, 0, 0, 0, 255, 0] + [0] * (256 * 3 - 6))
    arr = read_image(_save(tmp_path, im, "pal.png"))
    assert_valid(arr, (4, 4))
    np.testing.assert_allclose(arr[0, 0], [0.0, 1.0, 0.0])


def test_mode_p_with_transparency_composites_on_white(tmp_path: Path) -> None:
    im = Image.new("P", (4, 4), 1)
    im.putpalette([255, 0, 0, 0, 0, 255] + [0] * (256 * 3 - 6))
    im.putpixel((0, 0), 0)
    p = _save(tmp_path, im, "pal_t.png", transparency=1)
    with Image.open(p) as check:
        assert check.mode == "P" and "transparency" in check.info
    arr = read_image(p)
    assert_valid(arr, (4, 4))
    np.testing.assert_allclose(arr[0, 0], [1.0, 0.0, 0.0])  # opaque red stays red
    np.testing.assert_allclose(arr[3, 3], [1.0, 1.0, 1.0])  # transparent blue -> white


def test_rgba_alpha_policy(tmp_path: Path) -> None:
    im = Image.new("RGBA", (3, 1))
    im.putpixel((0, 0), (255, 0, 0, 0))  # fully transparent red
    im.putpixel((1, 0), (255, 0, 0, 255))  # opaque red
    im.putpixel((2, 0), (0, 0, 0, 128))  # half-transparent black
    arr = read_image(_save(tmp_path, im, "rgba.png"))
    assert_valid(arr, (1, 3))
    np.testing.assert_allclose(arr[0, 0], [1.0, 1.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(arr[0, 1], [1.0, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(arr[0, 2], [1 - 128 / 255] * 3, atol=1e-6)
    assert abs(float(arr[0, 2, 0]) - 0.5) < 0.01


def test_la_alpha_policy(tmp_path: Path) -> None:
    im = Image.new("LA", (2, 1))
    im.putpixel((0, 0), (0, 128))
    im.putpixel((1, 0), (0, 255))
    arr = read_image(_save(tmp_path, im, "la.png"))
    assert_valid(arr, (1, 2))
    np.testing.assert_allclose(arr[0, 0], [1 - 128 / 255] * 3, atol=1e-6)
    np.testing.assert_allclose(arr[0, 1], [0.0, 0.0, 0.0], atol=1e-6)


def test_rgb_with_transparent_colour_key(tmp_path: Path) -> None:
    im = Image.new("RGB", (2, 1), (0, 0, 0))
    im.putpixel((1, 0), RED)
    arr = read_image(_save(tmp_path, im, "key.png", transparency=(0, 0, 0)))
    np.testing.assert_allclose(arr[0, 0], [1.0, 1.0, 1.0])
    np.testing.assert_allclose(arr[0, 1], [1.0, 0.0, 0.0])


@pytest.mark.parametrize("name", ["cmyk.jpg", "cmyk.tif"])
def test_mode_cmyk(tmp_path: Path, name: str) -> None:
    p = _save(tmp_path, Image.new("CMYK", (8, 8), (0, 255, 255, 0)), name)
    with Image.open(p) as check:
        assert check.mode == "CMYK"
    arr = read_image(p)
    assert_valid(arr, (8, 8))
    np.testing.assert_allclose(arr[4, 4], [1.0, 0.0, 0.0], atol=0.03)


def test_cmyk_with_unusable_icc_profile_falls_back(tmp_path: Path) -> None:
    p = _save(
        tmp_path,
        Image.new("CMYK", (4, 4), (0, 255, 255, 0)),
        "cmyk_icc.tif",
        icc_profile=b"not a real profile" * 10,
    )
    arr = read_image(p)
    assert_valid(arr, (4, 4))
    np.testing.assert_allclose(arr[0, 0], [1.0, 0.0, 0.0], atol=0.03)


def test_rgb_with_srgb_profile_is_unchanged(tmp_path: Path) -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (6, 7, 3), dtype=np.uint8)
    p = _save(tmp_path, Image.fromarray(pixels), "srgb.png", icc_profile=srgb)
    np.testing.assert_allclose(read_image(p), pixels / 255.0, atol=1e-6)


def test_rgb_with_broken_profile_still_reads(tmp_path: Path) -> None:
    p = _save(tmp_path, Image.new("RGB", (3, 3), RED), "bad_icc.png", icc_profile=b"junk" * 40)
    np.testing.assert_allclose(read_image(p)[0, 0], [1.0, 0.0, 0.0])


def test_rgb_with_other_profile_is_converted_to_srgb(tmp_path: Path, monkeypatch) -> None:
    # No non-sRGB RGB profile ships with LittleCMS, so pretend the embedded
    # profile is Adobe RGB and check that the conversion is applied.
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    p = _save(tmp_path, Image.new("RGB", (3, 3), RED), "adobe.png", icc_profile=srgb)
    seen: list[str] = []

    def fake_convert(im, source, target, outputMode="RGB", **kw):
        seen.append(outputMode)
        return Image.new(outputMode, im.size, (0, 0, 255))

    monkeypatch.setattr(ImageCms, "getProfileDescription", lambda _p: "Adobe RGB (1998)")
    monkeypatch.setattr(ImageCms, "profileToProfile", fake_convert)
    arr = read_image(p)
    assert seen == ["RGB"]
    np.testing.assert_allclose(arr[0, 0], [0.0, 0.0, 1.0])


def test_16bit_greyscale_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    values = np.array([[65535, 32768, 1000, 0]], dtype=np.uint16)
    p = tmp_path / "grey16.png"
    Image.fromarray(values).save(p)
    with Image.open(p) as check:
        assert check.mode in ("I;16", "I")
    arr = read_image(p)
    assert_valid(arr, (1, 4))
    np.testing.assert_allclose(arr[0, :, 0], [1.0, 32768 / 65535, 1000 / 65535, 0.0], atol=1e-6)
    assert abs(float(arr[0, 1, 0]) - 0.5) < 1e-4
    assert abs(float(arr[0, 2, 0]) - 0.0153) < 1e-4
    assert (arr[..., 0] == arr[..., 1]).all() and (arr[..., 1] == arr[..., 2]).all()


@pytest.mark.parametrize(
    "values, mode, channel, expected",
    [  # mode I (32-bit integers) is scaled from 16 bits and clipped; mode F (floats) is clipped, NaN -> 0
        ([-5, 0, 32768, 65535, 200_000], "I", 1, [0.0, 0.0, 32768 / 65535, 1.0, 1.0]),
        ([-0.5, 0.25, 0.75, 3.0, np.nan], "F", 2, [0.0, 0.25, 0.75, 1.0, 0.0]),
    ],
    ids=["mode-i-scaled-and-clipped", "mode-f-clipped"],
)
def test_32_bit_modes(tmp_path: Path, values: list[float], mode: str, channel: int, expected: list[float]) -> None:
    p = tmp_path / f"{mode}.tif"
    Image.fromarray(np.array([values], dtype=np.int32 if mode == "I" else np.float32)).save(p)
    with Image.open(p) as check:
        assert check.mode == mode
    arr = read_image(p)
    assert_valid(arr, (1, 5))
    np.testing.assert_allclose(arr[0, :, channel], expected, atol=1e-6)


# --------------------------------------------------------------------------- output paths


@pytest.mark.parametrize("name", ["out.gif", "out.xyz", "out", "out.png.bak"])
def test_unsupported_extension(tmp_path: Path, name: str) -> None:
    with pytest.raises(OutputPathError) as info:
        check_output_path(tmp_path / name)
    message = str(info.value)
    assert "\n" not in message
    for ext in OUTPUT_FORMATS:
        assert ext in message


def test_output_formats_table() -> None:
    assert set(OUTPUT_FORMATS) == {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp"}
    assert OUTPUT_FORMATS[".jpg"] == OUTPUT_FORMATS[".jpeg"] == "JPEG"


def test_missing_parent_folder(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "out.png"
    with pytest.raises(OutputPathError, match="does not exist"):
        check_output_path(target)
    assert not (tmp_path / "no").exists()


def test_existing_directory(tmp_path: Path) -> None:
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(OutputPathError, match="directory"):
        check_output_path(tmp_path / "dir.png")


def test_unwritable_parent(tmp_path: Path, monkeypatch) -> None:
    # Tests may run as root, where chmod does not stop writes; simulate it.
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)
    with pytest.raises(OutputPathError, match="not writable"):
        check_output_path(tmp_path / "out.png")


def test_check_output_path_returns_path_and_creates_nothing(tmp_path: Path) -> None:
    result = check_output_path(str(tmp_path / "Out.JPEG"))
    assert isinstance(result, Path) and result == tmp_path / "Out.JPEG"
    assert list(tmp_path.iterdir()) == []


def test_check_output_path_relative(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert check_output_path("out.png") == Path("out.png")


# --------------------------------------------------------------------------- writing


def _random_image(h: int = 17, w: int = 23, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((h, w, 3), dtype=np.float32)


def test_png_round_trip_is_exact_to_half_a_level(tmp_path: Path) -> None:
    image = _random_image()
    out = write_image(tmp_path / "rt.png", image)
    assert out == tmp_path / "rt.png"
    back = read_image(out)
    assert back.shape == image.shape
    assert float(np.abs(back - image).max()) <= 0.5 / 255 + 1e-6


@pytest.mark.parametrize("ext", sorted(OUTPUT_FORMATS))
def test_every_format_writes_and_reads_back(tmp_path: Path, ext: str) -> None:
    image = np.zeros((12, 16, 3), dtype=np.float32)
    image[:, :8] = [1.0, 0.0, 0.0]
    image[:, 8:] = [0.0, 0.0, 1.0]
    out = write_image(tmp_path / f"img{ext.upper()}", image)
    with Image.open(out) as im:
        assert im.format == OUTPUT_FORMATS[ext]
        assert im.mode == "RGB"
    back = read_image(out)
    assert back.shape == image.shape
    np.testing.assert_allclose(back[6, 2], image[6, 2], atol=0.08)
    np.testing.assert_allclose(back[6, 13], image[6, 13], atol=0.08)


def test_png_metadata_round_trips_as_text_chunks(tmp_path: Path) -> None:
    meta = {"impasto:style": "starry.jpg", "impasto:steps": "500", "note": "ünïcode ✓"}
    out = write_image(tmp_path / "meta.png", _random_image(), metadata=meta)
    with Image.open(out) as im:
        im.load()
        assert {k: im.text[k] for k in meta} == meta


@pytest.mark.parametrize("ext", [".jpg", ".webp"])
def test_jpeg_webp_metadata_in_exif_description(tmp_path: Path, ext: str) -> None:
    meta = {"style": "wave.jpg", "weight": "1e5"}
    out = write_image(tmp_path / f"meta{ext}", _random_image(), metadata=meta)
    with Image.open(out) as im:
        assert json.loads(im.getexif()[0x010E]) == meta


def test_tiff_metadata_in_description(tmp_path: Path) -> None:
    meta = {"style": "wave.jpg"}
    out = write_image(tmp_path / "meta.tif", _random_image(), metadata=meta)
    with Image.open(out) as im:
        assert json.loads(im.tag_v2[270]) == meta


def test_bmp_ignores_metadata(tmp_path: Path) -> None:
    out = write_image(tmp_path / "m.bmp", _random_image(), metadata={"a": "b"})
    assert read_image(out).shape == (17, 23, 3)


def test_jpeg_quality(tmp_path: Path) -> None:
    image = _random_image(64, 64)
    low = write_image(tmp_path / "low.jpg", image, quality=10)
    high = write_image(tmp_path / "high.jpg", image, quality=95)
    assert low.stat().st_size < high.stat().st_size
    for bad in (0, 101):
        with pytest.raises(ValueError):
            write_image(tmp_path / "bad.jpg", image, quality=bad)


def test_values_clipped_rounded_and_nan_is_zero(tmp_path: Path) -> None:
    image = np.array([[[-1.0, 2.0, np.nan], [0.5, 0.2, 1.0], [np.inf, -np.inf, 0.001]]], dtype=np.float64)
    out = write_image(tmp_path / "clip.png", image)
    with Image.open(out) as im:
        pixels = np.asarray(im)
    np.testing.assert_array_equal(pixels[0, 0], [0, 255, 0])
    np.testing.assert_array_equal(pixels[0, 1], [128, 51, 255])
    np.testing.assert_array_equal(pixels[0, 2], [255, 0, 0])


@pytest.mark.parametrize("shape", [(4, 4), (4, 4, 4), (4, 4, 1), (3, 4, 4, 3), (0, 4, 3), (4, 0, 3)])
def test_wrong_shapes_raise_value_error(tmp_path: Path, shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="shape"):
        write_image(tmp_path / "bad.png", np.zeros(shape, dtype=np.float32))
    assert list(tmp_path.iterdir()) == []


def test_integer_arrays_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="float"):
        write_image(tmp_path / "bad.png", np.zeros((4, 4, 3), dtype=np.uint8))


def test_write_checks_output_path_first(tmp_path: Path) -> None:
    with pytest.raises(OutputPathError):
        write_image(tmp_path / "out.gif", _random_image())
    with pytest.raises(OutputPathError):
        write_image(tmp_path / "missing" / "out.png", _random_image())


def test_overwrites_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"old")
    write_image(target, _random_image())
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


@pytest.mark.parametrize("error", [RuntimeError("boom"), OSError(28, "No space left on device")])
def test_failed_write_leaves_existing_file_untouched(tmp_path: Path, monkeypatch, error: Exception) -> None:
    target = tmp_path / "out.png"
    old = write_image(target, _random_image(seed=1)).read_bytes()

    def failing_save(self, fp, *args, **kwargs):
        fp.write(b"\x89PNG partial data")
        raise error

    monkeypatch.setattr(Image.Image, "save", failing_save)
    expected = OutputPathError if isinstance(error, OSError) else RuntimeError
    with pytest.raises(expected):
        write_image(target, _random_image(seed=2))
    assert target.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]
    assert not list(tmp_path.glob("*.partial"))


def test_failed_first_write_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    def failing_save(self, fp, *args, **kwargs):
        fp.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(Image.Image, "save", failing_save)
    with pytest.raises(KeyboardInterrupt):
        write_image(tmp_path / "new.png", _random_image())
    assert list(tmp_path.iterdir()) == []


def test_unwritable_temp_file_is_output_path_error(tmp_path: Path, monkeypatch) -> None:
    import impasto.io.atomic as atomic_module

    def refuse(parent: Path, name: str, suffix: str = ""):
        raise PermissionError(13, "Permission denied", str(parent / name))

    monkeypatch.setattr(atomic_module, "_open_temp", refuse)
    with pytest.raises(OutputPathError, match="Permission denied"):
        write_image(tmp_path / "out.png", _random_image())
    assert list(tmp_path.iterdir()) == []


def test_unreadable_file_permission_message(tmp_path: Path, monkeypatch) -> None:
    p = tmp_path / "secret.png"
    Image.new("RGB", (2, 2)).save(p)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Image, "open", refuse)
    with pytest.raises(ImageReadError, match="permission denied") as info:
        read_image(p)
    assert str(p) in str(info.value)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_written_file_mode_honours_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        out = write_image(tmp_path / "perm.png", _random_image())
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o644


# --------------------------------------------------------------------------- import cost


def test_import_does_not_load_torch() -> None:
    src = Path(__file__).resolve().parents[1] / "src"
    code = "import sys, impasto.io; assert 'torch' not in sys.modules, 'torch imported'"
    paths = [str(src), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
