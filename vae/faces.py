"""Find faces in a photo, cut them out the way a training set frames them, and paste results back.

Detection uses the Haar cascades that OpenCV 4.x wheels ship (``cv2.data.haarcascades``), so it works
offline with no model download.  A face is aligned by one 2x3 affine matrix (photo -> crop); pasting
warps the model's output back with the inverse of that matrix and blends it in under a feathered ellipse.
"""

from __future__ import annotations

import functools
import math
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

__all__ = [
    "FER2013_CROP",
    "UTKFACE_CROP",
    "AlignedFace",
    "CropStyle",
    "FaceBox",
    "align_face",
    "detect_faces",
    "paste_face",
]


@dataclass(frozen=True)
class FaceBox:
    """A detected face, in photo pixels."""

    x: int
    y: int
    w: int
    h: int


@dataclass(frozen=True)
class CropStyle:
    """How a training set frames a face, relative to the Haar detector's box on that face."""

    scale: float  # crop side = scale * detected box side
    center_dy: float  # crop centre lies this many box sides below the box centre (negative: above)


# Measured by bench/calibrate_face_crop.py: our detector run on 3000 random images of each training set
# (x4, reflect-padded), medians of image side / box side and of the centre offset.
#   FER2013: face found in 82%; scale 1.032 (IQR 0.970..1.169), center_dy +0.000 (IQR -0.016..+0.020)
#   UTKFace: face found in 98%; scale 0.955 (IQR 0.911..1.008), center_dy +0.080 (IQR +0.068..+0.093)
# FER2013 frames about the detector's own box; UTKFace's crop_part1 is tighter and lower (chin in, hair out).
FER2013_CROP = CropStyle(scale=1.032, center_dy=0.0)
UTKFACE_CROP = CropStyle(scale=0.955, center_dy=0.08)


@dataclass(frozen=True)
class AlignedFace:
    """A face cut out for a model, plus what is needed to put the model's output back."""

    image: np.ndarray  # uint8, size x size (HxW) for one channel, size x size x 3 (RGB) for three
    matrix: np.ndarray  # 2x3 float64 affine, photo pixel -> crop pixel (pixel centres at integers)
    box: FaceBox


# Detector settings.  Tried on 300 padded training faces, 60 synthetic group photos (2-4 UTKFace faces
# pasted on scikit-image scenes, 181 faces) and 9 face-free scenes: this cascade, unequalised, with 5
# neighbours found 89% / 95% of the faces with no false positive; equalising the histogram lost 10% of
# the group faces and added 11 false positives; 3 neighbours added 9, 8 neighbours lost 3-7% of faces.
# The "alt2" cascade does as well on groups (98%) but worse on single faces (85%) and on tilted ones
# (it misses the astronaut turned 15 degrees clockwise).
_FACE_CASCADE = "haarcascade_frontalface_default.xml"
_EYE_CASCADE = "haarcascade_eye.xml"
_SCALE_FACTOR = 1.1
_MIN_NEIGHBORS = 5
_DETECT_MIN_PX = 40  # photos are shrunk so the smallest wanted face is this big: same result, faster
_OVERLAP = 0.5  # boxes sharing this much of the smaller one are one face
_MAX_EYE_TILT = 30.0  # degrees; steeper "eye pairs" are eye + eyebrow or nostril mismatches
_MASK_AXES = (0.85, 1.0)  # half-widths of the paste ellipse, in crop half-sides: faces are tall
_UPRIGHT_PATCH = 160  # px; a levelled face is re-detected in a patch twice its box side, face ~80 px
_CASCADE_LOCK = threading.Lock()  # a CascadeClassifier keeps per-call buffers: not safe across threads


@functools.cache
def _cascade(name: str) -> cv2.CascadeClassifier:
    """Load a cascade once per process; requests reuse it."""
    path = Path(cv2.data.haarcascades) / name
    cascade = cv2.CascadeClassifier(str(path))
    if cascade.empty():
        raise RuntimeError(f"OpenCV cascade {path} is missing; opencv 4.x wheels ship it, 5.0 does not.")
    return cascade


def _detect(name: str, gray: np.ndarray, min_px: int, max_px: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Run a cascade; returns (N x 4 boxes, N neighbour counts -- the detector's confidence)."""
    with _CASCADE_LOCK:
        boxes, counts = _cascade(name).detectMultiScale2(
            gray, _SCALE_FACTOR, _MIN_NEIGHBORS, minSize=(min_px, min_px), maxSize=(max_px, max_px)
        )
    return np.reshape(boxes, (-1, 4)), np.reshape(counts, -1)


def _gray(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def detect_faces(image: np.ndarray, min_size_frac: float = 0.08) -> list[FaceBox]:
    """Frontal faces at least ``min_size_frac`` of the shorter side, left to right, one box per face."""
    gray = _gray(image)
    min_px = max(1, round(min_size_frac * min(gray.shape)))
    shrink = min(1.0, _DETECT_MIN_PX / min_px)
    if shrink < 1.0:
        gray = cv2.resize(gray, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
    boxes, counts = _detect(_FACE_CASCADE, gray, max(1, round(min_px * shrink)))
    faces = [FaceBox(*(round(float(v) / shrink) for v in box)) for box in boxes[np.argsort(-counts)]]
    return sorted(_suppress_overlaps(faces), key=lambda face: face.x)


def _suppress_overlaps(faces: list[FaceBox]) -> list[FaceBox]:
    """Greedy non-max suppression; ``faces`` come most confident first."""
    kept: list[FaceBox] = []
    for face in faces:
        if all(_overlap(face, other) < _OVERLAP for other in kept):
            kept.append(face)
    return kept


def _overlap(a: FaceBox, b: FaceBox) -> float:
    """Intersection over the smaller box, so a box nested in another counts as a duplicate."""
    width = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    height = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    return max(width, 0) * max(height, 0) / min(a.w * a.h, b.w * b.h)


def _eye_tilt(gray: np.ndarray, box: FaceBox) -> float:
    """Angle in degrees of the line from the left to the right eye (image y points down), 0 if unsure.

    Eyes are searched in the upper part of the box, one in each half; the most confident pair wins.
    """
    top = gray[max(box.y, 0) : box.y + box.h * 6 // 10, max(box.x, 0) : box.x + box.w]
    if top.size == 0:
        return 0.0
    eyes, counts = _detect(_EYE_CASCADE, cv2.equalizeHist(top), max(1, box.w // 10), box.w // 3)
    centres = eyes[:, :2] + eyes[:, 2:] / 2
    half = box.w / 2 - (max(box.x, 0) - box.x)
    left = [i for i in range(len(eyes)) if centres[i, 0] < half]
    right = [i for i in range(len(eyes)) if centres[i, 0] >= half]
    pairs = [(counts[i] + counts[j], i, j) for i in left for j in right]
    for _, i, j in sorted(pairs, reverse=True):
        dx, dy = centres[j] - centres[i]
        angle = math.degrees(math.atan2(dy, dx))
        if dx > box.w / 5 and abs(angle) <= _MAX_EYE_TILT:
            return angle
    return 0.0


def align_face(image: np.ndarray, box: FaceBox, size: int, channels: int, style: CropStyle) -> AlignedFace:
    """Cut ``box``'s face out of the RGB ``image`` framed like the training set described by ``style``.

    The crop is rotated so the eyes are level when both are found, scaled to ``size`` with area
    averaging (no aliasing), and padded by reflection where it runs past the photo's border.
    ``channels`` 1 gives a grey HxW crop (BT.601 luma, as ``cv2.COLOR_RGB2GRAY``), 3 an RGB HxWx3 one.
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, not {channels}")
    gray = _gray(image)
    angle = _eye_tilt(gray, box)
    centre = np.array([box.x + box.w / 2 - 0.5, box.y + box.h / 2 - 0.5])  # pixel centres are integers
    side = (box.w + box.h) / 2
    if angle:
        centre, side = _upright_box(gray, centre, side, angle)
    below = style.center_dy * side  # "below" in the levelled face: rotate the offset back into the photo
    offset = below * np.array([-math.sin(math.radians(angle)), math.cos(math.radians(angle))])
    matrix = _similarity(centre + offset, angle, size / (style.scale * side), (size - 1) / 2)
    source = gray if channels == 1 else image
    return AlignedFace(image=_warp_down(source, matrix, size), matrix=matrix, box=box)


def _similarity(centre: np.ndarray, angle: float, zoom: float, target: float) -> np.ndarray:
    """Affine that turns by ``angle`` degrees and scales by ``zoom`` about ``centre``, which lands on
    (target, target).  The rotation is cv2.getRotationMatrix2D's: positive turns the picture anticlockwise.
    """
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    linear = zoom * np.array([[cos, sin], [-sin, cos]])
    return np.hstack([linear, (target - linear @ centre)[:, None]])


def _upright_box(gray: np.ndarray, centre: np.ndarray, side: float, angle: float) -> tuple[np.ndarray, float]:
    """Re-detect a tilted face after levelling it: (centre in photo pixels, box side).

    The detector's box around a tilted face is too big (+12% at 15 degrees), while the crop styles were
    measured on upright faces; so a patch around the face is levelled and searched again.
    """
    patch = _UPRIGHT_PATCH
    to_patch = _similarity(centre, angle, patch / (2 * side), (patch - 1) / 2)
    levelled = cv2.warpAffine(gray, to_patch, (patch, patch), borderMode=cv2.BORDER_REFLECT_101)
    boxes, _ = _detect(_FACE_CASCADE, levelled, patch * 3 // 10, patch * 9 // 10)
    middles = boxes[:, :2] + boxes[:, 2:] / 2 - 0.5
    distances = np.hypot(*(middles - (patch - 1) / 2).T)
    if not len(boxes) or distances.min() > patch / 4:
        return centre, side
    best = int(np.argmin(distances))
    back = cv2.invertAffineTransform(to_patch)
    return back[:, :2] @ middles[best] + back[:, 2], side * boxes[best, 2] / (patch / 2)


def _warp_down(source: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """warpAffine to ``size``; when shrinking by 2x or more, warp at k x size then area-average by k."""
    k = max(1, int(1 / math.hypot(*matrix[0, :2])))
    big_matrix = k * matrix  # photo -> k x crop pixel; pixel centres shift by (k - 1) / 2
    big_matrix[:, 2] += (k - 1) / 2
    big = cv2.warpAffine(
        source, big_matrix, (size * k, size * k), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
    )
    return cv2.resize(big, (size, size), interpolation=cv2.INTER_AREA) if k > 1 else big


def paste_face(
    photo: np.ndarray, face: np.ndarray, aligned: AlignedFace, feather: float = 0.15, match_tone: bool = True
) -> np.ndarray:
    """Put a model's output for ``aligned`` back into the RGB ``photo``; returns a new photo.

    ``face`` is uint8 like ``aligned.image`` (HxW, HxWx1 or HxWx3).  It is warped back with the inverse
    of the crop matrix and blended under an ellipse inscribed in the crop whose edge fades over
    ``feather`` x the crop side.  A grey face only replaces luminance (YCrCb's Y), so the photo keeps
    its colour.  ``match_tone`` gives the new luminance the mean and spread of the photo's under the
    mask, so a model that renders faces darker or flatter does not leave a visible patch.
    """
    size = aligned.image.shape[0]
    face = face.reshape(size, size) if face.shape in ((size, size), (size, size, 1)) else face
    if face.shape not in ((size, size), (size, size, 3)) or face.dtype != np.uint8:
        raise ValueError(f"face must be uint8 {size}x{size}[x1|x3], not {face.dtype} {face.shape}")
    result = photo.copy()
    window = _footprint(aligned.matrix, size, photo.shape[:2])
    if window is None:
        return result
    x0, y0, x1, y1 = window
    matrix = aligned.matrix.copy()  # photo-window pixel -> crop pixel
    matrix[:, 2] += matrix[:, :2] @ (x0, y0)
    new = cv2.warpAffine(
        face.astype(np.float32) / 255,
        matrix,
        (x1 - x0, y1 - y0),
        flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    mask = _ellipse_mask(matrix, (y1 - y0, x1 - x0), size, feather)
    region = result[y0:y1, x0:x1].astype(np.float32) / 255
    blended = region + mask[:, :, None] * (_recolour(new, region, mask, match_tone) - region)
    result[y0:y1, x0:x1] = np.rint(blended * 255).clip(0, 255).astype(np.uint8)
    return result


def _footprint(matrix: np.ndarray, size: int, shape: tuple[int, ...]) -> tuple[int, int, int, int] | None:
    """Photo pixels (x0, y0, x1, y1) that the crop square covers, clipped to the photo; None if none."""
    edges = (-0.5, size - 0.5)  # the crop's outer pixel edges
    back = cv2.invertAffineTransform(matrix)
    points = np.array([(x, y) for x in edges for y in edges]) @ back[:, :2].T + back[:, 2]
    x0, y0 = np.maximum(np.floor(points.min(axis=0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(points.max(axis=0)).astype(int) + 1, (shape[1], shape[0]))
    return (int(x0), int(y0), int(x1), int(y1)) if x1 > x0 and y1 > y0 else None


def _ellipse_mask(matrix: np.ndarray, shape: tuple[int, int], size: int, feather: float) -> np.ndarray:
    """1 inside an ellipse inscribed in the crop, fading smoothly to 0 at its edge over ``feather``.

    Computed analytically at photo resolution (each photo pixel mapped into the crop), which is a blurred
    ellipse without a blur kernel's size limits or its staircase from upsampling a small mask.
    """
    ys, xs = np.mgrid[: shape[0], : shape[1]].astype(np.float32)
    centre, half = (size - 1) / 2, size / 2
    u = (matrix[0, 0] * xs + matrix[0, 1] * ys + matrix[0, 2] - centre) / (half * _MASK_AXES[0])
    v = (matrix[1, 0] * xs + matrix[1, 1] * ys + matrix[1, 2] - centre) / (half * _MASK_AXES[1])
    inside = np.clip((1 - np.sqrt(u * u + v * v)) / max(2 * feather, 1e-6), 0, 1)
    return inside * inside * (3 - 2 * inside)  # smoothstep: no visible ring where the fade starts or ends


def _recolour(new: np.ndarray, region: np.ndarray, mask: np.ndarray, match_tone: bool) -> np.ndarray:
    """RGB with the model's luminance and the model's chroma, or the photo's chroma for a grey model."""
    photo_ycc = cv2.cvtColor(region, cv2.COLOR_RGB2YCrCb)
    face_ycc = cv2.cvtColor(new, cv2.COLOR_RGB2YCrCb) if new.ndim == 3 else None
    luma = new if face_ycc is None else face_ycc[:, :, 0]
    if match_tone:
        luma = _match_moments(luma, photo_ycc[:, :, 0], mask)
    chroma = photo_ycc[:, :, 1:] if face_ycc is None else face_ycc[:, :, 1:]
    return cv2.cvtColor(np.dstack([luma, chroma]), cv2.COLOR_YCrCb2RGB)


def _match_moments(values: np.ndarray, reference: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Shift and scale ``values`` to the weighted mean and standard deviation of ``reference``."""
    total = max(float(weights.sum()), 1e-6)
    mean, ref_mean = (float((a * weights).sum()) / total for a in (values, reference))
    std, ref_std = (
        math.sqrt(float(((a - m) ** 2 * weights).sum()) / total)
        for a, m in ((values, mean), (reference, ref_mean))
    )
    return (values - mean) * (ref_std / max(std, 1e-3)) + ref_mean
