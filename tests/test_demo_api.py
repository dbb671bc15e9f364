"""Every named endpoint of the running demo, driven through gradio_client over loopback only."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from demo import DemoConfig
from tests.test_demo_support import save_photo
from vae import EXPRESSIONS

pytest_plugins = ["tests.test_demo_support"]
pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")  # inside gradio's queue


@pytest.fixture(scope="module")
def client(server: tuple[str, Path]) -> Client:
    return Client(server[0], verbose=False, download_files=False)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_forgotten(uploads: list[Path], cache: Path) -> None:
    """No file in Gradio's cache has the name or the bytes of any uploaded photo."""
    left = [Path(root) / name for root, _, names in os.walk(cache) for name in names]
    digests, names = {_digest(path) for path in left}, {path.name for path in left}
    for upload in uploads:
        assert _digest(upload) not in digests and upload.name not in names, "an upload outlived its request"


def _image(result: str | dict) -> Image.Image:
    """An image output of the API: a path (with download_files=False: a dict holding the path)."""
    return Image.open(result["path"] if isinstance(result, dict) else result)


def test_explore_endpoints(
    client: Client, server: tuple[str, Path], demo_config: DemoConfig, astronaut, tmp_path: Path
) -> None:
    sliders = [0.0] * demo_config.max_sliders
    mean = _image(client.predict("fer-multi", "happy", *sliders, api_name="/explore"))
    assert mean.size == (demo_config.face_size, demo_config.face_size)
    image, *values = client.predict("fer-multi", "happy", 5, api_name="/explore_random")
    assert values == sliders and _image(image).size == mean.size
    assert not np.array_equal(np.asarray(_image(image)), np.asarray(mean))
    image, *values = client.predict("fer-multi", "happy", api_name="/explore_reset")
    assert values == sliders and np.array_equal(np.asarray(_image(image)), np.asarray(mean))  # the mean face
    photo = save_photo(astronaut, tmp_path / "me.png")
    image, *_ = client.predict("utkface-vae", None, handle_file(str(photo)), api_name="/explore_photo")
    assert _image(image).mode == "RGB"
    assert_forgotten([photo], server[1])


def captions(gallery: list[dict]) -> list[str]:
    """The labels of a gallery output, in order."""
    return [tile["caption"] for tile in gallery]


def test_swap_endpoint_shows_each_face_in_every_expression_and_forgets_uploads(
    client: Client, server: tuple[str, Path], demo_config: DemoConfig, astronaut, group_photo, tmp_path: Path
) -> None:
    uploads = [
        save_photo(astronaut, tmp_path / "selfie-one.png"),
        save_photo(group_photo, tmp_path / "group-two.png"),
    ]
    photo, strip, status, faces = client.predict(
        handle_file(str(uploads[0])), "happy", 1.0, "all", 1.5, api_name="/swap"
    )
    assert captions(strip) == list(EXPRESSIONS) and "Found 1 face" in status
    assert {_image(tile["image"]).size for tile in strip} == {
        (demo_config.strip_size, demo_config.strip_size)
    }
    assert faces["value"] == "all" and [value for _, value in faces["choices"]] == ["all", "1"]
    assert _image(photo).size == astronaut.shape[1::-1]
    every_face = [f"Face {i}: {name}" for i in (1, 2) for name in EXPRESSIONS]
    _, strip, status, _ = client.predict(handle_file(str(uploads[1])), "sad", 0.5, "2", 1.0, api_name="/swap")
    assert captions(strip) == every_face and "face 2" in status  # any face stays a click away
    _, strip, status, _ = client.predict(
        handle_file(str(uploads[1])), "sad", 0.5, "all", 1.0, api_name="/swap"
    )
    assert captions(strip) == every_face and "Found 2 faces; every face" in status
    not_a_photo = tmp_path / "notes.jpg"
    not_a_photo.write_text("not an image")
    uploads.append(not_a_photo)
    with pytest.raises(AppError, match="not an image"):  # the user's message, not a bare "Error"
        client.predict(handle_file(str(not_a_photo)), "happy", 1.0, "all", 1.0, api_name="/swap")

    assert_forgotten(uploads, server[1])


def test_gallery_and_morph_endpoints(
    client: Client, server: tuple[str, Path], demo_config: DemoConfig, astronaut, tmp_path: Path
) -> None:
    grid, download = client.predict("fer-multi", "happy", 9, 0.8, 3, api_name="/gallery")
    again, _ = client.predict("fer-multi", "happy", 9, 0.8, 3, api_name="/gallery")
    assert _image(grid).tobytes() == _image(again).tobytes()
    assert _image(download).format == "PNG"

    strip, gif = client.predict("fer-multi", "happy", 1, 2, 5, api_name="/morph")
    assert _image(strip).width > 5 * demo_config.tile_size and _image(gif).n_frames == 8
    photo = save_photo(astronaut, tmp_path / "face-a.png")
    client.predict(handle_file(str(photo)), api_name="/morph_photo_a")
    from_photo, _ = client.predict("fer-multi", "happy", 1, 2, 5, api_name="/morph")  # same session
    assert _image(from_photo).tobytes() != _image(strip).tobytes(), "face A should now be the photo"
    assert_forgotten([photo], server[1])
