"""The demo's page: one tab per feature, built from the models found in the checkpoint folder."""

from __future__ import annotations

import os
from typing import Any

import gradio as gr

from demo import cache_writes
from demo.about import build_about
from demo.config import DemoConfig
from demo.explore import ExploreTab
from demo.gallery import GalleryTab
from demo.models import load_models
from demo.morph import MorphTab
from demo.swap import SwapTab
from vae.data import EXPRESSIONS

TITLE = "FaceVAE"
# The page opens on the first tab: the expression swap, what most visitors come for.
TABS = (("Expression", SwapTab), ("Explore", ExploreTab), ("Gallery", GalleryTab), ("Morph", MorphTab))
TAGLINE = (
    "Give the faces in your photo a new expression, change faces with sliders, draw faces that never "
    "existed and morph one face into another, with small neural networks that run on an ordinary computer."
)
# Gradio's bundled semibold Source Sans Pro and IBM Plex Mono hold a few letters only (A and B, and
# some Cyrillic): the semibold title drew its "A" in that font and every other letter in a fallback.
# Their regular and bold files hold the whole alphabet, so semibold text is drawn bold.
REGULAR_AND_BOLD = (400, 700)
FONT = (gr.themes.LocalFont("Source Sans Pro", REGULAR_AND_BOLD), "ui-sans-serif", "sans-serif")
FONT_MONO = (gr.themes.LocalFont("IBM Plex Mono", REGULAR_AND_BOLD), "ui-monospace", "monospace")
THEME = gr.themes.Default(font=FONT, font_mono=FONT_MONO)
CSS = """
.notice { border-left: 4px solid var(--color-accent); padding-left: 0.75em; }
/* Explore: the face stays in view while the sliders move, also on a phone where the columns stack.
   Gradio's container hides its overflow, which would make it the sticky panel's scroller; clip
   cuts the same overflow without scrolling, so the panel sticks to the window. Its layer lies
   above the sliders' labels (--layer-4) and below the menu of tabs that a phone folds away (--layer-5). */
.gradio-container { overflow: clip !important; }
/* On a phone the five tabs' names fit in the bar: at Gradio's size only two did, and the rest hid
   behind an unlabelled "..." button. */
@media (max-width: 640px) {
    .tab-wrapper button { padding: 0 7px !important; font-size: 14px !important; }
}
#explore-face-panel {
    position: sticky; top: 0; z-index: 45; align-self: flex-start;
    background: var(--body-background-fill);
}
@media (max-width: 640px) { #explore-face { height: 210px !important; } }
/* Gallery and Morph: the faces fill their panel's width (no small faces in a large empty box),
   up to the window's height. */
#gallery-grid .image-frame, #gallery-grid img, #morph-strip .image-frame, #morph-strip img { width: 100%; }
#gallery-grid img, #morph-strip img { height: auto; max-height: 85vh; object-fit: contain; }
#about-picture img { max-width: 1000px; }
/* Expression: the strip is as tall as its rows (a row per face), its first faces below its label. */
#swap-grid .grid-wrap {
    min-height: 0 !important; max-height: none !important; height: auto !important; padding-top: 2.2em;
}
/* Expression on a phone, where the columns stack: the photo, then the result and what it shows, then
   the controls (not the result below all of them), the live webcam last. The result stays in view
   (as the explore tab's face does) while the controls below it are used; the strip wraps, four faces
   a row, square (Gradio's rows are at least 100 px tall, taller than a quarter of a phone is wide),
   rather than running off the side, each face of a group photo on rows of its own (a face's seven
   tiles filled a row and a half, and the next face's ran on into it), and its labels are whole
   ("Face 2: surprise", not "Face 2: su..."), small, under each face rather than over it (over the
   tile's top, a label of two lines hid the eyes). */
@media (max-width: 640px) {
    #swap-row { flex-direction: column; }
    #swap-controls, #swap-output { display: contents; }
    #swap-controls > *, #swap-output > * { order: 5; width: 100%; }
    #swap-photo { order: 1; }
    #swap-example { order: 2; }
    #swap-result {
        order: 3; position: sticky; top: 0; z-index: 45; height: 250px !important;
        background: var(--body-background-fill);
    }
    #swap-status { order: 4; }
    #live { order: 6; }
    #swap-grid .grid-container {
        grid-template-columns: repeat(4, minmax(0, 1fr)) !important; grid-auto-rows: auto !important;
    }
    #swap-grid .grid-container > :nth-child(EXPRESSION_COUNTn+1) { grid-column-start: 1; }
    #swap-grid .thumbnail-item {
        aspect-ratio: auto !important; height: auto !important; display: flex; flex-direction: column;
    }
    #swap-grid .thumbnail-item img { aspect-ratio: 1 / 1; width: 100% !important; height: auto !important; }
    #swap-grid .caption-label {
        position: static !important; max-width: 100%; padding: 1px 2px; text-align: center;
        background: none; border: none; box-shadow: none;
        font-size: 10px; line-height: 1.2; white-space: normal; overflow: visible; text-overflow: clip;
    }
}
""".replace("EXPRESSION_COUNT", str(len(EXPRESSIONS)))


def build_demo(config: DemoConfig | None = None) -> gr.Blocks:
    """Load the models once and lay out the tabs; the queue is configured, launching is the caller's."""
    config = config or DemoConfig()
    cache_writes.install()
    store = load_models(config.checkpoint_dir)
    with gr.Blocks(title=TITLE, delete_cache=config.cache_cleanup) as demo:
        gr.Markdown(f"# {TITLE}\n{TAGLINE}")
        for problem in store.problems:
            gr.Markdown(f"⚠️ {problem}", elem_classes="notice")
        if not store.models:
            gr.Markdown(
                f"No model could be loaded from `{config.checkpoint_dir}`. Train one "
                "(`python -m train ...`) or copy the released checkpoints there, then restart."
            )
        with gr.Tabs():
            for name, tab in TABS if store.models else ():
                with gr.Tab(name):
                    tab(store, config).build()
            with gr.Tab("About"):
                build_about(store, config)
    return demo.queue(default_concurrency_limit=config.concurrency, max_size=config.max_queue)


def launch(demo: gr.Blocks, config: DemoConfig, **options: Any) -> Any:
    """Serve on GRADIO_SERVER_NAME (Spaces sets 0.0.0.0) or loopback only; `options` override."""
    settings: dict[str, Any] = {
        "server_name": os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        "max_file_size": config.limits.max_bytes,
        "state_session_capacity": config.max_sessions,
        "css": CSS,
        "theme": THEME,
        "run_history": False,  # would keep users' photos and results in the browser, or offer a Hub bucket
    }
    return demo.launch(**{**settings, **options})
