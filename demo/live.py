"""The expression tab's live mode: the webcam streams, and every face it sees wears the chosen expression.

The page's webcam sends a frame every 1/live_fps seconds (Gradio's streaming image input and
`.stream`); the server edits it (vae.live.LiveMirror, one per browser tab, kept in the session's
memory for its face tracks) and answers with the edited frame. A frame that arrives while the
server is busy replaces the one waiting, so the picture never falls behind: a slower server shows
fewer frames, not older ones. The expression, amount and strength are read with every frame, so a
change shows on the next one.

No frame is written anywhere: the page sends each frame inside the request as a data URL, it is
decoded in memory, and the edited frame goes back the same way (a data URL, not a file in Gradio's
cache). The mirror keeps landmarks and 48-pixel decodings, never pixels; Gradio keeps the latest
frame and answer in the session's memory until the next replaces them. tests/test_live.py checks
the disk and the mirror.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import cv2
import gradio as gr
import numpy as np

from demo.config import DemoConfig
from demo.widgets import looks
from vae.images import ImageError, ImageLimits, read_image
from vae.live import MAX_SIDE, LiveMirror
from vae.photo_edit import ExpressionModels

JPEG_QUALITY = 85
HOW_TO = (
    "Every face your camera sees wears the expression, amount and strength you choose for your photo, as "
    "you watch. Click the camera, then **Record** under it: nothing is recorded or saved, each frame is "
    "edited in memory and dropped."
)
WAITING = "The camera is off."
# What a settings check returns: (expression, amount, strength), each checked (else gr.Error).
SettingsCheck = Callable[[object, object, object], tuple[str, float, float]]


def read_frame(payload: object, limits: ImageLimits) -> np.ndarray:
    """The pixels of a frame from the page's webcam (Gradio's image payload holding a data URL),
    decoded in memory, shrunk to vae.live.MAX_SIDE; gr.Error for anything else."""
    url = payload.get("url") if isinstance(payload, dict) else None
    header, _, body = url.partition(",") if isinstance(url, str) else ("", "", "")
    if not (header.startswith("data:image/") and header.endswith(";base64")):
        raise gr.Error("The live mode takes frames as the page's webcam sends them (image data URLs).")
    if len(body) * 3 // 4 > limits.max_bytes:
        raise gr.Error("The frame is too large.")
    try:
        return read_image(base64.b64decode(body, validate=True), replace(limits, max_side=MAX_SIDE))
    except binascii.Error:
        raise gr.Error("The frame is not valid base64 image data.") from None
    except ImageError as error:
        raise gr.Error(str(error)) from None


def frame_payload(image: np.ndarray) -> dict[str, Any]:
    """An image payload that the page shows from memory: a JPEG data URL, no file behind it."""
    ok, jpeg = cv2.imencode(
        ".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
    )
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 RGB image
        raise gr.Error("The edited frame could not be encoded.")
    return {
        "url": "data:image/jpeg;base64," + base64.b64encode(jpeg.tobytes()).decode("ascii"),
        "path": None,
        "orig_name": "live.jpeg",
        "mime_type": "image/jpeg",
        "meta": {"_type": "gradio.FileData"},
    }


class LiveMode:
    """The live webcam section of the expression tab, driven by the tab's own controls."""

    def __init__(self, models: ExpressionModels, config: DemoConfig, settings: SettingsCheck) -> None:
        self.models = models
        self.config = config
        self.settings = settings

    def frame(
        self,
        payload: object,
        expression: object,
        intensity: object,
        strength: object,
        mirror: LiveMirror | None,
    ) -> tuple[Any, str, LiveMirror | None]:
        """One webcam frame: (the edited frame, what the mirror sees, the tab's mirror)."""
        if payload is None:  # the camera was turned off
            return None, WAITING, None
        settings = self.settings(expression, intensity, strength)
        pixels = read_frame(payload, self.config.limits)
        mirror = mirror or LiveMirror(self.models)
        edited = mirror(pixels, *settings)
        if edited.boxes:
            return frame_payload(edited.image), f"{edited.status}: {looks(*settings)}.", mirror
        return frame_payload(edited.image), f"{edited.status}.", mirror

    def build(self, expression: gr.Radio, intensity: gr.Slider, strength: gr.Slider) -> None:
        with gr.Accordion("Live webcam", open=False, elem_id="live"):
            gr.Markdown(HOW_TO)
            with gr.Row():
                camera = gr.Image(
                    label="Camera",
                    sources=["webcam"],
                    streaming=True,
                    height=300,
                    elem_id="live-camera",
                    webcam_options=gr.WebcamOptions(
                        constraints={"video": {"width": {"ideal": 640}, "height": {"ideal": 480}}}
                    ),
                )
                edited = gr.Image(label="You, live", interactive=False, height=300, elem_id="live-result")
            status = gr.Markdown(WAITING, elem_id="live-status")
        mirror = gr.State(None, time_to_live=self.config.live_ttl)
        camera.stream(
            self.frame,
            [camera, expression, intensity, strength, mirror],
            [edited, status, mirror],
            stream_every=1 / self.config.live_fps,
            preprocess=False,  # frames are decoded here, in memory (read_frame); settings checked
            postprocess=False,  # the answer is a data URL (frame_payload): nothing goes to Gradio's cache
            show_progress="hidden",
            api_name="live",
            api_visibility="undocumented",  # callable (python -m bench.live streams to it), not listed
        )
