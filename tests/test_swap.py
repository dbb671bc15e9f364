"""The pasted-face swap (vae/swap.py) on real photos with a tiny random-weight model.

The demo edits photos with vae.photo_edit instead; this swap is only the baseline that
`python -m train.swap_eval` measures the edit against, and what train/figures.py draws.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from tests.test_demo_support import FER, UTK
from vae import EXPRESSIONS, MultiDecoderVAE, load_checkpoint
from vae.checkpoint import Checkpoint
from vae.data import to_model_input, to_uint8
from vae.faces import Framing, NoFaceError, NoTemplateError
from vae.swap import paste_face, prepare_photo

pytest_plugins = ["tests.test_demo_support"]


@pytest.fixture(scope="module")
def checkpoint(tiny_checkpoints: Path) -> Checkpoint:
    return load_checkpoint(tiny_checkpoints / FER)


@pytest.fixture(scope="module")
def model(checkpoint: Checkpoint) -> MultiDecoderVAE:
    return checkpoint.model


@pytest.fixture(scope="module")
def framing(checkpoint: Checkpoint) -> Framing:
    return Framing.of(checkpoint)


def changed_columns(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.flatnonzero((a != b).any(axis=(0, 2)))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
    return 10 * math.log10(255**2 / max(mse, 1e-12))


def drawn(model: MultiDecoderVAE, face: np.ndarray, strength: float = 1.0, detail: float = 0.0) -> np.ndarray:
    """The model's 7 drawings of one framed face, straight from MultiDecoderVAE.swap."""
    with torch.inference_mode():
        return to_uint8(model.swap(to_model_input(face[None]), strength, detail)[0])


def test_one_face_gives_seven_expressions(model, framing, astronaut: np.ndarray) -> None:
    prepared = prepare_photo(astronaut, model, framing)
    assert len(prepared.faces) == 1 and prepared.faces[0].image.shape == (48, 48)
    grids = prepared.grids()
    assert grids.shape == (1, len(EXPRESSIONS), 48, 48) and grids.dtype == np.uint8
    np.testing.assert_array_equal(grids[0], drawn(model, prepared.faces[0].image))
    photo = prepared.render("happy")
    assert photo.shape == astronaut.shape and photo.dtype == np.uint8
    box = prepared.faces[0].box
    columns = changed_columns(photo, astronaut)
    assert columns.size and box.x - box.w < columns.min() and columns.max() < box.x + 2 * box.w
    assert not np.array_equal(photo, prepared.render("surprise"))


def test_strength_and_detail_are_applied_before_pasting(model, framing, astronaut: np.ndarray) -> None:
    plain, detailed = prepare_photo(astronaut, model, framing), prepare_photo(astronaut, model, framing, 0.75)
    face = plain.faces[0].image
    np.testing.assert_array_equal(plain.grids(1.5)[0], drawn(model, face, 1.5))
    np.testing.assert_array_equal(detailed.grids(1.5)[0], drawn(model, face, 1.5, 0.75))
    assert not np.array_equal(detailed.render("sad", 1.5), plain.render("sad", 1.5))
    flat = plain.grids(0.0)[0]
    assert (np.abs(flat.astype(int) - flat[0]) <= 1).all(), "strength 0: every expression the same face"
    np.testing.assert_array_equal(plain.render("sad", 0.0), plain.render("happy", 0.0))
    assert not np.array_equal(plain.render("sad", 2.0), plain.render("sad"))


def test_every_face_of_a_group_is_pasted(model, framing, group_photo: np.ndarray) -> None:
    prepared = prepare_photo(group_photo, model, framing)
    assert prepared.grids().shape[:2] == (2, len(EXPRESSIONS))
    columns = changed_columns(prepared.render("happy"), group_photo)
    assert columns.min() < group_photo.shape[1] // 2 <= columns.max()


def test_bad_requests_are_refused(
    model, framing, astronaut: np.ndarray, faceless: np.ndarray, tiny_checkpoints: Path
) -> None:
    with pytest.raises(NoFaceError, match="No face was found"):
        prepare_photo(faceless, model, framing)
    with pytest.raises(ValueError, match="photo detail"):
        prepare_photo(astronaut, model, framing, detail=-1)
    with pytest.raises(NoTemplateError):
        prepare_photo(astronaut, model, Framing(None, 48, 1))
    utk = load_checkpoint(tiny_checkpoints / UTK)
    with pytest.raises(TypeError, match="multi-decoder"):
        prepare_photo(astronaut, utk.model, Framing.of(utk))
    prepared = prepare_photo(astronaut, model, framing)
    with pytest.raises(ValueError, match="unknown expression"):
        prepared.render("smug")
    with pytest.raises(ValueError):
        prepared.render("happy", -1)


@pytest.mark.parametrize("size, channels", [(48, 1), (64, 3)])
def test_pasting_the_crop_itself_changes_little(
    framing, astronaut: np.ndarray, size: int, channels: int
) -> None:
    face = Framing(framing.template * size / 48, size, channels).faces(astronaut)[0]
    pasted = paste_face(astronaut, face.image, face)
    assert pasted.shape == astronaut.shape and pasted.dtype == np.uint8
    box = face.box
    inside = np.s_[box.y : box.y + box.h, box.x : box.x + box.w]
    assert psnr(pasted[inside], astronaut[inside]) > 30
    changed = np.argwhere(np.any(pasted != astronaut, axis=2))
    assert changed.min(axis=0).tolist() >= [box.y - box.h, box.x - box.w]
    assert changed.max(axis=0).tolist() <= [box.y + 2 * box.h, box.x + 2 * box.w]


def test_a_grey_paste_keeps_the_photos_colour(framing, astronaut: np.ndarray) -> None:
    face = framing.faces(astronaut)[0]
    before = astronaut.copy()
    pasted = paste_face(astronaut, 255 - face.image, face)  # a very different luminance
    assert np.array_equal(astronaut, before)  # input untouched
    box = face.box
    inside = np.s_[box.y : box.y + box.h, box.x : box.x + box.w]
    old, new = (
        cv2.cvtColor(np.ascontiguousarray(p[inside]), cv2.COLOR_RGB2YCrCb).astype(float)
        for p in (astronaut, pasted)
    )
    assert np.mean(np.abs(new[..., 0] - old[..., 0])) > 20  # the luminance did change...
    assert np.mean(np.abs(new[..., 1:] - old[..., 1:])) < 1.5  # ...the chroma did not


def test_paste_accepts_hw1_faces_and_refuses_wrong_sizes(framing, astronaut: np.ndarray) -> None:
    face = framing.faces(astronaut)[0]
    np.testing.assert_array_equal(
        paste_face(astronaut, face.image[:, :, None], face), paste_face(astronaut, face.image, face)
    )
    with pytest.raises(ValueError, match="48x48"):
        paste_face(astronaut, np.zeros((64, 64), np.uint8), face)


def test_a_face_at_the_border_is_pasted(framing, astronaut: np.ndarray) -> None:
    corner = np.ascontiguousarray(astronaut[85:, 190:])  # the crop reaches past the top-left corner
    face = framing.faces(corner)[0]
    pasted = paste_face(corner, 255 - face.image, face)
    assert pasted.shape == corner.shape and not np.array_equal(pasted[:20, :20], corner[:20, :20])
