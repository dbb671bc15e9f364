"""Expression editing of photos: move the face's own pixels to a new expression, add only what
geometry cannot draw.

Two multi-decoder models supply the change, and nothing else:

- the shape model (vae.shape_model) encodes the face's landmarks once and decodes them with every
  expression: this face's own smile or frown, as landmarks;
- the appearance model (a MultiDecoderVAE trained on shape-free FER2013 faces, train/shape_free.py)
  encodes the face's texture, warped to one canonical shape, and decodes it with every expression:
  what an expression changes besides geometry (an open mouth's dark inside, teeth, furrows).

The edit warps the photo at full resolution from its landmarks to the new ones (piecewise affine over
a mesh whose outer ring never moves, so motion fades out around the face), then adds the appearance
change to luminance only, band-pass and inside the face: the person, the colour and the sharpness all
stay the photo's. What moving pixels cannot draw is drawn at the photo's resolution: the inside of a
new opening of the mouth (vae.mouth, vae.mouth_inside) and the eyeball where the lids open wider
(vae.eyes). What changes is the difference between the target expression's decoding and the
face's present expression's decoding (the decoders that reconstruct the face best), so a smiling face
asked to smile changes little, and the face keeps whatever the decoders do not model.

`strength` scales how far each expression departs from the mean of the seven decodings (0: the
face without expression, 1: the typical expression, 2: exaggerated); `intensity` goes from the
photo (0) to the full edit (1).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
import torch

from vae.checkpoint import CheckpointError, load_checkpoint
from vae.drawing import WARM_SHADE, Look, smoothstep
from vae.eyes import Eyeball, brows_limited, eyeballs, opening_limited, redraw_eyes
from vae.face_shape import (
    BROWS,
    EACH_EYE,
    INNER_LIPS,
    JAW,
    MOUTH,
    NOSE_BRIDGE,
    OUTER_LIPS,
    RIGID,
    Box,
    Mesh,
    WarpField,
    apply,
    canonical_shape,
    compose,
    detail_weight,
    eye_distance,
    invert,
    normalise,
    shape_free,
    warp_down,
    warp_keeping_detail,
)
from vae.faces import NoFaceError, find_faces
from vae.landmarks import FaceBox, face_landmarks, gray
from vae.mouth import (
    MouthOpening,
    bring_lips_together,
    chin_with_lower_lip,
    close_mouth,
    extra_opening,
    fill_new_opening,
    lip_band,
    lips_meet_inside,
    open_no_wider,
    repaint_stray_opening,
    teeth_in_place,
    tint_lips,
)
from vae.mouth import gap as mouth_gap
from vae.mouth_inside import inside_mask
from vae.multi_decoder import MultiDecoderVAE, check_strength
from vae.shape_model import ShapeVAE
from vae.smile_folds import FOLDS, lift_folds

# The strength the demo starts at and the evaluation measures by default: chosen on held-out faces and
# photos (docs/design.md, section 'The photo-editing swap').
DEFAULT_STRENGTH = 1.75
FaceChoice = str | int | Sequence[int]  # "all", one index, or several indices (0-based, left to right)

MIN_EYE_DISTANCE = 24.0  # px between the outer eye corners: smaller faces are too small to edit
MAX_RIGID_ERROR = 0.12  # eye distances: landmarks whose rigid points fit the template worse are a failed fit
# The warp is computed every few pixels and interpolated (it is smooth between landmarks): every
# eye distance / MAP_DENSITY pixels, at most MAP_STEP apart.
MAP_STEP, MAP_DENSITY = 4, 40
# The appearance change is band-pass, in pixels of the models' 48 px frame: finer than APPEARANCE_BLUR
# is the decoders' blur, not the face; coarser than APPEARANCE_SCALE is a tone over a whole cheek or
# forehead, which differs between expressions' training photos (lighting) rather than between faces.
APPEARANCE_BLUR = 1.5
APPEARANCE_SCALE = 5.0
# The log of the most the appearance change may brighten the photo. What an expression does by
# brightening (eye whites, teeth) is small; what the decoders brighten more is their training
# photos' lighting, which on a face shows as a glow on the forehead or the nose.
MAX_BRIGHTENING = 0.15
MAX_DARKENING = 0.35  # the same for darkening outside the mouth: a furrow, not a bruise
LIP_DARKENING = 0.15  # ... and on the lips: a shadow, not the decoder's dark mouth blurred over them
LIP_TINT = 0.7  # a closing mouth's lips take this much of their colour from the photo's lips ...
OPEN_LIPS = (0.04, 0.08)  # ... if the photo's inner lips were this far apart (eye distances): it was open
RATIO_FLOOR = 16.0  # luminance (0..255) added to both sides of the ratio: black pixels do not explode it
SOURCE_TEMPERATURE = 1e-4  # squared eye distances: how sharply the best-fitting decoders are preferred
# Eye distances: an expression whose typical face parts its lips less than this (sad 0.01, neutral
# 0.002; disgust, the next, 0.06) opens no mouth wider than the photo has it.
TYPICAL_CLOSED_GAP = 0.03
GRIN_GAP = (0.05, 0.1)  # eye distances: a smile's lips this far apart (or more) bare its teeth
# The decoders draw angry and disgust open-mouthed (a shout, a sneer). Opened from a grin, that mouth
# keeps the smile's teeth and reads as a laugh; these two close a grin instead, to pressed lips, as do
# the expressions whose typical face keeps its lips together (sad, neutral). Fear keeps the teeth (its
# lips stretch across them) and surprise drops the jaw.
GRIN_SHUTTING = ("angry", "disgust")
CUT_OUT_SCALE = 1.6  # a face's cut-out (the strip's tiles) spans this many times its detected box


@dataclass(frozen=True)
class ExpressionModels:
    """The shape and appearance models an edit needs; their expressions must agree."""

    shape: ShapeVAE
    appearance: MultiDecoderVAE

    def __post_init__(self) -> None:
        if self.shape.expressions != self.appearance.expressions:
            raise CheckpointError(
                f"the shape model's expressions {self.shape.expressions} differ from the appearance "
                f"model's {self.appearance.expressions}"
            )

    @classmethod
    def load(cls, shape_path: str | Path, appearance_path: str | Path) -> ExpressionModels:
        shape, appearance = load_checkpoint(shape_path).model, load_checkpoint(appearance_path).model
        if not isinstance(shape, ShapeVAE):
            raise CheckpointError(f"{shape_path}: holds a {type(shape).__name__}, not a shape model")
        if not isinstance(appearance, MultiDecoderVAE):
            raise CheckpointError(
                f"{appearance_path}: holds a {type(appearance).__name__}, not a multi-decoder"
            )
        return cls(shape, appearance)

    @property
    def expressions(self) -> tuple[str, ...]:
        return self.shape.expressions

    @property
    def template(self) -> np.ndarray:
        return self.shape.template.double().numpy()

    @property
    def canonical(self) -> np.ndarray:
        return canonical_shape(self.template)

    @functools.cached_property
    def lips_kept_together(self) -> np.ndarray:
        """[E] bool: the expressions whose typical face (the shape decoders at the codes' mean)
        keeps its lips together (sad, neutral)."""
        with torch.inference_mode():
            mean_code = torch.zeros(1, self.shape.config.latent_dim)
            typical = self.shape.calibrated(self.shape.decode_all(mean_code))[0].double().numpy()
        return np.array([mouth_gap(shape) / eye_distance(shape) < TYPICAL_CLOSED_GAP for shape in typical])

    @property
    def grin_shutting(self) -> np.ndarray:
        """[E] bool: the expressions that close a grin's mouth: GRIN_SHUTTING, and those that keep
        their lips together (at strength 1 sad still showed a broad grin's teeth)."""
        return np.isin(self.expressions, GRIN_SHUTTING) | self.lips_kept_together


def exaggerate(decoded: np.ndarray, strength: float) -> np.ndarray:
    """Decodings [E, ...] each moved `strength` times as far from their mean (1: as decoded)."""
    mean = decoded.mean(0, keepdims=True)
    return mean + check_strength(strength) * (decoded - mean)


def at_strength(weights: np.ndarray, k: int, strength: float) -> float:
    """Expression k's share of a per-expression step of the edit (`weights` [E]: how much it closes
    a grin, keeps the lips together, ...) at `strength`: its own from 1 up, their mean at 0. At
    strength 0 every expression is then one edit, the average's, as its landmarks and look are;
    taken whole at any strength, sad at 0 kept the photo's smile that happy at 0 took away."""
    own = float(weights[k])
    return own + (1 - min(strength, 1.0)) * (float(np.mean(weights)) - own)


@dataclass(frozen=True)
class PreparedFace:
    """One face, found, fitted and decoded every way once; `edit` then only warps."""

    box: FaceBox
    points: np.ndarray  # [68, 2] landmarks in photo pixels
    to_frame: np.ndarray  # 2x3 photo -> the models' frame (the rigid similarity onto the template)
    shapes: np.ndarray  # [E, 68, 2] the shape decoders' landmarks (calibrated), in the models' frame
    textures: np.ndarray  # [E, H, W] the appearance decoders' shape-free luminance, 0..255
    present: np.ndarray  # [E] weights of the decoders that best explain the face as it is (sum 1)
    canonical: np.ndarray  # [68, 2] the shape of the appearance model's textures
    opening: MouthOpening  # the photo pixels inside the open mouth, if it is open
    smile_goes: np.ndarray  # [E] how much of the face's smile each expression takes away (smile_gone)
    lips_together: np.ndarray  # [E] bool: expressions that open the mouth no wider than the photo has it
    grin_shutting: np.ndarray  # [E] bool: expressions that close a grin's mouth (GRIN_SHUTTING)
    eyes: tuple[Eyeball | None, ...]  # each eye's eyeball as the photo shows it (in EACH_EYE's order)

    @functools.cached_property
    def grin(self) -> np.ndarray:
        """[E] how much of the photo's open mouth each expression draws anew (grin_redrawn)."""
        return grin_redrawn(self.points, self.smile_goes)

    @functools.cached_property
    def was_open(self) -> float:
        """0..1: how open the photo's mouth is: only a mouth that was open has lips to draw as it closes."""
        return float(smoothstep(*OPEN_LIPS, mouth_gap(self.points) / eye_distance(self.points)))

    @property
    def mesh(self) -> Mesh:
        return Mesh(self.canonical)

    @functools.cached_property
    def vertices(self) -> np.ndarray:
        """The mesh's vertices on the face as it is, in photo pixels (landmarks and the fixed ring)."""
        return self.mesh.vertices(self.points)

    @functools.cached_property
    def frame_vertices(self) -> np.ndarray:
        """The mesh's vertices in the appearance model's frame (the canonical shape and its ring)."""
        return self.mesh.vertices(self.canonical)

    @functools.cached_property
    def frame_regions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """In the appearance frame, the same for every edit: where an expression may change the
        look (expression_regions), where it may darken to black (between the lips), and the lips."""
        size = self.textures.shape[1:]
        return (
            expression_regions(self.canonical, size),
            opening_region(self.canonical, size) > 0.5,
            lip_band(self.canonical, size),
        )

    def target_points(self, k: int, intensity: float, strength: float) -> np.ndarray:
        """The landmarks [68, 2] in photo pixels, moved to expression k."""
        change = _change(self.shapes, self.present, k, strength)  # models' frame
        present = np.tensordot(self.present, self.shapes, 1)
        extra = extra_opening(apply(self.to_frame, self.points), present) * at_strength(
            1 - self.present, k, strength
        )
        moved = self.points + intensity * (change - extra) @ invert(self.to_frame)[:, :2].T
        if at_strength(self.lips_together, k, strength) > 0.5:  # some decoders draw a sad mouth open
            moved = open_no_wider(moved, self.points)
        shut = intensity * at_strength(self.grin * self.grin_shutting, k, strength)
        if shut > 0:  # a grin's teeth go with the smile
            moved = bring_lips_together(moved, shut)
        moved = brows_limited(opening_limited(moved, self.points), self.points)
        return chin_with_lower_lip(close_mouth(moved, self.points), self.points)

    def appearance_change(self, k: int, intensity: float, strength: float) -> np.ndarray:
        """The log of the factor [H, W] that multiplies the photo's brightness, in the appearance frame:
        band-pass, and zero outside the face.

        An expression ratio image (Liu, Shan and Zhang, 2001): the target decoding over the present
        one. A factor, not a difference, so an open mouth darkens white teeth as much as it darkens
        a lip, a furrow shades any skin alike, and the photo's own colours and detail ride on top.
        """
        target = exaggerate(self.textures, strength)[k]
        present = np.tensordot(self.present, self.textures, 1)
        ratio = (np.log(np.maximum(target, 0) + RATIO_FLOOR) - np.log(present + RATIO_FLOOR)).astype(
            np.float32
        )
        band = cv2.GaussianBlur(ratio, (0, 0), APPEARANCE_BLUR) - cv2.GaussianBlur(
            ratio, (0, 0), APPEARANCE_SCALE
        )
        regions, opening, _ = self.frame_regions  # an open mouth may darken to black
        floor = np.where(opening, np.float32(-np.inf), np.float32(-MAX_DARKENING))
        band = np.clip(band, floor, np.float32(MAX_BRIGHTENING))
        return intensity * band * regions

    def window(self, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
        """The photo pixels the edit may touch: the box of the mesh's ring, clipped to the photo."""
        vertices = self.vertices
        x0, y0 = np.maximum(np.floor(vertices.min(0)).astype(int), 0)
        x1, y1 = np.minimum(np.ceil(vertices.max(0)).astype(int) + 1, (shape[1], shape[0]))
        return int(x0), int(y0), int(x1), int(y1)

    def cut_out(self, photo: np.ndarray, size: int) -> tuple[PreparedFace, np.ndarray]:
        """This face cut out of `photo` as a size x size image (the face and a margin around it), and
        the face as it lies in that image: editing the pair costs what a face of that size costs."""
        centre = self.points[[*JAW, *range(17, 27)]].mean(0)
        side = CUT_OUT_SCALE * max(self.box.w, self.box.h)
        to_crop = np.array([[size / side, 0, 0], [0, size / side, 0]])
        to_crop[:, 2] = (size - 1) / 2 - to_crop[:, :2] @ centre
        crop = warp_down(photo, to_crop, size)
        points = apply(to_crop, self.points)
        x, y = apply(to_crop, np.array([[self.box.x, self.box.y]]))[0]
        scale = size / side
        face = replace(
            self,
            box=FaceBox(round(x), round(y), round(self.box.w * scale), round(self.box.h * scale)),
            points=points,
            to_frame=compose(self.to_frame, invert(to_crop)),
            opening=MouthOpening.of(crop, points),
            eyes=eyeballs(crop, points),
        )
        return face, crop

    def edit(self, photo: np.ndarray, k: int, intensity: float, strength: float) -> np.ndarray:
        """`photo` (RGB uint8, the one this face was found in) with this face given expression k."""
        if intensity == 0.0:
            return photo
        target_points = self.target_points(k, intensity, strength)
        source, target = self.vertices.copy(), self.vertices.copy()
        source[: len(target_points)] = lips_meet_inside(self.points, target_points)
        target[: len(target_points)] = target_points
        window = x0, y0, x1, y1 = self.window(photo.shape)
        step = int(np.clip(eye_distance(self.points) / MAP_DENSITY, 1, MAP_STEP))
        eye_boxes = tuple(_box(target_points[eye], margin=2 * step) for eye in EACH_EYE)
        mouth_box = _box(target_points[MOUTH], margin=4)
        field = WarpField.of(target, self.mesh.triangles, window, mouth_box, step, exact=eye_boxes)
        to_window = np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0]])  # outside the mesh: no motion
        photo_x, photo_y = field.sample(source - (x0, y0), to_window)
        stretch = field.area_ratio(source, target)
        warped = warp_skin(photo[y0:y1, x0:x1], photo_x, photo_y, stretch, self.opening.look)
        frame_x, frame_y = field.sample(self.frame_vertices, outside=self.to_frame)
        change = cv2.remap(
            self.appearance_change(k, intensity, strength), frame_x, frame_y, cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT, borderValue=0.0,
        )  # fmt: skip
        in_window = target_points - (x0, y0)
        change = limit_darkening(change, in_window, intensity)
        edited = lighten(warped, change, self.opening.look.colour)  # the photo's look around the mouth
        edited = lift_folds(edited, in_window, intensity * at_strength(self.smile_goes, k, strength))
        grin = at_strength(self.grin, k, strength)
        if field.sharp is not None:
            mx0, my0, mx1, my1 = field.sharp
            mouth = slice(my0 - y0, my1 - y0), slice(mx0 - x0, mx1 - x0)
            maps = (photo_x[mouth] + x0, photo_y[mouth] + y0, frame_x[mouth], frame_y[mouth])
            in_box = target_points - (mx0, my0)
            edited[mouth] = self._redraw_mouth(
                edited[mouth], in_box, maps, stretch[mouth], change[mouth], k, strength, grin
            )
            if grin > 0:  # a grin's mouth is drawn anew around the photo's teeth, where they were
                teeth = teeth_in_place(
                    edited[mouth], photo[my0:my1, mx0:mx1], self.opening, (mx0, my0), in_box
                )
                edited[mouth] += grin * (teeth - edited[mouth])
        edited = redraw_eyes(edited, window, photo, self.eyes, self.points, target_points)
        result = photo.copy()
        result[y0:y1, x0:x1] = np.clip(edited, 0, 255).round().astype(np.uint8)
        return result

    def _redraw_mouth(
        self,
        edited: np.ndarray,
        target: np.ndarray,
        maps: tuple[np.ndarray, ...],
        stretch: np.ndarray,
        change: np.ndarray,
        k: int,
        strength: float,
        grin: float,
    ) -> np.ndarray:
        """The mouth's box of an edit, with what the warp cannot draw redrawn: the old opening where
        the new mouth closes (filled in from around it), and the inside of a mouth pulled open or darkened
        (drawn over the appearance decoder's light and dark, vae.mouth_inside). `maps`: each
        pixel's place in the photo (x, y) and in the appearance frame (x, y); `target`: the new
        landmarks in the box's pixels."""
        photo_x, photo_y, frame_x, frame_y = maps
        brightness = cv2.remap(
            self.mouth_brightness(k, strength), frame_x, frame_y, cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )  # fmt: skip
        closing = 1 - mouth_gap(target) / max(mouth_gap(self.points), 1e-6)
        edited = repaint_stray_opening(edited, self.opening, photo_x, photo_y, target, closing)
        edited = tint_lips(edited, target, self.opening.lips, LIP_TINT * max(closing, 0.0) * self.was_open)
        return fill_new_opening(edited, target, stretch, -change, brightness, self.opening, grin)

    def mouth_brightness(self, k: int, strength: float) -> np.ndarray:
        """Expression k's decoded texture over its own lips' mean brightness: how much darker (or,
        for teeth, brighter) than the lips the inside of an opened mouth is drawn. Averaged with its
        mirror image (the frame is symmetric about the face's midline): a decoder's lopsided snarl
        drew teeth in one half of the mouth only, cut off by a straight edge in the middle."""
        texture = np.maximum(exaggerate(self.textures, strength)[k], 0).astype(np.float32)
        texture = (texture + texture[:, ::-1]) / 2
        lips = self.frame_regions[2]
        return texture / max(float(texture[lips].mean()), 1.0)


def warp_skin(
    image: np.ndarray, map_x: np.ndarray, map_y: np.ndarray, stretch: np.ndarray, look: Look
) -> np.ndarray:
    """`image` warped by the maps with its finest detail copied where the warp scales areas by
    `stretch` [H, W] little (warp_keeping_detail), and where it stretches the skin too far to copy
    it, the photo's grain (`look`) instead, as much as was lost (in power): without it, stretched
    skin was smooth, a smear beside the pores."""
    kept = detail_weight(stretch)
    return look.regrain(warp_keeping_detail(image, map_x, map_y, kept), np.sqrt(1 - kept**2))


def limit_darkening(change: np.ndarray, target: np.ndarray, intensity: float) -> np.ndarray:
    """The appearance change `change` (the log factor [H, W] over a part of the photo, in whose
    pixels the new landmarks `target` lie) darkening the lips by LIP_DARKENING at most and the rest by
    MAX_DARKENING: only inside the new mouth's inner lips may it darken to black. Set at the photo's
    resolution: in the decoders' 48 px frame, the limit's edge lay up to a frame pixel (7 photo
    pixels on a large face) over the lips, and an opened mouth's lower lip went black."""
    lips = cv2.GaussianBlur(lip_band(target, change.shape).astype(np.float32), (0, 0), 1.0)
    floor = -intensity * (MAX_DARKENING - lips * (MAX_DARKENING - LIP_DARKENING))
    return np.maximum(change, np.where(inside_mask(target, change.shape), -np.inf, floor))


def lighten(image: np.ndarray, change: np.ndarray, colour: float = 1.0) -> np.ndarray:
    """`image` (float RGB) with its brightness multiplied by exp(`change`) [H, W]: darkening is
    warm, as shade on skin is (WARM_SHADE), as much as the photo is in colour (`colour`, Look's:
    shade on a black-and-white photo is grey, not sepia), and brightening adds the same light to
    every channel, so a lighter patch is paler, not a more saturated, orange band."""
    result = image.copy()
    rows, cols = np.flatnonzero(change.any(1)), np.flatnonzero(change.any(0))
    if not rows.size:
        return result
    box = slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)  # the face's part of the window
    factor, part = change[box][..., None], image[box]
    warmth = (1 + colour * (WARM_SHADE - 1)).astype(np.float32)
    shade = np.exp(np.minimum(factor, 0) * warmth)
    result[box] = part * shade + np.expm1(np.maximum(factor, 0)) * part.mean(-1, keepdims=True)
    return result


def _change(decoded: np.ndarray, present: np.ndarray, k: int, strength: float) -> np.ndarray:
    """Decoding k at `strength` minus the decoding of the face's present expression."""
    return exaggerate(decoded, strength)[k] - np.tensordot(present, decoded, 1)


def expression_regions(shape: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """[H, W] in 0..1: where in a face of `shape` (a frame of `size`) an expression changes its
    look beyond its geometry, and so where the appearance change may land: the mouth and its corners
    (an open mouth, teeth), the eyes (their whites), the brows and the skin between and above them
    (furrows), and the folds from the nose to the mouth. Elsewhere (cheeks, nose, forehead) the
    decoders differ mostly in the lighting of their training photos."""
    scale = eye_distance(shape)
    parts = [
        (shape[OUTER_LIPS], 0.08),
        *((shape[eye], 0.05) for eye in EACH_EYE),
        (shape[[*BROWS, NOSE_BRIDGE]], 0.05),
        *(
            (np.vstack([shape[wing], shape[corner], (shape[wing] + shape[corner]) / 2]), 0.06)
            for wing, corner in FOLDS
        ),
    ]
    return _hulls(parts, scale, size)


def opening_region(shape: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """[H, W] in 0..1: the opening between the inner lips of a face of `shape`, a little beyond it.
    Only there may the appearance change darken to black (an open mouth's inside): on the lips and
    around them the decoders' own dark mouths fall on the photo's skin as grey smudges."""
    return _hulls([(shape[INNER_LIPS], 0.03)], eye_distance(shape), size)


def _hulls(parts: list[tuple[np.ndarray, float]], scale: float, size: tuple[int, int]) -> np.ndarray:
    """The convex hulls of point sets, each grown by its fraction of `scale`, softened."""
    mask = np.zeros(size, dtype=np.uint8)
    for points, grow in parts:
        hull = cv2.convexHull(np.round(points * 16).astype(np.int32))
        cv2.fillConvexPoly(mask, hull, 255, lineType=cv2.LINE_AA, shift=4)
        thickness = 2 * max(1, round(grow * scale))
        cv2.polylines(mask, [hull], True, 255, thickness=thickness, lineType=cv2.LINE_AA, shift=4)
    return cv2.GaussianBlur(mask.astype(np.float32) / 255, (0, 0), 0.06 * scale)


def _box(points: np.ndarray, margin: int) -> Box:
    """The pixel box around `points`, `margin` pixels wider on each side."""
    x0, y0 = np.floor(points.min(0)).astype(int) - margin
    x1, y1 = np.ceil(points.max(0)).astype(int) + margin + 1
    return int(x0), int(y0), int(x1), int(y1)


def smile_gone(present: np.ndarray, expressions: Sequence[str]) -> np.ndarray:
    """[E]: how much of a face's smile (its present expression weights `present`) each expression
    takes away: all of it for every expression but happy."""
    smile = float(present[list(expressions).index("happy")]) if "happy" in expressions else 0.0
    return np.array([0.0 if e == "happy" else smile for e in expressions])


def grin_redrawn(points: np.ndarray, smile_goes: np.ndarray) -> np.ndarray:
    """[E]: how much of the open mouth of a face with landmarks `points` each expression draws anew
    rather than warps, given how much of its smile each takes away (`smile_gone`). Teeth bared by a
    smile belong to the smile: warped into an angry or frightened mouth, they still read as a grin
    (taller teeth, a laugh). Every other expression draws its own inside; happy keeps the photo's."""
    opened = float(np.clip((mouth_gap(points) / eye_distance(points) - GRIN_GAP[0]) / np.ptp(GRIN_GAP), 0, 1))
    return smile_goes * opened


def present_weights(errors: np.ndarray) -> np.ndarray:
    """Softmax of -errors / SOURCE_TEMPERATURE: the decoders that reconstruct a face best, weighted."""
    logits = -(errors - errors.min()) / SOURCE_TEMPERATURE
    weights = np.exp(logits)
    return weights / weights.sum()


@torch.inference_mode()
def prepare_face(
    photo: np.ndarray,
    plane: np.ndarray,
    box: FaceBox,
    models: ExpressionModels,
    points: np.ndarray | None = None,
    textures: np.ndarray | None = None,
) -> PreparedFace:
    """Fit, encode and decode one detected face; NoFaceError if it is too small or the fit failed.

    A video passes what it already has: `points`, the landmarks fitted (and smoothed) by the caller,
    instead of fitting them here; `textures`, the face's appearance decodings from an earlier frame
    (they change slowly), instead of running the appearance model."""
    points = face_landmarks(plane, box) if points is None else points
    if eye_distance(points) < MIN_EYE_DISTANCE:
        raise NoFaceError(
            f"The face is too small to edit ({eye_distance(points):.0f} px between the eyes; "
            f"at least {MIN_EYE_DISTANCE:.0f}). Use a photo where the face is larger."
        )
    template, canonical = models.template, models.canonical
    shape, to_frame = normalise(points, template)
    rigid_error = np.linalg.norm(shape[RIGID] - template[RIGID], axis=1).mean() / eye_distance(template)
    if rigid_error > MAX_RIGID_ERROR:
        raise NoFaceError("The face's landmarks could not be fitted. Try a more frontal, evenly lit photo.")
    shape_tensor = torch.tensor(shape, dtype=torch.float32)[None]
    decoded = models.shape.decode_all(models.shape.encode(shape_tensor)[0])
    errors = ((decoded[0] - shape_tensor) / models.shape.unit).pow(2).mean((1, 2)).numpy()
    shapes = models.shape.calibrated(decoded)[0]
    if textures is None:
        textures = decode_textures(models, appearance_code(plane, points, models))
    present = present_weights(errors)
    return PreparedFace(
        opening=MouthOpening.of(photo, points),
        smile_goes=smile_gone(present, models.expressions),
        lips_together=models.lips_kept_together,
        grin_shutting=models.grin_shutting,
        eyes=eyeballs(photo, points),
        box=box,
        points=points,
        to_frame=to_frame,
        shapes=shapes.double().numpy(),
        textures=textures,
        present=present,
        canonical=canonical,
    )


@torch.inference_mode()
def appearance_code(plane: np.ndarray, points: np.ndarray, models: ExpressionModels) -> torch.Tensor:
    """The appearance model's code [1, latent] of the face with landmarks `points` in the grey
    `plane`: its texture, warped to the canonical shape, encoded."""
    texture = shape_free(plane, points, models.canonical, models.appearance.config.image_size)
    x = torch.tensor(texture, dtype=torch.float32)[None, None] / 127.5 - 1
    return models.appearance.encode(x)[0]


@torch.inference_mode()
def decode_textures(
    models: ExpressionModels, code: torch.Tensor, expressions: Sequence[int] | None = None
) -> np.ndarray:
    """The appearance decodings of `code` [1, latent] as shape-free luminance 0..255: [E, H, W] for
    every expression, or one per index in `expressions` (a video spreads them over frames)."""
    if expressions is None:
        decoded = models.appearance.decode_all(code)[0]
    else:
        heads = torch.tensor(list(expressions), dtype=torch.long)
        decoded = models.appearance.decode(code.expand(len(heads), -1), heads)
    return (decoded[:, 0].double().numpy() + 1) * 127.5


@dataclass(frozen=True)
class PreparedPhoto:
    """A photo whose faces are found, fitted and decoded once; `render` then only warps.

    Kept between requests (in memory, never on disk), so moving a slider or picking another
    expression costs one warp per face.
    """

    photo: np.ndarray  # RGB uint8
    faces: list[PreparedFace]  # left to right
    expressions: tuple[str, ...]
    cut_outs: dict[tuple[int, int], tuple[PreparedFace, np.ndarray]] = field(
        default_factory=dict, repr=False, compare=False
    )  # (face, size) -> the face cut out at that size, filled by `strip`

    @property
    def boxes(self) -> list[FaceBox]:
        return [face.box for face in self.faces]

    def chosen(self, faces: FaceChoice) -> list[int]:
        """Indices of the faces that `faces` names; ValueError for one the photo does not have."""
        if isinstance(faces, str):
            if faces != "all":
                raise ValueError(f"faces must be 'all' or face indices, not {faces!r}")
            return list(range(len(self.faces)))
        indices = [faces] if isinstance(faces, int) else list(faces)
        if not indices or not all(0 <= i < len(self.faces) for i in indices):
            raise ValueError(f"face indices {indices} out of range: the photo has {len(self.faces)} face(s)")
        return sorted(set(indices))

    def expression_index(self, expression: str) -> int:
        if expression not in self.expressions:
            raise ValueError(f"unknown expression {expression!r}; the models have {self.expressions}")
        return self.expressions.index(expression)

    def render(
        self, expression: str, intensity: float = 1.0, faces: FaceChoice = "all", strength: float = 1.0
    ) -> np.ndarray:
        """The photo with the chosen faces given `expression`."""
        k = self.expression_index(expression)
        check_settings(intensity, strength)
        result = self.photo
        for i in self.chosen(faces):
            result = self.faces[i].edit(result, k, intensity, strength)
        return result

    def strip(self, face: int, intensity: float = 1.0, strength: float = 1.0, size: int = 160) -> np.ndarray:
        """Face `face` edited into every expression, cut out at `size` pixels: [E, size, size, 3].

        Edited on a cut-out of the face at that size, so all of them cost less than one edit of the
        photo."""
        check_settings(intensity, strength)
        small, crop = self._cut_out(self.chosen(face)[0], size)
        return np.stack([small.edit(crop, k, intensity, strength) for k in range(len(self.expressions))])

    def closeup(
        self, face: int, expression: str, intensity: float = 1.0, strength: float = 1.0, size: int = 320
    ) -> tuple[np.ndarray, np.ndarray]:
        """Face `face` cut out at `size` pixels, as the photo shows it and given `expression`: the
        change seen close, where the face is small in its photo. Edited on the cut-out, as `strip`."""
        k = self.expression_index(expression)
        check_settings(intensity, strength)
        small, crop = self._cut_out(self.chosen(face)[0], size)
        return crop, small.edit(crop, k, intensity, strength)

    def _cut_out(self, face: int, size: int) -> tuple[PreparedFace, np.ndarray]:
        """Face `face` cut out at `size` (PreparedFace.cut_out), once: a strip is drawn again for
        every amount or strength."""
        key = (face, size)
        if key not in self.cut_outs:
            self.cut_outs[key] = self.faces[face].cut_out(self.photo, size)
        return self.cut_outs[key]


def check_settings(intensity: float, strength: float) -> None:
    if not 0.0 <= intensity <= 1.0:
        raise ValueError(f"intensity must lie in 0..1, not {intensity}")
    check_strength(strength)


def prepare_photo(photo: np.ndarray, models: ExpressionModels) -> PreparedPhoto:
    """Find every face of an RGB uint8 photo, fit and decode each; NoFaceError if none can be edited."""
    plane = gray(photo)
    faces, problems = [], []
    for box in find_faces(photo):
        try:
            faces.append(prepare_face(photo, plane, box, models))
        except NoFaceError as error:
            problems.append(str(error))
    if not faces:
        raise NoFaceError(problems[0])
    return PreparedPhoto(photo, faces, models.expressions)
