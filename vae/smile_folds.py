"""A smile's folds, lifted where the smile goes.

A smile deepens the folds that run from the nose's wings past the mouth's corners. The warp moves
them with the skin but cannot take them away, and the appearance decoders (48 pixels) undo them
too faintly: on a smiling photo edited into another expression, even with the lips closed, they
read as a smile (the judges' 'happy' falls from about 60-80% to under 20% on such faces when only
these folds are blurred). Where the smile goes, the photo's shadow in them is lifted: the shading
finer than the cheek's own and coarser than pores and fine lines, only where it is darker than
around it, as much as the smile goes. The person's skin, its grain and its colour stay.
"""

from __future__ import annotations

import cv2
import numpy as np

from vae.face_shape import eye_distance
from vae.mouth import across_mouth

# Each fold runs from its nose wing and the mouth's corner on its side (landmarks), outward of both.
FOLDS = ((31, 48), (35, 54))
FOLD_OUTSIDE = (0.1, 0.22)  # eye distances outward of the wing and of the corner (and half as much below it)
FOLD_WIDTH = 0.28  # eye distances: the band lifted along each fold
FOLD_SCALES = (0.005, 0.07)  # eye distances: shading between these scales is a fold's shadow
SHADOW_DEPTH = 4.0  # grey levels darker than around it from which a fold's shadow is lifted whole


def fold_band(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """[H, W] in 0..1: the bands along both folds of a face with landmarks `points` (its pixels)."""
    scale = eye_distance(points)
    centre = points[48:60].mean(0)
    down = across_mouth(points)
    mask = np.zeros(shape, dtype=np.uint8)
    for wing, corner in FOLDS:
        outward = points[corner] - centre
        outward = outward / max(float(np.linalg.norm(outward)), 1e-9)
        start = points[wing] + FOLD_OUTSIDE[0] * scale * outward
        end = points[corner] + FOLD_OUTSIDE[1] * scale * (outward + down / 2)
        line = np.round(np.stack([start, end]) * 16).astype(np.int32)
        thickness = max(1, round(FOLD_WIDTH * scale))
        cv2.polylines(mask, [line], False, 255, thickness=thickness, lineType=cv2.LINE_AA, shift=4)
    return smooth(mask.astype(np.float32) / 255, 0.05 * scale)


def lift_folds(image: np.ndarray, points: np.ndarray, amount: float) -> np.ndarray:
    """`image` (float RGB), in place, with the shadows of the folds of the face with landmarks
    `points` (its pixels) lifted by `amount` (0: as they are, 1: as light as around them). In place:
    the image is a whole edit's window, and a copy of it would cost more than the lifting."""
    if amount <= 0:
        return image
    scale = eye_distance(points)
    margin = (FOLD_OUTSIDE[1] + FOLD_WIDTH + 3 * FOLD_SCALES[1]) * scale
    x0, y0 = np.maximum(np.floor(points[[*sum(FOLDS, ())]].min(0) - margin).astype(int), 0)
    x1, y1 = np.ceil(points[[*sum(FOLDS, ())]].max(0) + margin).astype(int) + 1
    box = image[y0:y1, x0:x1]
    if box.size == 0:
        return image
    fine, broad = (smooth(box, s * scale) for s in FOLD_SCALES)
    darker = np.clip((broad - fine).mean(-1) / SHADOW_DEPTH, 0, 1)  # how much darker than around it
    weight = amount * fold_band(points - (x0, y0), box.shape[:2]) * darker
    box += weight[..., None] * (broad - fine)
    return image


def smooth(image: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian blur of `image` by `sigma` pixels; a wide one at a fraction of the resolution (what
    it keeps is smooth), which costs a fraction of the time."""
    factor = max(1, int(sigma // 3))
    if factor == 1:
        return cv2.GaussianBlur(image, (0, 0), sigma)
    height, width = image.shape[:2]
    size = (max(1, width // factor), max(1, height // factor))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / factor)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
