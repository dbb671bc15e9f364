"""The demo's page: one tab per feature, built from the models found in the checkpoint folder."""

from __future__ import annotations

import os
from typing import Any

import gradio as gr

from demo import cache_writes
from demo.about import about_markdown
from demo.config import DemoConfig
from demo.explore import ExploreTab
from demo.gallery import GalleryTab
from demo.models import load_models
from demo.morph import MorphTab
from demo.swap import SwapTab

TITLE = "FaceVAE"
TABS = (("Explore", ExploreTab), ("Expression swap", SwapTab), ("Gallery", GalleryTab), ("Morph", MorphTab))
CSS = ".notice { border-left: 4px solid var(--color-accent); padding-left: 0.75em; }"


def build_demo(config: DemoConfig | None = None) -> gr.Blocks:
    """Load the models once and lay out the tabs; the queue is configured, launching is the caller's."""
    config = config or DemoConfig()
    cache_writes.install()
    store = load_models(config.checkpoint_dir)
    with gr.Blocks(title=TITLE, delete_cache=config.cache_cleanup) as demo:
        gr.Markdown(f"# {TITLE}\nFaces drawn by small variational autoencoders, on a CPU.")
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
                gr.Markdown(about_markdown(store, config.checkpoint_dir))
    return demo.queue(default_concurrency_limit=config.concurrency, max_size=config.max_queue)


def launch(demo: gr.Blocks, config: DemoConfig, **options: Any) -> Any:
    """Serve on GRADIO_SERVER_NAME (Spaces sets 0.0.0.0) or loopback only; `options` override."""
    settings: dict[str, Any] = {
        "server_name": os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        "max_file_size": config.limits.max_bytes,
        "state_session_capacity": config.max_sessions,
        "css": CSS,
        "run_history": False,  # would keep users' photos and results in the browser, or offer a Hub bucket
    }
    return demo.launch(**{**settings, **options})
