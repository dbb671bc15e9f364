"""Training speed: images per second of one optimiser step, FaceVAE against two reference designs.

    python -m bench.training                  # threads 1 and every core; about 10 minutes on 2 cores
    python -m bench.training --threads 1 --batch-size 64
    python -m bench.training --quick          # seconds: a smoke test, not numbers

One step is what ``python -m train`` does per batch: uint8 batch to [-1, 1], random flip, forward,
loss, backward, gradient clipping, Adam (the baseline: its own loss and plain Adam, as it ships).
Models, each at 64x64 RGB (the default preset's size) and 48x48 grey (FER2013's):

- FaceVAE default: preset ``cpu`` (4x4 stride-2 convolutions, widths 32-64-128-256, latent 128),
  the project's ELBO with the calibrated decoder; channels-last (as the trainer runs it) and not;
- FaceVAE large128: preset ``large128``'s architecture (widths 128-2048, latent 512) at the same
  resolution, same loss (only 64x64: five halvings do not divide 48);
- VanillaVAE of PyTorch-VAE (bench/vanilla_vae.py: 3x3 stride-2 convolutions, widths 32-512,
  latent 128, MSE + 0.00025 KL), in its own layout and channels-last;
- at 48x48 also the shipped FER2013 multi-decoder with its swap terms (what ``--model multi`` trains);
- the FaceVAE models also in bfloat16 mixed precision (``python -m train --precision bf16``: the
  training objective's own autocast), fast on CPUs with AVX512-BF16.

Same batch (default 128) and thread count for all; synthetic images (speed does not depend on
them). Steps are timed after warm-up; images/s = batch / median step time. FLOPs per image count
the forward and backward matmuls and convolutions (torch.utils.flop_counter); "GFLOP/s" is what a
step achieves, next to this CPU's float32 matmul ceiling. The last thread count also gets a
torch.profiler table of one step of the default and of the VanillaVAE: where a step's time goes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from bench.common import (
    count_flops,
    describe,
    machine,
    markdown_table,
    matmul_gflops,
    meets,
    parser,
    set_threads,
    summarize,
    thread_counts,
    time_calls,
    top_ops,
    warn_if_busy,
    write_json,
)
from bench.vanilla_vae import VanillaVAE
from train.augment import random_flip
from train.config import SwapConfig
from train.objectives import Objective
from vae.config import ConfigError, preset
from vae.conv_vae import build_model, count_parameters
from vae.data import EXPRESSIONS, as_float
from vae.losses import LossConfig

DEFAULT, LARGE, VANILLA, MULTI = "FaceVAE default", "FaceVAE large128", "VanillaVAE", "FaceVAE multi (FER)"
MODELS = {"default": DEFAULT, "large128": LARGE, "vanilla": VANILLA, "multi": MULTI}


@dataclass
class Setup:
    """A model ready to train: its parameters and one step as the training loop would run it."""

    step: Callable[[], Any]
    module: torch.nn.Module


def facevae_setup(
    kind: str, name: str, size: int, channels: int, layout: str, precision: str, batch: int
) -> Setup:
    expressions = EXPRESSIONS if kind == "multi" else ()
    config = preset(name, kind=kind, image_size=size, channels=channels, expressions=expressions)
    objective = Objective(build_model(config), LossConfig(), SwapConfig(), precision)
    images, labels = _batch(batch, channels, size)
    memory = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    objective = objective.to(memory_format=memory)
    optimizer = torch.optim.Adam(objective.parameters(), lr=2e-3)
    state = {"step": 0}

    def step() -> None:
        x = random_flip(as_float(images).contiguous(memory_format=memory))
        logs = objective(x, labels, state["step"])
        optimizer.zero_grad(set_to_none=True)
        logs["loss"].backward()
        torch.nn.utils.clip_grad_norm_(objective.parameters(), 1e4)
        optimizer.step()
        state["step"] += 1

    return Setup(step, objective)


def vanilla_setup(size: int, channels: int, layout: str, batch: int) -> Setup:
    from bench.vanilla_vae import LEARNING_RATE

    model = VanillaVAE(image_size=size, channels=channels).train()
    memory = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    model = model.to(memory_format=memory)
    images, _ = _batch(batch, channels, size)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)

    def step() -> None:
        x = random_flip(as_float(images).contiguous(memory_format=memory))
        recon, mu, logvar = model(x)
        loss = model.loss(x, recon, mu, logvar)["loss"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return Setup(step, model)


def _batch(batch: int, channels: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (batch, channels, size, size), generator=generator, dtype=torch.uint8)
    return images, torch.randint(0, len(EXPRESSIONS), (batch,), generator=generator)


def configurations(models: list[str]) -> list[tuple[str, int, int, str, str]]:
    """(model, size, channels, layout, precision) in table order."""
    rows = []
    for size, channels in ((64, 3), (48, 1)):
        for model in models:
            if model == MULTI and size != 48:
                continue
            variants = [("channels_last", "fp32")]
            if model in (DEFAULT, VANILLA):
                variants.append(("contiguous", "fp32"))
            if model in (DEFAULT, MULTI):
                variants.append(("channels_last", "bf16"))
            rows += [(model, size, channels, layout, precision) for layout, precision in variants]
    return rows


def build(model: str, size: int, channels: int, layout: str, precision: str, batch: int) -> Setup:
    torch.manual_seed(0)
    if model == VANILLA:
        return vanilla_setup(size, channels, layout, batch)
    kind, name = {DEFAULT: ("vae", "cpu"), LARGE: ("vae", "large128"), MULTI: ("multi", "cpu")}[model]
    return facevae_setup(kind, name, size, channels, layout, precision, batch)


def step_flops(setup: Setup) -> int:
    """FLOPs of one step, forward and backward (the counted step is one more warm-up step)."""
    return count_flops(setup.step)


def run(args: Any) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    ceilings: dict[int, float] = {}
    profiles: dict[str, Any] = {}
    for threads in args.thread_counts:
        set_threads(threads)
        ceilings[threads] = matmul_gflops(threads, args.matmul_size, args.matmul_seconds)
        print(f"threads {threads}: float32 matmul {ceilings[threads]:.1f} GFLOP/s", flush=True)
        for model, size, channels, layout, precision in configurations(args.models):
            base = {
                "model": model,
                "size": size,
                "channels": channels,
                "layout": layout,
                "precision": precision,
                "threads": threads,
            }
            try:
                setup = build(model, size, channels, layout, precision, args.batch_size)
            except ConfigError as error:
                rows.append({**base, "skipped": str(error)})
                continue
            flops = step_flops(setup)
            times = time_calls(setup.step, args.warmup, args.steps, args.max_seconds, min_runs=3)
            stats = summarize(times)
            rows.append(
                {
                    **base,
                    "batch": args.batch_size,
                    "parameters": count_parameters(setup.module),
                    "gflop_per_image": flops / args.batch_size / 1e9,
                    **stats,
                    "images_per_s": args.batch_size / stats["median_ms"] * 1e3,
                    "achieved_gflops": flops / stats["median_ms"] / 1e6,
                }
            )
            speed = rows[-1]["images_per_s"]
            print(f"  {model} {size}px {layout} {precision}: {speed:.0f} images/s", flush=True)
    # Profiles at the last thread count: one step of the default and of the baseline, 64x64 RGB.
    for model in [m for m in (DEFAULT, VANILLA) if m in args.models]:
        layout = "channels_last" if model == DEFAULT else "contiguous"
        setup = build(model, 64, 3, layout, "fp32", args.batch_size)
        profiles[model] = profile_step(setup, args.warmup)
    add_ratios(rows)
    return {"rows": rows, "matmul_gflops": ceilings, "batch_size": args.batch_size, "profiles": profiles}


def profile_step(setup: Setup, warmup: int) -> Any:
    from torch.profiler import ProfilerActivity, profile

    for _ in range(max(1, warmup)):
        setup.step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        setup.step()
    return prof


def add_ratios(rows: list[dict[str, Any]]) -> None:
    """Each row's speed over the VanillaVAE's best layout at the same size and threads."""
    best: dict[tuple[int, int], float] = {}
    for r in rows:
        if r["model"] == VANILLA and "images_per_s" in r:
            key = (r["size"], r["threads"])
            best[key] = max(best.get(key, 0.0), r["images_per_s"])
    for r in rows:
        if "images_per_s" in r and (r["size"], r["threads"]) in best:
            r["vs_vanilla"] = r["images_per_s"] / best[(r["size"], r["threads"])]


def report(result: dict[str, Any]) -> None:
    print(f"\n## Training step speed (batch {result['batch_size']}, forward + backward + Adam)\n")
    headers = [
        "model",
        "input",
        "layout",
        "precision",
        "threads",
        "params M",
        "GFLOP/img",
        "step ms",
        "p95 ms",
        "images/s",
        "GFLOP/s",
        "x VanillaVAE",
        "target",
    ]
    table = []
    for r in result["rows"]:
        size = f"{r['size']}x{r['size']}x{r['channels']}"
        if "skipped" in r:
            table.append(
                [
                    r["model"],
                    size,
                    r["layout"],
                    r["precision"],
                    r["threads"],
                    *[None] * 7,
                    "n/a: " + r["skipped"][:60],
                ]
            )
            continue
        target = ""
        if r["model"] == DEFAULT and r["layout"] == "channels_last" and r["precision"] == "fp32":
            target = meets(r.get("vs_vanilla"), 1.0, at_most=False)
        table.append(
            [
                r["model"],
                size,
                r["layout"],
                r["precision"],
                r["threads"],
                r["parameters"] / 1e6,
                r["gflop_per_image"],
                r["median_ms"],
                r["p95_ms"],
                r["images_per_s"],
                r["achieved_gflops"],
                r.get("vs_vanilla"),
                target,
            ]
        )
    print(markdown_table(headers, table))
    print(
        "\nx VanillaVAE: images/s over the VanillaVAE's faster layout at the same input and threads; "
        "target: the default (channels-last, float32, as trained by default) >= 1."
    )
    print(
        "matmul ceiling (float32 sgemm): "
        + ", ".join(f"{t} thread{'s' * (t > 1)} {g:.1f} GFLOP/s" for t, g in result["matmul_gflops"].items())
    )
    for name, prof in result["profiles"].items():
        print(f"\n## torch.profiler: one step of {name}, 64x64x3, batch {result['batch_size']}\n")
        print(
            prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15, max_name_column_width=40)
        )


def main(argv: list[str] | None = None) -> None:
    p = parser("training", __doc__)
    p.add_argument("--threads", help="comma-separated thread counts (default: 1 and every core)")
    p.add_argument("--models", default=",".join(MODELS), help="comma-separated (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--steps", type=int, default=10, help="timed steps per model")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps (after one that counts FLOPs)")
    p.add_argument(
        "--max-seconds", type=float, default=30.0, help="stop timing a model after this (at least 3 steps)"
    )
    args = p.parse_args(argv)
    args.thread_counts = thread_counts(args.threads)
    unknown = sorted(set(args.models.split(",")) - set(MODELS))
    if unknown:
        p.error(f"unknown models {unknown}; choose from {', '.join(MODELS)}")
    args.models = [MODELS[m] for m in MODELS if m in args.models.split(",")]
    args.matmul_size, args.matmul_seconds = 2048, 2.0
    if args.quick:
        args.batch_size, args.steps, args.warmup, args.max_seconds = 4, 1, 0, 1.0  # counting FLOPs warms up
        args.matmul_size, args.matmul_seconds = 256, 0.05
        args.thread_counts = args.thread_counts if args.threads else [1]
    info = machine()
    print(describe(info), flush=True)
    warn_if_busy(info)
    result = run(args)
    report(result)
    result["profiles"] = {name: top_ops(prof, 15) for name, prof in result["profiles"].items()}
    result["target"] = "FaceVAE default (channels-last) images/s >= VanillaVAE's"
    write_json(args.json, result, info)


if __name__ == "__main__":
    main()
