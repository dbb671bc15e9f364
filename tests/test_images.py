"""read_image: every kind of upload is generated synthetically in tmp_path."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vae.images import ImageError, ImageLimits, read_image

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def _save(tmp_path: Path, image: Image.Image, name: str, **params) -> Path:
    path = tmp_path / name
    image.save(path, **params)
    return path


def _halves(left: tuple[int, int, int], right: tuple[int, int, int], size=(40, 30)) -> Image.Image:
    """An RGB image whose left and right halves differ, to see where pixels end up."""
    image = Image.new("RGB", size, left)
    image.paste(right, (size[0] // 2, 0, size[0], size[1]))
    return image


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` but holds no pixel data (a decompression bomb stand-in)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def _assert_rgb(array: np.ndarray, shape: tuple[int, int]) -> None:
    assert array.dtype == np.uint8
    assert array.shape == (*shape, 3)


@pytest.mark.parametrize("kind", ["path", "str", "bytes", "pil"])
def test_sources(tmp_path, kind):
    path = _save(tmp_path, _halves(RED, BLUE), "a.png")
    source = {"path": path, "str": str(path), "bytes": path.read_bytes(), "pil": Image.open(path)}[kind]
    rgb = read_image(source)
    _assert_rgb(rgb, (30, 40))
    assert tuple(rgb[0, 0]) == RED and tuple(rgb[0, -1]) == BLUE


def test_exif_orientation_is_applied(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: rotate 90 degrees clockwise to display
    path = _save(tmp_path, _halves(RED, BLUE), "rot.jpg", exif=exif, quality=95)
    rgb = read_image(path)
    _assert_rgb(rgb, (40, 30))
    assert rgb[0, 15, 0] > 200 and rgb[-1, 15, 2] > 200  # the left (red) half is now on top


def test_rgba_is_composited_on_white(tmp_path):
    image = Image.new("RGBA", (8, 8), (255, 0, 0, 0))
    image.paste((255, 0, 0, 255), (0, 0, 4, 8))
    rgb = read_image(_save(tmp_path, image, "a.png"))
    assert tuple(rgb[0, 0]) == RED and tuple(rgb[0, -1]) == (255, 255, 255)


def test_palette_with_transparency(tmp_path):
    image = _halves(RED, BLUE).convert("P", palette=Image.Palette.ADAPTIVE, colors=2)
    blue_index = image.getpixel((39, 0))
    rgb = read_image(_save(tmp_path, image, "a.gif", transparency=blue_index))
    assert tuple(rgb[0, 0]) == RED and tuple(rgb[0, -1]) == (255, 255, 255)


def test_grey_with_alpha(tmp_path):
    image = Image.new("LA", (6, 6), (0, 128))
    rgb = read_image(_save(tmp_path, image, "a.png"))
    assert np.all(np.abs(rgb.astype(int) - 127) <= 1)


@pytest.mark.parametrize(("mode", "left", "right"), [("L", (76,) * 3, (29,) * 3), ("CMYK", RED, BLUE)])
def test_other_modes(tmp_path, mode, left, right):
    """Grey keeps each half's luma (ITU-R 601: red 76, blue 29); CMYK comes back as the same colours."""
    rgb = read_image(_save(tmp_path, _halves(RED, BLUE).convert(mode), "a.tiff"))
    _assert_rgb(rgb, (30, 40))
    assert np.all(rgb[:, :20] == left) and np.all(rgb[:, 20:] == right)


def test_1_bit_images_are_black_and_white_dots_as_bright_as_each_half(tmp_path):
    """Pillow dithers red | blue to 1 bit: the share of white dots is each half's luma (76 and 29 of 255)."""
    rgb = read_image(_save(tmp_path, _halves(RED, BLUE).convert("1"), "a.tiff"))
    _assert_rgb(rgb, (30, 40))
    assert set(np.unique(rgb)) == {0, 255} and np.all(rgb == rgb[..., :1])
    white = rgb[..., 0] == 255
    assert white[:, :20].mean() == pytest.approx(76 / 255, abs=0.05)
    assert white[:, 20:].mean() == pytest.approx(29 / 255, abs=0.05)


def test_16_bit_grey_is_scaled_not_clipped(tmp_path):
    ramp = np.linspace(0, 65535, 64 * 8).reshape(8, 64).astype(np.uint16)
    rgb = read_image(_save(tmp_path, Image.fromarray(ramp), "a.png"))
    assert rgb[0, 0, 0] == 0 and rgb[-1, -1, 0] == 255
    assert 100 < rgb[4, 32, 0] < 155


def test_32_bit_integer_tiff_is_read_as_16_bit(tmp_path):
    image = Image.fromarray(np.full((4, 4), 65535, np.int32))
    assert image.mode == "I"
    assert np.all(read_image(_save(tmp_path, image, "a.tiff")) == 255)


@pytest.mark.parametrize(
    "array",
    [
        np.full((5, 7), 0.5, np.float32),
        np.full((5, 7, 1), 128, np.uint8),
        np.full((5, 7, 3), 0.5, np.float64),
        np.dstack([np.full((5, 7, 3), 128, np.uint8), np.full((5, 7), 255, np.uint8)]),
        np.full((5, 7), 32896, np.uint16),
        np.full((5, 7), 128, np.int64),
    ],
    ids=["float-hw", "uint8-hw1", "float-hw3", "uint8-hw4-opaque", "uint16", "int64"],
)
def test_arrays(array):
    rgb = read_image(array)
    _assert_rgb(rgb, (5, 7))
    assert np.all(rgb == 128)


def test_rgba_array_alpha():
    array = np.zeros((2, 2, 4), np.uint8)  # black, fully transparent
    assert np.all(read_image(array) == 255)


@pytest.mark.parametrize(
    "source, message",
    [
        (b"", "empty"),
        (b"this is not an image", "not an image"),
        (np.zeros((0, 5, 3), np.uint8), "no pixels"),
        (np.zeros((5,), np.uint8), "HxW"),
        (np.full((2, 2), 300, np.int32), "uint8"),
        (Image.new("RGB", (0, 0)), "no pixels"),
    ],
    ids=["empty", "garbage", "zero-size-array", "1d-array", "int-out-of-range", "zero-size-pil"],
)
def test_refused(source, message):
    with pytest.raises(ImageError, match=message):
        read_image(source)


def test_truncated_file_is_refused(tmp_path):
    data = _save(tmp_path, Image.effect_noise((64, 64), 50).convert("RGB"), "a.jpg").read_bytes()
    with pytest.raises(ImageError, match="damaged"):
        read_image(data[: len(data) // 2])


def test_too_many_bytes():
    with pytest.raises(ImageError, match="MB"):
        read_image(_png_header(10, 10), ImageLimits(max_bytes=10))


def test_declared_size_is_checked_before_decoding():
    with pytest.raises(ImageError, match="megapixels"):
        read_image(_png_header(7000, 7000))  # 49 MP; decoding would fail differently (no pixel data)


def test_pil_bomb_guard_becomes_image_error():
    with pytest.raises(ImageError, match="too large"):
        read_image(_png_header(100_000, 100_000))


def test_large_jpeg_is_decoded_small_and_downscaled(tmp_path):
    limits = ImageLimits(max_pixels=1_000_000, max_side=256)
    photo = _halves(RED, BLUE, size=(2000, 1500))
    rgb = read_image(_save(tmp_path, photo, "big.jpg"), limits)  # 3 MP, but draft decodes 1/4 of it
    _assert_rgb(rgb, (192, 256))
    with pytest.raises(ImageError, match="megapixels"):  # a PNG cannot be decoded at reduced size
        read_image(_save(tmp_path, photo, "big.png"), limits)


def test_large_array_is_downscaled():
    rgb = read_image(np.zeros((300, 600, 3), np.uint8), ImageLimits(max_side=100))
    _assert_rgb(rgb, (50, 100))


def test_input_pil_image_keeps_its_size():
    image = _halves(RED, BLUE, size=(400, 300))
    assert read_image(image, ImageLimits(max_side=100)).shape == (75, 100, 3)
    assert image.size == (400, 300)


def test_input_array_is_not_modified():
    array = np.zeros((4, 4, 4), np.uint8)
    read_image(array)
    assert not array.any()


def test_bytes_from_memory_stream():
    buffer = io.BytesIO()
    _halves(GREEN, GREEN).save(buffer, "WEBP", lossless=True)
    assert tuple(read_image(buffer.getvalue())[10, 10]) == GREEN
