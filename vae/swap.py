"""Expression swap on photos: find the faces, redraw each through a multi-decoder model, paste back.

A face is encoded once; its code decoded by every expression decoder gives the same person with each
expression. The swapped photo blends the real photo (intensity 0) with the photo whose chosen faces
were replaced by the target-expression decoding (intensity 1). The blend is done in photo pixels,
after pasting, so intensity 0 is exactly the original at full resolution rather than a blurred
48x48 round trip, and intensity 1 is exactly what the decoder drew. The strength, applied before
pasting, scales how far each expression departs from the others (vae.multi_decoder.exaggerate), and
the detail keeps the face's own fine detail where the decoders agree (vae.multi_decoder.keep_detail).

Nothing here knows about a user interface; the demo, notebooks and tests share this one pipeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from vae.conv_vae import ConvVAE
from vae.data import as_float
from vae.faces import FER2013_CROP, AlignedFace, CropStyle, FaceBox, align_face, detect_faces, paste_face
from vae.multi_decoder import MultiDecoderVAE, add_detail, check_detail, exaggerate, own_detail

FaceChoice = str | int | Sequence[int]  # "all", one index, or several indices (0-based, left to right)


class NoFaceError(ValueError):
    """The detector found no face in the photo; the message can be shown to a user as is."""


def to_model_input(images: np.ndarray) -> torch.Tensor:
    """uint8 faces [N, H, W] (grey) or [N, H, W, 3] (RGB) -> float NCHW in [-1, 1]."""
    x = as_float(torch.from_numpy(np.ascontiguousarray(images)))
    return x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """Model output NCHW in [-1, 1] -> uint8 [N, H, W] for one channel, [N, H, W, 3] for three."""
    images = ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu().numpy()
    return images[:, 0] if images.shape[1] == 1 else images.transpose(0, 2, 3, 1)


def align_faces(photo: np.ndarray, model: ConvVAE, style: CropStyle) -> list[AlignedFace]:
    """Every face in the RGB photo, left to right, cut out the way `model` saw its training faces."""
    boxes = detect_faces(photo)
    if not boxes:
        raise NoFaceError("No face was found. Try a brighter, frontal photo where the face is not too small.")
    config = model.config
    return [align_face(photo, box, config.image_size, config.channels, style) for box in boxes]


def faces_input(faces: Sequence[AlignedFace]) -> torch.Tensor:
    """Aligned faces as one model input batch."""
    return to_model_input(np.stack([face.image for face in faces]))


@torch.inference_mode()
def encode_faces(model: ConvVAE, faces: Sequence[AlignedFace]) -> torch.Tensor:
    """Posterior means [N, latent_dim] of aligned faces: the code that best describes each person."""
    return model.encode(faces_input(faces))[0]


@torch.inference_mode()
def expression_grid(
    model: MultiDecoderVAE, aligned: np.ndarray, strength: float = 1.0, detail: float = 0.0
) -> np.ndarray:
    """One aligned uint8 face drawn by every expression decoder: [expressions, H, W(, 3)] uint8."""
    return to_uint8(model.swap(to_model_input(aligned[None]), strength, detail)[0])


@dataclass(frozen=True)
class PreparedPhoto:
    """A photo whose faces are found, encoded and decoded once; `render` then only pastes.

    Kept between requests (in memory, never on disk), so moving the intensity or strength slider or
    picking another expression costs one paste instead of detection, encoding and decoding again.
    """

    photo: np.ndarray  # RGB uint8
    faces: list[AlignedFace]  # left to right
    decoded: torch.Tensor  # [faces, expressions, C, H, W] in [-1, 1]: each face through each decoder
    expressions: tuple[str, ...]
    detail: torch.Tensor  # [faces, C, H, W]: each face's own detail that every expression keeps

    def grids(self, strength: float = 1.0) -> np.ndarray:
        """Every face through every decoder at `strength`: [faces, expressions, H, W(, 3)] uint8."""
        faces = to_uint8(add_detail(exaggerate(self.decoded, strength), self.detail).flatten(0, 1))
        return faces.reshape(*self.decoded.shape[:2], *faces.shape[1:])

    @property
    def boxes(self) -> list[FaceBox]:
        return [face.box for face in self.faces]

    def chosen(self, faces: FaceChoice) -> list[int]:
        """Indices of the faces that `faces` names; ValueError for one the photo does not have."""
        if isinstance(faces, str):
            if faces != "all":
                raise ValueError(f"faces must be 'all' or face indices, not {faces!r}")
            return list(range(len(self.faces)))
        indices = [faces] if isinstance(faces, int) else list(faces)
        if not indices or not all(0 <= i < len(self.faces) for i in indices):
            raise ValueError(f"face indices {indices} out of range: the photo has {len(self.faces)} face(s)")
        return sorted(set(indices))

    def render(
        self, expression: str, intensity: float, faces: FaceChoice = "all", strength: float = 1.0
    ) -> np.ndarray:
        """The photo with the chosen faces moved `intensity` (0..1) of the way to `expression`,
        drawn at `strength`."""
        if expression not in self.expressions:
            raise ValueError(f"unknown expression {expression!r}; this model has {self.expressions}")
        if not 0.0 <= intensity <= 1.0:
            raise ValueError(f"intensity must lie in 0..1, not {intensity}")
        k = self.expressions.index(expression)
        chosen = self.chosen(faces)
        drawn = self.grids(strength)
        swapped = self.photo
        for i in chosen:
            swapped = paste_face(swapped, drawn[i, k], self.faces[i])
        blended = self.photo + intensity * (swapped.astype(np.float32) - self.photo)
        return np.rint(blended).clip(0, 255).astype(np.uint8)


@torch.inference_mode()
def prepare_photo(
    photo: np.ndarray, model: MultiDecoderVAE, style: CropStyle = FER2013_CROP, detail: float = 0.0
) -> PreparedPhoto:
    """Detect, align and encode every face of an RGB uint8 photo and decode each code 7 ways;
    `detail`: pixels of each face's own detail to keep (vae.multi_decoder.keep_detail)."""
    if not isinstance(model, MultiDecoderVAE):
        raise TypeError("an expression swap needs a multi-decoder model (one decoder per expression)")
    check_detail(detail)
    faces = align_faces(photo, model, style)
    aligned = faces_input(faces)
    decoded = model.decode_all(model.encode(aligned)[0])
    return PreparedPhoto(photo, faces, decoded, model.expressions, own_detail(decoded, aligned, detail))


@dataclass(frozen=True)
class SwapResult:
    photo: np.ndarray  # RGB uint8: the chosen faces swapped at the strength, blended by intensity
    aligned_inputs: list[np.ndarray]  # every face as the model saw it (uint8, left to right)
    expression_grids: np.ndarray  # [faces, expressions, H, W(, 3)] uint8, at the strength
    boxes: list[FaceBox]
    chosen: list[int]  # indices of the faces that were swapped


def swap_faces(
    photo: np.ndarray,
    model: MultiDecoderVAE,
    expression: str,
    intensity: float = 1.0,
    faces: FaceChoice = "all",
    style: CropStyle = FER2013_CROP,
    strength: float = 1.0,
    detail: float = 0.0,
) -> SwapResult:
    """Give the chosen faces of an RGB uint8 photo the target expression; NoFaceError if none is found."""
    prepared = prepare_photo(photo, model, style, detail)
    return SwapResult(
        photo=prepared.render(expression, intensity, faces, strength),
        aligned_inputs=[face.image for face in prepared.faces],
        expression_grids=prepared.grids(strength),
        boxes=prepared.boxes,
        chosen=prepared.chosen(faces),
    )
