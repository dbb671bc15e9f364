"""The FaceVAE Gradio demo: `build_demo(DemoConfig(...))` gives the page, `launch` serves it."""

from demo.app import build_demo, launch
from demo.config import DemoConfig

__all__ = ["DemoConfig", "build_demo", "launch"]
