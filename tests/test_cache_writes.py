"""Result images reach Gradio's cache whole, even when many requests return the same picture.

demo/cache_writes.py replaces a Gradio function that is not public API. These tests pin what the
replacement relies on, so that a Gradio upgrade that changes it fails here: the function's
parameters, the file it writes (folder and name), and gr.Image and gr.Gallery calling it.
"""

from __future__ import annotations

import threading
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from gradio import processing_utils
from PIL import Image

from demo import cache_writes


@pytest.fixture
def installed(monkeypatch):
    """cache_writes installed for one test, and Gradio's function as it was afterwards."""
    monkeypatch.setattr(processing_utils, "save_pil_to_cache", processing_utils.save_pil_to_cache)
    cache_writes.install()
    assert processing_utils.save_pil_to_cache is cache_writes.save_pil_to_cache


def noise(size: int = 64) -> Image.Image:
    return Image.fromarray(np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8))


def test_gradio_s_function_takes_the_parameters_of_its_replacement() -> None:
    assert cache_writes.mismatch() is None


def test_a_gradio_whose_function_differs_keeps_its_own(monkeypatch, caplog) -> None:
    def changed(img, cache_dir, name="image", format="webp", quality=80): ...

    monkeypatch.setattr(cache_writes, "GRADIO_SAVE", changed)
    monkeypatch.setattr(processing_utils, "save_pil_to_cache", changed)
    cache_writes.install()
    assert processing_utils.save_pil_to_cache is changed
    assert "quality=80" in caplog.text


@pytest.mark.parametrize("image_format", ["png", "jpeg", "webp"])
def test_the_replacement_writes_the_file_gradio_writes(tmp_path: Path, image_format: str) -> None:
    theirs = Path(cache_writes.GRADIO_SAVE(noise(), str(tmp_path / "gradio"), "face", image_format))
    ours = Path(cache_writes.save_pil_to_cache(noise(), str(tmp_path / "ours"), "face", image_format))
    assert theirs.relative_to(tmp_path / "gradio") == ours.relative_to(tmp_path / "ours")
    assert theirs.read_bytes() == ours.read_bytes()


def test_image_and_gallery_results_are_cached_through_the_replacement(tmp_path, monkeypatch, installed):
    saved: list[str] = []

    def counted(*args, **kwargs) -> str:
        saved.append(cache_writes.save_pil_to_cache(*args, **kwargs))
        return saved[-1]

    monkeypatch.setattr(processing_utils, "save_pil_to_cache", counted)
    pixels = np.asarray(noise())
    image, gallery = gr.Image(format="png"), gr.Gallery(format="jpeg")
    for component in (image, gallery):
        component.GRADIO_CACHE = str(tmp_path)
    paths = [image.postprocess(pixels).path, image.postprocess(noise()).path]
    paths += [item.image.path for item in gallery.postprocess([pixels, noise(), (pixels, "caption")]).root]
    assert [str(Path(p).resolve()) for p in paths] == saved


def test_a_reader_never_sees_a_partly_rewritten_file(tmp_path: Path, installed) -> None:
    image = noise(256)
    path = Path(processing_utils.save_img_array_to_cache(np.asarray(image), str(tmp_path), format="png"))
    size = path.stat().st_size
    stop = threading.Event()

    def rewrite() -> None:
        while not stop.is_set():
            processing_utils.save_pil_to_cache(image, str(tmp_path), format="png")

    writers = [threading.Thread(target=rewrite) for _ in range(2)]
    for writer in writers:
        writer.start()
    try:
        sizes = {len(path.read_bytes()) for _ in range(300)}
    finally:
        stop.set()
        for writer in writers:
            writer.join()
    assert sizes == {size}
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no staging file left behind
