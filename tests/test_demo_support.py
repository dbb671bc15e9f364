"""Fixtures shared by the demo and swap tests: tiny random-weight checkpoints and test photos.

The models have random weights, so the faces they draw are noise; what the tests check is the
plumbing (detection, alignment, shapes, seeds, files, privacy), which does not depend on training.
Kept in a module of its own (imported by the test files) so the core suite needs no shipped model.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data

from demo import DemoConfig, build_demo, launch
from demo.models import REGISTRY
from demo.swap import APPEARANCE_FILE, SHAPE_FILE
from vae import EXPRESSIONS, ModelConfig, build_model, save_model
from vae.face_shape import apply, eye_distance, similarity
from vae.faces import FACE_TEMPLATE
from vae.landmarks import detect_faces, face_landmarks
from vae.shape_model import ShapeConfig, ShapeVAE

FER, UTK = ({spec.key: spec.filename for spec in REGISTRY}[key] for key in ("fer-multi", "utkface-vae"))
DIRECTION_NAMES = ["PC1", "PC2", "PC3", "PC4", "happy", "sad"]
METRICS = {"neg_elbo": 1234.5, "bits_per_dim": 0.987, "mse": 0.0321, "psnr": 21.5, "active_units": 12}


def write_tiny_checkpoints(folder: Path) -> Path:
    """A 7-decoder 48x48 grey model with random unit slider directions, and a 64x64 RGB VAE without;
    each with a face template (the astronaut's landmarks, framed as FER2013 frames faces)."""
    torch.manual_seed(0)
    fer = build_model(
        ModelConfig(
            kind="multi", image_size=48, channels=1, widths=(8, 16), latent_dim=16, expressions=EXPRESSIONS
        )
    )
    directions = torch.nn.functional.normalize(torch.randn(len(DIRECTION_NAMES), 16), dim=1)
    save_model(
        folder / FER,
        fer,
        {"data": "synthetic", "epochs": 1.0, "metrics": METRICS, "direction_names": DIRECTION_NAMES},
        {
            "directions": directions,
            "direction_scales": torch.linspace(0.5, 2.0, len(DIRECTION_NAMES)),
            FACE_TEMPLATE: torch.tensor(template_shape(48), dtype=torch.float32),
        },
    )
    utk = build_model(ModelConfig(kind="vae", image_size=64, channels=3, widths=(8, 16), latent_dim=16))
    template = {FACE_TEMPLATE: torch.tensor(template_shape(64), dtype=torch.float32)}
    save_model(folder / UTK, utk, {"data": "synthetic", "epochs": 2.0}, template)
    write_tiny_expression_models(folder)
    return folder


def template_shape(size: int = 48) -> np.ndarray:
    """A 68-point face in a size x size frame as FER2013 frames faces: the astronaut's, moved there."""
    photo = data.astronaut()
    points = face_landmarks(photo, detect_faces(photo)[0])
    eyes = np.array([points[36], points[45]])
    corners = (np.array([[11.0, 17.0], [36.0, 17.0]]) + 0.5) * size / 48 - 0.5  # pixel centres at integers
    return apply(similarity(eyes, corners), points)


def write_tiny_expression_models(folder: Path) -> None:
    """The swap's shape and appearance models, tiny, random weights (the frame a real template)."""
    torch.manual_seed(1)
    shape = ShapeVAE(ShapeConfig(hidden=16, latent_dim=4))
    template = template_shape()
    shape.set_frame(torch.tensor(template, dtype=torch.float32), eye_distance(template))
    save_model(folder / SHAPE_FILE, shape.eval(), {"data": "synthetic"})
    appearance = build_model(
        ModelConfig(
            kind="multi", image_size=48, channels=1, widths=(8, 16), latent_dim=8, expressions=EXPRESSIONS
        )
    )
    save_model(folder / APPEARANCE_FILE, appearance, {"data": "synthetic"})


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_checkpoints(tmp_path_factory.mktemp("checkpoints"))


@pytest.fixture(scope="session")
def demo_config(tiny_checkpoints: Path) -> DemoConfig:
    return DemoConfig(checkpoint_dir=tiny_checkpoints)


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """A portrait with exactly one frontal face."""
    return data.astronaut()


@pytest.fixture(scope="session")
def group_photo(astronaut: np.ndarray) -> np.ndarray:
    """Two astronaut portraits side by side: two faces."""
    return np.hstack([astronaut, astronaut])


@pytest.fixture(scope="session")
def faceless() -> np.ndarray:
    """A smooth colour gradient: no face anywhere."""
    ramp = np.linspace(0, 255, 320, dtype=np.float32)
    return np.dstack([np.add.outer(ramp[:240] * 0.5, ramp * 0.5)] * 3).astype(np.uint8)


def save_photo(image: np.ndarray, path: Path) -> Path:
    """Write a test photo as a user would upload it (the format follows the file name)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)
    return path


def _is_loopback(address: object) -> bool:
    if not isinstance(address, tuple):  # a Unix socket
        return True
    try:
        return ipaddress.ip_address(address[0]).is_loopback
    except ValueError:
        return address[0] == "localhost"


@pytest.fixture(scope="module")
def outside_connections() -> Iterator[list[object]]:
    """Refuse, and record, every connection the server or the client tries beyond loopback."""
    attempts: list[object] = []
    original = socket.socket.connect

    def guarded(sock: socket.socket, address: object) -> None:
        if not _is_loopback(address):
            attempts.append(address)
            raise OSError(f"test forbids network access to {address}")
        original(sock, address)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", guarded)
        yield attempts


@pytest.fixture(scope="module")
def server(
    demo_config: DemoConfig, tmp_path_factory: pytest.TempPathFactory, outside_connections: list[object]
) -> Iterator[tuple[str, Path]]:
    """The demo on a free loopback port, with its own Gradio cache folder; (url, cache folder)."""
    cache = tmp_path_factory.mktemp("gradio-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRADIO_TEMP_DIR", str(cache))
        patch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
        demo = build_demo(demo_config)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        _, url, _ = launch(
            demo, demo_config, server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True
        )
        try:
            yield url, cache
        finally:
            demo.close()
    assert outside_connections == [], f"the demo or the client tried to reach {outside_connections}"
