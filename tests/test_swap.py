"""The pasted-face swap (vae/swap.py) on real photos with a tiny random-weight model.

The demo edits photos with vae.photo_edit instead; this swap remains the baseline that
`python -m train.swap_eval` measures the edit against (swap_faces with a strength and kept detail),
draws train/figures.py's pictures (prepare_photo, grids), and lends the other tabs its conversions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.test_demo_support import FER, UTK
from vae import EXPRESSIONS, MultiDecoderVAE, load_checkpoint
from vae.faces import FER2013_CROP, align_face, detect_faces
from vae.swap import NoFaceError, expression_grid, prepare_photo, swap_faces, to_model_input, to_uint8

pytest_plugins = ["tests.test_demo_support"]


@pytest.fixture(scope="module")
def model(tiny_checkpoints: Path) -> MultiDecoderVAE:
    return load_checkpoint(tiny_checkpoints / FER).model


def changed_columns(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.flatnonzero((a != b).any(axis=(0, 2)))


def test_conversions_round_trip() -> None:
    grey = np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4) * 7
    rgb = np.random.default_rng(0).integers(0, 256, (2, 4, 4, 3), dtype=np.uint8)
    assert to_model_input(grey).shape == (2, 1, 4, 4)
    assert to_model_input(rgb).shape == (2, 3, 4, 4)
    assert float(to_model_input(grey).min()) >= -1 and float(to_model_input(rgb).max()) <= 1
    np.testing.assert_array_equal(to_uint8(to_model_input(grey)), grey)
    np.testing.assert_array_equal(to_uint8(to_model_input(rgb)), rgb)


def test_one_face_gives_seven_expressions(model: MultiDecoderVAE, astronaut: np.ndarray) -> None:
    result = swap_faces(astronaut, model, "happy", intensity=1.0)
    assert len(result.boxes) == 1 and result.chosen == [0]
    assert result.expression_grids.shape == (1, len(EXPRESSIONS), 48, 48)
    assert result.expression_grids.dtype == np.uint8
    assert result.aligned_inputs[0].shape == (48, 48)
    assert result.photo.shape == astronaut.shape and result.photo.dtype == np.uint8
    box = result.boxes[0]
    columns = changed_columns(result.photo, astronaut)
    assert columns.size and box.x - box.w < columns.min() and columns.max() < box.x + 2 * box.w


def test_grid_is_every_decoder_of_one_code(model: MultiDecoderVAE, astronaut: np.ndarray) -> None:
    face = align_face(astronaut, detect_faces(astronaut)[0], 48, 1, FER2013_CROP)
    grid = expression_grid(model, face.image)
    with torch.inference_mode():
        z = model.encode(to_model_input(face.image[None]))[0]
        expected = to_uint8(torch.cat([model.decode(z, name) for name in EXPRESSIONS]))
    np.testing.assert_array_equal(grid, expected)


def test_intensity_blends_photo_and_drawing(model: MultiDecoderVAE, astronaut: np.ndarray) -> None:
    prepared = prepare_photo(astronaut, model)
    np.testing.assert_array_equal(prepared.render("sad", 0.0), astronaut)
    full = prepared.render("sad", 1.0).astype(np.float32)
    half = prepared.render("sad", 0.5).astype(np.float32)
    assert np.abs(half - (astronaut + full) / 2).max() <= 1.0
    assert not np.array_equal(prepared.render("happy", 1.0), prepared.render("surprise", 1.0))


def test_strength_is_applied_before_pasting(model: MultiDecoderVAE, astronaut: np.ndarray) -> None:
    prepared = prepare_photo(astronaut, model)
    face = prepared.faces[0].image
    np.testing.assert_array_equal(prepared.grids(1.5)[0], expression_grid(model, face, 1.5))
    assert not np.array_equal(prepared.grids(1.5), prepared.grids())
    flat = prepared.grids(0.0)[0]
    assert (np.abs(flat.astype(int) - flat[0]) <= 1).all(), "strength 0: every expression the same face"
    np.testing.assert_array_equal(
        prepared.render("sad", 1.0, strength=0.0), prepared.render("happy", 1.0, strength=0.0)
    )
    assert not np.array_equal(prepared.render("sad", 1.0, strength=2.0), prepared.render("sad", 1.0))


def test_detail_is_kept_before_pasting(model: MultiDecoderVAE, astronaut: np.ndarray) -> None:
    plain, detailed = prepare_photo(astronaut, model), prepare_photo(astronaut, model, detail=0.75)
    face = detailed.faces[0].image
    np.testing.assert_array_equal(detailed.grids(1.5)[0], expression_grid(model, face, 1.5, 0.75))
    assert not np.array_equal(detailed.grids(1.5), plain.grids(1.5))
    assert not np.array_equal(detailed.render("sad", 1.0), plain.render("sad", 1.0))
    with pytest.raises(ValueError, match="photo detail"):
        prepare_photo(astronaut, model, detail=-1)


def test_group_photo_swaps_both_or_one(model: MultiDecoderVAE, group_photo: np.ndarray) -> None:
    half = group_photo.shape[1] // 2
    both = swap_faces(group_photo, model, "happy")
    assert len(both.boxes) == 2 and both.chosen == [0, 1]
    assert both.expression_grids.shape[:2] == (2, len(EXPRESSIONS))
    columns = changed_columns(both.photo, group_photo)
    assert columns.min() < half <= columns.max()

    right = prepare_photo(group_photo, model).render("happy", 1.0, faces=1)
    assert changed_columns(right, group_photo).min() >= half


def test_no_face_is_a_clear_error(model: MultiDecoderVAE, faceless: np.ndarray) -> None:
    with pytest.raises(NoFaceError, match="No face was found"):
        swap_faces(faceless, model, "happy")


def test_bad_requests_are_refused(
    model: MultiDecoderVAE, astronaut: np.ndarray, tiny_checkpoints: Path
) -> None:
    prepared = prepare_photo(astronaut, model)
    for kwargs in (
        {"expression": "smug"},
        {"intensity": 1.5},
        {"faces": 3},
        {"faces": "some"},
        {"strength": -1},
    ):
        with pytest.raises(ValueError):
            prepared.render(**{"expression": "happy", "intensity": 1.0, **kwargs})
    with pytest.raises(TypeError, match="multi-decoder"):
        prepare_photo(astronaut, load_checkpoint(tiny_checkpoints / UTK).model)
