"""The shipped checkpoints on real held-out faces: each meets a floor far below the numbers on its
model card (checkpoints/README.md, measured on whole test splits by `python -m train.evaluate`) and
far above a broken model, which each test shows failing the same floor.

The faces are written from ../shared/data inside the session, in the layouts `unpack.py` writes:
the first FER2013 PrivateTest faces as a fer2013.csv with their FER+ votes beside it, and the
UTKFace test split (the loader's own file-name hash) as named image files.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.broken import scrambled_decoder, shuffled_outputs, zeroed_decoder
from tests.conftest import REPO, SHARED_DATA
from train.classifier import predict
from train.evaluate import embed, sample_faces
from train.heldout import heldout_metrics
from vae.checkpoint import load_checkpoint
from vae.classifier import ExpressionClassifier
from vae.conv_vae import ConvVAE
from vae.data import FER_USAGE, DataConfig, FaceData, _hash_split, as_float, load_faces
from vae.latent import CodeDistribution
from vae.metrics import frechet_distance

pytestmark = pytest.mark.real_data

CHECKPOINTS = REPO / "checkpoints"
FER_FACES = 500  # of the 3,589 PrivateTest faces: each number within a few per cent of the card's
UTKFACE_TEST_FACES = 490  # the card's test split
MISSED = "the floor does not catch the broken model"


def write_fer2013(out: Path, count: int) -> None:
    """The first `count` PrivateTest faces as fer2013.csv (Kaggle's columns), and their FER+ votes
    beside it as fer2013new.csv (Microsoft's columns, row for row)."""
    fer = dict(np.load(SHARED_DATA / "fer2013.npz"))
    usage = FER_USAGE["test"]
    rows = np.flatnonzero(fer["split"] == list(fer["split_names"]).index(usage))[:count]
    out.mkdir()
    with open(out / "fer2013.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["emotion", "pixels", "Usage"])
        for i in rows:
            pixels = " ".join(map(str, fer["images"][i].ravel().tolist()))
            writer.writerow([int(fer["labels"][i]), pixels, usage])
    with open(out / "fer2013new.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["Usage", "Image name", *fer["ferplus_vote_names"]])
        for i in rows:
            writer.writerow([usage, f"fer{i:07d}.png", *fer["ferplus_votes"][i].tolist()])


def write_utkface_test_split(out: Path) -> None:
    """The UTKFace faces whose file names the loader's hash puts in the test split, named as
    unpack.py names them; the other files would never be read."""
    utkface = np.load(SHARED_DATA / "utkface64.npz")
    out.mkdir()
    for image, name in zip(utkface["images"], utkface["filenames"]):
        file = str(name).split(".jpg")[0] + ".png"
        if _hash_split(file) == "test":
            Image.fromarray(image).save(out / file)


@pytest.fixture(scope="module")
def held_out(tmp_path_factory: pytest.TempPathFactory) -> dict[str, FaceData]:
    """The held-out faces each model is measured on, written from ../shared/data, then loaded as
    `python -m train.evaluate` loads them."""
    root = tmp_path_factory.mktemp("real")
    write_fer2013(root / "fer2013", FER_FACES)
    write_utkface_test_split(root / "UTKFace")
    fer = str(root / "fer2013" / "fer2013.csv")
    faces = {
        "fer": load_faces(DataConfig(fer, split="test", image_size=48)),
        "ferplus": load_faces(DataConfig(fer, split="test", image_size=48, labels="ferplus")),
        "utkface": load_faces(DataConfig(str(root / "UTKFace"), split="test", channels=3)),
    }
    assert len(faces["fer"]) == FER_FACES and len(faces["utkface"]) == UTKFACE_TEST_FACES
    return faces


@pytest.fixture(scope="module")
def judge() -> ExpressionClassifier:
    """The classifier in whose features the Frechet distances of the model cards are measured."""
    return load_checkpoint(CHECKPOINTS / "fer-classifier.safetensors").model


def accuracy(classifier: ExpressionClassifier, faces: FaceData) -> float:
    return float((predict(classifier, as_float(faces.images)) == faces.labels).float().mean())


def reconstruction_mse(model: ConvVAE, faces: FaceData) -> float:
    """Mean squared error of the posterior mean's reconstruction, in [-1, 1] pixel units."""
    return heldout_metrics(model, faces.images, faces.labels)["mse"]


def frechet_distance_of_samples(
    model: ConvVAE, codes: CodeDistribution, judge: ExpressionClassifier, real_features: torch.Tensor
) -> float:
    """Faces drawn as the demo draws them, as many as the held-out faces, against those (their
    features in the judge's space given)."""
    with torch.inference_mode():
        samples = sample_faces(model, codes.sample(len(real_features), 1.0, seed=0))
    return frechet_distance(embed(judge, samples), real_features)


@pytest.mark.parametrize(
    ("name", "labels", "floor"),
    [
        ("fer-classifier", "fer", 0.45),  # card: 61.2% on PrivateTest
        ("ferplus-classifier", "ferplus", 0.55),  # card: 72.9% on PrivateTest, FER+ labels
    ],
)
def test_a_classifier_reads_held_out_expressions(
    held_out: dict[str, FaceData], name: str, labels: str, floor: float
) -> None:
    classifier = load_checkpoint(CHECKPOINTS / f"{name}.safetensors").model
    faces = held_out[labels]
    assert accuracy(classifier, faces) >= floor
    assert accuracy(shuffled_outputs(classifier), faces) < floor, MISSED


@pytest.mark.parametrize(
    ("name", "data", "floor"),
    [
        ("utkface-vae", "utkface", 0.03),  # card: MSE 0.0141
        ("fer-multi", "fer", 0.08),  # card: MSE 0.0439
    ],
)
def test_a_face_model_reconstructs_held_out_faces(
    held_out: dict[str, FaceData], name: str, data: str, floor: float
) -> None:
    model = load_checkpoint(CHECKPOINTS / f"{name}.safetensors").model
    assert reconstruction_mse(model, held_out[data]) <= floor
    assert reconstruction_mse(zeroed_decoder(model), held_out[data]) > floor, (
        "the floor misses a broken decoder"
    )


@pytest.mark.parametrize(
    ("name", "data", "floor"),
    [
        ("utkface-vae", "utkface", 8.0),  # card: FD 2.89 of samples drawn as the demo draws them
        ("fer-multi", "fer", 20.0),  # card: FD 10.43
    ],
)
def test_a_face_model_draws_faces_near_real_ones(
    held_out: dict[str, FaceData], judge: ExpressionClassifier, name: str, data: str, floor: float
) -> None:
    checkpoint = load_checkpoint(CHECKPOINTS / f"{name}.safetensors")
    codes = CodeDistribution.of(checkpoint)  # what the gallery and the random faces draw from
    real = embed(judge, as_float(held_out[data].images))
    assert frechet_distance_of_samples(checkpoint.model, codes, judge, real) <= floor
    broken = scrambled_decoder(checkpoint.model)
    assert frechet_distance_of_samples(broken, codes, judge, real) > floor, (
        "the floor misses a broken decoder"
    )
