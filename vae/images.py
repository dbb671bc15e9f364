"""Safe image reading for user uploads.

Everything a user can upload (a path, raw bytes, a PIL image or a NumPy array) goes through
:func:`read_image`, which returns one predictable thing -- an RGB ``uint8`` HxWx3 array -- or raises
:class:`ImageError` with one sentence that can be shown to the user as is.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = ["ImageError", "ImageLimits", "read_image"]

_WHITE = 255.0


@dataclass(frozen=True)
class ImageLimits:
    """The one place where upload limits live."""

    max_bytes: int = 20 * 2**20
    max_pixels: int = 40_000_000  # pixels that would be decoded; refuse above (decompression bombs)
    max_side: int = 2048  # downscale larger photos to this longest side


class ImageError(ValueError):
    """An upload that cannot be used; the message is one sentence meant for the user."""


ImageSource = str | Path | bytes | np.ndarray | Image.Image


def read_image(source: ImageSource, limits: ImageLimits = ImageLimits()) -> np.ndarray:
    """Read ``source`` as an RGB ``uint8`` HxWx3 array no larger than ``limits.max_side``.

    EXIF orientation is applied, transparency is composited on white, 16-bit data is scaled to 8 bits
    and float arrays are read as 0..1.  Sizes are checked before any pixel is decoded.
    """
    if isinstance(source, np.ndarray):
        array = _channels_last(source)
        _check_pixels((array.shape[1], array.shape[0]), limits)
    elif isinstance(source, Image.Image):
        array = _decode(source, limits)
    else:
        with _open(source, limits) as image:
            array = _decode(image, limits)
    return _fit(_array_to_rgb(array), limits.max_side)


def _open(source: str | Path | bytes, limits: ImageLimits) -> Image.Image:
    """Open lazily (header only) after checking the byte size, so nothing big is decoded yet."""
    if isinstance(source, bytes):
        _check_bytes(len(source), limits)
        stream = io.BytesIO(source)
    else:
        try:
            size = Path(source).stat().st_size
        except (OSError, ValueError) as error:  # ValueError: a NUL in the path
            raise ImageError("The image file could not be found or read.") from error
        _check_bytes(size, limits)
        stream = source
    try:
        with warnings.catch_warnings():  # our own pixel check replaces PIL's warning above 89 MP
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(stream)
    except Image.DecompressionBombError as error:  # PIL's own, process-wide guard fired first
        raise ImageError("The image is too large to process.") from error
    except (UnidentifiedImageError, OSError) as error:
        raise ImageError("The file is not an image that can be read.") from error


def _check_bytes(size: int, limits: ImageLimits) -> None:
    if size == 0:
        raise ImageError("The image file is empty.")
    if size > limits.max_bytes:
        raise ImageError(
            f"The file is {size / 2**20:.1f} MB; the limit is {limits.max_bytes / 2**20:.0f} MB."
        )


def _check_pixels(size: tuple[int, ...], limits: ImageLimits) -> None:
    """Refuse empty images and images whose decoded pixels would exceed ``limits.max_pixels``."""
    width, height = size
    if width <= 0 or height <= 0:
        raise ImageError("The image has no pixels.")
    if width * height > limits.max_pixels:
        raise ImageError(
            f"The image is {width}x{height} pixels; the limit is {limits.max_pixels / 1e6:g} megapixels."
        )


def _decode(image: Image.Image, limits: ImageLimits) -> np.ndarray:
    """Decode at reduced size where the format allows it, then return the pixels in their own depth.

    ``draft`` makes the JPEG decoder itself scale by 1/2..1/8, so a 12000x9000 photo is never held at
    full size; the pixel limit is checked on the size that will really be decoded (PIL's global
    ``MAX_IMAGE_PIXELS`` is left alone because changing it would affect every thread).  A caller's
    PIL image is loaded (possibly drafted) but never resized: exif_transpose returns a copy.
    """
    side = max(image.size)
    if side > limits.max_side:
        ratio = limits.max_side / side
        image.draft(None, (math.ceil(image.width * ratio), math.ceil(image.height * ratio)))
    _check_pixels(image.size, limits)
    try:
        image.load()
        image = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError) as error:  # truncated data, broken headers or EXIF
        raise ImageError("The image file is damaged or incomplete.") from error
    image = _resizable(image)
    image.thumbnail((limits.max_side, limits.max_side), Image.Resampling.LANCZOS)
    return _channels_last(np.asarray(image))


def _resizable(image: Image.Image) -> Image.Image:
    """Bring any PIL mode to one whose array :func:`_array_to_rgb` understands, keeping alpha and depth."""
    if image.mode == "PA" or "transparency" in image.info:
        return image.convert("RGBA")
    if image.mode in ("L", "LA", "RGB", "RGBA", "F", "I;16"):
        return image
    if image.mode == "I" or image.mode.startswith("I;16"):  # 32-bit or big-endian 16-bit grey
        return Image.fromarray(np.asarray(image).clip(0, 65535).astype(np.uint16))
    return image.convert("RGB")  # P, CMYK, YCbCr, 1-bit, ...


def _channels_last(array: np.ndarray) -> np.ndarray:
    """Accept HxW or HxWxC with C in 1..4 and return HxWxC."""
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or not 1 <= array.shape[2] <= 4:
        raise ImageError(f"An image array must be HxW or HxWxC with 1 to 4 channels, not {array.shape}.")
    return array


def _array_to_rgb(array: np.ndarray) -> np.ndarray:
    """HxWx1 (grey), HxWx2 (grey+alpha), HxWx3 (RGB) or HxWx4 (RGBA) -> RGB uint8 on white."""
    array = _to_uint8(array)
    colour, alpha = (array[:, :, :-1], array[:, :, -1:]) if array.shape[2] in (2, 4) else (array, None)
    if alpha is not None:
        weight = alpha.astype(np.float32) / 255.0
        colour = np.rint(colour * weight + _WHITE * (1.0 - weight)).astype(np.uint8)
    return np.ascontiguousarray(np.broadcast_to(colour, (*colour.shape[:2], 3)))


def _to_uint8(array: np.ndarray) -> np.ndarray:
    """Map the value range of ``array``'s type to 0..255: floats are 0..1, ``uint16`` is 0..65535."""
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * 255
    if array.dtype == np.uint16:
        return np.rint(array / 257.0).astype(np.uint8)
    if np.issubdtype(array.dtype, np.floating):
        return np.rint(np.nan_to_num(array).clip(0.0, 1.0) * 255.0).astype(np.uint8)
    if np.issubdtype(array.dtype, np.integer) and array.min() >= 0 and array.max() <= 255:
        return array.astype(np.uint8)
    raise ImageError(f"Arrays must be uint8, uint16, 0..255 integers or 0..1 floats, not {array.dtype}.")


def _fit(rgb: np.ndarray, max_side: int) -> np.ndarray:
    """Downscale (area averaging, no aliasing) so the longest side is at most ``max_side``."""
    height, width = rgb.shape[:2]
    if max(height, width) <= max_side:
        return rgb
    ratio = max_side / max(height, width)
    size = (max(1, round(width * ratio)), max(1, round(height * ratio)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
