"""Model outputs as the page shows them and as users download them."""

from __future__ import annotations

import math
import uuid
from pathlib import Path

import numpy as np
from gradio.utils import get_upload_folder
from PIL import Image

GAP = 2  # white pixels between faces in a grid or strip
GIF_FRAME_MS = 120


def enlarge(face: np.ndarray, size: int) -> np.ndarray:
    """A 48 or 64 pixel face scaled up smoothly, so the browser does not blur or pixelate it."""
    return np.asarray(Image.fromarray(face).resize((size, size), Image.Resampling.BICUBIC))


def tile(faces: np.ndarray, columns: int, size: int) -> np.ndarray:
    """Faces [N, H, W(, 3)] as one image: rows of `columns` faces, each `size` pixels, on white."""
    rows = math.ceil(len(faces) / columns)
    step = size + GAP
    shape = (rows * step - GAP, columns * step - GAP, *faces.shape[3:])
    grid = np.full(shape, 255, dtype=np.uint8)
    for i, face in enumerate(faces):
        r, c = divmod(i, columns)
        grid[r * step : r * step + size, c * step : c * step + size] = enlarge(face, size)
    return grid


def _export_path(name: str) -> Path:
    """A new file in Gradio's cache: served without a copy and removed by the Blocks' delete_cache."""
    folder = Path(get_upload_folder()) / f"facevae-{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    return folder / name


def save_png(image: np.ndarray, name: str) -> str:
    """The image as a PNG file for download; its path as a string, which every Gradio output takes."""
    path = _export_path(name)
    Image.fromarray(image).save(path, optimize=True)
    return str(path)


def shared_palette(frames: list[np.ndarray], side: int = 64) -> Image.Image:
    """One 256-colour palette for colour frames, found on small copies of them all. Each frame is then
    mapped onto it with dithering: far faster than Pillow's palette per full-size frame (the morph's
    GIF took most of its time), and without the bands of its fast octree method."""
    small = [np.asarray(Image.fromarray(frame).resize((side, side))) for frame in frames]
    return Image.fromarray(np.hstack(small)).quantize(256, method=Image.Quantize.MEDIANCUT)


def save_gif(frames: list[np.ndarray], name: str) -> str:
    """An endlessly looping GIF that plays forward then back, so the loop has no jump."""
    sequence = frames + frames[-2:0:-1]
    palette = shared_palette(frames) if frames[0].ndim == 3 else None  # grey frames are GIF-ready
    images = [
        Image.fromarray(frame) if palette is None else Image.fromarray(frame).quantize(palette=palette)
        for frame in sequence
    ]
    path = _export_path(name)
    images[0].save(path, save_all=True, append_images=images[1:], duration=GIF_FRAME_MS, loop=0)
    return str(path)
