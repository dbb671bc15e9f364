"""Photos whose faces are known, for measuring face detectors (bench/detectors.py).

Every scene is an RGB photo with the true box of each face in it. The boxes are exact where the
scene is built here (a training face enlarged, turned or pasted: its box is the face crop, which
UTKFace, FER2013 and Olivetti frame from about the hairline to the chin) and marked by hand where it
is a real photo (``PHOTO_FACES``, ``ASTRONAUT_FACE``; checked on the benchmark's contact sheet).
Everything is deterministic: the same arguments give the same pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from skimage import data as skdata

from vae.images import read_image

Box = tuple[int, int, int, int]  # x, y, width, height in photo pixels

NEUTRAL = (128, 128, 128)  # the border around an enlarged face, and what turning a photo uncovers
ENLARGE = 4  # training faces (48 or 64 px) are enlarged this much (bicubic) to photo size
ASTRONAUT_FACE: Box = (174, 70, 96, 96)  # skimage.data.astronaut(), hairline to chin, marked by hand
# Real photos (../shared/photos, see its README): (width, height) as stored, faces marked by hand.
PHOTO_FACES: dict[str, tuple[tuple[int, int], tuple[Box, ...]]] = {
    "obama.jpg": ((910, 1137), ((370, 130, 245, 255),)),
    "obama2.jpg": ((626, 1200), ((200, 260, 290, 330),)),
    "obama3.jpg": ((1434, 2333), ((640, 270, 290, 300),)),
    "biden.jpg": ((970, 2204), ((430, 220, 300, 330),)),
    "two_people.jpg": ((1126, 661), ((235, 40, 150, 165), (768, 70, 165, 170))),
}
BACKDROPS = ("coffee", "chelsea", "rocket")  # colour scenes with no human face, faces get pasted on
FACE_FREE = (*BACKDROPS, "hubble_deep_field", "immunohistochemistry", "retina", "brick", "grass", "gravel")
FACE_FREE += ("moon", "clock", "coins", "page", "text", "cell", "colorwheel")
# Olivetti (ORL) pictures whose subject wears glasses, marked by eye on a sheet of all 400:
# subject -> picture numbers (s<subject>/<k>.png). Every other picture shows no glasses.
ALL_TEN = tuple(range(1, 11))
OLIVETTI_GLASSES: dict[int, tuple[int, ...]] = {
    2: ALL_TEN, 4: (1, 2, 3, 8, 9), 6: ALL_TEN, 7: (4, 5, 10), 13: (1, 2, 5, 6, 7, 8, 9, 10), 14: ALL_TEN,
    17: (1, 2, 5, 6, 7, 8, 9, 10), 19: (1, 2, 3, 6, 10), 20: (1, 2, 3, 5, 7, 8, 9, 10), 27: ALL_TEN,
    28: ALL_TEN, 31: ALL_TEN, 34: ALL_TEN, 36: (9, 10), 37: ALL_TEN,
}  # fmt: skip
OLIVETTI_SUBJECTS = 40


@dataclass(frozen=True)
class Scene:
    """A photo and the true box of every face in it."""

    name: str  # where it comes from, shown on the contact sheet
    image: np.ndarray  # RGB uint8
    faces: tuple[Box, ...]


def rgb(image: np.ndarray) -> np.ndarray:
    """Any skimage or training image (grey, bool, RGBA, float) as RGB uint8."""
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    elif image.dtype != np.uint8:
        image = np.clip(image * 255, 0, 255).astype(np.uint8)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    return np.ascontiguousarray(image[..., :3])


def padded_face(name: str, face: np.ndarray) -> Scene:
    """A square training face enlarged ENLARGE times, in the middle of a NEUTRAL photo three times
    its side: a portrait where the face is about a third of the picture."""
    big = cv2.resize(rgb(face), None, fx=ENLARGE, fy=ENLARGE, interpolation=cv2.INTER_CUBIC)
    side = big.shape[0]
    photo = cv2.copyMakeBorder(big, side, side, side, side, cv2.BORDER_CONSTANT, value=NEUTRAL)
    return Scene(name, photo, ((side, side, side, side),))


def astronaut() -> Scene:
    return Scene("astronaut", skdata.astronaut(), (ASTRONAUT_FACE,))


def turned(scene: Scene, degrees: float) -> Scene:
    """The photo turned about its first face's centre (positive: anticlockwise), NEUTRAL where it
    uncovers; every face box keeps its size and follows its centre."""
    x, y, w, h = scene.faces[0]
    matrix = cv2.getRotationMatrix2D((x + w / 2, y + h / 2), degrees, 1.0)
    size = (scene.image.shape[1], scene.image.shape[0])
    photo = cv2.warpAffine(
        scene.image, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=NEUTRAL
    )
    faces = []
    for bx, by, bw, bh in scene.faces:
        cx, cy = matrix @ (bx + bw / 2, by + bh / 2, 1.0)
        faces.append((round(cx - bw / 2), round(cy - bh / 2), bw, bh))
    return Scene(f"{scene.name} turned {degrees:+g}", photo, tuple(faces))


def backdrop(name: str, width: int, height: int) -> np.ndarray:
    """A scikit-image picture cut to the aspect width:height about its centre and resized to it."""
    image = rgb(getattr(skdata, name)())
    rows, cols = image.shape[:2]
    keep_cols = min(cols, round(rows * width / height))
    keep_rows = min(rows, round(cols * height / width))
    top, left = (rows - keep_rows) // 2, (cols - keep_cols) // 2
    cut = image[top : top + keep_rows, left : left + keep_cols]
    return cv2.resize(cut, (width, height), interpolation=cv2.INTER_CUBIC)


def face_free(name: str, long_side: int = 1200) -> Scene:
    """A scikit-image picture with no human face, its longest side scaled to ``long_side``."""
    image = rgb(getattr(skdata, name)())
    scale = long_side / max(image.shape[:2])
    return Scene(name, cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC), ())


@dataclass(frozen=True)
class Sticker:
    """A picture to paste and where the face is in it."""

    name: str
    image: np.ndarray  # RGB uint8
    face: Box

    def at_width(self, face_width: int) -> tuple[np.ndarray, Box]:
        """The picture scaled so its face is ``face_width`` pixels wide, and that face's box in it."""
        scale = face_width / self.face[2]
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        image = cv2.resize(self.image, None, fx=scale, fy=scale, interpolation=interpolation)
        return image, tuple(round(v * scale) for v in self.face)  # type: ignore[return-value]


def astronaut_head() -> Sticker:
    """The astronaut's head and shoulders: a square twice her face's side about its centre."""
    x, y, w, h = ASTRONAUT_FACE
    left, top = x + w // 2 - w, y + h // 2 - h
    return Sticker(
        "astronaut", skdata.astronaut()[top : top + 2 * h, left : left + 2 * w], (w // 2, h // 2, w, h)
    )


def face_sticker(name: str, face: np.ndarray) -> Sticker:
    """A training face crop: the whole square is the face."""
    image = rgb(face)
    return Sticker(name, image, (0, 0, image.shape[1], image.shape[0]))


def pasted(
    name: str, background: np.ndarray, stickers: Sequence[Sticker], widths: Sequence[int], seed: int
) -> Scene:
    """``stickers`` pasted (hard-edged) at random places of ``background`` that do not overlap, their
    faces ``widths`` pixels wide; the places follow from ``seed``."""
    rng = np.random.default_rng(seed)
    photo = background.copy()
    taken: list[Box] = []
    faces: list[Box] = []
    for sticker, width in zip(stickers, widths, strict=True):
        image, (fx, fy, fw, fh) = sticker.at_width(width)
        rows, cols = image.shape[:2]
        for _ in range(1000):
            left = int(rng.integers(0, photo.shape[1] - cols + 1))
            top = int(rng.integers(0, photo.shape[0] - rows + 1))
            if not any(_overlaps((left, top, cols, rows), other) for other in taken):
                break
        else:
            raise ValueError(f"{name}: no room left for a {cols}x{rows} face")
        photo[top : top + rows, left : left + cols] = image
        taken.append((left, top, cols, rows))
        faces.append((left + fx, top + fy, fw, fh))
    return Scene(name, photo, tuple(faces))


def _overlaps(a: Box, b: Box, gap: int = 10) -> bool:
    return not (
        a[0] + a[2] + gap <= b[0]
        or b[0] + b[2] + gap <= a[0]
        or a[1] + a[3] + gap <= b[1]
        or b[1] + b[3] + gap <= a[1]
    )


def group(index: int, faces: Sequence[Sticker], seed: int, size: tuple[int, int] = (1200, 900)) -> Scene:
    """Group photo ``index``: 2 to 4 of ``faces`` (picked by the seed) 110 to 260 px wide on a backdrop."""
    rng = np.random.default_rng((seed, index))
    count = int(rng.integers(2, 5))
    chosen = [faces[i] for i in rng.choice(len(faces), size=count, replace=False)]
    widths = [int(w) for w in rng.integers(110, 261, size=count)]
    name = BACKDROPS[index % len(BACKDROPS)]
    return pasted(
        f"group {index} on {name}", backdrop(name, *size), chosen, widths, seed=int(rng.integers(2**31))
    )


def photo(path: Path) -> Scene:
    """A real photo read as the demo reads an upload, with its hand-marked faces scaled to match."""
    (width, height), faces = PHOTO_FACES[path.name]
    image = read_image(path)
    scale = image.shape[1] / width
    if abs(image.shape[0] - height * scale) > 1:
        raise ValueError(
            f"{path} is {image.shape[1]}x{image.shape[0]}, its faces were marked on {width}x{height}"
        )
    return Scene(path.stem, image, tuple(tuple(round(v * scale) for v in box) for box in faces))  # type: ignore[misc]


def olivetti(folder: Path) -> tuple[list[Scene], list[Scene]]:
    """All 400 Olivetti pictures, padded like ``padded_face``: (with glasses, without glasses)."""
    wearing, bare = [], []
    for subject in range(1, OLIVETTI_SUBJECTS + 1):
        for k in ALL_TEN:
            path = folder / f"s{subject}" / f"{k}.png"
            scene = padded_face(f"olivetti s{subject}/{k}", read_image(path))
            (wearing if k in OLIVETTI_GLASSES.get(subject, ()) else bare).append(scene)
    return wearing, bare
