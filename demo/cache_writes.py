"""Atomic writes of result images into Gradio's cache (a fix for a race in Gradio 6.31).

Gradio names a result image after the hash of its bytes and rewrites that file in place for every
request that returns the same picture (the default face, the same photo swapped by two users). A
download of the file already in flight then reads a truncated file: the client sees "peer closed
connection" (measured: 14 errors in 200 swaps of one photo by 20 clients, `python -m bench.app`).
Here the bytes go to a temporary file in the same folder, renamed over the old one: a download in
flight keeps reading the old, identical file to its end.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from gradio import processing_utils
from PIL import Image


def save_pil_to_cache(img: Image.Image, cache_dir: str, name: str = "image", format: str = "webp") -> str:
    data = processing_utils.encode_pil_to_bytes(img, format)
    folder = Path(cache_dir) / processing_utils.hash_bytes(data)
    folder.mkdir(exist_ok=True, parents=True)
    target = (folder / f"{name}.{format}").resolve()
    descriptor, staging = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        os.chmod(staging, 0o644)
        os.replace(staging, target)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
    return str(target)


def install() -> None:
    """Route every image Gradio caches (Image, Gallery, numpy and PIL results) through the atomic write."""
    processing_utils.save_pil_to_cache = save_pil_to_cache
