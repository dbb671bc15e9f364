"""The About tab's picture of how FaceVAE works, drawn from the shipped models' real outputs.

    python -m docs.how_it_works          # writes docs/figures/how-it-works.png (a few seconds)

One row per shipped model: a face from a photo (skimage's astronaut portrait, public domain) cut out
as the model's training faces were, the encoder, the code it gives that face (its 128 numbers drawn
as coloured cells), and what the decoder, or each of the seven expression decoders, draws from that
code. Nothing in it is made up: every face and every cell is what the models compute.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no window
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from skimage import data as skimage_data

from demo.codes import largest_face
from demo.config import DemoConfig
from demo.models import DemoModel, load_models

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "figures" / "how-it-works.png"
BOX = {"boxstyle": "round,pad=0.02", "linewidth": 1.5}
NETWORK, CODE = "#fde7c8", "#dbe8fb"  # fill colours: networks, codes


def face_and_code(model: DemoModel, photo: np.ndarray) -> tuple[np.ndarray, torch.Tensor]:
    """The photo's largest face as `model` sees it, and its code."""
    face = largest_face(model, photo).image
    return face, model.encode(face[None])[0]


def show(ax: Axes, image: np.ndarray, x: float, y: float, size: float, caption: str = "") -> None:
    """An image centred at (x, y), `size` wide, in the canvas' coordinates."""
    half = size / 2
    ax.imshow(image, cmap="gray", vmin=0, vmax=255, extent=(x - half, x + half, y - half, y + half))
    if caption:
        ax.text(x, y - size / 2 - 0.12, caption, ha="center", va="top", fontsize=10)


def block(ax: Axes, x: float, y: float, w: float, h: float, text: str, colour: str) -> None:
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, facecolor=colour, edgecolor="#555", **BOX))
    ax.text(x, y, text, ha="center", va="center", fontsize=12, weight="bold")


def arrow(ax: Axes, x0: float, x1: float, y: float, y1: float | None = None) -> None:
    end = (x1, y if y1 is None else y1)
    ax.add_patch(FancyArrowPatch((x0, y), end, arrowstyle="-|>", mutation_scale=14, color="#555"))


def code_cells(ax: Axes, code: torch.Tensor, x: float, y: float, caption: str) -> None:
    """The code's numbers as a 16 x 8 block of cells, blue below zero and red above."""
    cells = code.reshape(16, -1).numpy()
    limit = float(np.abs(cells).max())
    ax.imshow(cells, cmap="coolwarm", vmin=-limit, vmax=limit, extent=(x - 0.45, x + 0.45, y - 0.9, y + 0.9))
    ax.text(x, y - 1.02, caption, ha="center", va="top", fontsize=10)


def encoded(ax: Axes, model: DemoModel, photo: np.ndarray, y: float, title: str) -> torch.Tensor:
    """A row's start, photo face -> encoder -> code, under its title; the code."""
    ax.text(0.1, y + 1.65, title, fontsize=13, va="top")
    face, code = face_and_code(model, photo)
    show(ax, face, 1.2, y, 1.5, "a face from a photo")
    arrow(ax, 2.0, 2.6, y)
    block(ax, 3.5, y, 1.6, 1.0, "encoder", NETWORK)
    arrow(ax, 4.3, 5.0, y)
    code_cells(ax, code, 5.5, y, f"its code: {code.numel()} numbers")
    return code


def draw(models: dict[str, DemoModel], photo: np.ndarray, out: Path) -> None:
    colour, grey = models["utkface-vae"], models["fer-multi"]
    fig, ax = plt.subplots(figsize=(16, 8), dpi=80)
    ax.set_xlim(0, 16)
    ax.set_ylim(0.4, 8.4)
    ax.axis("off")

    # Colour model: the code -> decoder -> the face drawn back.
    y = 6.7
    code = encoded(ax, colour, photo, y, "Colour faces: the face drawn back from its code")
    arrow(ax, 6.05, 6.7, y)
    block(ax, 7.6, y, 1.6, 1.0, "decoder", NETWORK)
    arrow(ax, 8.4, 9.0, y)
    show(ax, colour.decode(code[None])[0], 9.8, y, 1.5, "drawn from the code")
    ax.text(
        11.0,
        y,
        "Explore moves the code with sliders,\nGallery draws random codes,\n"
        "Morph walks from one code to another.",
        fontsize=12,
        va="center",
    )

    # Grey model: the code -> seven decoders, one per expression.
    y = 2.6
    code = encoded(ax, grey, photo, y, "Grey faces: one code, seven decoders, one per expression")
    names = grey.expressions
    xs = [7.6 + i * 1.2 for i in range(len(names))]
    arrow(ax, 6.05, xs[0] - 0.7, y)
    middle, width = (xs[0] + xs[-1]) / 2, xs[-1] - xs[0] + 1.1
    block(ax, middle, y, width, 0.8, "seven decoders, one per expression", NETWORK)
    for x, name in zip(xs, names):
        arrow(ax, x, x, y - 0.4, 1.75)
        show(ax, grey.decode(code[None], name)[0], x, 1.2, 1.0, name)
    fig.savefig(out, bbox_inches="tight", facecolor="white")
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m docs.how_it_works",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    store = load_models(DemoConfig().checkpoint_dir)
    draw(store.models, skimage_data.astronaut(), args.out)
    print(args.out)


if __name__ == "__main__":
    main()
