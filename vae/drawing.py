"""Drawing at a photo's resolution, for the parts of a face an edit draws rather than moves (a
mouth's inside, an eyeball): smooth outlines through landmarks, masks, distances, and the photo's
look (colour, softness, grain) to draw in."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

SHARP_BLUR = 0.85  # px: how soft (blur_of) the eyes of the sharp photos in ../shared/photos measure
# Shade on skin and eyes is warm: per channel, the exponent a darkening factor takes (red fades least).
WARM_SHADE = np.array([0.8, 1.0, 1.2])
LINE_SUPERSAMPLING = 4  # a soft line is drawn at this many times the resolution (line_strength)
FULL_COLOUR = 12.0  # the mean spread of a pixel's channels (0..255) above which a photo counts as in colour


def closed_curve(loop: np.ndarray, samples: int) -> np.ndarray:
    """A closed Catmull-Rom curve through the points `loop` [N, 2], `samples` points per pair of
    neighbours [N * samples, 2], starting at loop[0]: the smooth edge of an opening (lips, eyelids)
    where a polygon through the landmarks would be angular."""
    count = len(loop)
    before, start, end, after = loop[(np.arange(count) + np.arange(-1, 3)[:, None]) % count]
    t = _curve_steps(samples)
    curve = 0.5 * (
        2 * start
        + (end - before) * t
        + (2 * before - 5 * start + 4 * end - after) * t**2
        + (3 * start - before - 3 * end + after) * t**3
    )
    return curve.transpose(1, 0, 2).reshape(-1, 2)


@functools.cache
def _curve_steps(samples: int) -> np.ndarray:
    return np.linspace(0, 1, samples, endpoint=False)[:, None, None]


def polygon_mask(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """[H, W] bool: the pixels inside the polygon `points` [N, 2] (sub-pixel corners)."""
    mask = np.zeros(shape, dtype=np.uint8)
    cv2.fillPoly(mask, [np.round(points * 16).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=4)
    return mask.astype(bool)


def distance_to(polyline: np.ndarray, shape: tuple[int, int], closed: bool = False) -> np.ndarray:
    """[H, W] each pixel's distance in pixels to a polyline [N, 2] (`closed`: a loop)."""
    canvas = np.full(shape, 255, dtype=np.uint8)
    cv2.polylines(canvas, [np.round(polyline * 16).astype(np.int32)], closed, 0, 1, cv2.LINE_8, shift=4)
    return cv2.distanceTransform(canvas, cv2.DIST_L2, 3)


def line_strength(
    polyline: np.ndarray, shape: tuple[int, int], width: float, closed: bool = False
) -> np.ndarray:
    """[H, W] in 0..1: a soft line along `polyline` [N, 2], exp(-(distance / width)^2), drawn at
    LINE_SUPERSAMPLING times the resolution and averaged down. A line about a pixel wide drawn from
    whole-pixel distances steps from row to row: a staircase where the lips meet."""
    scale = LINE_SUPERSAMPLING
    fine = distance_to(polyline * scale + (scale - 1) / 2, (shape[0] * scale, shape[1] * scale), closed)
    strength = np.exp(-((fine / (width * scale)) ** 2)).astype(np.float32)
    return cv2.resize(strength, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)


@dataclass(frozen=True)
class Look:
    """How a photo looks where something is drawn into it, so that what is drawn looks the same:
    how colourful it is (0: black and white, 1: in colour), how soft (`blur_of`) and how grainy (the
    spread of its finest detail, 0..255). Read once from the photo's pixels around the drawing, when
    a face is prepared."""

    colour: float
    softness: float
    grain: float

    @classmethod
    def of(cls, pixels: np.ndarray) -> Look:
        """The look of `pixels` (RGB)."""
        if not pixels.size:
            return cls(1.0, SHARP_BLUR, 0.0)
        pixels = pixels.astype(np.float32)
        chroma = float(np.ptp(pixels, axis=-1).mean())
        brightness = pixels.mean(-1)
        fine = brightness - cv2.GaussianBlur(brightness, (0, 0), 1.0)
        grain = 1.4826 * float(np.median(np.abs(fine - np.median(fine))))  # edges do not count
        return cls(min(chroma / FULL_COLOUR, 1.0), blur_of(pixels), grain)

    def apply(self, drawn: np.ndarray, grain: float = 1.0) -> np.ndarray:
        """`drawn` (float RGB) no more colourful than the photo (teeth and eye whites drawn into a
        black-and-white photo stay grey), blurred as much as the photo is softer than a sharp one
        (crisp drawn edges on a soft or enlarged photo would look pasted on), and `grain` times as
        grainy as the photo (so not smoother than the skin around it)."""
        grey = drawn.mean(-1, keepdims=True)
        drawn = grey + self.colour * (drawn - grey)
        return self.regrain(self.soften(drawn), grain)

    def regrain(self, image: np.ndarray, amount: float | np.ndarray = 1.0) -> np.ndarray:
        """`image` (float RGB) with `amount` (one number, or [H, W]) times the photo's grain added:
        on what is drawn, and where a warp stretched the skin too far to copy its own detail."""
        return image + (amount * self.grain * _noise(image.shape[:2]))[..., None]

    def soften(self, drawn: np.ndarray) -> np.ndarray:
        """`drawn` (an image or a mask) blurred as much as the photo is softer than a sharp one."""
        extra = float(np.sqrt(max(self.softness**2 - SHARP_BLUR**2, 0.0)))
        return cv2.GaussianBlur(drawn, (0, 0), extra) if extra > 0.25 else drawn


@functools.lru_cache(maxsize=64)
def _noise(shape: tuple[int, int]) -> np.ndarray:
    """Unit noise of `shape`, the same pattern every time: a still photo's edit does not flicker."""
    noise = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    noise.flags.writeable = False
    return noise


def blur_of(image: np.ndarray) -> float:
    """How soft an image is, as the blur (Gaussian sigma, px) that explains how much of its finest
    detail a further 1-px blur keeps: for detail spread over all scales, the Laplacian's spread
    falls as (s^2 / (s^2 + 1))^1.5."""
    kept = _fine_detail(cv2.GaussianBlur(image, (0, 0), 1.0)) / max(_fine_detail(image), 1e-6)
    share = float(np.clip(kept, 1e-3, 0.999)) ** (2 / 3)
    return float(np.sqrt(share / (1 - share)))


def _fine_detail(image: np.ndarray) -> float:
    """The spread of the Laplacian of an image's brightness."""
    return float(cv2.Laplacian(np.ascontiguousarray(image.mean(-1), dtype=np.float32), cv2.CV_32F).std())


def smoothstep(low: float, high: float, x: np.ndarray) -> np.ndarray:
    """0 below `low`, 1 above `high`, a smooth S between."""
    t = np.clip((x - low) / (high - low), 0, 1)
    return t * t * (3 - 2 * t)
