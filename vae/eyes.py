"""The eyes in an expression edit: the eyeball stays as it is, the lids move over it.

The warp moves every pixel of the face with its landmarks, what lies between the lids included, so
an eye opened for surprise stretches its iris into a tall dark oval (streaks, on a face that squints
as it smiles). An eyeball does not change shape with the expression. So between the lids of an eye
the edit opens wider, the photo is moved rigidly with the eye's corners, and where the new lids
uncover what the photo's lids hid, the eyeball is drawn: the iris continued as a
disc in its own colour, with a darker rim and pupil, and the white of the eye, shaded under the
upper lid and towards the corners; as grainy, as soft and as colourful as the photo around it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from vae.drawing import (
    WARM_SHADE,
    Look,
    closed_curve,
    distance_to,
    polygon_mask,
    smoothstep,
)
from vae.face_shape import (
    BROWS,
    EACH_EYE,
    NOSE_BRIDGE,
    apply,
    face_up,
    invert,
    similarity,
    warp_keeping_detail,
)

EYE_SAMPLES = 6  # outline points per pair of neighbouring landmarks
UPPER_LID = 3 * EYE_SAMPLES  # the outline's first part runs corner to corner over the upper lid
IRIS_RADIUS = 0.21  # of the corner-to-corner width: an iris of 11.5 mm in an opening of 27 mm
LASHES = 0.07  # of the width: the lids' edges and lashes, kept from the warp, not taken for eyeball
WIDER = 1.1  # an eye opened by more than this (its lids' distance) is redrawn; others are left to the warp
NARROWEST = 0.5  # an expression narrows an eye to this much of its opening at most ...
# ... and opens it to this much of its width at most (or as open as it is): the height of its iris
# (IRIS_RADIUS) and a sliver of white above it. 99% of FER2013's surprised faces open less than 0.56
# by their fitted landmarks; wider, the white shows all round the iris: a stare, not surprise.
WIDEST = 0.5
MIN_OPENING = 0.12  # of the width: an eye shut tighter than this shows too little eyeball to move
# Each brow (in EACH_EYE's order), the middle of its eye's upper lid, and what the brows come down towards
# between the eyes: their inner ends and the top of the nose's bridge.
BROWS_BY_EYE = tuple(np.split(BROWS, 2))
UPPER_LIDS = tuple(eye[[1, 2]] for eye in EACH_EYE)
INNER_BROW_ENDS = (BROWS_BY_EYE[0][-1], BROWS_BY_EYE[1][0])
BROW_NEAREST = 0.5  # a brow comes down to no less than this much of its height above its eye and the nose
PUPIL, PUPIL_DARKNESS = 0.45, 0.6  # the pupil's radius (of the iris's) and its brightness
RIM_DARKNESS = 0.25  # the iris darkens by this much towards its edge
LID_SHADOW, LID_SHADOW_WIDTH = 0.45, 0.12  # the upper lid's shadow on the eyeball: depth, width (of eye's)
GRAIN = 0.5  # an eyeball's grain, of the skin's: it is smoother than skin
OFF_WHITE = np.array([1.05, 1.0, 0.94])  # the white of an eye: a warm light grey
WHITE_TINT = 0.3  # ... taking this much of its hue from the photo (a narrow eye shows lids and their shadow)
WHITE_OVER_SKIN = 1.0  # ... and at least as bright as the skin of the cheek below the eye
CHEEK = (0.3, 0.6)  # of the eye's width below its lower lid: the skin the white is measured against
EDGE = 1.0  # px: the eyeball fades into the lids, and the photo's eyeball into the drawn one, over this
SHADOW_STEP = 8.0  # of 255: the photo's white gives way to the drawn one over this much darker
IRIS_KEPT = 1.4  # of the iris radius: the photo is kept this far round the iris (some irises are larger)
CORNER_SHADE = 0.2  # the white of the eye darkens this much towards the corners (the eyeball curves away)


def outline(points: np.ndarray) -> np.ndarray:
    """An eye's opening as a closed curve through its six landmarks [6 * EYE_SAMPLES, 2]."""
    return closed_curve(points, EYE_SAMPLES)


def opening(points: np.ndarray) -> float:
    """How far apart an eye's lids are, in units of its width (corner to corner)."""
    return float(np.linalg.norm(points[[1, 2]] - points[[5, 4]], axis=1).mean() / _width(points))


def opening_limited(points: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Target landmarks `points` [68, 2] whose eyes are no narrower than NARROWEST of their opening
    in the `source` landmarks and no wider than WIDEST (or the source's opening, if wider): each
    eye's lids moved together or apart about their middle. Real expressions narrow an eye by a fifth
    at most on average (FER2013's disgust, against its neutral faces); an edit that nearly shut the
    eyes of a smiling face made it sad and sleepy, and one that opened them past their iris, staring."""
    points = points.copy()
    for eye in EACH_EYE:
        before, after = opening(source[eye]), opening(points[eye])
        allowed = float(np.clip(after, NARROWEST * before, max(WIDEST, before)))
        if after <= 0 or allowed == after:
            continue
        upper, lower = eye[[1, 2]], eye[[5, 4]]  # facing lid landmarks
        middle = (points[upper] + points[lower]) / 2
        scale = allowed / after
        points[upper] = middle + scale * (points[upper] - middle)
        points[lower] = middle + scale * (points[lower] - middle)
    return points


def brows_limited(points: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Target landmarks `points` [68, 2] whose brows come down no nearer their eye's upper lid, and
    whose inner ends no nearer the top of the nose's bridge, than BROW_NEAREST of their height above
    them in the `source` landmarks: each brow's motion cut short where it would. Brows lowered
    further (angry and disgust at strength 3) squeezed the skin between into a line, a seam across
    the eyes and the bridge of the nose."""
    up = face_up(source)
    points = points.copy()
    for brow, lid, inner in zip(BROWS_BY_EYE, UPPER_LIDS, INNER_BROW_ENDS, strict=True):
        share = 1.0
        for top, below in ((brow, lid), ([inner], [NOSE_BRIDGE])):
            before = float((source[top].mean(0) - source[below].mean(0)) @ up)
            unmoved = float((source[top].mean(0) - points[below].mean(0)) @ up)
            after = float((points[top].mean(0) - points[below].mean(0)) @ up)
            floor = BROW_NEAREST * before
            if after < min(floor, unmoved):  # lowered too far: stopped there, or where it is
                share = min(share, max(unmoved - floor, 0.0) / (unmoved - after))
        points[brow] = source[brow] + share * (points[brow] - source[brow])
    return points


def _width(points: np.ndarray) -> float:
    return max(float(np.linalg.norm(points[3] - points[0])), 1e-6)


@dataclass(frozen=True)
class Eyeball:
    """One eye as the photo shows it: where its iris lies, and the colours to continue it in."""

    centre: np.ndarray  # the iris's centre, photo pixels
    radius: float  # px
    iris: np.ndarray  # RGB
    white: np.ndarray  # RGB
    look: Look  # the photo's around the eye: what is drawn looks alike
    box: tuple[int, int, int, int]  # the eye's box in the photo (x0, y0, x1, y1)
    between_lids: np.ndarray  # [h, w] in 0..1 over `box`: the eyeball the photo shows (`visible`)

    @classmethod
    def of(cls, photo: np.ndarray, points: np.ndarray) -> Eyeball | None:
        """Read from the pixels between the lids (`points`, one eye's six landmarks in the photo);
        None where too little of the eye shows to read it."""
        width = _width(points)
        if opening(points) < MIN_OPENING or width < 6:
            return None
        box = x0, y0, x1, y1 = _box(points, 2, photo.shape)
        pixels = photo[y0:y1, x0:x1].astype(np.float32)
        between_lids = visible(points - (x0, y0), pixels.shape[:2], EDGE)
        shown = between_lids > 0.5
        if shown.sum() < 6:
            return None
        ys, xs = np.nonzero(shown)
        colours = pixels[shown]
        brightness = colours.mean(-1)
        middle = np.percentile(brightness, [10, 90]).mean()  # between the iris and the white
        darkness = np.maximum(middle - brightness, 0) + 1e-3
        centre = np.array([xs @ darkness, ys @ darkness]) / darkness.sum()  # where the iris is darkest
        radius = IRIS_RADIUS * width
        to_centre = np.hypot(xs - centre[0], ys - centre[1])
        disc, outside = to_centre < 0.8 * radius, to_centre > 1.15 * radius
        iris = _lighter(colours[disc] if disc.sum() >= 3 else colours, 0.5)  # the iris, not its pupil
        seen = _lighter(colours[outside], 0.7) if outside.sum() >= 3 else iris  # not the lids' shadow
        white = _white(seen, skin=_cheek_brightness(photo, points, width))
        iris, white = iris.astype(np.float32), white.astype(np.float32)
        centre += np.array([x0, y0])
        return cls(centre, radius, iris, white, Look.of(pixels), box, between_lids.astype(np.float32))

    def moved(self, matrix: np.ndarray) -> Eyeball:
        """The same eyeball seen through the similarity `matrix` (2x3)."""
        centre = apply(matrix, self.centre[None])[0]
        return replace(self, centre=centre, radius=self.radius * float(np.hypot(*matrix[:, 0])))


def _white(seen: np.ndarray, skin: float) -> np.ndarray:
    """The white of an eye to draw, from the colour `seen` where the photo shows it, which may be
    the lids' shadow on it (or, in a narrow eye, the lids): nearly grey, and no darker than the
    skin's brightness `skin` (WHITE_OVER_SKIN of it). The lids around an eye are no measure: their
    lashes and creases are dark, and a narrow eye's white drawn as dark as them looked bruised.
    The hue `seen` is taken in proportion as it is the level drawn: a darker `seen` is shadow."""
    brightness = max(float(seen.mean()), 1.0)
    level = max(brightness, WHITE_OVER_SKIN * skin)
    tint = WHITE_TINT * brightness / level
    return level * ((1 - tint) * OFF_WHITE + tint * seen / brightness)


def _cheek_brightness(photo: np.ndarray, points: np.ndarray, width: float) -> float:
    """The median brightness of the cheek below an eye (its six landmarks `points` in `photo`)."""
    x0, x1 = int(points[:, 0].min()), int(np.ceil(points[:, 0].max()))
    bottom = float(points[:, 1].max())
    y0, y1 = int(bottom + CHEEK[0] * width), int(np.ceil(bottom + CHEEK[1] * width))
    patch = photo[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)]
    return float(np.median(patch.mean(-1))) if patch.size else 0.0


def _lighter(colours: np.ndarray, quantile: float) -> np.ndarray:
    """The median colour of `colours` [N, 3] at least as bright as their `quantile`."""
    brightness = colours.mean(-1)
    return np.median(colours[brightness >= np.quantile(brightness, quantile)], 0)


def visible(points: np.ndarray, shape: tuple[int, int], edge: float = 0.5) -> np.ndarray:
    """[H, W] in 0..1: the eyeball between an eye's lids (`points` in the pixels of `shape`), short
    of the lids' edges and lashes, fading over `edge` pixels either side."""
    inside = polygon_mask(outline(points), shape).astype(np.uint8)
    depth = cv2.distanceTransform(inside, cv2.DIST_L2, 3)
    margin = LASHES * _width(points)
    return smoothstep(margin - edge, margin + edge, depth)


def draw_eyeball(points: np.ndarray, shape: tuple[int, int], ball: Eyeball) -> np.ndarray:
    """[H, W, 3] float RGB: an eyeball behind lids at `points` (one eye's landmarks in the pixels of
    `shape`), its iris and colours as `ball` (in the same pixels)."""
    centre, radius, iris, white = ball.centre, ball.radius, ball.iris, ball.white
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    to_centre = np.hypot(xs - centre[0], ys - centre[1]) / max(radius, 1e-6)
    rim = 1 - RIM_DARKNESS * smoothstep(0.7, 1.0, to_centre)
    pupil = 1 - (1 - PUPIL_DARKNESS) * smoothstep(PUPIL + 0.1, PUPIL - 0.1, to_centre)
    disc = smoothstep(1.0 + 0.5 / radius, 1.0 - 0.5 / radius, to_centre)[..., None]
    colour = disc * (iris * (rim * pupil)[..., None]) + (1 - disc) * white

    width = _width(points)
    curve = outline(points)
    under_lid = distance_to(curve[: UPPER_LID + 1], shape)
    shadow = 1 - LID_SHADOW * np.exp(-under_lid / (LID_SHADOW_WIDTH * width))
    axis, middle = (points[3] - points[0]) / width, (points[0] + points[3]) / 2
    along = np.abs((xs - middle[0]) * axis[0] + (ys - middle[1]) * axis[1]) / width  # 0.5 at the corners
    corners = 1 - CORNER_SHADE * (1 - disc[..., 0]) * smoothstep(0.25, 0.5, along)
    return colour * (shadow * corners)[..., None] ** WARM_SHADE


def eyeballs(photo: np.ndarray, points: np.ndarray) -> tuple[Eyeball | None, ...]:
    """Each eye's eyeball (in EACH_EYE's order) as the photo with landmarks `points` [68, 2] shows it."""
    return tuple(Eyeball.of(photo, points[eye]) for eye in EACH_EYE)


def redraw_eyes(
    edited: np.ndarray,
    window: tuple[int, int, int, int],
    photo: np.ndarray,
    balls: tuple[Eyeball | None, ...],
    source: np.ndarray,
    target: np.ndarray,
) -> np.ndarray:
    """`edited` (float RGB, the warped `window` of `photo`) with each eye the edit opens wider
    redrawn (`redraw_eye`; `balls` from `eyeballs`). `source`, `target`: the 68 landmarks before
    and after, photo pixels."""
    wx0, wy0, wx1, wy1 = window
    for eye, ball in zip(EACH_EYE, balls, strict=True):
        if ball is None or opening(target[eye]) < WIDER * opening(source[eye]):
            continue  # the warp narrows an eye's iris too, but too little to see
        x0, y0, x1, y1 = _box(target[eye], 2, photo.shape)
        x0, y0, x1, y1 = max(x0, wx0), max(y0, wy0), min(x1, wx1), min(y1, wy1)
        if x1 <= x0 or y1 <= y0:
            continue
        region = edited[y0 - wy0 : y1 - wy0, x0 - wx0 : x1 - wx0]
        region[:] = redraw_eye(region, photo, source[eye], target[eye] - (x0, y0), ball)
    return edited


def redraw_eye(
    region: np.ndarray, photo: np.ndarray, before: np.ndarray, after: np.ndarray, ball: Eyeball
) -> np.ndarray:
    """`region` (float RGB, a box of the warped photo) with the opening of the eye whose landmarks
    are `before` in `photo` and `after` in `region`'s pixels redrawn: the photo moved rigidly with
    the eye's corners, and the eyeball `ball` drawn where the new lids uncover more of it than the
    photo shows, or where the photo shows its white in shadow."""
    shape = region.shape[:2]
    to_photo = similarity(after[[0, 3]], before[[0, 3]])  # the eyeball moves with its corners
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    x0, y0, x1, y1 = ball.box
    source_x = (to_photo[0, 0] * xs + to_photo[0, 1] * ys + to_photo[0, 2] - x0).astype(np.float32)
    source_y = (to_photo[1, 0] * xs + to_photo[1, 1] * ys + to_photo[1, 2] - y0).astype(np.float32)
    moved = warp_keeping_detail(photo[y0:y1, x0:x1], source_x, source_y)
    lids = ball.between_lids
    shown = cv2.remap(lids, source_x, source_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)[..., None]
    inside = visible(after, shape, EDGE)
    here = ball.moved(invert(to_photo))
    drawn = ball.look.apply(draw_eyeball(after, shape, here), GRAIN)
    # Outside the iris, the photo's eyeball is kept only where it is lighter than the one drawn:
    # a narrow eye's white lies in its lids' shadow, which opens with them.
    to_iris = np.hypot(xs - here.centre[0], ys - here.centre[1]) / here.radius
    iris = smoothstep(IRIS_KEPT + 0.2, IRIS_KEPT, to_iris)
    lit = smoothstep(-SHADOW_STEP, SHADOW_STEP, moved.mean(-1) - drawn.mean(-1))
    shown = shown * np.maximum(iris, lit)[..., None]
    eyeball = shown * moved + (1 - shown) * drawn
    return region + inside[..., None] * (eyeball - region)


def _box(points: np.ndarray, margin: int, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """The pixel box around `points` with `margin`, clipped to an image of `shape`."""
    x0, y0 = np.maximum(np.floor(points.min(0)).astype(int) - margin, 0)
    x1, y1 = np.minimum(np.ceil(points.max(0)).astype(int) + margin + 1, (shape[1], shape[0]))
    return int(x0), int(y0), int(x1), int(y1)
