"""Uploaded photos: read into memory with the shared limits, then deleted from disk at once.

Gradio writes every upload (and every webcam snapshot) into its cache folder before a handler runs.
A photo of a face is personal data, so the file is removed as soon as its pixels are in memory,
whether reading succeeded or not; nothing here logs pixels or paths.

Gradio files identical uploads at one path (a folder named by a hash of the bytes), so when the same
photo arrives twice at once (on two of the page's inputs, or from two visitors) the first read
deletes the file the second is about to read. The pixels of the last few reads are therefore kept
in memory for a minute (`RecentReads`), and a read that finds its file gone takes them from there.

The payload's path comes from the caller: Gradio only checks it for payloads marked as files, so a
path outside Gradio's upload folder ("/etc/passwd", "../x") is refused here, by comparing strings,
before anything on disk is touched (and a link inside the folder that points out of it, after).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import OrderedDict
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


class RecentReads:
    """The pixels of the last `size` uploads read, each for `seconds`: what a read of the same upload
    gets when the first read has deleted the file (the module's docstring says when)."""

    def __init__(self, seconds: float = 60.0, size: int = 4) -> None:
        self.seconds, self.size = seconds, size
        self._pixels: OrderedDict[tuple[Path, ImageLimits], tuple[float, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()  # handlers run in several worker threads

    def remember(self, path: Path, limits: ImageLimits, pixels: np.ndarray) -> None:
        with self._lock:
            self._forget_old()
            self._pixels[path, limits] = (time.monotonic(), pixels)
            self._pixels.move_to_end((path, limits))
            while len(self._pixels) > self.size:
                self._pixels.popitem(last=False)

    def recall(self, path: Path, limits: ImageLimits) -> np.ndarray | None:
        """A copy (the caller may draw on it) of the pixels read from `path`, if read lately."""
        with self._lock:
            self._forget_old()
            kept = self._pixels.get((path, limits))
        return None if kept is None else kept[1].copy()

    def _forget_old(self) -> None:
        now = time.monotonic()
        for key in [key for key, (read, _) in self._pixels.items() if now - read > self.seconds]:
            del self._pixels[key]


RECENT_READS = RecentReads()


def read_upload(upload: Upload, limits: ImageLimits) -> np.ndarray:
    """RGB uint8 pixels of an uploaded photo; a problem becomes a message for the user (gr.Error)."""
    path = uploaded_path(upload)
    try:
        pixels = _read_or_recall(path, limits)
    except ImageError as error:
        raise gr.Error(str(error)) from None
    finally:
        forget_upload(path)
    if pixels is None:
        raise gr.Error(
            "The photo is no longer on the server (each upload is deleted once read); send it again."
        )
    return pixels


def _read_or_recall(path: Path, limits: ImageLimits) -> np.ndarray | None:
    """The upload's pixels from its file, else from a read of the same file just now (None if none).

    The file may also go while this read is under way (the other read deletes it between this one's
    look and its open), which fails the read as an unreadable image: taken from memory too."""
    if path.is_file():
        try:
            pixels = read_image(path, limits)
        except ImageError:
            if path.is_file():  # a bad image, not one deleted under this read
                raise
        else:
            RECENT_READS.remember(path, limits, pixels)  # before the file goes: no moment without both
            return pixels
    return RECENT_READS.recall(path, limits)
