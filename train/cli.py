"""Command line of `python -m train` (also under `torchrun --nproc_per_node N -m train`)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from train.config import PRECISIONS, SwapConfig, TrainConfig
from train.trainer import STATE_FILE, train
from vae.checkpoint import CheckpointError, load_training_state
from vae.config import LIKELIHOODS, PRESETS, ConfigError
from vae.data import DataError
from vae.losses import LossConfig

EXAMPLES = """examples:
  python -m train --data data/fer2013/fer2013.csv --model multi --epochs 20 --out runs/fer-multi
  python -m train --data data/UTKFace --model vae --image-size 64 --channels 3 --out runs/utk
  python -m train --out runs/fer-multi --resume            # continue a killed or stopped run
  torchrun --nproc_per_node 2 -m train --data ... --out runs/ddp
"""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m train",
        description="Train a FaceVAE model; writes checkpoints, grids, loss curves and metrics to --out.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    d = TrainConfig(data="")
    p.add_argument("--data", help="FER2013 csv or folders, UTKFace folder, any image folder, CelebA root")
    p.add_argument("--layout", default=d.layout, help="data layout (default: detect)")
    p.add_argument(
        "--labels",
        default=d.labels,
        choices=["fer", "ferplus"],
        help="FER2013 csv: its own labels, or the FER+ vote majority from fer2013new.csv beside it",
    )
    p.add_argument("--out", default=d.out, help="run folder (default: %(default)s)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--model", default=d.model, choices=["vae", "ae", "multi"])
    p.add_argument("--preset", default=d.preset, choices=sorted(PRESETS))
    p.add_argument("--image-size", type=int, help="default: 48 for FER2013, else the preset's")
    p.add_argument("--channels", type=int, choices=[1, 3], help="default: 1 for FER2013, else the preset's")
    p.add_argument("--latent-dim", type=int)
    p.add_argument("--widths", type=lambda s: tuple(int(w) for w in s.split(",")), help="e.g. 32,64,128,256")
    p.add_argument("--likelihood", default=d.likelihood, choices=list(LIKELIHOODS))
    p.add_argument(
        "--output-scale", type=float, help="fix the decoder scale (default: calibrated, sigma-VAE)"
    )
    p.add_argument("--decoder-sharing", default=d.decoder_sharing, choices=["none", "trunk"])
    p.add_argument("--epochs", type=int, help=f"default: {d.epochs}")
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--max-minutes", type=float, help="wall-clock budget; stops cleanly, --resume continues")
    p.add_argument("--limit", type=int, help="use only the first N training faces")
    p.add_argument("--threads", type=int, help="torch CPU threads per process")
    p.add_argument("--half", action="store_true", help="store the exported weights in float16")
    p.add_argument(
        "--precision",
        default=d.precision,
        choices=PRECISIONS,
        help="bf16: mixed precision (autocast); 1.4-1.7x faster on a CPU with AVX512-BF16 (README)",
    )
    p.add_argument(
        "--init", help="start from a trained plain VAE's weights (same architecture; multi: every decoder)"
    )
    loss = p.add_argument_group("loss")
    loss.add_argument("--loss", default=d.loss.kind, choices=["elbo", "seed"], help="seed: MSE mean + 1.7 KL")
    loss.add_argument("--beta", type=float, default=d.loss.beta)
    loss.add_argument("--warmup-steps", type=int, default=d.loss.warmup_steps, help="KL warm-up")
    loss.add_argument("--free-bits", type=float, default=d.loss.free_bits, help="nats per latent unit")
    swap = p.add_argument_group("expression swap (multi-decoder model)")
    # No defaults here: with --resume, a weight given on the command line replaces the run's own.
    swap.add_argument("--adversary", type=float, help=f"default: {d.swap.adversary}")
    swap.add_argument("--guidance", type=float, help=f"default: {d.swap.guidance}")
    swap.add_argument("--cycle", type=float, help=f"default: {d.swap.cycle}")
    swap.add_argument("--realism", type=float, help=f"default: {d.swap.realism}")
    swap.add_argument("--swap-warmup", type=int, help=f"ramp steps (default: {d.swap.warmup_steps})")
    swap.add_argument(
        "--swap-fraction", type=float, help=f"share of each batch swapped (default: {d.swap.fraction})"
    )
    swap.add_argument(
        "--swap-blur", type=float, help=f"blur (pixels) of swapped faces when judged (default: {d.swap.blur})"
    )
    return p


SWAP_FLAGS = {
    "adversary": "adversary",
    "guidance": "guidance",
    "cycle": "cycle",
    "realism": "realism",
    "swap_warmup": "warmup_steps",
    "swap_fraction": "fraction",
    "swap_blur": "blur",
}


def swap_config(args: argparse.Namespace, base: SwapConfig) -> SwapConfig:
    """`base` with the swap weights given on the command line."""
    given = {
        field: getattr(args, flag) for flag, field in SWAP_FLAGS.items() if getattr(args, flag) is not None
    }
    return replace(base, **given)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    if not args.data:
        raise DataError("--data is required (a FER2013 csv or folder, a UTKFace folder, an image folder)")
    return TrainConfig(
        data=args.data,
        layout=args.layout,
        labels=args.labels,
        out=args.out,
        model=args.model,
        preset=args.preset,
        image_size=args.image_size,
        channels=args.channels,
        latent_dim=args.latent_dim,
        widths=args.widths,
        likelihood=args.likelihood,
        output_scale=args.output_scale,
        decoder_sharing=args.decoder_sharing,
        epochs=args.epochs or TrainConfig.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        max_minutes=args.max_minutes,
        limit=args.limit,
        threads=args.threads,
        half=args.half,
        precision=args.precision,
        init=args.init,
        loss=LossConfig(args.loss, args.beta, args.warmup_steps, args.free_bits),
        swap=swap_config(args, SwapConfig()),
    )


def resumed_config(args: argparse.Namespace) -> TrainConfig:
    """The run's own config; the budget (--epochs, --max-minutes, --threads) and the swap weights may
    change, so a run can go on with a stronger swap term (a curriculum) from where it stopped."""
    path = f"{args.out}/{STATE_FILE}"
    state = load_training_state(path)
    try:
        config = TrainConfig.from_dict(state["train_config"])
    except ConfigError as exc:
        raise CheckpointError(f"{path}: {exc}") from exc
    budget = {k: getattr(args, k) for k in ("epochs", "max_minutes", "threads")}
    config = replace(config, out=args.out, **{k: v for k, v in budget.items() if v is not None})
    return replace(config, swap=swap_config(args, config.swap))


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        config = resumed_config(args) if args.resume else config_from_args(args)
        train(config, resume=args.resume)
    except (DataError, CheckpointError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
