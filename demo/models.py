"""Which models the demo offers, loaded once at start-up and shared by every request.

The registry is fixed (name -> file, title, what it learnt from); a file that is
missing or unreadable is reported in the log and the UI, and the demo starts with what it has.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
import torch

from demo.inputs import shown
from vae.checkpoint import CheckpointError, load_checkpoint, read_header
from vae.conv_vae import ConvVAE
from vae.data import to_model_input, to_uint8
from vae.faces import Framing
from vae.latent import CodeDistribution

log = logging.getLogger(__name__)

FALLBACK_AXES = 8  # sliders along raw latent units when a checkpoint stores no directions
# The names of directions that carry no label: principal ones ("PC3", train.directions) and raw
# latent axes ("z3", the fallback); the number is the group's 1-based rank.
NUMBERED = re.compile(r"(?:PC|z)(\d+)")


@dataclass(frozen=True)
class ModelSpec:
    key: str
    filename: str
    title: str
    data: str  # what it learnt from and the data's licence, for visitors (the About tab)
    kinds: tuple[str, ...] = ("vae", "ae", "multi")  # the model kinds (ModelConfig.kind) this entry takes


# The first entry is the one every tab opens on: the colour model draws the more pleasant faces.
REGISTRY: tuple[ModelSpec, ...] = (
    ModelSpec(
        "utkface-vae",
        "utkface-vae.safetensors",
        "Colour faces (UTKFace)",
        "8,804 aligned colour photos of faces from UTKFace (Zhang, Song and Qi, CVPR 2017), people of "
        "many ages, labelled with age and gender. Licence: non-commercial research only; the photos "
        "belong to their owners.",
    ),
    ModelSpec(
        "fer-multi",
        "fer-multi.safetensors",
        "Grey faces with 7 expressions (FER2013)",
        "28,709 small grey faces from FER2013 (Goodfellow et al., 2013), each labelled with one of seven "
        "expressions. Licence: research and education use.",
        ("multi",),
    ),
)


@dataclass(frozen=True)
class DemoModel:
    """A loaded model, its slider directions (unit rows, named), the distribution of the codes of its
    training faces, from which random faces are drawn and each slider's range is measured, and how
    its training faces were framed, by which faces are cut out of photos for it."""

    spec: ModelSpec
    vae: ConvVAE
    metadata: dict[str, Any]
    directions: torch.Tensor  # [k, latent_dim]
    direction_names: tuple[str, ...]
    codes: CodeDistribution
    framing: Framing

    @cached_property
    def scales(self) -> torch.Tensor:
        """How far one slider unit moves a code: the spread of the training codes along it [k]."""
        return self.codes.spread(self.directions)

    @property
    def latent_dim(self) -> int:
        return self.vae.config.latent_dim

    @property
    def expressions(self) -> tuple[str, ...]:
        """Decoder names of a multi-decoder model; empty for a model with one decoder."""
        return self.vae.config.expressions if self.vae.config.kind == "multi" else ()

    @property
    def default_expression(self) -> str | None:
        if not self.expressions:
            return None
        return "neutral" if "neutral" in self.expressions else self.expressions[0]

    def decoder_for(self, expression: str | None) -> str | None:
        """The decoder to draw with: the asked one (default if none) for a multi model, else None.

        A model with one decoder ignores the expression; a multi model refuses one it does not have.
        """
        if not self.expressions:
            return None
        if expression is None or expression == "":
            return self.default_expression
        if not isinstance(expression, str) or expression not in self.expressions:
            raise gr.Error(
                f"Unknown expression {shown(expression)}; this model has {', '.join(self.expressions)}."
            )
        return expression

    @torch.inference_mode()
    def encode(self, faces: np.ndarray) -> torch.Tensor:
        """uint8 faces [N, H, W(, 3)], framed as `framing` frames them -> their codes [N, latent_dim]
        (the posterior means: the code that best describes each face)."""
        return self.vae.encode(to_model_input(faces))[0]

    @torch.inference_mode()
    def decode(self, z: torch.Tensor, expression: str | None = None) -> np.ndarray:
        """Codes [N, latent_dim] -> uint8 faces [N, H, W(, 3)]."""
        return to_uint8(self.vae.decode(z.float(), self.decoder_for(expression)))

    def offset(self, amounts: list[float]) -> torch.Tensor:
        """The latent shift for slider positions given in units of each direction's spread."""
        k = min(len(amounts), len(self.directions))
        weights = torch.tensor(amounts[:k], dtype=torch.float32) * self.scales[:k]
        return weights @ self.directions[:k]


@dataclass(frozen=True)
class ModelStore:
    models: dict[str, DemoModel]
    problems: tuple[str, ...]  # one line per registry entry that could not be loaded, for the UI

    def choices(self, multi_only: bool = False) -> list[tuple[str, str]]:
        """(title, key) pairs for a dropdown."""
        return [(m.spec.title, key) for key, m in self.models.items() if m.expressions or not multi_only]

    @property
    def first(self) -> DemoModel:
        """The model every tab opens on (its pickers start on the first choice)."""
        return self.get(self.choices()[0][1])

    def get(self, key: str) -> DemoModel:
        """A loaded model by its registry key; an unknown key is a message for the user (gr.Error).

        A caller's name is only looked up here, in memory, and never joined to a path: "../x" or
        "/etc/passwd" is just a name that is not loaded. The files are the registry's (REGISTRY).
        """
        if not isinstance(key, str) or key not in self.models:
            raise gr.Error(f"Unknown model {shown(key)}; choose one of: {', '.join(self.models)}.")
        return self.models[key]


def load_model(spec: ModelSpec, folder: Path) -> DemoModel:
    """Load one checkpoint with its stored slider directions, or raw latent axes if it has none.

    A file that holds another kind of model than the entry takes (a classifier, say, or a one-decoder
    model where the expression swap needs seven) is a CheckpointError naming the file and both kinds.
    """
    path = folder / spec.filename
    config, _ = read_header(path)  # the kind first, before any weights are read
    if config.kind not in spec.kinds:
        raise CheckpointError(
            f"{path}: holds a {config.kind!r} model; this entry takes {' or '.join(map(repr, spec.kinds))}"
        )
    checkpoint = load_checkpoint(path)
    names = checkpoint.metadata.get("direction_names") or []
    directions = checkpoint.extras.get("directions")
    if directions is None or len(names) != len(directions):
        log.warning("%s stores no slider directions (python -m train.directions adds them)", path)
        latent_dim = checkpoint.model.config.latent_dim
        k = min(FALLBACK_AXES, latent_dim)
        directions, names = torch.eye(k, latent_dim), [f"z{i + 1}" for i in range(k)]
    model = checkpoint.model
    expressions = model.config.expressions if model.config.kind == "multi" else ()
    names, directions = slider_directions(names, directions, expressions)
    codes = CodeDistribution.of(checkpoint)
    return DemoModel(spec, model, checkpoint.metadata, directions, names, codes, Framing.of(checkpoint))


def slider_directions(
    names: list[str], directions: torch.Tensor, expressions: tuple[str, ...]
) -> tuple[tuple[str, ...], torch.Tensor]:
    """The directions the sliders offer: labelled ones first (a visitor can read "older"), then the
    principal ones ("PC1"...) and raw latent axes ("z1"...).

    A multi-decoder model's expression directions are left out: its shared code is trained to carry
    no expression (a latent adversary), its decoders draw it, so an expression slider moves little
    but the lighting; the expression picker is the one control for it.
    """
    kept = [i for i, name in enumerate(names) if name not in expressions]
    kept.sort(key=lambda i: bool(NUMBERED.fullmatch(names[i])))  # stable: each group keeps its order
    return tuple(names[i] for i in kept), directions[kept]


def load_models(folder: Path, registry: tuple[ModelSpec, ...] = REGISTRY) -> ModelStore:
    """Load every registered model found in `folder`; never raises for a missing or broken file."""
    models: dict[str, DemoModel] = {}
    problems: list[str] = []
    for spec in registry:
        path = folder / spec.filename
        if not path.is_file():
            problems.append(
                f"{spec.title}: `{spec.filename}` is not in `{folder.name}/`, so it is not offered."
            )
            continue
        try:
            models[spec.key] = load_model(spec, folder)
        except CheckpointError as error:
            problems.append(f"{spec.title}: `{spec.filename}` could not be loaded ({error}).")
    for problem in problems:
        log.warning(problem.replace("`", ""))
    log.info("models loaded: %s", ", ".join(models) or "none")
    return ModelStore(models, tuple(problems))
