"""Uploaded photos: read into memory with the shared limits, then deleted from disk at once.

Gradio writes every upload (and every webcam snapshot) into its cache folder before a handler runs.
A photo of a face is personal data, so the file is removed as soon as its pixels are in memory,
whether reading succeeded or not; nothing here logs pixels or paths.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from gradio.utils import get_upload_folder

from vae.images import ImageError, ImageLimits, read_image

# What a photo handler receives: Gradio's file payload (events that read photos skip Gradio's
# preprocessing, see demo.widgets.photo_input), a path when called from Python, or None when cleared.
Upload = dict[str, Any] | str | Path | None


def forget_upload(path: str | Path) -> None:
    """Delete an upload and its (then empty) hash folder; files outside Gradio's cache are left alone."""
    path = Path(path).resolve()
    cache = Path(get_upload_folder()).resolve()
    if cache not in path.parents:
        return
    path.unlink(missing_ok=True)
    if path.parent != cache:
        with contextlib.suppress(OSError):  # not empty: another upload with the same content is there
            path.parent.rmdir()


def read_upload(upload: Upload, limits: ImageLimits) -> np.ndarray:
    """RGB uint8 pixels of an uploaded photo; a problem becomes a message for the user (gr.Error)."""
    path = upload.get("path") if isinstance(upload, dict) else upload
    if path is None:
        raise gr.Error("Upload a photo or take one with the webcam first.")
    try:
        return read_image(path, limits)
    except ImageError as error:
        raise gr.Error(str(error)) from None
    finally:
        forget_upload(path)
