"""About tab: what each loaded model is and how well it does, from its own checkpoint metadata."""

from __future__ import annotations

from pathlib import Path

from demo.models import DemoModel, ModelStore

# Held-out metrics (as train/heldout.py names them) worth showing, with a label and a format.
METRICS = (
    ("neg_elbo", "−ELBO (nats/image)", "{:,.0f}"),
    ("bits_per_dim", "bits/dim", "{:.3f}"),
    ("mse", "reconstruction MSE ([−1, 1] pixels)", "{:.4f}"),
    ("psnr", "reconstruction PSNR (dB)", "{:.2f}"),
    ("active_units", "active latent units", "{:.0f}"),
)

INTRO = """\
**FaceVAE** draws faces with small convolutional variational autoencoders trained on a CPU.
*Explore* moves a face along directions of the model's latent space, *Expression swap* redraws the
faces in a photo with another expression (one shared encoder, one decoder per expression), *Gallery*
samples new faces and *Morph* walks between two faces.

**Privacy.** Uploaded photos and webcam snapshots are read into memory and their files deleted
before anything else happens; results are removed from the server's cache within minutes, and a
photo kept for re-rendering a swap is dropped from memory when the session ends or times out.
Nothing is logged or stored.
"""


def model_card(model: DemoModel) -> str:
    meta = model.metadata
    config = model.vae.config
    epochs = meta.get("epochs")
    source = str(meta.get("data", "?")).split(":")[0]  # the layout name; not the trainer's own file paths
    trained = f"trained {epochs:.3g} epochs on {source}" if epochs is not None else "trained"
    lines = [
        f"### {model.spec.title}",
        f"`{model.spec.filename}`: {config.kind} model, {config.image_size}×{config.image_size}×"
        f"{config.channels}, latent size {config.latent_dim}, {trained}.",
        f"Sliders: {', '.join(model.direction_names)}.",
    ]
    metrics = meta.get("metrics") or {}
    rows = [
        f"| {label} | {fmt.format(metrics[key])} |"
        for key, label, fmt in METRICS
        if metrics.get(key) is not None
    ]
    if rows:
        lines += ["", "| held-out metric | value |", "| --- | --- |", *rows]
    return "\n".join(lines)


def about_markdown(store: ModelStore, checkpoint_dir: Path) -> str:
    """Intro, one card per loaded model, the load problems, and checkpoints/README.md if present."""
    parts = [INTRO, *(model_card(model) for model in store.models.values())]
    if store.problems:
        parts.append("### Not loaded\n" + "\n".join(f"- {problem}" for problem in store.problems))
    readme = checkpoint_dir / "README.md"
    if readme.is_file():
        parts.append(readme.read_text(encoding="utf-8"))
    return "\n\n".join(parts)
