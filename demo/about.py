"""About tab: what the app does, how it works in one picture, what each model learnt from, where to
read more, and what happens to visitors' photos. The measured numbers wait in a closed accordion."""

from __future__ import annotations

import math
import os
from pathlib import Path

import gradio as gr

from demo.config import DemoConfig
from demo.models import DemoModel, ModelStore

# Drawn by docs/how_it_works.py from the shipped models.
PICTURE = Path(__file__).resolve().parents[1] / "docs" / "figures" / "how-it-works.png"

# Held-out metrics (as train/heldout.py names them) worth showing, with a label and a format.
METRICS = (
    ("neg_elbo", "−ELBO (nats/image)", "{:,.0f}"),
    ("bits_per_dim", "bits/dim", "{:.3f}"),
    ("mse", "reconstruction MSE ([−1, 1] pixels)", "{:.4f}"),
    ("psnr", "reconstruction PSNR (dB)", "{:.2f}"),
    ("active_units", "active latent units", "{:.0f}"),
)

WHAT_IT_DOES = """\
## What it does

FaceVAE draws faces with small neural networks that run on an ordinary computer, no graphics card
needed.

- **Expression**: change the expression of the faces in your photo.
- **Explore**: change a face with sliders (age, a more masculine or feminine look, and the main ways
  in which faces differ), starting from the average face, a random one or the face in your photo.
- **Gallery**: a grid of faces that never existed.
- **Morph**: watch one face turn into another.

## How it works
"""

HOW_IT_WORKS = """\
Each model is a *variational autoencoder* (VAE): an **encoder** turns a face into a **code**, a short
list of numbers, and a **decoder** turns a code back into a face. Faces that look alike get codes
that lie close together, so any code near those of real faces draws a face, also codes that no
photo ever gave. The grey model has seven decoders, one per expression, that all draw from the same
code: the same person with seven expressions. The models are small, so their faces are small (64 or
48 pixels) and blurry. The expression tab does not show their faces: it edits your photo at its own
size, moving its pixels to the new expression's landmarks and adding only a little light and shade,
so your photo stays as sharp and as colourful as it was.
"""

PRIVACY = """\
## Your photos

Uploaded photos and webcam snapshots are read into memory and their files deleted before anything
else happens. Results are removed from the server within {cleanup} minutes, and a photo kept for
changing a swap's settings is dropped from memory when you leave or after {ttl} minutes. Nothing is
logged or stored.
"""

# Files of this project a visitor may want to read, with what they will find there.
READ_MORE = (
    ("The model cards", "checkpoints/README.md", "how each model was trained and measured"),
    ("The README", "README.md", "run the app yourself, use the library, train a model"),
    ("The design notes", "docs/design.md", "what was tried and measured, decision by decision"),
)


def source_link(path: str) -> str | None:
    """The page of a file of this project on its Hugging Face Space (which sets SPACE_ID); None
    elsewhere, where the app serves none of its files and the visitor is shown the path."""
    space = os.environ.get("SPACE_ID")
    return f"https://huggingface.co/spaces/{space}/blob/main/{path}" if space else None


def read_more() -> str:
    lines = []
    for title, path, what in READ_MORE:
        url = source_link(path)
        lines.append(f"- [{title}]({url}): {what}." if url else f"- {title} (`{path}`): {what}.")
    return "## Read more\n\n" + "\n".join(lines)


def models_table(store: ModelStore) -> str:
    """What each loaded model learnt from, with the data's licence; the problems of those not loaded."""
    rows = [f"| {model.spec.title} | {model.spec.data} |" for model in store.models.values()]
    parts = [
        "## What the models learnt from",
        "| Model | Learnt from |\n| --- | --- |\n" + "\n".join(rows) if rows else "No model is loaded.",
        "None of these photos are in the app or its files. The app's code is open source (MIT).",
    ]
    if store.problems:
        parts.append("**Not loaded**\n\n" + "\n".join(f"- {problem}" for problem in store.problems))
    return "\n\n".join(parts)


def quality(model: DemoModel) -> str:
    """A model's size and held-out numbers, as its checkpoint records them."""
    config = model.vae.config
    lines = [
        f"**{model.spec.title}**: {config.image_size}×{config.image_size} pixels, "
        f"{'colour' if config.channels == 3 else 'grey'}, codes of {config.latent_dim} numbers."
    ]
    metrics = model.metadata.get("metrics") or {}
    rows = [
        f"| {label} | {fmt.format(metrics[key])} |"
        for key, label, fmt in METRICS
        if metrics.get(key) is not None
    ]
    if rows:
        lines += ["", "| on faces it never saw | value |", "| --- | --- |", *rows]
    return "\n".join(lines)


def privacy(config: DemoConfig) -> str:
    frequency, age = config.cache_cleanup
    return PRIVACY.format(cleanup=math.ceil((frequency + age) / 60), ttl=math.ceil(config.photo_ttl / 60))


def details(store: ModelStore, config: DemoConfig) -> str:
    """Everything below the picture but the numbers."""
    return "\n\n".join([HOW_IT_WORKS, models_table(store), read_more(), privacy(config)])


def build_about(store: ModelStore, config: DemoConfig) -> None:
    gr.Markdown(WHAT_IT_DOES)
    if PICTURE.is_file():
        gr.Image(
            str(PICTURE),
            show_label=False,
            buttons=[],
            interactive=False,
            container=False,
            elem_id="about-picture",
        )
    gr.Markdown(details(store, config))
    if store.models:
        with gr.Accordion("Measured quality (for specialists)", open=False):
            gr.Markdown("\n\n".join(quality(model) for model in store.models.values()))
