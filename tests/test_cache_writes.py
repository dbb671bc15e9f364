"""Result images reach Gradio's cache whole, even when many requests return the same picture."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from gradio import processing_utils
from PIL import Image

from demo import cache_writes


def test_a_reader_never_sees_a_partly_rewritten_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(processing_utils, "save_pil_to_cache", processing_utils.save_pil_to_cache)
    cache_writes.install()
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (256, 256, 3), dtype=np.uint8))
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
