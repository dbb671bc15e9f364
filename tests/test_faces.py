"""Face detection, alignment and paste-back on scikit-image's astronaut portrait (ships with the package)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from skimage import data

from vae.faces import (
    FER2013_CROP,
    UTKFACE_CROP,
    AlignedFace,
    FaceBox,
    _cascade,
    align_face,
    detect_faces,
    paste_face,
)

FACE_CENTRE = (224, 114)  # of the astronaut's face, by eye, in photo pixels


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return data.astronaut()


@pytest.fixture(scope="module")
def box(photo) -> FaceBox:
    faces = detect_faces(photo)
    assert len(faces) == 1
    return faces[0]


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
    return 10 * math.log10(255**2 / max(mse, 1e-12))


def _angle(aligned: AlignedFace) -> float:
    """The rotation (degrees) in an alignment matrix."""
    return math.degrees(math.atan2(aligned.matrix[0, 1], aligned.matrix[0, 0]))


def _rotate(image: np.ndarray, degrees: float) -> np.ndarray:
    matrix = cv2.getRotationMatrix2D(FACE_CENTRE, degrees, 1.0)
    return cv2.warpAffine(image, matrix, image.shape[1::-1], borderMode=cv2.BORDER_REFLECT_101)


def test_one_face_where_it_is(box):
    assert 70 <= box.w <= 130 and box.h == box.w
    assert abs(box.x + box.w / 2 - FACE_CENTRE[0]) < 15
    assert abs(box.y + box.h / 2 - FACE_CENTRE[1]) < 15


@pytest.mark.parametrize(
    "size, channels, style, shape", [(48, 1, FER2013_CROP, (48, 48)), (64, 3, UTKFACE_CROP, (64, 64, 3))]
)
def test_aligned_shape(photo, box, size, channels, style, shape):
    aligned = align_face(photo, box, size, channels, style)
    assert aligned.image.shape == shape and aligned.image.dtype == np.uint8
    assert aligned.matrix.shape == (2, 3) and aligned.box == box


def test_aligned_crop_is_centred_on_the_face(photo, box):
    aligned = align_face(photo, box, 64, 3, UTKFACE_CROP)
    x, y = aligned.matrix @ (*FACE_CENTRE, 1)
    assert abs(x - 31.5) < 6 and abs(y - 31.5) < 10


@pytest.mark.parametrize("size, channels, style", [(48, 1, FER2013_CROP), (64, 3, UTKFACE_CROP)])
def test_pasting_the_crop_itself_changes_little(photo, box, size, channels, style):
    aligned = align_face(photo, box, size, channels, style)
    pasted = paste_face(photo, aligned.image, aligned)
    assert pasted.shape == photo.shape and pasted.dtype == np.uint8
    face = np.s_[box.y : box.y + box.h, box.x : box.x + box.w]
    assert _psnr(pasted[face], photo[face]) > 30
    changed = np.argwhere(np.any(pasted != photo, axis=2))
    assert changed.min(axis=0).tolist() >= [box.y - box.h, box.x - box.w]
    assert changed.max(axis=0).tolist() <= [box.y + 2 * box.h, box.x + 2 * box.w]
    assert np.array_equal(pasted[:, box.x + 2 * box.w :], photo[:, box.x + 2 * box.w :])


def test_grey_paste_keeps_the_photos_colour(photo, box):
    aligned = align_face(photo, box, 48, 1, FER2013_CROP)
    before = photo.copy()
    pasted = paste_face(photo, 255 - aligned.image, aligned)  # a very different luminance
    assert np.array_equal(photo, before)  # input untouched
    face = np.s_[box.y : box.y + box.h, box.x : box.x + box.w]
    old, new = (
        cv2.cvtColor(np.ascontiguousarray(p[face]), cv2.COLOR_RGB2YCrCb).astype(float)
        for p in (photo, pasted)
    )
    assert np.mean(np.abs(new[..., 0] - old[..., 0])) > 20  # the luminance did change...
    assert np.mean(np.abs(new[..., 1:] - old[..., 1:])) < 1.5  # ...the chroma did not


def test_paste_accepts_hw1_faces_and_refuses_wrong_sizes(photo, box):
    aligned = align_face(photo, box, 48, 1, FER2013_CROP)
    assert np.array_equal(
        paste_face(photo, aligned.image[:, :, None], aligned), paste_face(photo, aligned.image, aligned)
    )
    with pytest.raises(ValueError, match="48x48"):
        paste_face(photo, np.zeros((64, 64), np.uint8), aligned)


def test_face_at_the_border(photo):
    corner = np.ascontiguousarray(photo[62:, 172:])  # the face now touches the top-left corner
    faces = detect_faces(corner)
    assert len(faces) == 1 and faces[0].x < 15 and faces[0].y < 15
    aligned = align_face(corner, faces[0], 64, 3, UTKFACE_CROP)
    assert aligned.image.shape == (64, 64, 3)
    pasted = paste_face(corner, aligned.image, aligned)
    assert pasted.shape == corner.shape


def test_box_partly_outside_the_photo(photo):
    aligned = align_face(photo, FaceBox(-40, -40, 100, 100), 48, 1, FER2013_CROP)
    assert aligned.image.shape == (48, 48) and aligned.image.std() > 5  # reflected, not a flat fill


def test_no_face_in_a_gradient():
    gradient = np.broadcast_to(np.linspace(0, 255, 400, dtype=np.uint8)[None, :, None], (300, 400, 3))
    assert detect_faces(np.ascontiguousarray(gradient)) == []


def test_group_photo_left_to_right(photo):
    head = photo[20:240, 120:330]
    group = np.hstack([head, head[:, ::-1], np.zeros_like(head[:, :60])])
    faces = detect_faces(group)
    assert len(faces) == 2
    assert faces[0].x < head.shape[1] <= faces[1].x


def test_tilted_face_is_levelled(photo, box):
    upright = align_face(photo, box, 64, 3, UTKFACE_CROP)
    tilted_photo = _rotate(photo, 15)
    faces = detect_faces(tilted_photo)
    assert len(faces) == 1
    tilted = align_face(tilted_photo, faces[0], 64, 3, UTKFACE_CROP)
    assert abs(_angle(tilted) - _angle(upright) + 15) < 5  # the photo turned anticlockwise

    def similarity(crop: np.ndarray) -> float:
        return float(np.corrcoef(crop.ravel().astype(float), upright.image.ravel().astype(float))[0, 1])

    turn = cv2.getRotationMatrix2D((31.5, 31.5), 15, 1.0)
    unlevelled = cv2.warpAffine(upright.image, turn, (64, 64), borderMode=cv2.BORDER_REFLECT_101)
    assert similarity(tilted.image) > max(0.85, similarity(unlevelled))


def test_cascades_are_loaded_once(photo, box):
    align_face(photo, box, 48, 1, FER2013_CROP)  # both cascades are loaded by now
    loaded = _cascade.cache_info().misses
    align_face(photo, detect_faces(photo)[0], 48, 1, FER2013_CROP)
    assert _cascade.cache_info().misses == loaded
