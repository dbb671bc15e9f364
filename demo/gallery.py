"""Gallery tab: a grid of random faces, reproducible by seed, downloadable as PNG."""

from __future__ import annotations

import math

import gradio as gr
import numpy as np

from demo.config import DemoConfig
from demo.inputs import number, valid_seed, whole
from demo.models import DemoModel, ModelStore
from demo.render import save_png, tile
from demo.widgets import model_picker, seed_input


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
        faces = model.decode(model.codes.sample(count, temperature, seed), expression)
        return tile(faces, columns=math.ceil(math.sqrt(count)), size=self.config.tile_size)

    def build(self) -> None:
        first = self.store.first
        count_value, temperature_value, seed_value = 16, 0.8, 0
        # The tab opens on the faces that "Sample" would draw with its settings, not on an empty box.
        opening = self.grid(first, None, count_value, temperature_value, seed_value)
        with gr.Row():
            with gr.Column(min_width=260):
                model, expression = model_picker(self.store)
                count = gr.Slider(1, self.config.gallery_max, value=count_value, step=1, label="Faces")
                temperature = gr.Slider(
                    *self.config.temperature_range,
                    value=temperature_value,
                    step=self.config.slider_step,
                    label="Temperature",
                    info="Spread of the random codes: low = typical faces, high = unusual ones.",
                )
                seed = seed_input(seed_value, "Seed", info="Same seed, same faces.")
                button = gr.Button("Sample", variant="primary")
                download = gr.File(label="Download the grid (PNG)", interactive=False, height=60)
            with gr.Column(scale=3):
                grid = gr.Image(
                    opening, label="Samples", format="png", interactive=False, elem_id="gallery-grid"
                )
        button.click(
            self.sample,
            [model, expression, count, temperature, seed],
            [grid, download],
            api_name="gallery",
            preprocess=False,  # the handler checks its inputs (demo.inputs)
        )
