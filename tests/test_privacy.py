"""Uploaded selfies do not outlive their request, checked through the running demo's API.

A distinctive photo (the astronaut with a seeded noise band) goes through every endpoint that takes
a photo. The upload is gone from Gradio's cache as soon as it has been read; every result drawn from
it (the swapped photo holds most of the selfie) is gone once Gradio's cache clean-up has run; no
file anywhere the app writes (Gradio's cache, the checkout, the checkpoints, the temp folder) holds
its bytes or its pixels; and neither the log nor stdout or stderr mentions it.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from demo import DemoConfig, build_demo
from tests.test_demo_support import save_photo

pytest_plugins = ["tests.test_demo_support"]
pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")  # inside gradio's queue

REPO = Path(__file__).resolve().parents[1]
CLEANUP = (1, 1)  # seconds: Gradio's clean-up runs every second and removes results older than 1 s
BAND = 48  # rows of noise at the bottom of the photo: its fingerprint


@pytest.fixture(scope="module")
def demo_config(tiny_checkpoints: Path) -> DemoConfig:
    """The demo as shipped, but with results leaving the cache after 1 s (300 s by default)."""
    return DemoConfig(checkpoint_dir=tiny_checkpoints, cache_cleanup=CLEANUP)


@pytest.fixture(scope="module")
def selfie(astronaut: np.ndarray) -> np.ndarray:
    """The astronaut above a band of random 16-pixel colour squares (which survive JPEG)."""
    squares = np.random.default_rng(20240601).integers(0, 256, (BAND // 16, astronaut.shape[1] // 16, 3))
    photo = astronaut.copy()
    photo[-BAND:] = np.kron(squares, np.ones((16, 16, 1))).astype(np.uint8)
    return photo


def files_under(folder: Path, since: float = 0.0) -> Iterator[Path]:
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in names:
            path = Path(root) / name
            try:
                if path.is_file() and not path.is_symlink() and path.stat().st_mtime >= since:
                    yield path
            except OSError:  # removed meanwhile
                continue


def holds(path: Path, selfie: np.ndarray, digests: set[str]) -> bool:
    """Whether a file is one of the uploads (bytes) or shows the selfie's fingerprint (pixels)."""
    try:
        if path.stat().st_size > 50 * 2**20:
            return False
        if hashlib.sha256(path.read_bytes()).hexdigest() in digests:
            return True
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"), dtype=np.float32)
    except Exception:  # not an image, or gone
        return False
    if pixels.shape != selfie.shape:
        return False
    return float(np.abs(pixels[-BAND:] - selfie[-BAND:]).mean()) < 20  # JPEG-compressed is still a match


@pytest.mark.slow
def test_uploads_and_results_are_gone_and_never_logged(
    server: tuple[str, Path],
    selfie: np.ndarray,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    url, cache = server
    uploads = [
        save_photo(selfie, tmp_path / "my-selfie-7f3a.png"),
        save_photo(selfie, tmp_path / "me-7f3a.jpg"),
    ]
    digests = {hashlib.sha256(path.read_bytes()).hexdigest() for path in uploads}
    client = Client(url, verbose=False, download_files=False)
    before = set(files_under(cache))  # the page's own images (the first face of Explore)
    start = time.time() - 1
    caplog.set_level(logging.DEBUG)

    photo, _, status, _ = client.predict(
        handle_file(str(uploads[0])), "happy", 0.0, "all", 1.0, api_name="/swap"
    )
    assert "Found 1 face" in status
    assert holds(Path(photo["path"]), selfie, set()), "at intensity 0 the result is the selfie itself"
    client.predict(handle_file(str(uploads[1])), "sad", 1.0, "all", 1.0, api_name="/swap")
    client.predict("fer-multi", "happy", handle_file(str(uploads[0])), api_name="/explore_photo")
    client.predict(handle_file(str(uploads[1])), api_name="/morph_photo_a")
    client.predict("fer-multi", "happy", 1, 2, 4, api_name="/morph")

    uploaded_left = [path for path in files_under(cache) if path.name in {u.name for u in uploads}]
    assert uploaded_left == [], "an upload outlived its request"
    assert not any(holds(path, selfie, digests) for path in files_under(cache) if path.suffix == ".png"), (
        "a PNG upload is still in the cache"
    )

    deadline = time.monotonic() + 15
    while (new := set(files_under(cache)) - before) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert new == set(), f"results outlived Gradio's clean-up: {sorted(p.name for p in new)}"

    scanned = [
        *files_under(cache),
        *files_under(REPO, since=start),
        *files_under(Path(tempfile.gettempdir()), since=start),
    ]
    copies = [path for path in scanned if tmp_path not in path.parents and holds(path, selfie, digests)]
    assert copies == [], f"the selfie was copied to {copies}"

    out, err = capfd.readouterr()
    logged = "\n".join(record.getMessage() for record in caplog.records) + out + err
    fingerprints = [u.name for u in uploads] + [
        base64.b64encode(u.read_bytes()[:600]).decode()[:80] for u in uploads
    ]
    assert not [f for f in fingerprints if f in logged], "the upload (its name or its bytes) was logged"


def test_the_examples_cache_holds_only_shipped_examples(demo_config: DemoConfig) -> None:
    """The demo ships no examples, so no example is cached: Gradio's examples cache gets nothing."""
    demo = build_demo(demo_config)
    assert not [block for block in demo.blocks.values() if isinstance(block, gr.Dataset)]
    assert not (REPO / ".gradio" / "cached_examples").exists()
