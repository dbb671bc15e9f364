"""Command line of `python -m train` (also under `torchrun --nproc_per_node N -m train`).

Every flag but --resume is a field of TrainConfig or of a config it holds (LossConfig, SwapConfig),
made from the field's name, type, default and doc (vae.config.option). Flags have no argparse
default, so the namespace holds only what the command line gave: a fresh run fills in the
dataclasses' defaults, a resumed run keeps its own values but for the fields marked `resume`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import MISSING, fields, is_dataclass, replace
from typing import Any, get_args, get_origin, get_type_hints

from train.config import TrainConfig
from train.trainer import STATE_FILE, train
from vae.checkpoint import CheckpointError, load_training_state
from vae.config import ConfigError
from vae.data import DataError

EXAMPLES = """examples:
  python -m train --data data/fer2013/fer2013.csv --model multi --epochs 20 --out runs/fer-multi
  python -m train --data data/UTKFace --model vae --image-size 64 --channels 3 --out runs/utk
  python -m train --out runs/fer-multi --resume            # continue a killed or stopped run
  torchrun --nproc_per_node 2 -m train --data ... --out runs/ddp
"""

# TrainConfig's fields that hold a config of their own, and the title of their flags in --help.
SECTIONS = {"loss": "loss", "swap": "expression swap (multi-decoder model)"}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m train",
        description="Train a FaceVAE model; writes checkpoints, grids, loss curves and metrics to --out.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    add_flags(p, TrainConfig)
    return p


def add_flags(p: argparse.ArgumentParser, config: type, section: str = "") -> None:
    """One flag per field of the dataclass `config`; a field that is a dataclass gets a group."""
    group = p.add_argument_group(SECTIONS[section]) if section else p
    types = get_type_hints(config)
    for f in fields(config):
        if is_dataclass(types[f.name]):
            add_flags(p, types[f.name], f.name)
            continue
        name = f.metadata.get("flag", "--" + f.name.replace("_", "-"))
        shown = "" if any(f.default is v for v in (MISSING, None, False)) else f" (default: {f.default})"
        kwargs: dict[str, Any] = {
            "dest": f"{section}.{f.name}" if section else f.name,
            "default": argparse.SUPPRESS,
            "help": (f.metadata["doc"] + shown).replace("%", "%%"),
        }
        if types[f.name] is bool:
            group.add_argument(name, action="store_true", **kwargs)
            continue
        if "choices" in f.metadata:
            kwargs["choices"] = f.metadata["choices"]
        else:
            kwargs["metavar"] = name.lstrip("-").replace("-", "_").upper()
        group.add_argument(name, type=parse_as(types[f.name]), **kwargs)


def parse_as(annotation: Any) -> Callable[[str], Any]:
    """How a flag's text becomes the field's type: `int | None` is int, a tuple comma-separated."""
    kinds = [t for t in get_args(annotation) if t is not type(None)] or [annotation]
    kind = kinds[0]
    if get_origin(kind) is tuple:
        item = get_args(kind)[0]

        def items(text: str) -> tuple:
            return tuple(item(part) for part in text.split(","))

        items.__name__ = f"comma-separated {item.__name__}"  # argparse names it in its errors
        return items
    return kind


def given(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """The options the command line gave, by section ("" for TrainConfig's own fields)."""
    options: dict[str, dict[str, Any]] = {"": {}, **{section: {} for section in SECTIONS}}
    for key, value in vars(args).items():
        if key != "resume":
            section, _, name = key.rpartition(".")
            options[section][name] = value
    return options


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    options = given(args)
    if "data" not in options[""]:
        raise DataError("--data is required (a FER2013 csv or folder, a UTKFace folder, an image folder)")
    types = get_type_hints(TrainConfig)
    sections = {section: types[section](**options[section]) for section in SECTIONS}
    return TrainConfig(**options[""], **sections)


def resumed_config(args: argparse.Namespace) -> TrainConfig:
    """The run's own config; the budget (--epochs, --max-minutes, --threads) and the swap weights may
    change, so a run can go on with a stronger swap term (a curriculum) from where it stopped."""
    out = getattr(args, "out", TrainConfig.out)
    path = f"{out}/{STATE_FILE}"
    state = load_training_state(path)
    try:
        config = TrainConfig.from_dict(state["train_config"])
    except ConfigError as exc:
        raise CheckpointError(f"{path}: {exc}") from exc
    options = given(args)
    sections = {s: with_resumable(getattr(config, s), options[s]) for s in SECTIONS}
    return replace(with_resumable(config, options[""]), out=out, **sections)


def with_resumable(config: Any, options: dict[str, Any]) -> Any:
    """`config` with those of `options` whose field is marked `resume`."""
    resumable = {f.name for f in fields(config) if f.metadata.get("resume")}
    return replace(config, **{k: v for k, v in options.items() if k in resumable})


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        config = resumed_config(args) if args.resume else config_from_args(args)
        train(config, resume=args.resume)
    except (DataError, CheckpointError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
