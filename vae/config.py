"""Model architecture configuration: one dataclass, named presets, validation; `option`, how every
config field (model, loss, training) is declared with its doc.

The config travels inside every checkpoint, so a model can always be rebuilt from its file and a
mismatch between what a user asks for and what a file holds is caught before any tensor is touched.
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from typing import Any

MODEL_KINDS = ("vae", "ae", "multi")
LIKELIHOODS = ("gaussian", "laplace")
DECODER_SHARING = ("none", "trunk")


class ConfigError(ValueError):
    """A model configuration that cannot be built, or that disagrees with another."""


def option(default: Any, doc: str, **cli: Any) -> Any:
    """A config field with the one line that documents it; `python -m train` makes it a flag
    (train/cli.py). `cli` holds what the flag needs beyond the field's name, type and doc: `flag`
    (its name, when not the field's), `choices`, and `resume=True` for a field that a resumed run
    takes from the command line instead of keeping its own."""
    return field(default=default, metadata={"doc": doc, **cli})


REQUIRED: Any = MISSING  # option(REQUIRED, ...): a field without a default


def checked_fields(cls: type, data: dict[str, Any], what: str) -> dict[str, Any]:
    """`data`, refused with a clear error if it has a key the dataclass `cls` lacks.

    Such a key comes from a file written by another FaceVAE version; unchecked it surfaces as a
    TypeError from deep inside the constructor. Missing keys are fine: their defaults apply.
    """
    unknown = sorted(set(data) - {f.name for f in fields(cls)})
    if unknown:
        raise ConfigError(f"unknown {what} fields {unknown}: written by another FaceVAE version")
    return data


@dataclass(frozen=True)
class ModelConfig:
    kind: str = "vae"  # vae | ae | multi (one shared encoder, one decoder per expression)
    image_size: int = 64
    channels: int = 3
    widths: tuple[int, ...] = (32, 64, 128, 256)  # encoder widths; the decoder mirrors them
    latent_dim: int = 128
    # Output distribution p(x|z): gaussian | laplace. No shipped model uses the Laplace decoder: it is
    # kept for its comparison with the Gaussian (docs/design.md, section 'Likelihood, KL weight,
    # normalisation, swap share: the realism gap').
    likelihood: str = "gaussian"
    # Scale of p(x|z) in [-1, 1] pixel units. None calibrates it (sigma-VAE): the maximum-likelihood
    # scale of each batch, which balances reconstruction against KL without a hand-tuned weight.
    output_scale: float | None = None
    expressions: tuple[str, ...] = ()  # decoder names, for kind == "multi"
    # multi: trunk (one shared trunk, a head per expression: every shipped model) | none (independent
    # decoders: the baseline of docs/design.md, section 'Seven decoders on a shared trunk, and the
    # terms that make them differ'; tests/test_train.py trains them under torchrun).
    decoder_sharing: str = "trunk"

    def __post_init__(self) -> None:
        # JSON round trips turn tuples into lists; normalise so configs compare equal.
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))
        object.__setattr__(self, "expressions", tuple(str(e) for e in self.expressions))
        self.validate()

    @property
    def depth(self) -> int:
        return len(self.widths)

    @property
    def bottom_size(self) -> int:
        """Side of the smallest feature map, after every stride-2 convolution."""
        return self.image_size // 2**self.depth

    @property
    def num_pixels(self) -> int:
        return self.channels * self.image_size**2

    def validate(self) -> None:
        checks = [
            (self.kind in MODEL_KINDS, f"kind must be one of {MODEL_KINDS}, got {self.kind!r}"),
            (self.likelihood in LIKELIHOODS, f"likelihood must be one of {LIKELIHOODS}"),
            (self.decoder_sharing in DECODER_SHARING, f"decoder_sharing must be one of {DECODER_SHARING}"),
            (self.channels in (1, 3), f"channels must be 1 or 3, got {self.channels}"),
            (self.depth >= 1 and min(self.widths) > 0, f"widths must be positive, got {self.widths}"),
            (self.output_scale is None or self.output_scale > 0, "output_scale must be positive or None"),
            (self.latent_dim > 0, f"latent_dim must be positive, got {self.latent_dim}"),
            (
                self.image_size % 2**self.depth == 0 and self.bottom_size >= 1,
                f"image_size {self.image_size} must be divisible by 2**{self.depth} "
                f"(one halving per width in {self.widths})",
            ),
            (
                self.kind != "multi" or len(self.expressions) >= 2,
                "a multi-decoder model needs at least two expressions",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        return cls(**checked_fields(cls, data, "model config"))

    def with_(self, **changes: Any) -> ModelConfig:
        return replace(self, **changes)


PRESETS: dict[str, ModelConfig] = {
    # About 3M parameters at 64x64 RGB: trains at a few hundred images/s on two CPU cores.
    "cpu": ModelConfig(image_size=64, channels=3, widths=(32, 64, 128, 256), latent_dim=128),
    # About 140M parameters at 128x128 RGB (five halvings of wide layers): a model for a GPU.
    "large128": ModelConfig(image_size=128, channels=3, widths=(128, 256, 512, 1024, 2048), latent_dim=512),
}


def preset(name: str, **overrides: Any) -> ModelConfig:
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[name].with_(**overrides)
