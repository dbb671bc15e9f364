"""Gallery tab: a grid of random faces, reproducible by seed, downloadable as PNG."""

from __future__ import annotations

import math
import random

import gradio as gr
import numpy as np

from demo.config import DemoConfig
from demo.inputs import MAX_SEED, number, valid_seed, whole
from demo.models import DemoModel, ModelStore
from demo.render import save_png, tile
from demo.widgets import model_picker, seed_input

GRID_ASPECT = 1.5  # columns per row of the grid, about (24 faces: 6 by 4)

HOW_IT_WORKS = """\
Every face here is new: a random *code* (a list of numbers) turned into a face by the model's
*decoder*. The codes are drawn from a Gaussian fitted to the codes of the training faces, so they
land where real faces lie. **Variety** is its *temperature*: it scales that Gaussian's spread, so at
1 the faces vary as much as the training faces do, and lower values stay nearer the average face.
The **number** seeds the random draw: the same number, variety and model give the same faces.
"""


class GalleryTab:
    def __init__(self, store: ModelStore, config: DemoConfig) -> None:
        self.store = store
        self.config = config

    def sample(
        self, model_key: str, expression: str | None, count: float, temperature: float, seed: float
    ) -> tuple[np.ndarray, str]:
        """`count` faces at `temperature` (the spread of the model's codes) for `seed`: the grid and
        its PNG file."""
        model = self.store.get(model_key)
        count = whole(count, "The number of faces", 1, self.config.gallery_max)
        temperature = number(temperature, "The temperature", *self.config.temperature_range)
        seed = valid_seed(seed)
        grid = self.grid(model, expression, count, temperature, seed)
        label = model.decoder_for(expression)
        name = f"facevae-{model_key}{'-' + label if label else ''}-seed{seed}-t{temperature:g}-n{count}.png"
        return grid, save_png(grid, name)

    def grid(
        self, model: DemoModel, expression: str | None, count: int, temperature: float, seed: int
    ) -> np.ndarray:
        """A grid about half again as wide as high, which the page scales to its panel's width (CSS in
        demo.app): the panel's own shape on a desktop, so its faces fill it."""
        faces = model.decode(model.codes.sample(count, temperature, seed), expression)
        return tile(faces, columns=math.ceil(math.sqrt(count * GRID_ASPECT)), size=self.config.tile_size)

    def build(self) -> None:
        first = self.store.first
        count_value, temperature_value, seed_value = 24, 0.8, 0
        # The tab opens on the faces its settings draw, not on an empty box.
        opening, opening_file = self.sample(first.spec.key, None, count_value, temperature_value, seed_value)
        with gr.Row():
            # The faces first: on a phone they come before the settings.
            with gr.Column(scale=3):
                grid = gr.Image(
                    opening,
                    label="Random faces",
                    show_label=False,
                    buttons=["fullscreen"],  # the download is the button beside it, with a telling name
                    format="png",
                    interactive=False,
                    elem_id="gallery-grid",
                )
            with gr.Column(min_width=260):
                button = gr.Button("New faces", variant="primary")
                model, expression = model_picker(self.store)
                count = gr.Slider(
                    1, self.config.gallery_max, value=count_value, step=1, label="How many faces"
                )
                temperature = gr.Slider(
                    *self.config.temperature_range,
                    value=temperature_value,
                    step=self.config.slider_step,
                    label="Variety",
                    info="Low: close to the average face. 1: as varied as the photos the model learnt from.",
                )
                seed = seed_input(seed_value, "Number", info="The same number gives the same faces.")
                download = gr.DownloadButton("Download these faces (PNG)", opening_file, size="sm")
                with gr.Accordion("How it works", open=False):
                    gr.Markdown(HOW_IT_WORKS)
        # New faces on every change of the settings; "always_last": a change made while faces are
        # being drawn is drawn next, so the grid ends on the settings the page shows.
        inputs, outputs = [model, expression, count, temperature, seed], [grid, download]
        button.click(
            lambda: random.randint(0, MAX_SEED), None, seed, api_visibility="private", show_progress="hidden"
        ).then(
            self.sample,
            inputs,
            outputs,
            trigger_mode="always_last",
            api_visibility="private",
            preprocess=False,
        )
        gr.on(
            [model.input, expression.input, count.input, temperature.input, seed.submit],
            self.sample,
            inputs,
            outputs,
            trigger_mode="always_last",
            api_name="gallery",
            preprocess=False,  # the handler checks its inputs (demo.inputs)
        )
