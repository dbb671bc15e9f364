"""The widgets that several tabs share: model and expression pickers, photo and seed inputs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

from demo.inputs import MAX_SEED
from demo.models import DemoModel, ModelStore

ADJECTIVES = {"disgust": "disgusted", "fear": "afraid", "surprise": "surprised"}


def looks(expression: str, amount: float, strength: float) -> str:
    """An edit as a status line says it: "now looks **surprised**", not "surprise"; at amount 0,
    that the photo is shown as it is, and at strength 0, that the face is the average of them all."""
    if amount == 0:
        return "is as in your photo (amount 0)"
    if strength == 0:
        return "now has the average of all seven expressions (strength 0)"
    return f"now looks **{ADJECTIVES.get(expression, expression)}**"


def expression_dropdown(model: DemoModel) -> gr.Dropdown:
    """The decoder choice for `model`: its expressions, hidden for a model with a single decoder.

    Creates the widget inside a layout, or serves as the update when another model is picked.
    """
    return gr.Dropdown(
        list(model.expressions),
        value=model.default_expression,
        visible=bool(model.expressions),
        label="Expression",
    )


def model_picker(store: ModelStore, follow: bool = True) -> tuple[gr.Dropdown, gr.Dropdown]:
    """A model dropdown (first loaded model selected) and its expression dropdown.

    With `follow`, picking a model updates the expression choice; a tab that rebuilds more on a model
    change (Explore) passes False and returns the update from its own handler.
    """
    choices = store.choices()
    model = gr.Dropdown(choices, value=choices[0][1], label="Model")
    expression = expression_dropdown(store.get(choices[0][1]))
    if follow:
        model.input(
            lambda key: expression_dropdown(store.get(key)),
            model,
            expression,
            api_visibility="private",
            preprocess=False,  # store.get checks the key
        )
    return model, expression


def photo_input(label: str, height: int, elem_id: str | None = None) -> gr.Image:
    """An upload or webcam photo; its handler is wired with `on_new_photo`.

    Gradio's preprocessing opens the file with PIL: a file that is not an image would fail there with
    a bare "Error" and stay in the cache, and other settings than ``type="filepath"`` with
    ``image_mode=None`` write a converted copy nobody deletes. Unprocessed, the handler gets the
    payload of Gradio's one upload file, and demo.uploads.read_upload checks that it lies in Gradio's
    upload folder (Gradio checks only payloads marked as files), reads it with the shared limits,
    turns any problem into a message and deletes it.
    """
    return gr.Image(
        label=label,
        sources=["upload", "webcam"],
        type="filepath",
        image_mode=None,
        height=height,
        elem_id=elem_id,
    )


def on_new_photo(
    photo: gr.Image, fn: Callable[..., Any], inputs: list[Any], outputs: list[Any], **options: Any
) -> Any:
    """Run `fn` once for each photo the user gives (upload, drop, webcam) and once when they clear it.

    Not on ``change``: when a photo replaces another, Gradio 6.31's page sends ``change`` twice with
    the same file, and the second call finds the upload already read and deleted (a false "no longer
    on the server" error). ``input`` comes once per user action: the new photo, or None when cleared
    (a webcam snapshot clears the old photo first). ``always_last``, as ``change`` has it: a photo
    given while the last one is still being worked on waits for it, and the page ends on the photo
    it shows. (``input``'s own default drops that photo: shown, never used. ``multiple`` runs both
    at once, and the older one may finish last and overwrite the newer one's result.)
    Unprocessed, see `photo_input`.
    """
    return photo.input(fn, inputs, outputs, preprocess=False, trigger_mode="always_last", **options)


def seed_input(value: int, label: str, info: str | None = None) -> gr.Number:
    """A seed field, 0..MAX_SEED; handlers check what arrives with demo.inputs.seed."""
    return gr.Number(value, label=label, precision=0, minimum=0, maximum=MAX_SEED, info=info)
