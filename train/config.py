"""Training configuration: one dataclass per concern, stored with every run so it can be resumed.

Each field is declared once, here (or in vae/losses.py's LossConfig) with its one-line doc;
`python -m train` makes a flag of it (train/cli.py), so a new option is one line.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from vae.config import (
    DECODER_SHARING,
    LIKELIHOODS,
    MODEL_KINDS,
    PRESETS,
    REQUIRED,
    ConfigError,
    checked_fields,
    option,
)
from vae.data import LABELS
from vae.losses import LossConfig


@dataclass(frozen=True)
class SwapConfig:
    """Terms that make the multi-decoder's expression swap real (all zero: the plain design).

    The defaults are the shipped model's (docs/design.md, section 'Latent adversary 0.3, guidance
    0.05'). The adversary makes the codes hold the person, not the expression (as in Fader
    Networks); the image terms (guidance, cycle, realism) make each decoder draw its expression.
    Pushed before the decoders draw faces at all, the image terms teach them textures that fool the
    judges (a decoder of pure checkerboard after one epoch), so they ramp up over `warmup_steps`;
    the judges themselves learn from the start. Each weight multiplies a per-pixel-sized term, so
    1.0 is comparable to the reconstruction. The swap path (decode, judge, re-encode) costs as much
    as the rest of a step, and half a batch gives it plenty of signal. Every face it judges is
    blurred: expressions are coarse shapes and survive the blur, pixel patterns do not, so decoders
    gain nothing by drawing speckles or the grid of dots a strided critic teaches (docs/design.md,
    section 'Blur every face the swap path judges, by 2 px').
    """

    adversary: float = option(0.3, "latent adversary: z must not tell the expression", resume=True)
    guidance: float = option(0.05, "guide: swapped faces must show the target expression", resume=True)
    cycle: float = option(0.05, "cycle: a swapped face re-encodes to its own code", resume=True)
    realism: float = option(0.05, "critic: swapped faces must pass for real ones", resume=True)
    warmup_steps: int = option(500, "steps the image terms ramp up over", flag="--swap-warmup", resume=True)
    fraction: float = option(0.5, "share of each batch swapped", flag="--swap-fraction", resume=True)
    blur: float = option(2.0, "blur (sigma, px) of the faces judged", flag="--swap-blur", resume=True)


PRECISIONS = ("fp32", "bf16")


@dataclass(frozen=True)
class TrainConfig:
    """A run: its data, model, budget and objective. On --resume the run keeps its own, except for
    the fields marked `resume` (the budget, and the swap weights for a curriculum)."""

    data: str = option(REQUIRED, "FER2013 csv or folders, UTKFace folder, any image folder, CelebA root")
    layout: str = option("auto", "data layout (vae/data.py); auto detects it")
    labels: str = option(
        "fer",
        "FER2013 csv: its own labels, or the FER+ vote majority from fer2013new.csv beside it",
        choices=LABELS,
    )
    out: str = option("runs/default", "run folder")
    model: str = option("vae", "ae: no posterior; multi: one decoder per expression", choices=MODEL_KINDS)
    preset: str = option("cpu", "architecture (vae/config.py)", choices=tuple(sorted(PRESETS)))
    image_size: int | None = option(None, "default: 48 for FER2013, else the preset's")
    channels: int | None = option(None, "default: 1 for FER2013, else the preset's", choices=(1, 3))
    latent_dim: int | None = option(None, "default: the preset's")
    widths: tuple[int, ...] | None = option(None, "e.g. 32,64,128,256 (default: the preset's)")
    likelihood: str = option("gaussian", "decoder distribution p(x|z)", choices=LIKELIHOODS)
    output_scale: float | None = option(None, "fix the decoder scale (default: calibrated, sigma-VAE)")
    decoder_sharing: str = option(
        "trunk", "multi: trunk (shared convolutions, a head each) or none (separate)", choices=DECODER_SHARING
    )
    epochs: int = option(10, "epochs to train", resume=True)
    batch_size: int = option(128, "faces per batch and process")
    lr: float = option(2e-3, "Adam's learning rate, decayed along a cosine to 5%")
    seed: int = option(0, "random seed: initial weights, data order, augmentation")
    max_minutes: float | None = option(None, "wall-clock budget; stops cleanly for --resume", resume=True)
    limit: int | None = option(None, "use only the first N training faces (quick runs)")
    threads: int | None = option(None, "torch CPU threads per process", resume=True)
    half: bool = option(False, "store the exported weights in float16")
    precision: str = option(
        "fp32",
        "bf16: convolutions in bfloat16 under autocast, weights and losses in float32; 1.4-1.7x the "
        "images/s on a CPU with AVX512-BF16 (python -m bench.training)",
        choices=PRECISIONS,
    )
    init: str | None = option(
        None, "start from a trained plain VAE's weights (same architecture; multi: in every decoder)"
    )
    loss: LossConfig = field(default_factory=LossConfig)
    swap: SwapConfig = field(default_factory=SwapConfig)

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision {self.precision!r}: use one of {', '.join(PRECISIONS)}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        data = dict(checked_fields(cls, in_current_names(data), "training config"))
        data["loss"] = LossConfig(**checked_fields(LossConfig, data.get("loss", {}), "loss config"))
        data["swap"] = SwapConfig(**checked_fields(SwapConfig, data.get("swap", {}), "swap config"))
        if data.get("widths") is not None:
            data["widths"] = tuple(data["widths"])
        return cls(**data)


def in_current_names(data: dict[str, Any]) -> dict[str, Any]:
    """A stored training config in this version's names, so that runs saved under older ones resume:
    the preset `simpsons` is `large128`, the loss `seed` is `mse` (its weight `mse_kl_weight`), and
    KL warm-up and free bits, removed options, may be present where they were off."""
    data = dict(data)
    if data.get("preset") == "simpsons":
        data["preset"] = "large128"
    loss = dict(data.get("loss", {}))
    if loss.get("kind") == "seed":
        loss["kind"] = "mse"
    if "seed_kl_weight" in loss:
        loss["mse_kl_weight"] = loss.pop("seed_kl_weight")
    for removed in ("warmup_steps", "free_bits"):
        if loss.get(removed) == 0:
            del loss[removed]
    return {**data, "loss": loss}
