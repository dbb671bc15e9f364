"""Uploaded photos: read into memory with the shared limits, then deleted from disk at once.

Gradio writes every upload (and every webcam snapshot) into its cache folder before a handler runs.
A photo of a face is personal data, so the file is removed as soon as its pixels are in memory,
whether reading succeeded or not; nothing here logs pixels or paths.

The payload's path comes from the caller: Gradio only checks it for payloads marked as files, so a
path outside Gradio's upload folder ("/etc/passwd", "../x") is refused here, by comparing strings,
before anything on disk is touched (and a link inside the folder that points out of it, after).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import anyio.from_thread
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
    if path.parent == cache:
        return
    # Gradio's upload route files a photo under a folder named by the hash of its bytes: it creates
    # the folder (or finds it) and moves the file in within one step of its event loop. This handler
    # runs in a worker thread, so removing the folder from here could fall between the two when
    # another user sends the same photo, whose upload then fails with a 500 (`Path.mkdir` finds the
    # folder, then does not). On the loop, the removal waits for the move to finish.
    try:
        anyio.from_thread.run_sync(remove_if_empty, path.parent)
    except RuntimeError:  # not called from a server's worker thread (Python API, tests): no race
        remove_if_empty(path.parent)


def remove_if_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not empty: another upload with the same content is there
        folder.rmdir()


def uploaded_path(upload: Upload) -> Path:
    """The file of an upload payload, which must lie in Gradio's upload folder (else gr.Error).

    First pure string work (absolute, normalised paths), so a path outside is never opened or stat'ed;
    then the same check on the real path, which refuses a link in the folder that points out of it.
    """
    path = upload.get("path") if isinstance(upload, dict) else upload
    if path is None:
        raise gr.Error("Upload a photo or take one with the webcam first.")
    if not isinstance(path, str | Path) or "\0" in str(path):
        raise gr.Error("The photo must be a file uploaded to this app.")
    folder = os.path.abspath(get_upload_folder())
    full = os.path.abspath(path)  # also normalises "..": "cache/../x" is outside
    if not _inside(full, folder) or not _inside(os.path.realpath(full), os.path.realpath(folder)):
        raise gr.Error("The photo must be a file uploaded to this app.")
    return Path(full)


def _inside(path: str, folder: str) -> bool:
    return path != folder and os.path.commonpath([folder, path]) == folder


def read_upload(upload: Upload, limits: ImageLimits) -> np.ndarray:
    """RGB uint8 pixels of an uploaded photo; a problem becomes a message for the user (gr.Error)."""
    path = uploaded_path(upload)
    if not path.is_file():  # read and deleted already (Gradio files identical uploads in one place)
        raise gr.Error(
            "The photo is no longer on the server (each upload is deleted once read); send it again."
        )
    try:
        return read_image(path, limits)
    except ImageError as error:
        raise gr.Error(str(error)) from None
    finally:
        forget_upload(path)
