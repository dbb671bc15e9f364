"""Faces and their 68 landmarks, found offline by dlib's HOG detector and shape predictor.

The models come from the `face_recognition_models` package (pip, CC0): nothing is downloaded at run
time. Its 68-point predictor was trained on iBUG 300-W, whose terms exclude commercial use. The
package's `__init__` needs `pkg_resources`, so its files are located with importlib instead of
importing it.

Points follow the iBUG 68-point scheme: jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, outer lips
48-59, inner lips 60-67; the subject's right eye (36-41) is on the photo's left.
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

__all__ = [
    "SAME_PERSON",
    "FaceBox",
    "LandmarkError",
    "detect_boxes",
    "detect_faces",
    "face_descriptor",
    "face_landmarks",
    "model_file",
]

MODEL_PACKAGE = "face_recognition_models"
PREDICTOR_FILE = "shape_predictor_68_face_landmarks.dat"
RECOGNISER_FILE = "dlib_face_recognition_resnet_model_v1.dat"
SAME_PERSON = (
    0.6  # descriptor distance under which dlib's recogniser calls two faces one person (99.38% on LFW)
)
# px: photos are searched at this longest side, where the HOG detector's 80 px window finds faces down
# to 1/12 of the photo's longest side in one pass (bench.detectors: at 640 px, faces under 1/8 were
# lost beside a larger face; searching twice, at twice the size, costs 4.5 times as long)
DETECT_SIDE = 960
# The HOG score a detection needs: real faces in the test photos score 0.78 and more; a round badge
# on a JPEG-compressed portrait scored 0.006 to 0.12 and passed dlib's own threshold of 0.
MIN_SCORE = 0.3
_OVERLAP = 0.5  # boxes sharing this much of the smaller one are one face
_DLIB_LOCK = threading.Lock()  # dlib's detector and predictor are not documented as thread-safe


class LandmarkError(RuntimeError):
    """The face tools are not installed, or a face's landmarks could not be fitted."""


@dataclass(frozen=True)
class FaceBox:
    """A detected face, in photo pixels."""

    x: int
    y: int
    w: int
    h: int


def model_file(name: str) -> Path:
    """A model file of the `face_recognition_models` package, or LandmarkError saying how to install it."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec else []
    path = Path(folders[0]) / "models" / name if folders else None
    if path is None or not path.is_file():
        raise LandmarkError(
            f"{name} not found: install the face models with `pip install {MODEL_PACKAGE} dlib-bin` "
            "(requirements.txt); nothing is downloaded at run time"
        )
    return path


@functools.cache
def _dlib():
    try:
        import dlib
    except ImportError as exc:
        raise LandmarkError("dlib is not installed: `pip install dlib-bin` (requirements.txt)") from exc
    return dlib


@functools.cache
def _detector():
    return _dlib().get_frontal_face_detector()


@functools.cache
def _predictor():
    return _dlib().shape_predictor(str(model_file(PREDICTOR_FILE)))


@functools.cache
def _recogniser():
    return _dlib().face_recognition_model_v1(str(model_file(RECOGNISER_FILE)))


def gray(image: np.ndarray) -> np.ndarray:
    """BT.601 luma of an RGB image (a grey image unchanged), contiguous uint8 as dlib wants it."""
    plane = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return np.ascontiguousarray(plane)


def detect_faces(image: np.ndarray, min_size_frac: float = 0.08) -> list[FaceBox]:
    """Frontal faces at least `min_size_frac` of the shorter side, left to right, one box per face.

    The photo is searched at DETECT_SIDE (faces down to 1/12 of its longest side); only if that finds
    nothing is it searched at twice that size (down to 1/24).
    """
    plane = gray(image)
    min_px = max(1, round(min_size_frac * min(plane.shape)))
    shrink = min(1.0, DETECT_SIDE / max(plane.shape))
    small = (
        cv2.resize(plane, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA) if shrink < 1 else plane
    )
    faces = detect_boxes(small, threshold=MIN_SCORE, shrink=shrink)
    if not faces:
        faces = detect_boxes(small, upsample=1, threshold=MIN_SCORE, shrink=shrink)
    faces = [face for face in faces if min(face.w, face.h) >= min_px]
    return sorted(_suppress_overlaps(faces), key=lambda face: face.x)


def detect_boxes(
    plane: np.ndarray, upsample: int = 0, threshold: float = 0.0, shrink: float = 1.0
) -> list[FaceBox]:
    """HOG detections in a grey `plane` that is `shrink` times the photo, as photo boxes, most
    confident first; `upsample` doubles the plane that many times (finds smaller faces, slower)."""
    with _DLIB_LOCK:
        rects, scores, _ = _detector().run(plane, upsample, threshold)
    order = np.argsort(-np.asarray(scores, dtype=float))
    return [
        FaceBox(
            round(rects[i].left() / shrink),
            round(rects[i].top() / shrink),
            round(rects[i].width() / shrink),
            round(rects[i].height() / shrink),
        )
        for i in order
    ]


def _suppress_overlaps(faces: list[FaceBox]) -> list[FaceBox]:
    """Greedy non-max suppression; `faces` come most confident first."""
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


def face_landmarks(image: np.ndarray, box: FaceBox) -> np.ndarray:
    """The 68 landmarks [68, 2] (x, y in photo pixels, float) of the face in `box`."""
    dlib = _dlib()
    rect = dlib.rectangle(box.x, box.y, box.x + box.w - 1, box.y + box.h - 1)
    plane = gray(image)
    with _DLIB_LOCK:
        shape = _predictor()(plane, rect)
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def face_descriptor(image: np.ndarray, box: FaceBox) -> np.ndarray:
    """dlib's 128-d face-recognition embedding of the face in `box` of an RGB image: two faces whose
    descriptors lie closer than SAME_PERSON are the same person to the recogniser."""
    dlib = _dlib()
    rect = dlib.rectangle(box.x, box.y, box.x + box.w - 1, box.y + box.h - 1)
    rgb = np.ascontiguousarray(image)
    with _DLIB_LOCK:
        shape = _predictor()(rgb, rect)
        return np.array(_recogniser().compute_face_descriptor(rgb, shape))
