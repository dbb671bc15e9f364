"""Where a latent code comes from: a seed, a face in a photo, or the mean face."""

from __future__ import annotations

import gradio as gr
import numpy as np
import torch

from demo.models import DemoModel
from vae.swap import NoFaceError, align_faces, encode_faces


def mean_code(model: DemoModel) -> torch.Tensor:
    """The centre of the codes the model samples from: the most typical face it can draw."""
    return model.codes.mean


def seed_code(model: DemoModel, seed: int, temperature: float) -> torch.Tensor:
    """A random face that every machine draws the same for the same seed."""
    return model.codes.sample(1, temperature, int(seed))[0]


def face_code(model: DemoModel, photo: np.ndarray) -> torch.Tensor:
    """The code of the largest face in an RGB photo; a photo without a face is a message (gr.Error)."""
    try:
        faces = align_faces(photo, model.vae, model.spec.crop)
    except NoFaceError as error:
        raise gr.Error(str(error)) from None
    largest = max(faces, key=lambda face: face.box.w * face.box.h)
    return encode_faces(model.vae, [largest])[0]
