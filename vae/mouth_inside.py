"""The inside of a mouth the edit opens, drawn at the photo's resolution.

The appearance decoders say, at 48 pixels, how bright an expression's open mouth is where: teeth
brighter than the lips, the inside darker. Upsampled, that is a smooth blob, which on a sharp photo
reads as a plastic insert. So the decoder sets only where teeth show and how dark the inside is, and
the structure a mouth has at any size is drawn over it: an outline that follows the lips' curve,
the lips' shadow on the teeth, the line where the upper and lower teeth meet, faint gaps between the
front teeth, dark corners, an inside darker away from the lips.
"""

from __future__ import annotations

import cv2
import numpy as np

from vae.drawing import closed_curve, distance_to, polygon_mask, smoothstep

CURVE_SAMPLES = 8  # outline points per pair of neighbouring inner-lip landmarks
UPPER_INNER_LIP = 4 * CURVE_SAMPLES  # the outline's first half runs 60 -> 64 over the upper lip
IVORY = np.array([1.0, 0.95, 0.88], dtype=np.float32)  # teeth: a warm off-white, not paper white
# Teeth are about twice as bright as the lips (lit alike), the face's lightest part, short of white,
# and lit at least TEETH_OVER_SKIN times the skin around the mouth: the photos that show teeth have
# them (their 75th percentile) 1.2 (pale skin, teeth near white) to 1.9 times as bright as it, and
# on dark lips twice the lips drew dim grey teeth.
TEETH_OVER_LIPS, TEETH_OVER_SKIN, TEETH_LEVELS = 1.9, 1.6, (120.0, 238.0)
TEETH_CAST = 0.3  # teeth take this much of their hue from the skin: they are in the photo's light
TEETH_SEEN = 1.3  # the decoder's brightness (relative to the lips) read as whole teeth
UPPER_TEETH, LOWER_TEETH = 0.12, 0.08  # of the mouth's width: how far each row shows from its lip
GAPING = (0.35, 0.55)  # an opening this tall (of its width) shows its upper front teeth ...
MIN_TEETH_WIDTH = (16.0, 24.0)  # ... in a mouth this wide (px): smaller ones stay a dark hole
DEEP = 0.5  # ... and is this much darker inside, away from its lips
LIP_SHADOW = 0.25  # teeth are this much darker just under (or over) their lip
BEHIND_TEETH = 0.65  # the inside between the rows of teeth is this much darker
NARROW = (4.0, 10.0)  # px: an opening this low (clenched teeth) shows its bite line faintly
CORNER_SHADE = 0.4  # the inside is this much darker at the mouth's corners, beside the teeth
# Where neighbouring teeth meet, along the mouth (inner corner -1 to corner 1): the upper front teeth
# are the widest, the lower ones narrower, and the lower row (a smaller arch) shows less far.
UPPER_GAPS = np.array([-0.8, -0.66, -0.52, -0.36, -0.2, 0.0, 0.2, 0.36, 0.52, 0.66, 0.8])
LOWER_GAPS = np.array([-0.62, -0.5, -0.37, -0.24, -0.12, 0.0, 0.12, 0.24, 0.37, 0.5, 0.62])
ARCH_RISE = 0.3  # a row's edge rises this much of its depth towards the mouth's corners
LOWER_ROW_ENDS = (0.35, 0.7)  # along the mouth: the lower row fades out between these
SCALLOP = 0.12  # a tooth's free edge is this much shorter (of the row's depth) at its sides ...
SCALLOP_WIDTH = 0.015  # ... over this much of the mouth's width: a notch, not a pointed tooth
GAP_SHADE = (0.12, 0.26)  # a gap between teeth darkens them this much by the lip, and at their edge
MAX_LEVEL = 2.0  # the decoder's brightness relative to the lips is read up to this
MIN_DARKNESS = 0.08  # the inside is never drawn darker than this times the lips (a black hole)
# A mouth open wide shows its tongue in the lowest part of its opening (of its height), away from
# its corners (along the mouth), as bright as this of the lips where it is lit.
TONGUE_TOP, TONGUE_SIDES, TONGUE_LIGHT = (0.25, 0.5), (0.4, 0.75), 0.6
INSIDE_TINT = np.array([1.0, 0.8, 0.8], dtype=np.float32)  # the inside of a mouth is redder than its lips


def inner_outline(points: np.ndarray) -> np.ndarray:
    """The inner lips as a closed curve through landmarks 60..67 [8 * CURVE_SAMPLES, 2], from the
    left inner corner over the upper lip, then back under the lower."""
    return closed_curve(points[60:68], CURVE_SAMPLES)


def inside_mask(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """[H, W] bool: the pixels inside the inner lips' curve."""
    return polygon_mask(inner_outline(points), shape)


def draw_inside(
    points: np.ndarray,
    brightness: np.ndarray,
    lips: np.ndarray,
    skin: np.ndarray,
    teeth_colour: np.ndarray | None = None,
) -> np.ndarray:
    """[H, W, 3] float RGB: an open mouth with inner lips at `points` (landmarks in the pixels of
    `brightness`), rows of teeth where the decoder's `brightness` relative to the lips exceeds about
    1 and a dark inside elsewhere, in the hue of the lips' colour `lips` (RGB). Teeth take the colour
    of the photo's own (`teeth_colour`, RGB) where it shows them, and otherwise an ivory lit as the
    lips, in the hue of the `skin` around them (RGB): in a warm photo, teeth tinted by red lips
    looked lilac grey."""
    shape = brightness.shape
    outline = inner_outline(points)
    upper = distance_to(outline[: UPPER_INNER_LIP + 1], shape)
    lower = distance_to(np.vstack([outline[UPPER_INNER_LIP:], outline[:1]]), shape)
    height = upper + lower  # the opening's height through each pixel
    along = _along(points[60], points[64], shape)  # -1 at the left inner corner, 1 at the right
    level = np.clip(brightness, 0, MAX_LEVEL)
    lip = lips.astype(np.float32)

    width = float(np.linalg.norm(points[64] - points[60]))
    # Teeth are fixed in the jaw: where the decoder shows any along the mouth, the upper row hangs
    # from the upper lip and the lower row stands on the lower lip, as deep as teeth are, with the
    # mouth's dark inside between them where it opens further (drawn where the decoder's blurred
    # teeth lay, the middle of the opening, they floated between dark bands: dentures).
    opening = polygon_mask(outline, shape)
    shown = _most_along(smoothstep(0.95, TEETH_SEEN, _teeth_level(level, opening)), along, opening)
    shown *= 1 - smoothstep(0.55, 0.95, np.abs(along))
    upper = cv2.GaussianBlur(upper, (0, 0), 0.7)  # smooth: edges drawn at a distance from a line of
    lower = cv2.GaussianBlur(lower, (0, 0), 0.7)  # pixels step by half a pixel (a jagged slit)
    bite_at = np.minimum(UPPER_TEETH * width, height * UPPER_TEETH / (UPPER_TEETH + LOWER_TEETH))
    in_upper = upper <= bite_at  # the upper row's side of where the rows meet
    upper_row, lower_row, gaps = _rows(upper, lower, along, width, in_upper)
    upper_row, lower_row = _within_arches(upper_row, lower_row, points, outline, along, width)
    # A mouth open wide shows the upper front teeth under the upper lip, whatever the decoder draws.
    gap = float(np.linalg.norm(points[66] - points[62]))  # the inner lips' middles
    gaping = smoothstep(*GAPING, gap / max(width, 1.0)) * smoothstep(*MIN_TEETH_WIDTH, width)
    front = 1 - smoothstep(0.3, 0.55, np.abs(along))
    teeth = np.maximum(shown * np.maximum(upper_row, lower_row), gaping * front * upper_row)
    behind = np.maximum(shown - teeth, 0)  # between the rows: the mouth's dark inside
    if teeth_colour is None:
        hue = (1 - TEETH_CAST) * IVORY + TEETH_CAST * skin / max(float(skin.mean()), 1.0)
        teeth_light = max(TEETH_OVER_LIPS * lip.mean(), TEETH_OVER_SKIN * float(skin.mean()))
        ivory = hue * float(np.clip(teeth_light, *TEETH_LEVELS))  # lit as the lips and the skin are
        light = (0.8 + 0.2 * smoothstep(1.0, 1.8, level))[..., None] * ivory
    else:  # the photo's own teeth, as lit as they are in it
        light = np.broadcast_to(teeth_colour.astype(np.float32), (*shape, 3))
    # Where the rows meet (clenched teeth), the bite line, faint in a narrow opening; below it the
    # lower row, further back and darker; each row shaded by its own lip.
    bite = 1 - 0.25 * smoothstep(*NARROW, height) * np.exp(-(((upper - bite_at) / 1.2) ** 2))
    lower_teeth = 1 - 0.15 * smoothstep(-0.5, 0.5, upper - bite_at)
    to_lip = np.where(in_upper, upper, lower)
    shadow = 1 - LIP_SHADOW * (1 - smoothstep(0, np.maximum(0.4 * bite_at, 1.0), to_lip))
    tooth_colour = light * (gaps * bite * lower_teeth * shadow)[..., None]

    # The inside as dark as the decoder draws it (a surprised mouth stays a dark hole, a narrow
    # opening between lips stays lip-coloured), darker away from the lips, and much darker there in a
    # mouth open wide, whatever the decoder draws (not a lip-coloured cave), and behind the teeth.
    depth = smoothstep(0, max(3.0, 0.25 * gap), np.minimum(upper, lower))
    corners = 1 - CORNER_SHADE * smoothstep(0.5, 0.95, np.abs(along))  # beside the teeth, in shade
    darkness = np.clip(level, MIN_DARKNESS, 1.0) * (1 - (0.15 + DEEP * gaping) * depth) * corners
    darkness *= 1 - BEHIND_TEETH * behind
    # A mouth open wide shows its tongue low in the opening, lit from the front and darker where it
    # curves back: a hole black to its lower lip read as cut out of the photo.
    below = lower / np.maximum(height, 1.0)  # 0 at the lower lip, 1 at the upper
    tongue = gaping * (1 - smoothstep(*TONGUE_TOP, below)) * (1 - smoothstep(*TONGUE_SIDES, np.abs(along)))
    lit = TONGUE_LIGHT * (1 - 0.5 * smoothstep(0.0, TONGUE_TOP[1], below))
    darkness = np.maximum(darkness, tongue * lit)
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


def _most_along(values: np.ndarray, along: np.ndarray, inside: np.ndarray, bins: int = 48) -> np.ndarray:
    """[H, W]: the largest of `values` [H, W] across the opening (`inside`) at each place along the
    mouth (`along`), in `bins` steps."""
    index = np.clip(((along + 1) / 2 * bins).astype(int), 0, bins - 1)
    most = np.zeros(bins, dtype=np.float32)
    np.maximum.at(most, index[inside], values[inside])
    return most[index]


def _within_arches(
    upper_row: np.ndarray,
    lower_row: np.ndarray,
    points: np.ndarray,
    outline: np.ndarray,
    along: np.ndarray,
    width: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The rows of teeth cut at their jaws' arches: the upper teeth end at a fixed curve as deep
    below the upper lip's middle as teeth are, the lower ones at one as high above the lower lip's
    middle, both rising a little towards the corners. Teeth are fixed in the jaw; drawn as a
    band along the lip, a round opening's sloping sides hung teeth down them like fangs."""
    axis = (points[64] - points[60]) / max(width, 1e-6)
    normal = np.array([-axis[1], axis[0]])  # across the mouth, towards the lower lip
    ys, xs = np.mgrid[0 : upper_row.shape[0], 0 : upper_row.shape[1]].astype(np.float32)
    across = (xs - points[60][0]) * normal[0] + (ys - points[60][1]) * normal[1]
    outline_across = (outline - points[60]) @ normal
    outline_along = (outline - points[60]) @ axis / max(width, 1e-6) * 2 - 1
    lips = (outline_across[: UPPER_INNER_LIP + 1], outline_across[UPPER_INNER_LIP:])
    middles = [
        float(lip[np.argmin(np.abs(at))])
        for lip, at in zip(
            lips, (outline_along[: UPPER_INNER_LIP + 1], outline_along[UPPER_INNER_LIP:]), strict=True
        )
    ]
    rise = ARCH_RISE * along**2  # both rows' edges curve up towards the corners, as a smile does
    upper_edge = middles[0] + UPPER_TEETH * width * (1 - rise)
    lower_edge = middles[1] - LOWER_TEETH * width * (1 + rise)
    return (
        upper_row * smoothstep(upper_edge + 0.7, upper_edge - 0.7, across),
        lower_row * smoothstep(lower_edge - 0.7, lower_edge + 0.7, across),
    )


def _rows(
    upper: np.ndarray, lower: np.ndarray, along: np.ndarray, width: float, in_upper: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows of teeth of a mouth `width` px wide, each [H, W] in 0..1 (upper, lower), from each
    pixel's distance to the upper and lower lip and its place `along` the mouth, and the shade of
    the gaps between the teeth (1: none) of the row each pixel is in (`in_upper`). Each tooth has a
    rounded free edge and a gap at its sides that shows most there: drawn as one smooth band, a row
    read as a denture."""
    rows, gaps = [], []
    for distance, depth, meet in ((upper, UPPER_TEETH, UPPER_GAPS), (lower, LOWER_TEETH, LOWER_GAPS)):
        depth *= width
        to_gap = np.min(np.abs(along[..., None] - meet), axis=-1) * width / 2  # px
        edge = depth * (1 - SCALLOP * np.exp(-((to_gap / max(SCALLOP_WIDTH * width, 0.6)) ** 2)))
        rows.append(smoothstep(edge + 0.7, edge - 0.7, distance))
        down = smoothstep(0.4, 1.0, distance / max(depth, 1.0))  # 0 at the lip, 1 at the free edge
        spread = max(0.006 * width, 0.6) * (1 + 1.5 * down)  # px: wider at the edge (embrasures)
        gaps.append(
            1 - (GAP_SHADE[0] + (GAP_SHADE[1] - GAP_SHADE[0]) * down) * np.exp(-((to_gap / spread) ** 2))
        )
    rows[1] *= 1 - smoothstep(*LOWER_ROW_ENDS, np.abs(along))
    return rows[0], rows[1], np.where(in_upper, gaps[0], gaps[1])
