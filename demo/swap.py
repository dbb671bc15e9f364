"""Expression tab: a selfie or group photo, every face (or one) given a new expression.

The photo is read into memory and its upload deleted; its faces are found, fitted and decoded once
(vae.photo_edit.prepare_photo), and the prepared photo stays in session memory for a while, so
another expression, amount, strength or face only warps the photo again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import gradio as gr
import numpy as np
from skimage import data

from demo.config import DemoConfig
from demo.inputs import as_slider_holds, number, shown
from demo.live import LiveMode
from demo.models import ModelStore
from demo.uploads import Upload, read_upload
from demo.widgets import looks, on_new_photo, photo_input
from vae.checkpoint import CheckpointError
from vae.multi_decoder import MAX_STRENGTH
from vae.photo_edit import ExpressionModels, FaceChoice, NoFaceError, PreparedPhoto, prepare_photo

SHAPE_FILE, APPEARANCE_FILE = "fer-shape.safetensors", "fer-appearance.safetensors"
ALL = "all"
# A new photo first shows the change every face makes most plainly; most selfies already smile, so
# "happy" would hand many of them back unchanged.
DEFAULT_EXPRESSION = "surprise"
START = "Upload a photo or take one with the webcam to start, or try the example photo."
AMOUNT_RANGE, STRENGTH_RANGE = (0.0, 1.0), (0.0, MAX_STRENGTH)
CLOSEUP_LABEL = "Close up: before | after"
EXAMPLE_CREDIT = "Example: astronaut Eileen Collins (NASA, public domain, from scikit-image)."
HOW_IT_WORKS = """
Your photo is edited, not replaced. Each face's 68 landmarks (dlib) are encoded once by a *shape
model* and decoded by one decoder per expression, which gives this face's own smile, frown or
surprise as landmarks; the photo is then warped, at full resolution, from its landmarks to the new
ones, so the person, the colours and the sharpness stay yours. An *appearance model*, trained on
faces that were all warped to one shape, adds only what moving pixels cannot draw (a darker open
mouth, furrows), as a soft change of brightness inside the face. Where the eyes open wider or the
mouth opens, what your photo does not show (the white of the eye, the inside of the mouth) is drawn
in your photo's own colours, and the teeth your photo shows stay where they are. Both models are
variational autoencoders with one shared encoder and seven decoders, trained on FER2013.

**Amount** goes from your photo (0) to the full change (1). **Strength** scales how far each
expression departs from the average of the seven: 0 is that average, 1 the typical expression,
1.75 (where it starts) a clear one, and 3 an exaggerated one.
"""


def face_choices(count: int) -> list[tuple[str, str]]:
    """Dropdown entries: all faces, then each face by its number (faces are numbered left to right)."""
    where = " from the left" if count > 1 else ""
    return [("All faces", ALL)] + [(f"Face {i + 1}{where}", str(i + 1)) for i in range(count)]


def parse_faces(value: str | int | None, count: int) -> FaceChoice:
    """'all' or a 1-based face number (page and API) -> vae.photo_edit's choice; 'all' if stale, or
    if the photo has one face (its face 1 is all of them, and the menu says so)."""
    if value in (None, "", ALL):
        return ALL
    try:
        index = int(value)
    except (TypeError, ValueError, OverflowError):
        raise gr.Error(f"Faces must be 'all' or a face number, not {shown(value)}.") from None
    return index - 1 if 1 <= index <= count and count > 1 else ALL


class Controls(NamedTuple):
    """The controls as the page sends them, unchecked."""

    expression: Any
    intensity: Any
    faces: Any
    strength: Any


class Settings(NamedTuple):
    """What the controls ask of an edit, checked."""

    expression: str
    intensity: float
    strength: float


def load_expression_models(folder: Path) -> tuple[ExpressionModels | None, str | None]:
    """The shape and appearance models, or None and the reason to show instead of the tab."""
    try:
        return ExpressionModels.load(folder / SHAPE_FILE, folder / APPEARANCE_FILE), None
    except CheckpointError as error:
        return None, f"The expression models could not be loaded ({error})."


class SwapTab:
    def __init__(self, store: ModelStore, config: DemoConfig) -> None:
        self.config = config
        self.models, self.problem = load_expression_models(config.checkpoint_dir)

    # -- handlers (also the API) ----------------------------------------------------------------
    def swap(
        self, photo: Upload, expression: str, intensity: float, faces: str | None, strength: float
    ) -> tuple[Any, ...]:
        """Edit a new photo: (photo, every expression of the chosen faces, status, face choices,
        prepared, the controls it was drawn with)."""
        if photo is None:  # the photo was cleared
            return None, [], START, gr.Dropdown(choices=face_choices(0), value=ALL), None, None
        pixels = read_upload(photo, self.config.limits)  # first: the upload is deleted whatever follows
        return self._new_photo(pixels, Controls(expression, intensity, faces, strength))

    def example(
        self, expression: str, intensity: float, faces: str | None, strength: float
    ) -> tuple[Any, ...]:
        """The example photo edited as an upload would be: (the photo, then what `swap` returns)."""
        pixels = data.astronaut()
        edited, strip, status, *rest = self._new_photo(
            pixels, Controls(expression, intensity, faces, strength)
        )
        return pixels, edited, strip, f"{EXAMPLE_CREDIT} {status}", *rest

    def _new_photo(self, pixels: np.ndarray, controls: Controls) -> tuple[Any, ...]:
        """A photo's faces found, fitted and edited as the `controls` ask: what `swap` returns."""
        expression, intensity, faces, strength = controls
        settings = self._settings(expression, intensity, strength)
        try:
            prepared = prepare_photo(pixels, self.models)
        except NoFaceError as error:
            gr.Warning(str(error))
            return None, [], f"**{error}**", gr.Dropdown(choices=face_choices(0), value=ALL), None, None
        choice = parse_faces(faces, len(prepared.faces))
        value = ALL if choice == ALL else str(choice + 1)
        dropdown = gr.Dropdown(choices=face_choices(len(prepared.faces)), value=value)
        edited, status = self._edited(prepared, settings, choice)
        drawn = Controls(expression, intensity, value, strength)
        return edited, self._strip(prepared, settings), status, dropdown, prepared, drawn

    def catch_up(
        self,
        prepared: PreparedPhoto | None,
        drawn: Controls | None,
        expression: str,
        intensity: float,
        faces: str | None,
        strength: float,
    ) -> tuple[Any, ...]:
        """(photo, status, strip) after a new photo: drawn again with the controls as they are now if
        they changed while it was being worked on (that change found no photo, or the one before,
        to edit); the strip too if the amount or strength changed. With no photo (cleared, or no
        face in it), the picture and the strip are emptied: an edit of the photo before, asked for
        just before, may have landed after it."""
        if prepared is None:
            return None, gr.skip(), []
        controls = Controls(expression, intensity, faces, strength)
        if controls == drawn:
            return gr.skip(), gr.skip(), gr.skip()
        edited, status = self.rerender(prepared, *controls)
        if drawn is not None and (intensity, strength) == (drawn.intensity, drawn.strength):
            return edited, status, gr.skip()
        return edited, status, self.restrip(prepared, expression, intensity, strength)

    def _size_note(self, pixels: np.ndarray) -> str:
        """A line saying that a photo larger than the upload limit's side is edited at that size."""
        side = self.config.limits.max_side
        if max(pixels.shape[:2]) < side:
            return ""
        return f" Photos larger than {side} pixels on a side are edited at {side}."

    def rerender(
        self,
        prepared: PreparedPhoto | None,
        expression: str,
        intensity: float,
        faces: str | None,
        strength: float,
    ) -> tuple[Any, ...]:
        """The same photo with another expression, amount, strength or face: (photo, status).
        Only warps the photo again; the strip follows (`restrip`) where it changes."""
        if prepared is None:  # no photo yet (the status says how to start) or none with a face (it says so)
            return gr.skip(), gr.skip()
        return self._edited(prepared, *self._request(prepared, expression, intensity, faces, strength))

    def restrip(
        self, prepared: PreparedPhoto | None, expression: str, intensity: float, strength: float
    ) -> Any:
        """The strip for another amount or strength (the expression and the face do not change it)."""
        if prepared is None:
            return gr.skip()
        return self._strip(prepared, self._slider_settings(expression, intensity, strength))

    def closeup(self, prepared: PreparedPhoto | None, *controls: Any) -> Any:
        """The close-up of the face the photo shows edited as the `controls` (Controls' fields) ask
        (the first of several, and the label says which), its handle back in the middle: left where
        a visitor dragged it, a new edit looked like none. Hidden without a photo."""
        if prepared is None:
            return gr.ImageSlider(None, visible=False)
        settings, choice = self._request(prepared, *controls)
        face = prepared.chosen(choice)[0]
        which = f", face {face + 1} of {len(prepared.faces)}" if len(prepared.faces) > 1 else ""
        return gr.ImageSlider(
            prepared.closeup(face, *settings, size=self.config.closeup_size),
            label=f"{CLOSEUP_LABEL}{which}",
            slider_position=50,
            visible=True,
        )

    def pick(self, prepared: PreparedPhoto | None, selected: gr.SelectData) -> tuple[Any, Any]:
        """(expression, face) of the strip's tile a visitor clicks: tiles run through the
        expressions, a row of them per face, so a click on "Face 2: surprise" edits face 2."""
        if self.models is None:
            return gr.skip(), gr.skip()
        row, k = divmod(selected.index, len(self.models.expressions))
        several = prepared is not None and len(prepared.faces) > 1
        return self.models.expressions[k], str(row + 1) if several else gr.skip()

    def highlight(self, prepared: PreparedPhoto | None, expression: object, faces: object) -> Any:
        """The strip's tile of the expression and face picked with the controls, marked as a click on
        it marks it (the first face's where the controls name all of them)."""
        if self.models is None or expression not in self.models.expressions:
            return gr.skip()
        chosen = prepared.chosen(parse_faces(faces, len(prepared.faces))) if prepared is not None else [0]
        row = chosen[0] if len(chosen) == 1 else 0
        return gr.Gallery(
            selected_index=row * len(self.models.expressions) + self.models.expressions.index(expression)
        )

    def _request(
        self, prepared: PreparedPhoto, expression: object, intensity: object, faces: object, strength: object
    ) -> tuple[Settings, FaceChoice]:
        return self._slider_settings(expression, intensity, strength), parse_faces(faces, len(prepared.faces))

    def _settings(self, expression: object, intensity: object, strength: object) -> Settings:
        """The expression, amount and strength as the page or the API sent them, checked (else gr.Error)."""
        if self.models is None:
            raise gr.Error(f"The expression tab is not available: {self.problem}")
        if not isinstance(expression, str) or expression not in self.models.expressions:
            raise gr.Error(
                f"Unknown expression {shown(expression)}; choose one of {', '.join(self.models.expressions)}."
            )
        return Settings(
            expression,
            number(intensity, "The amount", *AMOUNT_RANGE),
            number(strength, "The strength", *STRENGTH_RANGE),
        )

    def _slider_settings(self, expression: object, intensity: object, strength: object) -> Settings:
        """`_settings` of the page's own controls, the amount and strength as their sliders hold them
        (a number typed past a slider's end is taken at that end, as the slider shows it)."""
        return self._settings(
            expression, as_slider_holds(intensity, *AMOUNT_RANGE), as_slider_holds(strength, *STRENGTH_RANGE)
        )

    def _edited(
        self, prepared: PreparedPhoto, settings: Settings, choice: FaceChoice
    ) -> tuple[np.ndarray, str]:
        expression, intensity, strength = settings
        chosen, count = prepared.chosen(choice), len(prepared.faces)
        which = f"face {chosen[0] + 1}" if len(chosen) < count else "every face" if count > 1 else "the face"
        status = f"Found {count} face{'s' * (count > 1)}; {which} {looks(expression, intensity, strength)}."
        status += self._size_note(prepared.photo)  # on every change: the download stays this size
        return prepared.render(expression, intensity, choice, strength), status

    def _strip(self, prepared: PreparedPhoto, settings: Settings) -> list[tuple[np.ndarray, str]]:
        """Every face in every expression, labelled: a row per face, whichever the photo shows edited,
        so a click on a tile can edit any of them."""
        _, intensity, strength = settings
        count = len(prepared.faces)
        return [
            (tile, f"Face {i + 1}: {name}" if count > 1 else name)
            for i in range(count)
            for tile, name in zip(
                prepared.strip(i, intensity, strength, self.config.strip_size), prepared.expressions
            )
        ]

    # -- layout ---------------------------------------------------------------------------------
    def build(self) -> None:
        if self.models is None:
            gr.Markdown(f"The expression tab is not available: {self.problem}")
            return
        expressions = list(self.models.expressions)
        prepared = gr.State(None, time_to_live=self.config.photo_ttl)
        drawn = gr.State(None, time_to_live=self.config.photo_ttl)  # the controls a new photo was drawn with
        with gr.Row(elem_id="swap-row"):
            with gr.Column(min_width=280, elem_id="swap-controls"):
                photo = photo_input("Your photo (upload or webcam)", height=320, elem_id="swap-photo")
                example = gr.Button("Try the example photo", size="sm", elem_id="swap-example")
                expression = gr.Radio(
                    expressions,
                    value=DEFAULT_EXPRESSION if DEFAULT_EXPRESSION in expressions else expressions[0],
                    label="Expression",
                )
                intensity = gr.Slider(
                    *AMOUNT_RANGE, value=1.0, step=self.config.slider_step, label="Amount",
                    info="A blend: 0 is your photo as it was, 1 the whole edit",
                )  # fmt: skip
                strength = gr.Slider(
                    *STRENGTH_RANGE, value=self.config.swap_strength, step=self.config.slider_step,
                    label="Strength", info="How far the expression goes: 1 typical, "
                    f"{self.config.swap_strength:g} (the start) clear, {MAX_STRENGTH:g} exaggerated; "
                    "at 0 every expression gives the same, average look",
                )  # fmt: skip
                faces = gr.Dropdown(face_choices(0), value=ALL, label="Which face", allow_custom_value=True)
            with gr.Column(scale=2, elem_id="swap-output"):
                result = gr.Image(
                    label="Edited", format="jpeg", interactive=False, height=420, elem_id="swap-result"
                )
                status = gr.Markdown(START, elem_id="swap-status")  # under the photo it speaks of
                closeup = gr.ImageSlider(
                    label=CLOSEUP_LABEL, type="numpy", format="jpeg", interactive=False, visible=False,
                    width=self.config.closeup_size, max_height=self.config.closeup_size,
                    buttons=["fullscreen"], elem_id="swap-closeup",
                )  # fmt: skip
                live_mode = LiveMode(self.models, self.config, self._slider_settings)
                live_mode.build(expression, intensity, strength)
        strip = gr.Gallery(
            label="Your face in every expression",
            columns=7,
            height="auto",  # a row per face: every face of a group photo in sight
            object_fit="contain",
            allow_preview=False,  # a click picks that expression (`pick`)
            elem_id="swap-grid",
        )
        with gr.Accordion("How it works", open=False):
            gr.Markdown(HOW_IT_WORKS)
        controls = [prepared, expression, intensity, faces, strength]
        live = {
            "trigger_mode": "always_last",
            "show_progress": "hidden",
            "api_visibility": "private",
            "preprocess": False,  # the handlers check their inputs (demo.inputs)
        }
        # What draws the photo or the strip runs one at a time, in the order asked for (for every
        # visitor: drawing is CPU work, which two cores do no faster side by side). Without it a new
        # photo's catch-up, asked for while a slider was still moving, could finish after the
        # slider's last step and leave the photo drawn at a strength the slider had left.
        drawing = {**live, "concurrency_id": "swap-draw", "concurrency_limit": 1}
        marked = ([prepared, expression, faces], strip)  # a new strip marks the tile the photo shows
        catch_up_io = ([prepared, drawn, expression, intensity, faces, strength], [result, status, strip])
        new_photos = [
            on_new_photo(
                photo,
                self.swap,
                [photo, expression, intensity, faces, strength],
                [result, strip, status, faces, prepared, drawn],
                api_name="swap",
            ),
            example.click(
                self.example,
                [expression, intensity, faces, strength],
                [photo, result, strip, status, faces, prepared, drawn],
                api_visibility="private",
            ),
        ]
        caught_up = [new_photo.success(self.catch_up, *catch_up_io, **drawing) for new_photo in new_photos]
        for event in caught_up:
            event.success(self.highlight, *marked, **live)
        picked = gr.on([expression.input, faces.input], self.rerender, controls, [result, status], **drawing)
        gr.on([expression.input, faces.input], self.highlight, *marked, **live)
        clicked = strip.select(self.pick, prepared, [expression, faces], **live).success(
            self.rerender, controls, [result, status], **drawing
        )
        slid = gr.on([intensity.input, strength.input], self.rerender, controls, [result, status], **drawing)
        slid.success(self.restrip, [prepared, expression, intensity, strength], strip, **drawing).success(
            self.highlight, *marked, **live
        )
        for event in [*caught_up, picked, clicked, slid]:  # the close-up follows the photo
            event.success(self.closeup, controls, closeup, **drawing)
