"""The mouth in an expression edit: how far it opens, and what happens to its inside when it closes.

Warping a photo moves pixels, so a mouth that closes keeps whatever lay between the lips unless the
edit takes it away. The 68 landmarks place an open mouth's inner lips only roughly (the inner
corners sit inside the opening, the lip edges curve between points), so the edit also finds the
opening by colour and repaints any of it that the warp leaves outside the new, smaller opening.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vae.drawing import Look, line_strength, polygon_mask
from vae.face_shape import CHIN, INNER_LIPS, JAW, OUTER_LIPS, eye_distance
from vae.mouth_inside import draw_inside, inner_outline, inside_mask

INNER_LIP_PAIRS = ((61, 67), (62, 66), (63, 65))  # upper and lower inner-lip points facing each other
INNER_CORNERS, OUTER_CORNERS = (60, 64), (48, 54)
JAW_SHARE = 0.75  # of a closing mouth's gap, what its lower lip moves; the upper lip moves the rest
UPPER_LIP, LOWER_LIP = (49, 50, 51, 52, 53, 61, 62, 63), (55, 56, 57, 58, 59, 65, 66, 67)  # not the corners
LOWER_LIP_MIDDLE = 57
# How much of the lower lip's motion each jaw landmark takes: the jaw turns about its hinges below
# the ears (the outline's second and second-last points), so the chin moves as far as the lower lip
# it carries and the jaw's sides less.
JAW_HINGE = 1
CARRIED_BY_JAW = np.clip(1 - np.abs(JAW - CHIN) / (CHIN - JAW_HINGE), 0, 1)
MOUTH_CLOSED = 0.08  # eye distances: target inner lips closer than this meet
LIP_MARGIN = 0.02  # eye distances: where a mouth closes, its lips meet this far inside their edges
LIP_CONTRAST = 3.0  # an opening pixel differs from the lips' median colour this many times their spread
MIN_CONTRAST = 12.0  # ... and by at least this much (CIELAB units)
TEETH_BRIGHTER, MIN_TEETH_PIXELS = 1.2, 20  # an opening shows teeth where brighter than the lips by this
SEAM_WIDTH = 0.015  # eye distances: the line where closed lips meet (a crease, not a stroke)
SEAM_DARKEST = 0.2  # ... takes the mean colour of this fraction of the photo's lip pixels, darkest first
LIP_EDGE = 0.008  # eye distances: the soft edge of a tint of the lips ...
LIP_SPREAD = 0.04  # ... and how far around a pixel their local colour is taken
REDDER = 0.5  # CIELAB a*: lips are their pixels this much redder than the mean of those in their outline
DARK_HOLE = 0.6  # a new opening whose inside the decoder draws darker than this (of the lips) is a hole


def extra_opening(shape: np.ndarray, decoded: np.ndarray) -> np.ndarray:
    """[68, 2]: how much further apart the inner lips of `shape` are than in its decoding.

    The edit keeps what the decoders do not explain (the person's own features) by moving the photo's
    landmarks by the change between two decodings. How far a mouth is open is expression alone:
    taken off, a laughing face asked to look sad closes its mouth to the sad decoder's opening
    instead of keeping the laugh's extra width.
    """
    extra = np.zeros_like(shape)
    for upper, lower in INNER_LIP_PAIRS:
        residual = (shape[lower] - shape[upper]) - (decoded[lower] - decoded[upper])
        extra[upper], extra[lower] = -residual / 2, residual / 2
    return extra


def close_mouth(points: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Target landmarks `points` whose inner lips meet where the edit brings them nearly together
    (closer than MOUTH_CLOSED, and closer than in the `source` landmarks); a mouth closed this way
    has its inner corners at its outer ones. A warp that brings lips almost together leaves a sliver
    of what was between them; a mouth that was closed already is left as it is."""
    points = _uncross_lips(points)
    limit = MOUTH_CLOSED * eye_distance(points)
    for upper, lower in INNER_LIP_PAIRS:
        distance = np.linalg.norm(points[upper] - points[lower])
        if distance < limit and distance < np.linalg.norm(source[upper] - source[lower]):
            points[upper] = points[lower] = (points[upper] + points[lower]) / 2
    if mouth_closed(points) and not mouth_closed(source):
        points[list(INNER_CORNERS)] = points[list(OUTER_CORNERS)]
    return points


def _uncross_lips(points: np.ndarray) -> np.ndarray:
    """`points` with lips that pass through each other moved apart until they only meet, whole
    (outer and inner line together), so they keep their thickness. An exaggerated closing (strength
    above 1 on an open mouth) moves the inner lips past each other; the warp would then fold the
    lips over and show what lay between them as a thin row of teeth."""
    return _part_lips(points, max(-min(_gaps(points)), 0.0))


def open_no_wider(points: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Target landmarks `points` whose lips are brought together, whole, until they are no further
    apart than in the `source` landmarks (or meet): for expressions whose typical face keeps its
    lips together (sad, neutral), which the shape decoders of some faces draw open-mouthed anyway,
    a dark oval where the photo had a closed mouth."""
    return _part_lips(points, min(max(max(_gaps(source)), 0.0) - max(_gaps(points)), 0.0))


def bring_lips_together(points: np.ndarray, share: float) -> np.ndarray:
    """Target landmarks `points` whose lips are brought together, whole, by `share` (0..1) of their
    widest gap (1 closes the mouth): the lower lip JAW_SHARE of the way, as a jaw closes a mouth.
    Moved half each, a closing grin's upper lip stretched the skin under the nose into a pale band."""
    return _part_lips(points, -share * max(max(_gaps(points)), 0.0), lower_share=JAW_SHARE)


def chin_with_lower_lip(points: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Target landmarks `points` whose chin ends no further below their lower lip than in the
    `source` landmarks, and whose jaw's sides take their share of that (CARRIED_BY_JAW): a mouth
    closed by its jaw. The decoders draw the jaw's outline loosely (FER2013's chins are faint), and
    a grin closed for angry left the chin where it was, far below the lips. No jaw landmark is
    moved down: dropped with the lip, over the neck and the collar just below, the warp folded the
    chin into a jagged edge."""
    down = across_mouth(source)
    lip_drop = float((points[LOWER_LIP_MIDDLE] - source[LOWER_LIP_MIDDLE]) @ down)
    below_lip = (points[JAW] - source[JAW]) @ down - lip_drop  # how much further each has dropped
    points = points.copy()
    points[JAW] -= (CARRIED_BY_JAW * np.maximum(below_lip, 0.0))[:, None] * down
    return points


def _gaps(points: np.ndarray) -> list[float]:
    """The gaps between the facing inner lips, measured across the mouth (negative where the lips
    pass through each other)."""
    down = across_mouth(points)
    return [float((points[lower] - points[upper]) @ down) for upper, lower in INNER_LIP_PAIRS]


def _part_lips(points: np.ndarray, amount: float, lower_share: float = 0.5) -> np.ndarray:
    """`points` with the lips moved `amount` further apart (negative: together), across the mouth,
    whole: the lower lip by `lower_share` of it, the upper lip by the rest."""
    points = points.copy()
    if amount:
        step = amount * across_mouth(points)
        points[list(UPPER_LIP)] -= (1 - lower_share) * step
        points[list(LOWER_LIP)] += lower_share * step
    return points


def across_mouth(points: np.ndarray) -> np.ndarray:
    """The unit vector across the mouth, from the nose towards the chin (square to the corners' line)."""
    corners = points[OUTER_CORNERS[1]] - points[OUTER_CORNERS[0]]
    return np.array([-corners[1], corners[0]]) / max(float(np.linalg.norm(corners)), 1e-9)


def mouth_closed(points: np.ndarray) -> bool:
    return all(_meet(points[upper], points[lower]) for upper, lower in INNER_LIP_PAIRS)


def _meet(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two landmarks are one point (close_mouth makes meeting lips the same point)."""
    return bool(np.abs(a - b).max() < 1e-6)


def lips_meet_inside(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Source landmarks whose inner lips, where the target closes them, sit LIP_MARGIN eye distances
    inside the lips, and whose inner corners, where the target mouth is closed, are the outer ones:
    the pixels just inside the landmarks (teeth) would otherwise line the seam."""
    source = source.copy()
    margin = LIP_MARGIN * eye_distance(source)
    for upper, lower in INNER_LIP_PAIRS:
        gap = source[lower] - source[upper]
        if _meet(target[upper], target[lower]) and np.linalg.norm(gap) > 2 * margin:
            step = margin * gap / np.linalg.norm(gap)
            source[upper] -= step
            source[lower] += step
    if mouth_closed(target):
        source[list(INNER_CORNERS)] = source[list(OUTER_CORNERS)]
    return source


def lip_band(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """[H, W] bool: the lips of a face with landmarks `points`, inside the outer and outside the
    inner lip line."""
    return polygon_mask(points[OUTER_LIPS], shape) & ~polygon_mask(points[INNER_LIPS], shape)


@dataclass(frozen=True)
class MouthOpening:
    """The photo pixels that show the inside of a mouth (teeth, tongue, shadow): inside the outer
    lips, connected to the inner-lip polygon, and unlike the lips' own colour."""

    x0: int
    y0: int
    mask: np.ndarray  # [h, w] bool, from (x0, y0) in photo pixels
    lips: np.ndarray  # [3] the lips' colour (RGB, 0..255, `_redder_part`): the hue a new opening takes
    seam: np.ndarray  # [3] the colour of the lips' darkest part: where closed lips meet
    skin: np.ndarray  # [3] the skin's median colour around the lips: the light drawn teeth are lit by
    look: Look  # the photo's around the mouth: a new opening's inside is drawn alike
    teeth: np.ndarray | None = None  # [3] the colour of the teeth the photo shows (RGB), if it does

    @classmethod
    def of(cls, photo: np.ndarray, points: np.ndarray) -> MouthOpening:
        margin = 2
        x0, y0 = np.maximum(np.floor(points[OUTER_LIPS].min(0)).astype(int) - margin, 0)
        x1, y1 = np.ceil(points[OUTER_LIPS].max(0)).astype(int) + margin + 1
        patch = photo[y0:y1, x0:x1]
        shape, look = patch.shape[:2], Look.of(patch)
        if patch.size == 0:  # the mouth lies outside the photo (a video frame can cut it off)
            none = np.zeros(3)
            return cls(int(x0), int(y0), np.zeros(shape, dtype=bool), none, none, none, look)
        outer = polygon_mask(points[OUTER_LIPS] - (x0, y0), shape)
        inner = polygon_mask(points[INNER_LIPS] - (x0, y0), shape)
        lips = outer & ~_grown(inner)
        lip_pixels = patch[lips] if lips.sum() >= 20 else patch.reshape(-1, 3)
        redder = _redder_part(patch[outer & ~inner])
        colour = np.median(redder if len(redder) >= 20 else lip_pixels, axis=0)
        darkest = np.argsort(lip_pixels.sum(-1))[: max(int(SEAM_DARKEST * len(lip_pixels)), 1)]
        seam = lip_pixels[darkest].mean(0)
        around = ~_grown(outer)
        skin = np.median(patch[around], axis=0) if around.sum() >= 20 else colour
        if lips.sum() < 20 or not inner.any():
            return cls(int(x0), int(y0), np.zeros(shape, dtype=bool), colour, seam, skin, look)
        lab = cv2.cvtColor(patch, cv2.COLOR_RGB2LAB).astype(np.float32)
        distance = np.linalg.norm(lab - np.median(lab[lips], axis=0), axis=-1)
        unlike = outer & (distance > max(LIP_CONTRAST * float(np.median(distance[lips])), MIN_CONTRAST))
        _, labels = cv2.connectedComponents(unlike.astype(np.uint8))
        opening = np.isin(labels, np.unique(labels[inner & unlike])) & unlike
        shown = patch[opening][patch[opening].mean(-1) > TEETH_BRIGHTER * colour.mean()]
        teeth = np.percentile(shown, 75, axis=0) if len(shown) >= MIN_TEETH_PIXELS else None
        return cls(int(x0), int(y0), opening | (inner & outer), colour, seam, skin, look, teeth)

    def at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Whether each photo position (x, y), rounded to its pixel, shows the opening."""
        col, row = np.rint(x).astype(int) - self.x0, np.rint(y).astype(int) - self.y0
        h, w = self.mask.shape
        inside = (col >= 0) & (col < w) & (row >= 0) & (row < h)
        result = np.zeros(x.shape, dtype=bool)
        result[inside] = self.mask[row[inside], col[inside]]
        return result


def _redder_part(pixels: np.ndarray) -> np.ndarray:
    """The pixels [N, 3] (RGB, uint8) redder (CIELAB a*) than their mean: lips are redder than the
    skin and teeth that the landmarks of a small or grinning mouth let into their outline. None of
    them where the photo has no colour to tell them apart (black and white)."""
    lab = cv2.cvtColor(pixels[None].astype(np.float32) / 255, cv2.COLOR_RGB2LAB)[0]
    return pixels[lab[:, 1] > lab[:, 1].mean() + REDDER]


def _grown(mask: np.ndarray) -> np.ndarray:
    """`mask` [H, W] bool grown by 2 pixels: a margin between the lips and what lies beside them."""
    return cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)


def gap(points: np.ndarray) -> float:
    """How far apart the inner lips are, on average over the facing pairs."""
    return float(np.mean([np.linalg.norm(points[lower] - points[upper]) for upper, lower in INNER_LIP_PAIRS]))


def repaint_stray_opening(
    warped: np.ndarray,
    opening: MouthOpening,
    map_x: np.ndarray,
    map_y: np.ndarray,
    target: np.ndarray,
    closing: float,
) -> np.ndarray:
    """`warped` (a float image whose pixel (r, c) was read at photo (map_x, map_y)[r, c], with
    target landmarks `target` in the same pixels) with the pixels that show the source's mouth
    opening outside the target's inner lips filled in from the lips and skin around them
    (inpainting), as much as the mouth closes (`closing`: 0 as open as it was, 1 closed). The
    opening reaches past the inner lips' landmarks wherever they follow the lips' edge only
    roughly: a mouth that stays as it is keeps all of it. Painted in one flat lip colour, a smile
    closed for another expression kept its corners as grey streaks or flat patches; what lies
    around them is lips where they are lips and skin where the narrower mouth leaves skin."""
    stray = opening.at(map_x, map_y) & ~inside_mask(target, warped.shape[:2])
    if closing <= 0 or not stray.any():
        return warped
    grown = cv2.dilate(stray.astype(np.float32), np.ones((3, 3), np.uint8))
    weight = np.maximum(grown, cv2.GaussianBlur(grown, (0, 0), 1.0))  # all of it, and a soft edge
    image = np.clip(warped, 0, 255).astype(np.uint8)
    filled = cv2.inpaint(image, grown.astype(np.uint8), 3, cv2.INPAINT_TELEA).astype(np.float32)
    line = opening.look.soften(meeting_line(target, warped.shape[:2]))[..., None]  # as soft as the photo
    filled += line * (opening.seam - filled)
    return warped + (closing * weight)[..., None] * (filled - warped)


def tint_lips(image: np.ndarray, target: np.ndarray, colour: np.ndarray, amount: float) -> np.ndarray:
    """`image` (float RGB, in whose pixels the new landmarks `target` lie) with its lips' local colour
    moved `amount` of the way to `colour` (the photo's own lips), their detail kept. A grin closed
    for another expression stretches what was a thin rim of lip, and teeth and skin, over the new
    lips: a smudge of skin colour with a line across it, not a mouth."""
    if amount <= 0:
        return image
    scale = eye_distance(target)
    band = lip_band(target, image.shape[:2]).astype(np.float32)
    soft = cv2.GaussianBlur(band, (0, 0), LIP_EDGE * scale)
    weight = cv2.GaussianBlur(band, (0, 0), LIP_SPREAD * scale)[..., None]
    local = cv2.GaussianBlur(image * band[..., None], (0, 0), LIP_SPREAD * scale) / np.maximum(weight, 1e-3)
    return image + (amount * soft)[..., None] * (colour.astype(np.float32) - local)


def meeting_line(target: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """[H, W] in 0..1: the line along the inner lips of landmarks `target` where closed lips meet
    (1 on it), drawn in the colour of the photo's own darkest lips. Darkening what the filling left
    there instead drew a grey line on a small face, whose filling takes the grey of the old teeth's
    shadow; the lips' median colour darkened by a quarter, a wider line, read as a painted stroke."""
    return line_strength(inner_outline(target), shape, SEAM_WIDTH * eye_distance(target), closed=True)


def fill_new_opening(
    warped: np.ndarray,
    target: np.ndarray,
    stretch: np.ndarray,
    darkening: np.ndarray,
    brightness: np.ndarray,
    opening: MouthOpening,
    redrawn: float = 0.0,
) -> np.ndarray:
    """`warped` (float RGB) with the inside of the target mouth drawn (vae.mouth_inside) where the
    photo cannot supply it, always the whole opening (a part-drawn one shows a seam): where the warp
    stretched a closed mouth open (the lip line pulled into streaks; areas grown 2 to 4 times,
    `stretch`), where the decoder draws the new mouth as a dark hole, and where the appearance
    decoder darkens the inside a lot (teeth where the new expression has an open, dark mouth;
    `darkening`, the log of the darkening factor), and as much as `redrawn` says (a grin's teeth
    in another expression). `brightness` is the decoder's brightness relative to its lips (1 = as
    bright as the lips); the photo's `opening` gives the colours of the lips and teeth and the look.
    All maps are [H, W] in the pixels of `warped`, as are the landmarks `target`."""
    inside = inside_mask(target, warped.shape[:2])
    if mouth_closed(target) or not inside.any():  # lips that meet have no inside to draw
        return warped
    stretched = np.clip((stretch[inside] - 2.0) / 2.0, 0, 1)
    rank = int(0.9 * (stretched.size - 1))
    opened = float(np.partition(stretched, rank)[rank])  # the 90th percentile
    # A new mouth that is a dark hole (surprise) is drawn whole: what the warp keeps of the photo's
    # teeth at its corners would show as fangs.
    hole = float(np.clip((DARK_HOLE - np.median(brightness[inside])) / 0.2, 0, 1))
    darkened = np.clip((darkening[inside] - 0.2) / 0.3, 0, 1)
    darker = float(np.partition(darkened, rank)[rank])  # drawn whole: part-drawn openings show a seam
    weight = cv2.GaussianBlur(inside.astype(np.float32), (0, 0), 0.7) * max(opened, hole, darker, redrawn)
    if not weight.any():
        return warped
    drawn = opening.look.apply(draw_inside(target, brightness, opening.lips, opening.skin, opening.teeth))
    return warped + weight[..., None] * (drawn - warped)


def teeth_in_place(
    edited: np.ndarray, photo: np.ndarray, opening: MouthOpening, origin: tuple[int, int], target: np.ndarray
) -> np.ndarray:
    """`edited` (float RGB, a box of the photo whose top left is photo pixel `origin`) with the
    photo's own mouth opening (`photo`: the same box of the photo), unmoved, wherever the new
    opening (inside the inner lips of landmarks `target`, in the box's pixels) lies over it. Teeth
    are fixed to the skull: when the lips move to a new expression, the teeth they uncover are the
    ones that were there, not the old ones stretched with the lips nor drawn ones."""
    h, w = edited.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w]
    shown = opening.at(xs + origin[0], ys + origin[1]) & inside_mask(target, (h, w))
    inner = cv2.erode(shown.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(np.float32)
    weight = cv2.GaussianBlur(inner, (0, 0), 0.7)  # a soft edge inside the lips
    return edited + weight[..., None] * (photo.astype(np.float32) - edited)
