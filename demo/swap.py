"""Expression swap tab: a selfie or group photo, every face redrawn with the chosen expression.

The photo is read into memory and its upload deleted; detection, encoding and the 7 decodings run
once per photo (vae.swap.prepare_photo), and the prepared photo stays in session memory for a while
so the intensity and strength sliders and the expression and face choices only re-paste.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import gradio as gr
import numpy as np

from demo.config import DemoConfig
from demo.inputs import number, shown
from demo.models import DemoModel, ModelStore
from demo.render import enlarge
from demo.uploads import Upload, read_upload
from demo.widgets import on_new_photo, photo_input
from vae.multi_decoder import MAX_STRENGTH
from vae.swap import FaceChoice, NoFaceError, PreparedPhoto, prepare_photo

ALL = "all"
DEFAULT_EXPRESSION = "happy"
GALLERY_HEIGHT = 260


def face_choices(count: int) -> list[tuple[str, str]]:
    """Dropdown entries: all faces, then each face by its number (faces are numbered left to right)."""
    return [("All faces", ALL)] + [(f"Face {i + 1}", str(i + 1)) for i in range(count)]


def parse_faces(value: str | int | None, count: int) -> FaceChoice:
    """'all' or a 1-based face number (dropdown and API) -> vae.swap's choice; 'all' for a stale number."""
    if value in (None, "", ALL):
        return ALL
    try:
        index = int(value)
    except (TypeError, ValueError, OverflowError):
        raise gr.Error(f"Faces must be 'all' or a face number, not {shown(value)}.") from None
    return index - 1 if 1 <= index <= count else ALL


class Settings(NamedTuple):
    """What the sliders and the expression choice ask of a swap, checked."""

    expression: str
    intensity: float
    strength: float


class SwapTab:
    def __init__(self, store: ModelStore, config: DemoConfig) -> None:
        self.config = config
        multi = store.choices(multi_only=True)
        self.model: DemoModel | None = store.get(multi[0][1]) if multi else None

    # -- handlers (also the API) ----------------------------------------------------------------
    def swap(
        self, photo: Upload, expression: str, intensity: float, faces: str | None, strength: float
    ) -> tuple[Any, ...]:
        """Swap a new photo: (photo, aligned faces, expression faces, status, face choices, prepared)."""
        if photo is None:  # the photo was cleared
            return None, [], [], "", gr.Dropdown(choices=face_choices(0), value=ALL), None
        pixels = read_upload(photo, self.config.limits)  # first: the upload is deleted whatever follows
        settings = self._settings(expression, intensity, strength)
        try:
            prepared = prepare_photo(pixels, self.model.model, self.model.spec.crop, self.config.swap_detail)
        except NoFaceError as error:
            gr.Warning(str(error))
            return None, [], [], f"**{error}**", gr.Dropdown(choices=face_choices(0), value=ALL), None
        choice = parse_faces(faces, len(prepared.faces))
        aligned = [
            (enlarge(face.image, self.config.tile_size), f"Face {i + 1}")
            for i, face in enumerate(prepared.faces)
        ]
        value = ALL if choice == ALL else str(choice + 1)
        dropdown = gr.Dropdown(choices=face_choices(len(prepared.faces)), value=value)
        swapped, grid, status = self._show(prepared, settings, choice)
        return swapped, aligned, grid, status, dropdown, prepared

    def rerender(
        self,
        prepared: PreparedPhoto | None,
        expression: str,
        intensity: float,
        faces: str | None,
        strength: float,
    ) -> tuple[Any, ...]:
        """The same photo with another expression, intensity, strength or face choice: only pastes again."""
        if prepared is None:
            return gr.skip(), gr.skip(), "Upload a photo (or take one with the webcam) to start."
        settings = self._settings(expression, intensity, strength)
        return self._show(prepared, settings, parse_faces(faces, len(prepared.faces)))

    def _settings(self, expression: object, intensity: object, strength: object) -> Settings:
        """The target expression, intensity and strength as the API sent them, checked (else gr.Error)."""
        return Settings(
            self.model.decoder_for(expression),
            number(intensity, "The intensity", 0.0, 1.0),
            number(strength, "The strength", 0.0, MAX_STRENGTH),
        )

    def _show(
        self, prepared: PreparedPhoto, settings: Settings, choice: FaceChoice
    ) -> tuple[np.ndarray, list[tuple[np.ndarray, str]], str]:
        expression, intensity, strength = settings
        chosen = prepared.chosen(choice)
        several = len(prepared.faces) > 1
        drawn = prepared.grids(strength)
        grid = [
            (
                enlarge(drawn[i, k], self.config.tile_size),
                f"Face {i + 1}: {name}" if several else name,
            )
            for i in chosen
            for k, name in enumerate(prepared.expressions)
        ]
        count = len(prepared.faces)
        which = "every face" if len(chosen) == count else f"face {chosen[0] + 1}"
        status = (
            f"Found {count} face{'s' * several}; {which} → **{expression}** at intensity {intensity:.2f}, "
            f"strength {strength:.2f}. Intensity blends your photo (0) with the model's drawing (1); "
            "strength scales how far each expression departs from the others (1: as the decoders draw)."
        )
        return prepared.render(expression, intensity, choice, strength), grid, status

    # -- layout ---------------------------------------------------------------------------------
    def build(self) -> None:
        if self.model is None:
            gr.Markdown("The expression swap needs the multi-decoder FER2013 model, which is not loaded.")
            return
        expressions = list(self.model.expressions)
        prepared = gr.State(None, time_to_live=self.config.photo_ttl)
        with gr.Row():
            with gr.Column(min_width=280):
                photo = photo_input("Your photo (upload or webcam)", height=320, elem_id="swap-photo")
                expression = gr.Dropdown(
                    expressions,
                    value=DEFAULT_EXPRESSION if DEFAULT_EXPRESSION in expressions else expressions[0],
                    label="Target expression",
                )
                intensity = gr.Slider(0.0, 1.0, value=1.0, step=self.config.slider_step, label="Intensity")
                strength = gr.Slider(
                    0.0,
                    MAX_STRENGTH,
                    value=self.config.swap_strength,
                    step=self.config.slider_step,
                    label="Expression strength",
                )
                faces = gr.Dropdown(face_choices(0), value=ALL, label="Which face", allow_custom_value=True)
                status = gr.Markdown("Upload a photo (or take one with the webcam) to start.")
            with gr.Column(scale=2):
                result = gr.Image(
                    label="Swapped", format="jpeg", interactive=False, height=420, elem_id="swap-result"
                )
        with gr.Row():  # the aligned input narrow on the left, its 7 decodings beside it
            aligned = gr.Gallery(
                label="Faces as the model sees them",
                columns=1,
                height=GALLERY_HEIGHT,
                object_fit="contain",
                scale=1,
                min_width=160,
                elem_id="swap-aligned",
            )
            grid = gr.Gallery(
                label="Through every expression decoder",
                columns=7,
                height=GALLERY_HEIGHT,
                object_fit="contain",
                scale=5,
                elem_id="swap-grid",
            )
        on_new_photo(
            photo,
            self.swap,
            [photo, expression, intensity, faces, strength],
            [result, aligned, grid, status, faces, prepared],
            api_name="swap",
        )
        gr.on(
            [expression.input, intensity.input, faces.input, strength.input],
            self.rerender,
            [prepared, expression, intensity, faces, strength],
            [result, grid, status],
            trigger_mode="always_last",
            show_progress="hidden",
            api_visibility="private",
            preprocess=False,  # the handler checks its inputs (demo.inputs)
        )
