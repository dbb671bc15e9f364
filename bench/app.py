"""The demo under use: cold start, memory, and API latency with 1 and 20 concurrent clients.

    python -m bench.app                  # about 2 minutes on 2 cores
    python -m bench.app --quick          # seconds: a smoke test, not numbers

Starts ``python app.py`` (the shipped checkpoints, Gradio's default settings, loopback only) as a
subprocess on a free port and measures, through its HTTP API (raw HTTP to Gradio's queue API, see
bench/server.py; no client library in the timings):

- cold start: process start until the page is served, and until the first /explore call is answered;
- resident memory of the server process after start-up (every checkpoint is loaded at start),
  after each scenario, and its peak over the whole run;
- a slider update (/explore: the FER2013 model's face with 16 slider values, each request different)
  and a selfie swap (/swap: upload skimage's astronaut portrait, swap to happy): the time from
  sending the request until its answer, plus downloading the result image as the page would; first
  one client making requests back to back, then 20 clients at once, each making a fixed number of
  requests (the run stops by itself), every error counted. Each client keeps one session, as a
  browser tab does.

With --checkpoints, the same demo serves the models of that folder instead (bench.server.DemoServer).
The clients run in this process, on the same machine as the server: on 2 cores they compete with
it for CPU, as the numbers show.
"""

from __future__ import annotations

import random
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image
from skimage import data as skimage_data

from bench.common import (
    describe,
    machine,
    markdown_table,
    meets,
    parser,
    summarize,
    warn_if_busy,
    write_json,
)
from bench.server import SLIDER_RANGE, SLIDERS, SWAP_STRENGTH, DemoServer, GradioApi

SLIDER_P95_MS = 60.0  # the demo's targets on a 2-core CPU
COLD_START_S = 10.0
RSS_MIB = 1024.0


def slider_request(api: GradioApi, rng: random.Random, fetch: bool) -> None:
    """One slider move on the FER2013 model: new slider values, the face back (and downloaded)."""
    values = [round(rng.uniform(-SLIDER_RANGE, SLIDER_RANGE), 2) for _ in range(SLIDERS)]
    (face,) = api.call("explore", "fer-multi", rng.choice(["happy", "sad", "neutral"]), *values)
    if fetch:
        api.fetch(face)


def swap_request(photo: Path) -> Callable[[GradioApi, random.Random, bool], None]:
    def request(api: GradioApi, rng: random.Random, fetch: bool) -> None:
        # The server deletes every upload once read, and Gradio files uploads by content hash and
        # name: each request uploads under its own name, as different users' photos would be.
        upload = api.upload(photo, name=f"selfie-{rng.getrandbits(64):016x}.png")
        outputs = api.call("swap", upload, "happy", 1.0, "all", SWAP_STRENGTH)
        edited, strip = outputs[0], outputs[1]  # the photo, its face in 7 expressions, status, faces
        if len(strip) != 7:
            raise RuntimeError(f"/swap returned {len(strip)} expression faces, expected 7")
        if fetch:
            api.fetch(edited)

    return request


def run_clients(
    url: str,
    request: Callable[[GradioApi, random.Random, bool], None],
    clients: int,
    per_client: int,
    fetch: bool,
    warmup: int = 0,
) -> dict[str, Any]:
    """``clients`` threads, each with its own connection, making ``per_client`` requests back to back.

    Latencies of successful requests; errors counted by kind. ``warmup`` untimed requests first.
    """
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    lock = threading.Lock()
    start_line = threading.Barrier(clients)

    def client(index: int) -> None:
        rng = random.Random(index)
        with GradioApi(url) as api:
            for _ in range(warmup):
                try:
                    request(api, rng, fetch)
                except Exception as error:
                    with lock:
                        errors["warm-up " + type(error).__name__ + ": " + str(error)[:120]] += 1
            start_line.wait(timeout=600)
            for _ in range(per_client):
                t0 = time.perf_counter()
                try:
                    request(api, rng, fetch)
                except Exception as error:  # every failure is a result here, never a crash
                    with lock:
                        errors[type(error).__name__ + ": " + str(error)[:120]] += 1
                    continue
                with lock:
                    latencies.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {
        "clients": clients,
        "requests": clients * per_client,
        "ok": len(latencies),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "wall_s": wall,
        "throughput_per_s": len(latencies) / wall if wall > 0 else 0.0,
        **summarize(latencies),
    }


def serving(checkpoints: Path | None) -> str:
    return "python app.py, shipped checkpoints" if checkpoints is None else f"the demo on {checkpoints}"


def run(args: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        photo = Path(folder) / "astronaut.png"
        Image.fromarray(skimage_data.astronaut()).save(photo)
        swap = swap_request(photo)
        with DemoServer(threads=args.server_threads, log=args.log, checkpoints=args.checkpoints) as server:
            print(f"starting {serving(args.checkpoints)} on {server.url} ...", flush=True)
            start = server.wait_until_served()
            memory_started = server.memory()
            print(
                f"served after {start['first_api_s']:.2f} s; {memory_started['rss_mib']:.0f} MiB", flush=True
            )
            scenarios = {}
            plan = [
                ("slider", "explore", slider_request, 1, args.slider_requests),
                ("swap", "swap", swap, 1, args.swap_requests),
                ("slider", "explore", slider_request, args.clients, args.per_client),
                ("swap", "swap", swap, args.clients, args.swap_per_client),
            ]
            for name, endpoint, request, clients, count in plan:
                key = f"{name}_{clients}_client{'s' * (clients > 1)}"
                print(f"{key}: {clients} x {count} requests to /{endpoint} ...", flush=True)
                result = run_clients(server.url, request, clients, count, args.fetch, warmup=args.warmup)
                scenarios[key] = {
                    "endpoint": f"/{endpoint}",
                    **result,
                    "rss_mib_after": server.memory()["rss_mib"],
                }
                if result["errors"]:
                    print(f"  errors: {result['error_kinds']}", flush=True)
            memory_end = server.memory()
            log_tail = server.log_tail(5)
    return {
        "cold_start": start,
        "memory_after_start": memory_started,
        "memory_end": memory_end,
        "scenarios": scenarios,
        "served": serving(args.checkpoints),
        "server_threads": args.server_threads,
        "fetch_outputs": args.fetch,
        "server_log_tail": log_tail,
    }


def report(result: dict[str, Any]) -> None:
    start, scenarios = result["cold_start"], result["scenarios"]
    print(f"\n## The demo over HTTP ({result['served']}, on loopback)\n")
    rows = [
        ["cold start: page served", f"{start['page_s']:.2f} s", ""],
        [
            "cold start: first /explore answered",
            f"{start['first_api_s']:.2f} s",
            meets(start["first_api_s"], COLD_START_S),
        ],
        [
            "resident memory after start (all models loaded)",
            f"{result['memory_after_start']['rss_mib']:.0f} MiB",
            meets(result["memory_after_start"]["rss_mib"], RSS_MIB),
        ],
        [
            "peak resident memory over the run",
            f"{result['memory_end']['peak_rss_mib']:.0f} MiB",
            meets(result["memory_end"]["peak_rss_mib"], RSS_MIB),
        ],
    ]
    print(markdown_table(["measure", "value", "target"], rows))
    print()
    headers = [
        "scenario",
        "endpoint",
        "clients",
        "requests",
        "errors",
        "median ms",
        "p95 ms",
        "max ms",
        "requests/s",
        "memory after, MiB",
        "target",
    ]
    table = []
    for key, s in scenarios.items():
        if key == "slider_1_client":
            target = meets(s["p95_ms"], SLIDER_P95_MS)
        elif s["clients"] > 1:
            target = "yes (no errors)" if s["errors"] == 0 else "NO (errors)"
        else:
            target = ""
        table.append(
            [
                key,
                s["endpoint"],
                s["clients"],
                s["requests"],
                s["errors"],
                s["median_ms"],
                s["p95_ms"],
                s["max_ms"],
                s["throughput_per_s"],
                round(s["rss_mib_after"]),
                target,
            ]
        )
    print(markdown_table(headers, table))
    fetched = "including" if result["fetch_outputs"] else "not including"
    print(
        f"\nLatency: request sent until the answer arrived, {fetched} downloading the result image; "
        "a swap includes uploading the photo."
    )


def main(argv: list[str] | None = None) -> None:
    p = parser("app", __doc__)
    p.add_argument("--clients", type=int, default=20, help="concurrent clients (default: %(default)s)")
    p.add_argument("--per-client", type=int, default=20, help="slider requests per concurrent client")
    p.add_argument("--swap-per-client", type=int, default=10, help="swaps per concurrent client")
    p.add_argument("--slider-requests", type=int, default=200, help="slider requests of the single client")
    p.add_argument("--swap-requests", type=int, default=30, help="swaps of the single client")
    p.add_argument("--warmup", type=int, default=2, help="untimed requests per client first")
    p.add_argument("--server-threads", type=int, help="OMP_NUM_THREADS of the server (default: torch's)")
    p.add_argument("--no-fetch", dest="fetch", action="store_false", help="do not download result images")
    p.add_argument("--log", type=Path, help="keep the server's log here")
    p.add_argument(
        "--checkpoints", type=Path, help="serve the models of this folder (default: python app.py)"
    )
    args = p.parse_args(argv)
    if args.quick:
        args.clients, args.per_client, args.swap_per_client = 3, 2, 1
        args.slider_requests, args.swap_requests, args.warmup = 5, 2, 1
    info = machine()
    print(describe(info), flush=True)
    warn_if_busy(info)
    result = run(args)
    report(result)
    result["targets"] = {
        "slider_p95_ms_one_client": SLIDER_P95_MS,
        "cold_start_s": COLD_START_S,
        "rss_mib": RSS_MIB,
        "errors_with_20_clients": 0,
    }
    write_json(args.json, result, info)


if __name__ == "__main__":
    main()
