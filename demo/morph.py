"""Morph tab: walk the latent path between two faces (photos or seeds) as a strip and a GIF.

A face from a photo is encoded by every loaded model when it is uploaded (the photo is deleted at
once), so switching the model later still morphs the same person. The path is spherical (slerp):
codes keep the typical radius of the prior, so the middle frames look like faces, not a fade.
"""

from __future__ import annotations

import gradio as gr
import numpy as np
import torch

from demo.codes import face_code, seed_code
from demo.config import DemoConfig
from demo.inputs import valid_seed, whole
from demo.models import ModelStore
from demo.render import enlarge, save_gif, tile
from demo.uploads import Upload, read_upload
from demo.widgets import model_picker, photo_input, seed_input
from vae.latent import interpolate

FaceCodes = dict[str, torch.Tensor]  # model key -> code of the uploaded face


class MorphTab:
    def __init__(self, store: ModelStore, config: DemoConfig) -> None:
        self.store = store
        self.config = config

    # -- handlers (also the API) ----------------------------------------------------------------
    def encode(self, photo: Upload) -> FaceCodes | None:
        """The largest face of an upload, encoded by every model; None when the photo is cleared."""
        if photo is None:
            return None
        pixels = read_upload(photo, self.config.limits)
        return {key: face_code(model, pixels) for key, model in self.store.models.items()}

    def morph(
        self,
        model_key: str,
        expression: str | None,
        face_a: FaceCodes | None,
        face_b: FaceCodes | None,
        seed_a: float,
        seed_b: float,
        frames: float,
    ) -> tuple[np.ndarray, str]:
        """`frames` faces from A to B inclusive: the strip image and the looping GIF's file."""
        model = self.store.get(model_key)
        frames = whole(frames, "The number of frames", 2, self.config.morph_max_frames)
        ends = [
            face[model_key] if face else seed_code(model, valid_seed(seed), self.config.explore_temperature)
            for face, seed in ((face_a, seed_a), (face_b, seed_b))
        ]
        faces = model.decode(interpolate(*ends, frames), expression)
        strip = tile(faces, columns=frames, size=self.config.tile_size)
        gif = save_gif(
            [enlarge(face, self.config.face_size) for face in faces], f"facevae-morph-{frames}.gif"
        )
        return strip, gif

    # -- layout ---------------------------------------------------------------------------------
    def build(self) -> None:
        ends = []
        with gr.Row():
            with gr.Column(min_width=240):
                model, expression = model_picker(self.store)
                frames = gr.Slider(2, self.config.morph_max_frames, value=8, step=1, label="Frames")
                button = gr.Button("Morph", variant="primary")
            for name, seed_value in (("A", 1), ("B", 2)):
                with gr.Column(min_width=200):
                    photo = photo_input(f"Face {name}: a photo…", height=200)
                    seed = seed_input(seed_value, "…or a seed (used when no photo)")
                    codes = gr.State(None, time_to_live=self.config.photo_ttl)
                    photo.change(
                        self.encode,
                        photo,
                        codes,
                        api_name=f"morph_photo_{name.lower()}",
                        preprocess=False,  # see photo_input
                    )
                    ends.append((codes, seed))
        strip = gr.Image(label="Path from A to B", format="png", interactive=False, elem_id="morph-strip")
        gif = gr.Image(
            label="Animation", type="filepath", interactive=False, height=self.config.face_size + 40
        )
        (codes_a, seed_a), (codes_b, seed_b) = ends
        button.click(
            self.morph,
            [model, expression, codes_a, codes_b, seed_a, seed_b, frames],
            [strip, gif],
            api_name="morph",
            preprocess=False,  # the handler checks its inputs (demo.inputs)
        )
