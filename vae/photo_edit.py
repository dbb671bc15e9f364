"""Expression editing of photos: move the face's own pixels to a new expression, add only what
geometry cannot draw.

Two multi-decoder models supply the change, and nothing else:

- the shape model (vae.shape_model) encodes the face's landmarks once and decodes them with every
  expression: this face's own smile or frown, as landmarks;
- the appearance model (a MultiDecoderVAE trained on shape-free FER2013 faces, train/shape_free.py)
  encodes the face's texture, warped to one canonical shape, and decodes it with every expression:
  what an expression changes besides geometry (an open mouth's dark inside, teeth, furrows).

The edit warps the photo at full resolution from its landmarks to the new ones (piecewise affine over
a mesh whose outer ring never moves, so motion fades out around the face), then adds the appearance
change to luminance only, low-pass and inside the face: the person, the colour and the sharpness all
stay the photo's. What changes is the difference between the target expression's decoding and the
face's present expression's decoding (the decoders that reconstruct the face best), so a smiling face
asked to smile changes little, and the face keeps whatever the decoders do not model.

`strength` scales how far each expression departs from the mean of the seven decodings (0: the
face without expression, 1: the typical expression, 2: exaggerated); `intensity` goes from the
photo (0) to the full edit (1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from vae.checkpoint import CheckpointError, load_checkpoint
from vae.face_shape import (
    JAW,
    RIGID,
    Mesh,
    Raster,
    canonical_shape,
    eye_distance,
    invert,
    normalise,
    pixel_grid,
    shape_free,
)
from vae.landmarks import FaceBox, detect_faces, face_landmarks, gray
from vae.multi_decoder import MultiDecoderVAE, check_strength
from vae.shape_model import ShapeVAE

FaceChoice = str | int | Sequence[int]  # "all", one index, or several indices (0-based, left to right)

MIN_EYE_DISTANCE = 24.0  # px between the outer eye corners: smaller faces are too small to edit
MAX_RIGID_ERROR = 0.12  # eye distances: landmarks whose rigid points fit the template worse are a failed fit
MAP_STEP = 4  # px: the warp is computed on this grid and interpolated (it is smooth between landmarks)
APPEARANCE_BLUR = 1.0  # px of the 48 px frame: the appearance change is low-pass
SOURCE_TEMPERATURE = 1e-4  # squared eye distances: how sharply the best-fitting decoders are preferred
DETAIL_SIGMA = 1.0  # px: finer detail than this is copied pixel for pixel by the warp


class NoFaceError(ValueError):
    """No face that can be edited was found; the message can be shown to a user as is."""


@dataclass(frozen=True)
class ExpressionModels:
    """The shape and appearance models an edit needs; their expressions must agree."""

    shape: ShapeVAE
    appearance: MultiDecoderVAE

    def __post_init__(self) -> None:
        if self.shape.expressions != self.appearance.expressions:
            raise CheckpointError(
                f"the shape model's expressions {self.shape.expressions} differ from the appearance "
                f"model's {self.appearance.expressions}"
            )

    @classmethod
    def load(cls, shape_path: str | Path, appearance_path: str | Path) -> ExpressionModels:
        shape, appearance = load_checkpoint(shape_path).model, load_checkpoint(appearance_path).model
        if not isinstance(shape, ShapeVAE):
            raise CheckpointError(f"{shape_path}: holds a {type(shape).__name__}, not a shape model")
        if not isinstance(appearance, MultiDecoderVAE):
            raise CheckpointError(
                f"{appearance_path}: holds a {type(appearance).__name__}, not a multi-decoder"
            )
        return cls(shape, appearance)

    @property
    def expressions(self) -> tuple[str, ...]:
        return self.shape.expressions

    @property
    def template(self) -> np.ndarray:
        return self.shape.template.double().numpy()

    @property
    def canonical(self) -> np.ndarray:
        return canonical_shape(self.template)


def exaggerate(decoded: np.ndarray, strength: float) -> np.ndarray:
    """Decodings [E, ...] each moved `strength` times as far from their mean (1: as decoded)."""
    mean = decoded.mean(0, keepdims=True)
    return mean + check_strength(strength) * (decoded - mean)


@dataclass(frozen=True)
class PreparedFace:
    """One face, found, fitted and decoded every way once; `edit` then only warps."""

    box: FaceBox
    points: np.ndarray  # [68, 2] landmarks in photo pixels
    to_frame: np.ndarray  # 2x3 photo -> the models' frame (the rigid similarity onto the template)
    shapes: np.ndarray  # [E, 68, 2] the shape decoders' landmarks, in the models' frame
    textures: np.ndarray  # [E, H, W] the appearance decoders' shape-free luminance, 0..255 units
    present: np.ndarray  # [E] weights of the decoders that best explain the face as it is (sum 1)
    canonical: np.ndarray  # [68, 2] the shape of the appearance model's textures

    @property
    def mesh(self) -> Mesh:
        return Mesh(self.canonical)

    def target_points(self, k: int, intensity: float, strength: float) -> np.ndarray:
        """The landmarks [68, 2] in photo pixels, moved to expression k."""
        change = _change(self.shapes, self.present, k, strength)  # models' frame
        return self.points + intensity * change @ invert(self.to_frame)[:, :2].T

    def appearance_change(self, k: int, intensity: float, strength: float) -> np.ndarray:
        """The luminance to add [H, W] in the appearance frame: low-pass, and zero outside the face."""
        change = _change(self.textures, self.present, k, strength).astype(np.float32)
        change = cv2.GaussianBlur(change, (0, 0), APPEARANCE_BLUR)
        return intensity * change * face_mask(self.canonical, change.shape)

    def window(self, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
        """The photo pixels the edit may touch: the box of the mesh's ring, clipped to the photo."""
        vertices = self.mesh.vertices(self.points)
        x0, y0 = np.maximum(np.floor(vertices.min(0)).astype(int), 0)
        x1, y1 = np.minimum(np.ceil(vertices.max(0)).astype(int) + 1, (shape[1], shape[0]))
        return int(x0), int(y0), int(x1), int(y1)

    def edit(self, photo: np.ndarray, k: int, intensity: float, strength: float) -> np.ndarray:
        """`photo` (RGB uint8, the one this face was found in) with this face given expression k."""
        if intensity == 0.0:
            return photo
        mesh = self.mesh
        source = mesh.vertices(self.points)
        target = source.copy()
        target[: len(self.points)] = self.target_points(k, intensity, strength)
        x0, y0, x1, y1 = self.window(photo.shape)
        half = (MAP_STEP - 1) / 2  # coarse samples at the centres of MAP_STEP x MAP_STEP blocks
        raster = Raster.of(target, mesh.triangles, *pixel_grid((x0 + half, y0 + half, x1, y1), MAP_STEP))
        size = (x1 - x0, y1 - y0)
        to_window = np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0]])  # outside the mesh: no motion
        photo_x, photo_y = (_enlarge(m, size) for m in raster.sample(source - (x0, y0), mesh.triangles, to_window))
        warped = warp_keeping_detail(photo[y0:y1, x0:x1], photo_x, photo_y)
        frame = raster.sample(mesh.vertices(self.canonical), mesh.triangles, outside=self.to_frame)
        frame_x, frame_y = (_enlarge(m, size) for m in frame)
        change = cv2.remap(
            self.appearance_change(k, intensity, strength), frame_x, frame_y, cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT, borderValue=0.0,
        )  # fmt: skip
        result = photo.copy()
        result[y0:y1, x0:x1] = np.clip(warped + change[..., None], 0, 255).round().astype(np.uint8)
        return result


def warp_keeping_detail(image: np.ndarray, map_x: np.ndarray, map_y: np.ndarray) -> np.ndarray:
    """cv2.remap of `image` that copies its finest detail instead of interpolating it.

    Interpolating at a fraction of a pixel averages neighbours, which halves a photo's pixel-level
    detail (grain, pores, hair) at half a pixel even with Lanczos. So the image is split into a smooth
    base (Gaussian of DETAIL_SIGMA px), warped with cubic interpolation, and the rest, each pixel
    copied from the nearest source pixel: the output is as sharp as the photo.
    """
    pixels = image.astype(np.float32)
    base = cv2.GaussianBlur(pixels, (0, 0), DETAIL_SIGMA)
    smooth = cv2.remap(base, map_x, map_y, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT_101)
    fine = cv2.remap(pixels - base, map_x, map_y, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REFLECT_101)
    return smooth + fine


def _change(decoded: np.ndarray, present: np.ndarray, k: int, strength: float) -> np.ndarray:
    """Decoding k at `strength` minus the decoding of the face's present expression."""
    return exaggerate(decoded, strength)[k] - np.tensordot(present, decoded, 1)


def face_mask(shape: np.ndarray, size: tuple[int, int], feather: float = 1.5) -> np.ndarray:
    """1 inside the face outline of `shape` (jaw, and brows raised by a fifth of the eye distance)
    in a frame of `size`, fading over `feather` pixels: where the appearance change may land."""
    brows = shape[26:16:-1] - [0, 0.2 * eye_distance(shape)]
    outline = np.round(np.vstack([shape[JAW], brows]) * 16).astype(np.int32)
    mask = np.zeros(size, dtype=np.uint8)
    cv2.fillPoly(mask, [outline], 255, lineType=cv2.LINE_AA, shift=4)
    return cv2.GaussianBlur(mask.astype(np.float32) / 255, (0, 0), feather)


def _enlarge(coarse: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return cv2.resize(coarse, size, interpolation=cv2.INTER_LINEAR)


def present_weights(errors: np.ndarray) -> np.ndarray:
    """Softmax of -errors / SOURCE_TEMPERATURE: the decoders that reconstruct a face best, weighted."""
    logits = -(errors - errors.min()) / SOURCE_TEMPERATURE
    weights = np.exp(logits)
    return weights / weights.sum()


@torch.inference_mode()
def prepare_face(
    photo: np.ndarray, plane: np.ndarray, box: FaceBox, models: ExpressionModels
) -> PreparedFace:
    """Fit, encode and decode one detected face; NoFaceError if it is too small or the fit failed."""
    points = face_landmarks(plane, box)
    if eye_distance(points) < MIN_EYE_DISTANCE:
        raise NoFaceError(
            f"The face is too small to edit ({eye_distance(points):.0f} px between the eyes; "
            f"at least {MIN_EYE_DISTANCE:.0f}). Use a photo where the face is larger."
        )
    template, canonical = models.template, models.canonical
    shape, to_frame = normalise(points, template)
    rigid_error = np.linalg.norm(shape[RIGID] - template[RIGID], axis=1).mean() / eye_distance(template)
    if rigid_error > MAX_RIGID_ERROR:
        raise NoFaceError("The face's landmarks could not be fitted. Try a more frontal, evenly lit photo.")
    shape_tensor = torch.tensor(shape, dtype=torch.float32)[None]
    shapes = models.shape.decode_all(models.shape.encode(shape_tensor)[0])[0]
    errors = ((shapes - shape_tensor) / models.shape.unit).pow(2).mean((1, 2)).numpy()
    size = models.appearance.config.image_size
    texture = shape_free(plane, points, canonical, size)
    x = torch.tensor(texture, dtype=torch.float32)[None, None] / 127.5 - 1
    textures = models.appearance.decode_all(models.appearance.encode(x)[0])[0, :, 0]
    return PreparedFace(
        box=box,
        points=points,
        to_frame=to_frame,
        shapes=shapes.double().numpy(),
        textures=textures.double().numpy() * 127.5,
        present=present_weights(errors),
        canonical=canonical,
    )


@dataclass(frozen=True)
class PreparedPhoto:
    """A photo whose faces are found, fitted and decoded once; `render` then only warps.

    Kept between requests (in memory, never on disk), so moving a slider or picking another
    expression costs one warp per face.
    """

    photo: np.ndarray  # RGB uint8
    faces: list[PreparedFace]  # left to right
    expressions: tuple[str, ...]

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

    def expression_index(self, expression: str) -> int:
        if expression not in self.expressions:
            raise ValueError(f"unknown expression {expression!r}; the models have {self.expressions}")
        return self.expressions.index(expression)

    def render(
        self, expression: str, intensity: float = 1.0, faces: FaceChoice = "all", strength: float = 1.0
    ) -> np.ndarray:
        """The photo with the chosen faces given `expression`."""
        if not 0.0 <= intensity <= 1.0:
            raise ValueError(f"intensity must lie in 0..1, not {intensity}")
        check_strength(strength)
        k = self.expression_index(expression)
        result = self.photo
        for i in self.chosen(faces):
            result = self.faces[i].edit(result, k, intensity, strength)
        return result


def prepare_photo(photo: np.ndarray, models: ExpressionModels) -> PreparedPhoto:
    """Find every face of an RGB uint8 photo, fit and decode each; NoFaceError if none can be edited."""
    plane = gray(photo)
    boxes = detect_faces(photo)
    if not boxes:
        raise NoFaceError("No face was found. Try a brighter, frontal photo where the face is not too small.")
    faces, problems = [], []
    for box in boxes:
        try:
            faces.append(prepare_face(photo, plane, box, models))
        except NoFaceError as error:
            problems.append(str(error))
    if not faces:
        raise NoFaceError(problems[0])
    return PreparedPhoto(photo, faces, models.expressions)
