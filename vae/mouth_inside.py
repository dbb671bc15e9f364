"""The inside of a mouth the edit opens, drawn at the photo's resolution.

The appearance decoders say, at 48 pixels, how bright an expression's open mouth is where: teeth
brighter than the lips, the inside darker. Upsampled, that is a smooth blob, which on a sharp photo
reads as a plastic insert. So the decoder sets only where teeth show and how dark the inside is, and
the structure a mouth has at any size is drawn over it: an outline that follows the lips' curve,
the lips' shadow on the teeth, the line where the upper and lower teeth meet, faint gaps between the
front teeth, dark corners, an inside darker away from the lips.
"""

from __future__ import annotations

import numpy as np

from vae.drawing import closed_curve, distance_to, polygon_mask, smoothstep

CURVE_SAMPLES = 8  # outline points per pair of neighbouring inner-lip landmarks
UPPER_INNER_LIP = 4 * CURVE_SAMPLES  # the outline's first half runs 60 -> 64 over the upper lip
IVORY = np.array([1.0, 0.95, 0.88], dtype=np.float32)  # teeth: a warm off-white, not paper white
# Teeth are about twice as bright as the lips (lit alike), the face's lightest part, short of white.
TEETH_OVER_LIPS, TEETH_LEVELS = 1.9, (120.0, 238.0)
TEETH_CAST = 0.3  # teeth take this much of their hue from the lips: they are in the photo's light
TEETH_SEEN = 1.3  # the decoder's brightness (relative to the lips) read as whole teeth
GAPING = (0.35, 0.55)  # an opening this tall (of its width) shows its upper front teeth ...
INCISORS = 0.1  # ... this far (of the width) below the upper lip, ...
MIN_TEETH_WIDTH = (16.0, 24.0)  # ... in a mouth this wide (px): smaller ones stay a dark hole
DEEP = 0.5  # ... and is this much darker inside, away from its lips
NARROW = (4.0, 10.0)  # px: an opening this low (clenched teeth) shows its bite line faintly
CORNER_SHADE = 0.4  # the inside is this much darker at the mouth's corners, beside the teeth
TOOTH_GAPS = np.array([-0.42, -0.22, 0.0, 0.22, 0.42])  # along the mouth, corner -1 to corner 1
MAX_LEVEL = 2.0  # the decoder's brightness relative to the lips is read up to this
MIN_DARKNESS = 0.08  # the inside is never drawn darker than this times the lips (a black hole)
INSIDE_TINT = np.array([1.0, 0.8, 0.8], dtype=np.float32)  # the inside of a mouth is redder than its lips


def inner_outline(points: np.ndarray) -> np.ndarray:
    """The inner lips as a closed curve through landmarks 60..67 [8 * CURVE_SAMPLES, 2], from the
    left inner corner over the upper lip, then back under the lower."""
    return closed_curve(points[60:68], CURVE_SAMPLES)


def inside_mask(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """[H, W] bool: the pixels inside the inner lips' curve."""
    return polygon_mask(inner_outline(points), shape)


def draw_inside(
    points: np.ndarray, brightness: np.ndarray, lips: np.ndarray, teeth_colour: np.ndarray | None = None
) -> np.ndarray:
    """[H, W, 3] float RGB: an open mouth with inner lips at `points` (landmarks in the pixels of
    `brightness`), teeth where the decoder's `brightness` relative to the lips exceeds about 1 and a
    dark inside elsewhere, in the hue of the lips' colour `lips` (RGB). Teeth take the colour of the
    photo's own (`teeth_colour`, RGB) where it shows them, and otherwise an ivory lit as the lips."""
    shape = brightness.shape
    outline = inner_outline(points)
    upper = distance_to(outline[: UPPER_INNER_LIP + 1], shape)
    lower = distance_to(np.vstack([outline[UPPER_INNER_LIP:], outline[:1]]), shape)
    height = upper + lower  # the opening's height through each pixel
    across = upper / np.maximum(height, 1e-6)  # 0 at the upper lip, 1 at the lower
    along = _along(points[60], points[64], shape)  # -1 at the left inner corner, 1 at the right
    level = np.clip(brightness, 0, MAX_LEVEL)
    lip = lips.astype(np.float32)

    teeth = smoothstep(0.95, TEETH_SEEN, _teeth_level(level, polygon_mask(outline, shape)))
    teeth *= 1 - smoothstep(0.55, 0.95, np.abs(along))
    width = float(np.linalg.norm(points[64] - points[60]))
    # A mouth open wide shows the upper front teeth under the upper lip, whatever the decoder draws.
    gap = float(np.linalg.norm(points[66] - points[62]))  # the inner lips' middles
    gaping = smoothstep(*GAPING, gap / max(width, 1.0)) * smoothstep(*MIN_TEETH_WIDTH, width)
    incisors = smoothstep(INCISORS * width + 0.7, INCISORS * width - 0.7, upper)
    below = smoothstep(2 * INCISORS * width - 1, 2 * INCISORS * width + 1, upper)  # under the upper row
    front = 1 - smoothstep(0.3, 0.55, np.abs(along))
    teeth = np.maximum(teeth * (1 - gaping * below), gaping * incisors * front)
    if teeth_colour is None:
        hue = (1 - TEETH_CAST) * IVORY + TEETH_CAST * lip / max(float(lip.mean()), 1.0)
        ivory = hue * float(np.clip(TEETH_OVER_LIPS * lip.mean(), *TEETH_LEVELS))  # lit as the lips are
        light = (0.8 + 0.2 * smoothstep(1.0, 1.8, level))[..., None] * ivory
    else:  # the photo's own teeth, as lit as they are in it
        light = np.broadcast_to(teeth_colour.astype(np.float32), (*shape, 3))
    to_gap = np.min(np.abs(along[..., None] - TOOTH_GAPS), axis=-1) * width / 2  # px
    gaps = 1 - 0.07 * np.exp(-((to_gap / 1.0) ** 2))
    # Where the rows meet; a narrow opening (clenched teeth) is all bite line otherwise, grey teeth.
    bite = 1 - 0.25 * smoothstep(*NARROW, height) * np.exp(-((((across - 0.5) * height) / 1.2) ** 2))
    lower_row = 1 - 0.15 * smoothstep(0.45, 0.6, across)
    shadow = 0.65 + 0.35 * smoothstep(0, 0.3, np.minimum(across, 1 - across))  # under the lips
    tooth_colour = light * (gaps * bite * lower_row * shadow)[..., None]

    # The inside as dark as the decoder draws it (a surprised mouth stays a dark hole, a narrow
    # opening between lips stays lip-coloured), darker away from the lips, and much darker there in a
    # mouth open wide, whatever the decoder draws (not a lip-coloured cave).
    depth = smoothstep(0, max(3.0, 0.25 * gap), np.minimum(upper, lower))
    corners = 1 - CORNER_SHADE * smoothstep(0.5, 0.95, np.abs(along))  # beside the teeth, in shade
    darkness = np.clip(level, MIN_DARKNESS, 1.0) * (1 - (0.15 + DEEP * gaping) * depth) * corners
    inside = lip * darkness[..., None] * INSIDE_TINT
    return inside + teeth[..., None] * (tooth_colour - inside)


def _teeth_level(level: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """The decoder's brightness `level`, read for teeth: a mouth whose brightest part inside the
    opening (its 90th percentile) is brighter than its lips shows whole teeth there, however faintly
    the blurred 48-pixel decoder draws them (a smile with a soft pink band for teeth)."""
    if not inside.any():
        return level
    top = float(np.percentile(level[inside], 90))
    return level * (1 + (max(TEETH_SEEN / top, 1.0) - 1) * smoothstep(1.0, 1.1, top))


def _along(left: np.ndarray, right: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """[H, W] each pixel's position along the line from `left` (-1) to `right` (1)."""
    axis = right - left
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    return ((xs - left[0]) * axis[0] + (ys - left[1]) * axis[1]) / max(float(axis @ axis), 1e-6) * 2 - 1
