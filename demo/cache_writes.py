"""Atomic writes of result images into Gradio's cache (a fix for a race in Gradio 6.31).

Gradio names a result image after the hash of its bytes and rewrites that file in place for every
request that returns the same picture (the default face, the same photo swapped by two users). A
download of the file already in flight then reads a truncated file: the client sees "peer closed
connection" (measured: 14 errors in 200 swaps of one photo by 20 clients, `python -m bench.app`).
Here the bytes go to a temporary file in the same folder, renamed over the old one: a download in
flight keeps reading the old, identical file to its end.

Gradio has no public hook for this, so `install` replaces its `processing_utils.save_pil_to_cache`,
through which gr.Image and gr.Gallery cache numpy and PIL results. The replacement relies on that
function's parameters and file layout, and on gr.Image and gr.Gallery calling it:
tests/test_cache_writes.py pins all three, so a Gradio upgrade that changes one fails in CI. In
production, `install` leaves a Gradio whose function takes other parameters alone, with a warning.
"""

from __future__ import annotations

import inspect
import logging
import os
import tempfile
from pathlib import Path

import gradio
from gradio import processing_utils
from PIL import Image

log = logging.getLogger(__name__)

GRADIO_SAVE = processing_utils.save_pil_to_cache  # Gradio's own, as this module found it


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


def mismatch() -> str | None:
    """Why Gradio's function is not the one this module replaces (its parameters differ), or None."""
    theirs, ours = inspect.signature(GRADIO_SAVE), inspect.signature(save_pil_to_cache)
    if _names_and_defaults(theirs) == _names_and_defaults(ours):
        return None
    return f"gradio {gradio.__version__} has processing_utils.save_pil_to_cache{theirs}, not {ours}"


def _names_and_defaults(signature: inspect.Signature) -> list[tuple[str, object]]:
    return [(p.name, p.default) for p in signature.parameters.values()]


def install() -> None:
    """Route every image Gradio caches (Image, Gallery, numpy and PIL results) through the atomic write,
    or, on a Gradio whose function differs, log why and leave Gradio's own in place."""
    problem = mismatch()
    if problem is not None:
        log.warning("%s: result images are cached by Gradio's own, non-atomic write", problem)
        return
    processing_utils.save_pil_to_cache = save_pil_to_cache
