"""How fast the shipped models draw faces, and the demo's selfie swap from end to end.

    python -m bench.inference                 # threads 1 and every core; about 2 minutes on 2 cores
    python -m bench.inference --threads 2     # one thread count
    python -m bench.inference --quick         # seconds: a smoke test, not numbers

Times, as median and 95th percentile over repeated runs after warm-up, under torch.inference_mode:
decode one face and a batch of 64, encode one face (FER2013 multi-decoder, 48x48 grey, one
expression decoder; UTKFace VAE, 64x64 colour), a slider update in-process (the Explore tab's own
handler: offset, decode, to uint8, enlarge to the page's 256 px), and the selfie swap on skimage's
astronaut portrait through the demo's own handler (``demo.swap.SwapTab.swap``: read the photo file,
edit it, draw the strip of the face in every expression; timed where the expression models are in
checkpoints/, else the report says why not; ``python -m bench.swap`` times the edit itself, stage by
stage). Each model runs in torch's default (contiguous) layout and channels-last.

Decode against the compute limit: the decoder's FLOPs (``torch.utils.flop_counter``: its linear
layer and transposed convolutions) divided by this CPU's float32 matrix-multiply throughput
(best of repeated 2048x2048 sgemms at the same thread count) is the time decoding would take if
it ran at sgemm speed; "x limit" is how many times slower it actually is.
"""

from __future__ import annotations

import copy
import functools
import io
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from skimage import data as skimage_data

from bench.common import (
    REPO,
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
    warn_if_busy,
    write_json,
)
from vae.checkpoint import load_checkpoint
from vae.multi_decoder import MultiDecoderVAE

CHECKPOINTS = REPO / "checkpoints"
FER, UTK = "fer-multi", "utkface-vae"
DECODE_ONE_MS = 3.0  # the library's targets on a 2-core CPU
SWAP_MS = 250.0  # the demo's swap handler, reading the photo file and drawing the strip included
EXPRESSION = "happy"
DEMO_SWAP = "swap (demo handler, from file)"


def load_models() -> dict[str, torch.nn.Module]:
    return {key: load_checkpoint(CHECKPOINTS / f"{key}.safetensors").model for key in (FER, UTK)}


def channels_last(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``model`` with 4-D weights in channels-last layout (what oneDNN's fast kernels use)."""
    return copy.deepcopy(model).to(memory_format=torch.channels_last)


def decoder_call(model: torch.nn.Module, z: torch.Tensor) -> Callable[[], torch.Tensor]:
    """One expression decoder for a multi-decoder model, the decoder for a plain VAE."""
    if isinstance(model, MultiDecoderVAE):
        return lambda: model.decode(z, EXPRESSION)
    return lambda: model.decode(z)


def model_tasks(
    key: str, model: torch.nn.Module, layout: str, gflops: float, args: Any
) -> list[dict[str, Any]]:
    """decode 1, decode 64, encode 1 (and all 7 decoders for the multi model) for one model."""
    config = model.config
    generator = torch.Generator().manual_seed(0)
    z1 = torch.randn(1, config.latent_dim, generator=generator)
    z64 = torch.randn(64, config.latent_dim, generator=generator)
    x1 = torch.rand(1, config.channels, config.image_size, config.image_size, generator=generator) * 2 - 1
    if layout == "channels_last":
        x1 = x1.contiguous(memory_format=torch.channels_last)
    tasks: list[tuple[str, Callable[[], Any], int]] = [
        ("decode 1", decoder_call(model, z1), 1),
        ("decode 64", decoder_call(model, z64), 64),
        ("encode 1", lambda: model.encode(x1), 1),
    ]
    if isinstance(model, MultiDecoderVAE):
        tasks.append(("decode 1 face x 7 expressions", lambda: model.decode_all(z1), 7))
    rows = []
    for name, fn, batch in tasks:
        with torch.inference_mode():
            flops = count_flops(fn)
            stats = summarize(time_calls(fn, args.warmup, args.repeat, args.max_seconds))
        limit_ms = flops / (gflops * 1e9) * 1e3
        rows.append(
            {
                "task": name,
                "model": key,
                "layout": layout,
                "batch": batch,
                **stats,
                "gflop": flops / 1e9,
                "flop_limit_ms": limit_ms,
                "x_limit": stats["median_ms"] / limit_ms if limit_ms > 0 else math.nan,
                "faces_per_s": batch / stats["median_ms"] * 1e3,
            }
        )
    return rows


def demo_handlers(
    photo: bytes,
) -> tuple[dict[str, Callable[[], Any]], Callable[[], Any] | None, Callable[[], Any], str | None]:
    """The demo's own handlers, called in-process (the demo's models, loaded as app.py loads them):
    the Explore tab's slider update for each model, the /swap handler (None, and the reason, where
    the expression tab's models do not load), and an (untimed) setup that puts the photo into
    Gradio's upload folder before each swap, as an upload would (the handler reads and deletes it)."""
    from gradio.utils import get_upload_folder

    from demo.config import DemoConfig
    from demo.explore import ExploreTab
    from demo.models import load_models as load_demo_models
    from demo.swap import SwapTab

    config = DemoConfig()
    store = load_demo_models(config.checkpoint_dir)
    explore, swap = ExploreTab(store, config), SwapTab(store, config)
    sliders = [0.5] + [0.0] * (config.max_sliders - 1)
    slider = {
        key: functools.partial(explore.face, key, store.get(key).default_expression, None, *sliders)
        for key in (FER, UTK)
    }
    path = Path(get_upload_folder()) / "bench" / "astronaut.png"

    def upload() -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(photo)

    handler = (
        None
        if swap.problem
        else (lambda: swap.swap({"path": str(path)}, EXPRESSION, 1.0, "all", config.swap_strength))
    )
    return slider, handler, upload, swap.problem


def run(args: Any) -> dict[str, Any]:
    photo = skimage_data.astronaut()
    models = load_models()
    rows: list[dict[str, Any]] = []
    swaps: list[dict[str, Any]] = []
    ceilings: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        os.environ["GRADIO_TEMP_DIR"] = folder  # the demo handler's upload folder
        png = io.BytesIO()
        Image.fromarray(photo).save(png, format="png")
        sliders, handler, upload, problem = demo_handlers(png.getvalue())
        for threads in args.thread_counts:
            set_threads(threads)
            gflops = matmul_gflops(threads, args.matmul_size, args.matmul_seconds)
            ceilings[threads] = gflops
            print(f"threads {threads}: float32 matmul {gflops:.1f} GFLOP/s", flush=True)
            for key, model in models.items():
                for layout in ("contiguous", "channels_last"):
                    candidate = model if layout == "contiguous" else channels_last(model)
                    for row in model_tasks(key, candidate, layout, gflops, args):
                        rows.append({"threads": threads, **row})
                moved = summarize(time_calls(sliders[key], args.warmup, args.repeat, args.max_seconds))
                rows.append(
                    {
                        "threads": threads,
                        "task": "slider update (in-process)",
                        "model": key,
                        "layout": "contiguous",
                        "batch": 1,
                        **moved,
                    }
                )
            if handler is not None:
                times = time_calls(handler, args.swap_warmup, args.swap_repeat, args.max_seconds, upload)
                swaps.append({"threads": threads, "task": DEMO_SWAP, **summarize(times)})
    return {
        "rows": rows,
        "swaps": swaps,
        "matmul_gflops": ceilings,
        "skipped": {DEMO_SWAP: problem} if problem else {},
    }


def report(result: dict[str, Any]) -> None:
    rows, swaps = result["rows"], result["swaps"]
    print("\n## Inference (shipped checkpoints, torch.inference_mode)\n")
    headers = [
        "task",
        "model",
        "layout",
        "threads",
        "median ms",
        "p95 ms",
        "GFLOP",
        "limit ms",
        "x limit",
        "faces/s",
        "target",
    ]
    table = []
    for r in rows:
        target = ""
        if r["task"] == "decode 1" and r["model"] == FER:
            target = meets(r["median_ms"], DECODE_ONE_MS)
        table.append(
            [
                r["task"],
                r["model"],
                r["layout"],
                r["threads"],
                r["median_ms"],
                r["p95_ms"],
                r.get("gflop"),
                r.get("flop_limit_ms"),
                r.get("x_limit"),
                r.get("faces_per_s"),
                target,
            ]
        )
    for s in swaps:
        table.append(
            [
                s["task"],
                "the expression models",
                "contiguous",
                s["threads"],
                s["median_ms"],
                s["p95_ms"],
                None,
                None,
                None,
                None,
                meets(s["median_ms"], SWAP_MS),
            ]
        )
    print(markdown_table(headers, table))
    for task, reason in result["skipped"].items():
        print(f"\nnot timed: {task}: {reason}")
    print(
        "\nmatmul ceiling (float32 sgemm): "
        + ", ".join(f"{t} thread{'s' * (t > 1)} {g:.1f} GFLOP/s" for t, g in result["matmul_gflops"].items())
    )


def main(argv: list[str] | None = None) -> None:
    p = parser("inference", __doc__)
    p.add_argument("--threads", help="comma-separated thread counts (default: 1 and every core)")
    p.add_argument("--repeat", type=int, default=200, help="timed runs per model task")
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--swap-repeat", type=int, default=30, help="timed swaps")
    p.add_argument("--swap-warmup", type=int, default=3)
    p.add_argument("--max-seconds", type=float, default=10.0, help="cap on timed seconds per task")
    args = p.parse_args(argv)
    args.thread_counts = thread_counts(args.threads)
    args.matmul_size, args.matmul_seconds = 2048, 2.0
    if args.quick:
        args.repeat, args.warmup, args.swap_repeat, args.swap_warmup = 5, 1, 2, 1
        args.max_seconds, args.matmul_size, args.matmul_seconds = 1.0, 512, 0.1
        args.thread_counts = args.thread_counts if args.threads else [1]
    info = machine()
    print(describe(info), flush=True)
    warn_if_busy(info)
    result = run(args)
    report(result)
    result["targets"] = {"decode_one_ms": DECODE_ONE_MS, "swap_ms": SWAP_MS}
    write_json(args.json, result, info)


if __name__ == "__main__":
    main()
