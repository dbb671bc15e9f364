"""Explore tab: sliders that move a face along the model's stored latent directions, live.

A face is a start code (mean face, a seeded random face, or the code of an uploaded face) plus the
slider offsets; the start lives in per-session memory, the sliders in the page. Only the decoder runs
while a slider moves, so each update costs milliseconds.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import gradio as gr
import numpy as np
import torch

from demo.codes import face_code, mean_code, seed_code
from demo.config import DemoConfig
from demo.inputs import MAX_SEED, number, valid_seed
from demo.models import NUMBERED, DemoModel, ModelStore
from demo.render import enlarge
from demo.uploads import Upload, read_upload
from demo.widgets import expression_dropdown, model_picker, on_new_photo, photo_input, seed_input

# Slider labels for the labelled directions that train.directions stores; principal directions
# ("PC3") and raw latent axes ("z3") are "Variation 3"; another label is shown as it is stored.
PLAIN_LABELS = {"older": "Younger ↔ older", "female": "Masculine ↔ feminine"}

HOW_IT_WORKS = """\
Each model is a **variational autoencoder** (VAE): an *encoder* turns a face into a *code*, a list
of numbers (128 for the shipped models), and a *decoder* turns any code back into a face. Similar
faces get similar codes, so moving a code a little changes the face a little.

- **Sliders** add a fixed direction to the code. *Variation 1, 2, ...* are the *principal
  directions* of the codes of the training faces: the directions in which those faces differ most,
  largest first. *Younger ↔ older* and *masculine ↔ feminine* point from the codes of faces without
  that label to those with it, fitted together so that neither carries the other.
- A slider's **unit** is the spread (standard deviation) of the training faces' codes along its
  direction, measured on a Gaussian fitted to those codes; its range, ±{limit:g}, holds about 95%
  of them, so the faces stay faces.
- **Average face** is the centre of that Gaussian, **Random face** a code drawn from it (the
  number picks which one), and **your photo** the code the encoder gives the largest face in it.
- On the grey model the expression is not in the code: each of its seven decoders draws one
  expression from the same code, so **Expression** picks the decoder.
"""


def slider_label(name: str) -> str:
    """What a visitor reads on a direction's slider."""
    numbered = NUMBERED.fullmatch(name)
    return f"Variation {numbered.group(1)}" if numbered else PLAIN_LABELS.get(name, name.capitalize())


@dataclass(frozen=True)
class Start:
    """The code the sliders move around, and the model it belongs to."""

    model: str
    code: torch.Tensor


class ExploreTab:
    def __init__(self, store: ModelStore, config: DemoConfig) -> None:
        self.store = store
        self.config = config

    # -- handlers (also the API) ----------------------------------------------------------------
    def face(
        self, model_key: str, expression: str | None, start: Start | None, *amounts: float
    ) -> np.ndarray:
        """The start code of this session (the mean face if none) moved by the sliders."""
        model = self.store.get(model_key)
        code = start.code if start is not None and start.model == model_key else mean_code(model)
        z = code + model.offset(self._amounts(model, amounts))
        return enlarge(model.decode(z[None], expression)[0], self.config.face_size)

    def reset(self, model_key: str, expression: str | None) -> tuple[Any, ...]:
        """Back to the mean face, sliders at zero."""
        return self._restart(model_key, expression, None)

    def random(self, model_key: str, expression: str | None, seed: float) -> tuple[Any, ...]:
        """A random face for `seed` (the same seed gives the same face), sliders at zero."""
        model = self.store.get(model_key)
        code = seed_code(model, valid_seed(seed), self.config.explore_temperature)
        return self._restart(model_key, expression, Start(model_key, code))

    def from_photo(self, model_key: str, expression: str | None, photo: Upload) -> tuple[Any, ...]:
        """The largest face of an uploaded photo becomes the start; sliders at zero."""
        if photo is None:  # the photo was cleared: nothing to do
            return (gr.skip(),) * (2 + self.config.max_sliders)
        pixels = read_upload(photo, self.config.limits)  # first: the upload is deleted whatever follows
        code = face_code(self.store.get(model_key), pixels)
        return self._restart(model_key, expression, Start(model_key, code))

    def select_model(self, model_key: str) -> tuple[Any, ...]:
        """New sliders (names, count) and expression choice for another model; back to its mean face."""
        model = self.store.get(model_key)
        return (
            expression_dropdown(model),
            *self._restart(model_key, model.default_expression, None)[:2],
            *self._sliders(model),
        )

    def _amounts(self, model: DemoModel, amounts: tuple[Any, ...]) -> list[float]:
        """Slider positions, each a finite number within the sliders' range (else gr.Error)."""
        limit, names = self.config.slider_range, model.direction_names
        return [
            number(a, f"The {slider_label(names[i]) if i < len(names) else i + 1} slider", -limit, limit)
            for i, a in enumerate(amounts)
        ]

    def _restart(self, model_key: str, expression: str | None, start: Start | None) -> tuple[Any, ...]:
        zeros = [0.0] * self.config.max_sliders
        return (start, self.face(model_key, expression, start, *zeros), *zeros)

    def _slider_props(self, model: DemoModel) -> list[dict[str, Any]]:
        """Label and visibility of every slider widget: one per stored direction, the rest hidden."""
        names = model.direction_names
        return [
            {"label": slider_label(names[i]) if i < len(names) else "", "visible": i < len(names)}
            for i in range(self.config.max_sliders)
        ]

    def _sliders(self, model: DemoModel) -> list[gr.Slider]:
        return [gr.Slider(value=0.0, **props) for props in self._slider_props(model)]

    # -- layout ---------------------------------------------------------------------------------
    def build(self) -> None:
        first = self.store.first
        limit = self.config.slider_range
        start = gr.State(None)
        with gr.Row():
            # The face and its two buttons stay in view while the sliders scroll (CSS in demo.app).
            with gr.Column(scale=2, min_width=260, elem_id="explore-face-panel"):
                image = gr.Image(
                    self.face(first.spec.key, first.default_expression, None),
                    label="Face",
                    show_label=False,
                    format="png",
                    height=self.config.face_size + 20,
                    interactive=False,
                    elem_id="explore-face",
                )
                with gr.Row():
                    reset = gr.Button("Average face", size="sm", min_width=100)
                    random_button = gr.Button("Random face", size="sm", variant="primary", min_width=100)
            with gr.Column(scale=3):
                with gr.Row():
                    model, expression = model_picker(self.store, follow=False)
                gr.Markdown("Move a slider to change the face; the face is redrawn as you slide.")
                step = self.config.slider_step
                with gr.Row():  # two sliders a line where they fit, one on a phone; in reading order
                    sliders = [
                        gr.Slider(-limit, limit, value=0.0, step=step, min_width=240, **props)
                        for props in self._slider_props(first)
                    ]
                with gr.Row():
                    photo = photo_input(
                        "Start from the face in your photo", height=180, elem_id="explore-photo"
                    )
                    seed = seed_input(
                        0, "Random face number", info="Press Enter to see it; the same number, the same face."
                    )
                with gr.Accordion("How it works", open=False):
                    gr.Markdown(HOW_IT_WORKS.format(limit=limit))

        restart_outputs = [start, image, *sliders]
        gr.on(
            [slider.input for slider in sliders] + [expression.input],
            self.face,
            inputs=[model, expression, start, *sliders],
            outputs=image,
            trigger_mode="always_last",
            show_progress="hidden",
            api_name="explore",
            preprocess=False,  # every event: the handlers check their inputs (demo.inputs)
        )
        model.input(
            self.select_model,
            inputs=model,
            outputs=[expression, start, image, *sliders],
            show_progress="hidden",
            api_visibility="private",
            preprocess=False,
        )
        reset.click(
            self.reset, [model, expression], restart_outputs, api_name="explore_reset", preprocess=False
        )
        random_button.click(
            lambda: random.randint(0, MAX_SEED), None, seed, api_visibility="private", show_progress="hidden"
        ).then(
            self.random,
            [model, expression, seed],
            restart_outputs,
            trigger_mode="always_last",  # the face of the number shown, also after quick clicks
            api_name="explore_random",
            preprocess=False,
        )
        seed.submit(
            self.random,
            [model, expression, seed],
            restart_outputs,
            api_visibility="private",
            preprocess=False,
        )
        on_new_photo(
            photo, self.from_photo, [model, expression, photo], restart_outputs, api_name="explore_photo"
        )
