"""The model and expression pickers that several tabs share."""

from __future__ import annotations

import gradio as gr

from demo.inputs import MAX_SEED
from demo.models import DemoModel, ModelStore


def expression_dropdown(model: DemoModel) -> gr.Dropdown:
    """The decoder choice for `model`: its expressions, hidden for a model with a single decoder.

    Creates the widget inside a layout, or serves as the update when another model is picked.
    """
    return gr.Dropdown(
        list(model.expressions),
        value=model.default_expression,
        visible=bool(model.expressions),
        label="Expression (decoder)",
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
    """An upload or webcam photo. Events that read it must pass ``preprocess=False``.

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


def seed_input(value: int, label: str, info: str | None = None) -> gr.Number:
    """A seed field, 0..MAX_SEED; handlers check what arrives with demo.inputs.seed."""
    return gr.Number(value, label=label, precision=0, minimum=0, maximum=MAX_SEED, info=info)
