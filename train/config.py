"""Training configuration: one dataclass per concern, stored with every run so it can be resumed."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from vae.config import ConfigError, checked_fields
from vae.losses import LossConfig


@dataclass(frozen=True)
class SwapConfig:
    """Terms that make the multi-decoder's expression swap real (all zero: the plain design).

    The defaults are the shipped model's (docs/swap-design.md).

    adversary: a classifier reads the expression from z through a gradient-reversal layer, so the
        encoder learns codes that hold the person but not the expression (as in Fader Networks).
    guidance: an auxiliary classifier, trained alongside on real faces only, must read the target
        expression off each face decoded through another expression's decoder.
    cycle: re-encoding a swapped face must give back the code it came from, so the person stays.
    realism: a conditional critic must not tell swapped faces of expression k from real ones.
    The image terms (guidance, cycle, realism) ramp up linearly over `warmup_steps`: pushed before
    the decoders draw faces at all, they teach them textures that fool the judges (measured: a
    decoder of pure checkerboard after one epoch). The judges themselves learn from the start.
    Each weight multiplies a per-pixel-sized term, so 1.0 is comparable to the reconstruction.
    The swap path (decode, judge, re-encode) runs on the first `fraction` of each shuffled batch:
    it costs as much as the rest of the step, and half a batch gives it plenty of signal.
    blur: the Gaussian blur (sigma, pixels) on every face the guide, the encoder (cycle) or the
        critic reads on the swap path. Expressions are coarse shapes and survive it; pixel patterns
        do not, so decoders gain nothing by drawing them. Measured without it: a stronger guidance
        taught the decoders speckles that fooled the judge, and the critic's strided convolutions
        taught them a grid of dots (docs/swap-design.md).
    """

    adversary: float = 0.3
    guidance: float = 0.05
    cycle: float = 0.05
    realism: float = 0.05
    warmup_steps: int = 500
    fraction: float = 0.5
    blur: float = 2.0


PRECISIONS = ("fp32", "bf16")


@dataclass(frozen=True)
class TrainConfig:
    data: str
    layout: str = "auto"
    labels: str = "fer"  # fer | ferplus: FER+ majority votes, from fer2013new.csv beside fer2013.csv
    out: str = "runs/default"
    model: str = "vae"  # vae | ae | multi
    preset: str = "cpu"
    image_size: int | None = None  # None: the data's native size for FER2013 (48), else the preset's
    channels: int | None = None  # None: 1 for FER2013, else the preset's
    latent_dim: int | None = None
    widths: tuple[int, ...] | None = None
    likelihood: str = "gaussian"
    output_scale: float | None = None  # None: calibrated (sigma-VAE)
    decoder_sharing: str = "trunk"
    epochs: int = 10
    batch_size: int = 128
    lr: float = 2e-3
    seed: int = 0
    max_minutes: float | None = None
    limit: int | None = None  # train on the first N faces only (quick runs)
    threads: int | None = None
    half: bool = False  # store the exported model in float16
    # bf16: convolutions in bfloat16 under autocast, weights and losses in float32. 1.4 to 1.7 times
    # the images/s on this CPU with AVX512-BF16 (bench.training); no GPU was lent to measure one.
    precision: str = "fp32"  # fp32 | bf16
    init: str | None = None  # start from a trained plain model's weights (multi: in every head)
    loss: LossConfig = field(default_factory=LossConfig)
    swap: SwapConfig = field(default_factory=SwapConfig)

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision {self.precision!r}: use one of {', '.join(PRECISIONS)}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        data = dict(checked_fields(cls, data, "training config"))
        data["loss"] = LossConfig(**checked_fields(LossConfig, data.get("loss", {}), "loss config"))
        data["swap"] = SwapConfig(**checked_fields(SwapConfig, data.get("swap", {}), "swap config"))
        if data.get("widths") is not None:
            data["widths"] = tuple(data["widths"])
        return cls(**data)
