"""Entry point for Hugging Face Spaces and `python app.py`: build the FaceVAE demo and serve it."""

from __future__ import annotations

import logging

from demo import DemoConfig, build_demo, launch

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # Gradio's own start-up probes, one line each
    config = DemoConfig()
    launch(build_demo(config), config)
