"""Faces cut out of photos by their landmarks, as a model's training faces were framed (vae/faces.py),
and the face template that python -m train.directions fits to a model's training faces."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from tests.test_demo_support import template_shape
from train.directions import MIN_TEMPLATE_FACES, face_template
from vae import ModelConfig, build_model, load_checkpoint, save_model
from vae.checkpoint import CheckpointError
from vae.face_shape import RIGID, apply, eye_distance, invert, mean_shape, similarity, warp_down
from vae.faces import FACE_TEMPLATE, FramedFace, Framing, NoFaceError, NoTemplateError

FACE_CENTRE = (224, 114)  # of the astronaut's face, by eye, in photo pixels

pytest_plugins = ["tests.test_demo_support"]


@pytest.fixture(scope="module")
def grey() -> Framing:
    return Framing(template_shape(48), 48, 1)


@pytest.fixture(scope="module")
def colour() -> Framing:
    return Framing(template_shape(64), 64, 3)


def only_face(framing: Framing, photo: np.ndarray) -> FramedFace:
    faces = framing.faces(photo)
    assert len(faces) == 1
    return faces[0]


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel().astype(float), b.ravel().astype(float))[0, 1])


def turned(photo: np.ndarray, degrees: float) -> np.ndarray:
    """The photo turned anticlockwise about the astronaut's face."""
    matrix = cv2.getRotationMatrix2D(FACE_CENTRE, degrees, 1.0)
    return cv2.warpAffine(photo, matrix, photo.shape[1::-1], borderMode=cv2.BORDER_REFLECT_101)


def test_the_face_is_framed_on_the_template(grey: Framing, colour: Framing, astronaut: np.ndarray) -> None:
    face = only_face(grey, astronaut)
    assert face.image.shape == (48, 48) and face.image.dtype == np.uint8
    assert abs(face.box.x + face.box.w / 2 - FACE_CENTRE[0]) < 15
    assert abs(face.box.y + face.box.h / 2 - FACE_CENTRE[1]) < 15
    rigid = apply(face.to_frame, face.points[RIGID])  # the template is this face's own shape
    assert np.abs(rigid - grey.template[RIGID]).max() < 0.5
    big = only_face(colour, astronaut)
    assert big.image.shape == (64, 64, 3) and big.image.dtype == np.uint8
    levelled = cv2.cvtColor(big.image, cv2.COLOR_RGB2GRAY)
    assert correlation(cv2.resize(levelled, (48, 48), interpolation=cv2.INTER_AREA), face.image) > 0.95


def test_a_grey_crop_is_the_photos_luma(grey: Framing, astronaut: np.ndarray) -> None:
    face = only_face(grey, astronaut)
    luma = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)
    np.testing.assert_array_equal(face.image, warp_down(luma, face.to_frame, 48))


def test_a_turned_face_is_levelled(colour: Framing, astronaut: np.ndarray) -> None:
    upright = only_face(colour, astronaut)
    tilted = only_face(colour, turned(astronaut, 15))

    def angle(face: FramedFace) -> float:
        return math.degrees(math.atan2(face.to_frame[0, 1], face.to_frame[0, 0]))

    assert abs(angle(tilted) - angle(upright) + 15) < 3
    turn = cv2.getRotationMatrix2D((31.5, 31.5), 15, 1.0)
    unlevelled = cv2.warpAffine(upright.image, turn, (64, 64), borderMode=cv2.BORDER_REFLECT_101)
    assert correlation(tilted.image, upright.image) > max(0.9, correlation(unlevelled, upright.image))


def test_a_face_at_the_border_is_reflected(colour: Framing, astronaut: np.ndarray) -> None:
    corner = np.ascontiguousarray(astronaut[85:, 190:])  # the face now touches the top-left corner
    face = only_face(colour, corner)
    assert (apply(invert(face.to_frame), np.array([[0.0, 0.0]])) < -15).all()  # the crop reaches past it
    assert face.image.shape == (64, 64, 3) and face.image[:8].std() > 5  # reflected, not a flat fill


def test_faces_come_left_to_right(grey: Framing, group_photo: np.ndarray) -> None:
    faces = grey.faces(group_photo)
    assert len(faces) == 2 and faces[0].box.x < group_photo.shape[1] // 2 <= faces[1].box.x
    assert correlation(faces[0].image, faces[1].image) > 0.95  # the same portrait twice


def test_no_face_and_no_template_are_clear_errors(grey: Framing, faceless: np.ndarray, astronaut) -> None:
    with pytest.raises(NoFaceError, match="No face was found"):
        grey.faces(faceless)
    with pytest.raises(NoTemplateError, match=r"stores no face template.*train\.directions"):
        Framing(None, 48, 1).faces(astronaut)


def test_the_framing_is_read_from_the_checkpoint(tmp_path: Path) -> None:
    model = build_model(ModelConfig(kind="vae", image_size=64, channels=3, widths=(8, 16), latent_dim=8))
    template = torch.tensor(template_shape(64), dtype=torch.float32)
    save_model(tmp_path / "with.safetensors", model, extras={FACE_TEMPLATE: template})
    save_model(tmp_path / "without.safetensors", model)
    save_model(tmp_path / "broken.safetensors", model, extras={FACE_TEMPLATE: template[:5]})
    framing = Framing.of(load_checkpoint(tmp_path / "with.safetensors"))
    assert (framing.size, framing.channels) == (64, 3)
    np.testing.assert_allclose(framing.template, template.numpy())
    assert Framing.of(load_checkpoint(tmp_path / "without.safetensors")).template is None
    with pytest.raises(CheckpointError, match="face template has shape"):
        Framing.of(load_checkpoint(tmp_path / "broken.safetensors"))


def test_the_mean_shape_keeps_the_faces_scale() -> None:
    """Procrustes rounds fitted noisy shapes onto the template at too small a scale; the mean stays
    where the faces are."""
    rng = np.random.default_rng(0)
    face = template_shape(48)
    shapes = []
    for _ in range(200):
        scale, angle = rng.uniform(0.9, 1.1), rng.normal(0, 0.1)
        turn = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        shapes.append((face - 24) @ turn.T + 24 + rng.normal(0, 1.0, face.shape))
    mean = mean_shape(np.stack(shapes), rounds=10)
    assert eye_distance(mean) == pytest.approx(eye_distance(face), rel=0.02)
    assert np.abs(mean[RIGID] - face[RIGID]).max() < 0.5


def test_a_template_fitted_to_framed_faces_is_their_framing(astronaut: np.ndarray) -> None:
    """Faces cut out by a template, a little off here and there, give that template back."""
    template = template_shape(48)
    points = only_face(Framing(template, 48, 1), astronaut).points
    luma = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)
    rng = np.random.default_rng(0)
    crops = []
    for _ in range(110):
        moved = template[RIGID] * rng.uniform(0.96, 1.04) + rng.normal(0, 0.7, 2)
        jitter = similarity(template[RIGID], moved)
        to_frame = jitter @ np.vstack([similarity(points[RIGID], template[RIGID]), [0, 0, 1]])
        crops.append(warp_down(luma, to_frame, 48))
    images = torch.from_numpy(np.stack(crops))[:, None]
    fitted, fits = face_template(images, count=110)
    assert fits >= MIN_TEMPLATE_FACES and fitted is not None
    assert np.abs(fitted[RIGID] - template[RIGID]).max() < 1.0
    assert eye_distance(fitted) == pytest.approx(eye_distance(template), rel=0.03)
    few, fits = face_template(images, count=20)  # too few faces for a mean: none
    assert few is None and 0 < fits <= 20
