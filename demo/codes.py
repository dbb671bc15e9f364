"""Where a latent code comes from: a seed, a face in a photo, or the mean face."""

from __future__ import annotations

import gradio as gr
import numpy as np
import torch

from demo.models import DemoModel
from vae.faces import FramedFace, NoFaceError, NoTemplateError


def mean_code(model: DemoModel) -> torch.Tensor:
    """The centre of the codes the model samples from: the most typical face it can draw."""
    return model.codes.mean


def seed_code(model: DemoModel, seed: int, temperature: float) -> torch.Tensor:
    """A random face that every machine draws the same for the same seed."""
    return model.codes.sample(1, temperature, int(seed))[0]


def largest_face(model: DemoModel, photo: np.ndarray) -> FramedFace:
    """The largest face in an RGB photo, cut out as the model's training faces were framed; a photo
    without a face, or a model that cannot take one, is a message (gr.Error)."""
    try:
        faces = model.framing.faces(photo)
    except (NoFaceError, NoTemplateError) as error:
        raise gr.Error(str(error)) from None
    return max(faces, key=lambda face: face.box.w * face.box.h)


def face_code(model: DemoModel, photo: np.ndarray) -> torch.Tensor:
    """The code of the largest face in an RGB photo."""
    return model.encode(largest_face(model, photo).image[None])[0]
