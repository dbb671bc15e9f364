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
from demo.widgets import model_picker, on_new_photo, photo_input, seed_input
from vae.latent import interpolate

FaceCodes = dict[str, torch.Tensor]  # model key -> code of the uploaded face
STRIP_COLUMNS = 8  # longer paths wrap into rows, so each face stays large enough on a phone

HOW_IT_WORKS = """\
Each face is a *code* (a list of numbers) that the model's *decoder* turns into a picture. The
morph takes the code of face A and the code of face B and draws the codes on the way between them,
along an arc (*spherical interpolation*) rather than a straight line, so the faces in the middle
are as typical as the ends instead of a faded average. A face from a photo is the code the
*encoder* gives the largest face in it; a number draws a random code, as on the Gallery tab.
"""


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
        strip = tile(faces, columns=min(frames, STRIP_COLUMNS), size=self.config.tile_size)
        gif = save_gif(
            [enlarge(face, self.config.face_size) for face in faces], f"facevae-morph-{frames}.gif"
        )
        return strip, gif

    # -- layout ---------------------------------------------------------------------------------
    def build(self) -> None:
        first = self.store.first
        seeds, frames_value = self.config.morph_seeds, 8
        # The tab opens on a path between two clearly different faces, not on empty boxes.
        opening_strip, opening_gif = self.morph(first.spec.key, None, None, None, *seeds, frames_value)
        ends = []
        with gr.Row():
            for name, seed_value in zip("AB", seeds):
                with gr.Column(min_width=200):
                    photo = photo_input(
                        f"Face {name} from a photo", height=180, elem_id=f"morph-photo-{name.lower()}"
                    )
                    seed = seed_input(
                        seed_value, f"…or face {name} by number", info="Used when there is no photo."
                    )
                    ends.append((photo, gr.State(None, time_to_live=self.config.photo_ttl), seed))
            with gr.Column(min_width=240):
                model, expression = model_picker(self.store)
                frames = gr.Slider(2, self.config.morph_max_frames, value=frames_value, step=1, label="Steps")
                button = gr.Button("Morph", variant="primary")
        # No label or buttons over the strip: a long one fills the width, and they would hide its ends.
        strip = gr.Image(
            opening_strip,
            label="From A to B",
            show_label=False,
            buttons=[],
            format="png",
            interactive=False,
            elem_id="morph-strip",
        )
        with gr.Row():
            gif = gr.Image(
                opening_gif,
                label="Animation",
                type="filepath",
                interactive=False,
                height=self.config.face_size + 40,
                elem_id="morph-animation",
            )
            with gr.Column(), gr.Accordion("How it works", open=False):
                gr.Markdown(HOW_IT_WORKS)
        (photo_a, codes_a, seed_a), (photo_b, codes_b, seed_b) = ends
        inputs = [model, expression, codes_a, codes_b, seed_a, seed_b, frames]
        button.click(
            self.morph,
            inputs,
            [strip, gif],
            api_name="morph",
            preprocess=False,  # the handler checks its inputs (demo.inputs)
        )
        for name, photo, codes in (("a", photo_a, codes_a), ("b", photo_b, codes_b)):
            encoded = on_new_photo(photo, self.encode, [photo], [codes], api_name=f"morph_photo_{name}")
            encoded.success(  # the newest photo's path, also when it comes while the last one is drawn
                self.morph,
                inputs,
                [strip, gif],
                trigger_mode="always_last",
                api_visibility="private",
                preprocess=False,
                # Both ends' morphs, one at a time in the order they were asked for: the last one
                # asked for sees both new photos and is drawn last. Run side by side, a morph asked
                # for before the other photo was read could finish last and leave that photo out.
                concurrency_id="morph-after-photo",
                concurrency_limit=1,
            )
