"""The pasted-face swap: only the baseline that `python -m train.swap_eval` measures the photo edit
against (and train.swap_figure and train.figures draw). The demo edits photos with vae.photo_edit.

Each face is cut out as the model's training faces were framed (vae.faces), encoded once, and its code
decoded by every expression decoder; the target expression's drawing is pasted back over the face,
warped by the inverse of the framing similarity and blended under a feathered ellipse, its luminance
given the photo's tone. The strength scales how far each expression departs from the others
(vae.multi_decoder.exaggerate), and the detail keeps the face's own fine detail where the decoders
agree (vae.multi_decoder.keep_detail).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from vae.data import to_model_input, to_uint8
from vae.faces import FramedFace, Framing
from vae.multi_decoder import MultiDecoderVAE, add_detail, check_detail, exaggerate, own_detail

MASK_AXES = (0.85, 1.0)  # half-widths of the paste ellipse, in crop half-sides: faces are tall
FEATHER = 0.15  # the ellipse's edge fades over this share of the crop side


@dataclass(frozen=True)
class PreparedPhoto:
    """A photo whose faces are found, encoded and decoded once; `render` then only pastes."""

    photo: np.ndarray  # RGB uint8
    faces: list[FramedFace]  # left to right
    decoded: torch.Tensor  # [faces, expressions, C, H, W] in [-1, 1]: each face through each decoder
    expressions: tuple[str, ...]
    detail: torch.Tensor  # [faces, C, H, W]: each face's own detail that every expression keeps

    def grids(self, strength: float = 1.0) -> np.ndarray:
        """Every face through every decoder at `strength`: [faces, expressions, H, W(, 3)] uint8."""
        faces = to_uint8(add_detail(exaggerate(self.decoded, strength), self.detail).flatten(0, 1))
        return faces.reshape(*self.decoded.shape[:2], *faces.shape[1:])

    def render(self, expression: str, strength: float = 1.0) -> np.ndarray:
        """The photo with every face replaced by its drawing with `expression` at `strength`."""
        if expression not in self.expressions:
            raise ValueError(f"unknown expression {expression!r}; this model has {self.expressions}")
        k = self.expressions.index(expression)
        drawn = self.grids(strength)
        swapped = self.photo
        for i, face in enumerate(self.faces):
            swapped = paste_face(swapped, drawn[i, k], face)
        return swapped


@torch.inference_mode()
def prepare_photo(
    photo: np.ndarray, model: MultiDecoderVAE, framing: Framing, detail: float = 0.0
) -> PreparedPhoto:
    """Find, cut out (as `framing` frames faces) and encode every face of an RGB uint8 photo, and decode
    each code 7 ways; `detail`: pixels of each face's own detail to keep (vae.multi_decoder.keep_detail).
    NoFaceError if the photo has no face."""
    if not isinstance(model, MultiDecoderVAE):
        raise TypeError("an expression swap needs a multi-decoder model (one decoder per expression)")
    check_detail(detail)
    faces = framing.faces(photo)
    framed = to_model_input(np.stack([face.image for face in faces]))
    decoded = model.decode_all(model.encode(framed)[0])
    return PreparedPhoto(photo, faces, decoded, model.expressions, own_detail(decoded, framed, detail))


def paste_face(photo: np.ndarray, face: np.ndarray, framed: FramedFace) -> np.ndarray:
    """Put a model's drawing of `framed` back into the RGB `photo`; returns a new photo.

    `face` is uint8 like `framed.image` (HxW, HxWx1 or HxWx3). It is warped back with the inverse of
    the framing similarity and blended under an ellipse inscribed in the crop whose edge fades over
    FEATHER x the crop side. A grey face only replaces luminance (YCrCb's Y), so the photo keeps
    its colour. The new luminance gets the mean and spread of the photo's under the mask, so a model
    that renders faces darker or flatter does not leave a visible patch.
    """
    size = framed.image.shape[0]
    face = face.reshape(size, size) if face.shape in ((size, size), (size, size, 1)) else face
    if face.shape not in ((size, size), (size, size, 3)) or face.dtype != np.uint8:
        raise ValueError(f"face must be uint8 {size}x{size}[x1|x3], not {face.dtype} {face.shape}")
    result = photo.copy()
    window = _footprint(framed.to_frame, size, photo.shape[:2])
    if window is None:
        return result
    x0, y0, x1, y1 = window
    matrix = framed.to_frame.copy()  # photo-window pixel -> crop pixel
    matrix[:, 2] += matrix[:, :2] @ (x0, y0)
    new = cv2.warpAffine(
        face.astype(np.float32) / 255,
        matrix,
        (x1 - x0, y1 - y0),
        flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    mask = _ellipse_mask(matrix, (y1 - y0, x1 - x0), size)
    region = result[y0:y1, x0:x1].astype(np.float32) / 255
    blended = region + mask[:, :, None] * (_recolour(new, region, mask) - region)
    result[y0:y1, x0:x1] = np.rint(blended * 255).clip(0, 255).astype(np.uint8)
    return result


def _footprint(matrix: np.ndarray, size: int, shape: tuple[int, ...]) -> tuple[int, int, int, int] | None:
    """Photo pixels (x0, y0, x1, y1) that the crop square covers, clipped to the photo; None if none."""
    edges = (-0.5, size - 0.5)  # the crop's outer pixel edges
    back = cv2.invertAffineTransform(matrix)
    points = np.array([(x, y) for x in edges for y in edges]) @ back[:, :2].T + back[:, 2]
    x0, y0 = np.maximum(np.floor(points.min(axis=0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(points.max(axis=0)).astype(int) + 1, (shape[1], shape[0]))
    return (int(x0), int(y0), int(x1), int(y1)) if x1 > x0 and y1 > y0 else None


def _ellipse_mask(matrix: np.ndarray, shape: tuple[int, int], size: int) -> np.ndarray:
    """1 inside an ellipse inscribed in the crop, fading smoothly to 0 at its edge over FEATHER.

    Computed analytically at photo resolution (each photo pixel mapped into the crop), which is a blurred
    ellipse without a blur kernel's size limits or its staircase from upsampling a small mask.
    """
    ys, xs = np.mgrid[: shape[0], : shape[1]].astype(np.float32)
    centre, half = (size - 1) / 2, size / 2
    u = (matrix[0, 0] * xs + matrix[0, 1] * ys + matrix[0, 2] - centre) / (half * MASK_AXES[0])
    v = (matrix[1, 0] * xs + matrix[1, 1] * ys + matrix[1, 2] - centre) / (half * MASK_AXES[1])
    inside = np.clip((1 - np.sqrt(u * u + v * v)) / (2 * FEATHER), 0, 1)
    return inside * inside * (3 - 2 * inside)  # smoothstep: no visible ring where the fade starts or ends


def _recolour(new: np.ndarray, region: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """RGB with the model's luminance in the photo's tone, and the model's chroma, or the photo's
    chroma for a grey model."""
    photo_ycc = cv2.cvtColor(region, cv2.COLOR_RGB2YCrCb)
    face_ycc = cv2.cvtColor(new, cv2.COLOR_RGB2YCrCb) if new.ndim == 3 else None
    luma = _match_moments(new if face_ycc is None else face_ycc[:, :, 0], photo_ycc[:, :, 0], mask)
    chroma = photo_ycc[:, :, 1:] if face_ycc is None else face_ycc[:, :, 1:]
    return cv2.cvtColor(np.dstack([luma, chroma]), cv2.COLOR_YCrCb2RGB)


def _match_moments(values: np.ndarray, reference: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Shift and scale `values` to the weighted mean and standard deviation of `reference`."""
    total = max(float(weights.sum()), 1e-6)
    mean, ref_mean = (float((a * weights).sum()) / total for a in (values, reference))
    std, ref_std = (
        math.sqrt(float(((a - m) ** 2 * weights).sum()) / total)
        for a, m in ((values, mean), (reference, ref_mean))
    )
    return (values - mean) * (ref_std / max(std, 1e-3)) + ref_mean
