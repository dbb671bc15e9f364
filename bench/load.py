"""Load test: many clients at once making mixed requests to the demo, on loopback only.

    python -m bench.load                                # 20 clients x 100 requests, shipped checkpoints
    python -m bench.load --quick                        # 4 clients x 10 requests: a smoke test
    python -m bench.load --url http://127.0.0.1:7860/   # a demo already running on this machine

Without --url it starts the demo (``demo.build_demo`` on --checkpoints, default checkpoints/; what
app.py serves) in a subprocess on a free loopback port with its own Gradio cache folder, and stops
it afterwards. Each client (a thread with its own HTTP connection, bench.server.GradioApi) makes
--requests requests back to back, a seeded mix: half slider moves (/explore: the FER2013 model, 16
random slider values, a random expression), a quarter selfie swaps (/swap: upload skimage's
astronaut portrait under a name of its own, as different users' photos would be, and swap to a
random expression), a quarter galleries (/gallery: 16 faces, a random seed). A request's latency
runs from sending it until its image is downloaded, as the page does. The run is bounded in count
(clients x requests) and in time (--max-seconds: no request starts after it; --timeout: per
request). Prints a table per endpoint (requests, errors, median, p95 and max latency), writes it
with the settings and the machine as JSON (--json), and exits 1 if any request failed or was not
sent. The clients run in this process, on the same machine as the server, and compete with it for
the CPU.
"""

from __future__ import annotations

import ipaddress
import random
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from PIL import Image
from skimage import data as skimage_data

from bench.common import REPO, describe, machine, markdown_table, parser, summarize, warn_if_busy, write_json
from bench.server import SLIDER_RANGE, SLIDERS, SWAP_STRENGTH, ApiError, DemoServer, GradioApi

EXPRESSIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
MIX = (("explore", 2), ("swap", 1), ("gallery", 1))  # endpoint, weight


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def request(api: GradioApi, kind: str, rng: random.Random, photo: Path) -> None:
    """One request of the mix, with the download of its image; ApiError if the answer is wrong."""
    expression = rng.choice(EXPRESSIONS)
    if kind == "explore":
        sliders = [round(rng.uniform(-SLIDER_RANGE, SLIDER_RANGE), 2) for _ in range(SLIDERS)]
        outputs = api.call("explore", "fer-multi", expression, *sliders)
    elif kind == "swap":
        upload = api.upload(photo, name=f"selfie-{rng.getrandbits(64):016x}.jpg")
        outputs = api.call("swap", upload, expression, 1.0, "all", SWAP_STRENGTH)
        edited, strip, status, faces = outputs[:4]  # then null: the prepared photo stays on the server
        if edited is None or len(strip) != len(EXPRESSIONS) * (len(faces["choices"]) - 1):
            raise ApiError(f"/swap: no edited face, or not every expression of each ({status!r})")
    else:
        outputs = api.call("gallery", "fer-multi", expression, 16, 0.8, rng.randrange(2**31))
    if not api.fetch(outputs[0]):
        raise ApiError(f"/{kind}: empty image")


@dataclass
class Tally:
    seconds: dict[str, list[float]] = field(default_factory=lambda: {kind: [] for kind, _ in MIX})
    errors: dict[str, int] = field(default_factory=lambda: {kind: 0 for kind, _ in MIX})
    messages: list[str] = field(default_factory=list)
    not_sent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float, error: str | None) -> None:
        with self.lock:
            if error is None:
                self.seconds[kind].append(seconds)
            else:
                self.errors[kind] += 1
                if len(self.messages) < 20:
                    self.messages.append(error)


def client(
    url: str, index: int, settings: dict[str, Any], deadline: float, photo: Path, tally: Tally
) -> None:
    rng = random.Random(settings["seed"] * 1_000_003 + index)
    kinds, weights = zip(*MIX)
    with GradioApi(url, timeout=settings["timeout"]) as api:
        for done in range(settings["requests"]):
            if time.monotonic() > deadline:
                with tally.lock:
                    tally.not_sent += settings["requests"] - done
                return
            kind = rng.choices(kinds, weights)[0]
            start, error = time.perf_counter(), None
            try:
                request(api, kind, rng, photo)
            except Exception as exc:  # every failure is a result here, never a crash
                error = f"{type(exc).__name__}: {exc}"[:300]
            tally.add(kind, time.perf_counter() - start, error)


@contextmanager
def serve(checkpoints: Path, timeout: float = 180.0) -> Iterator[DemoServer]:
    """The demo in a subprocess on a free loopback port with a private Gradio cache."""
    with DemoServer(checkpoints=checkpoints) as server:
        server.wait_until_served(timeout)
        yield server


def run(
    url: str | None = None,
    checkpoints: Path = REPO / "checkpoints",
    clients: int = 20,
    requests: int = 100,
    max_seconds: float = 900.0,
    timeout: float = 120.0,
    seed: int = 0,
) -> dict[str, Any]:
    """The whole load test; the results (what --json writes, less the machine and the command)."""
    if url is not None and not is_loopback(url):
        raise ValueError(f"{url}: the load test only runs against this machine (loopback)")
    settings = {
        "clients": clients,
        "requests": requests,
        "max_seconds": max_seconds,
        "timeout": timeout,
        "seed": seed,
        "mix": dict(MIX),
        "url": url,
        "checkpoints": None if url else str(checkpoints),
    }
    with tempfile.TemporaryDirectory(prefix="facevae-load-photo-") as folder:
        photo = Path(folder) / "astronaut.jpg"
        Image.fromarray(skimage_data.astronaut()).save(photo, quality=90)
        with serve(checkpoints) if url is None else nullcontext() as server:
            target = url or server.url
            tally, start = Tally(), time.monotonic()
            threads = [
                threading.Thread(
                    target=client, args=(target, i, settings, start + max_seconds, photo, tally), daemon=True
                )
                for i in range(clients)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(max(0.0, start + max_seconds + timeout + 30 - time.monotonic()))
            wall = time.monotonic() - start
            if tally.messages and server is not None:  # the server's side of the errors, while it exists
                tally.messages.append(f"server log (last lines):\n{server.log_tail()}")
    endpoints = {kind: {**summarize(tally.seconds[kind]), "errors": tally.errors[kind]} for kind, _ in MIX}
    answered = [s for seconds in tally.seconds.values() for s in seconds]
    total = {
        **summarize(answered),
        "errors": sum(tally.errors.values()),
        "not_sent": tally.not_sent,
        "wall_s": wall,
        "answered_per_s": len(answered) / wall if wall > 0 else 0.0,
    }
    return {"settings": settings, "endpoints": endpoints, "total": total, "error_messages": tally.messages}


def table(result: dict[str, Any]) -> str:
    rows = [(f"/{kind}", row) for kind, row in result["endpoints"].items()] + [("all", result["total"])]
    return markdown_table(
        ["endpoint", "requests", "errors", "median ms", "p95 ms", "max ms"],
        [
            [name, row["n"] + row["errors"], row["errors"], row["median_ms"], row["p95_ms"], row["max_ms"]]
            for name, row in rows
        ],
    )


def main(argv: list[str] | None = None) -> int:
    p = parser("load", __doc__)
    p.add_argument("--url", help="a demo already running on this machine (default: start one)")
    p.add_argument("--checkpoints", type=Path, default=REPO / "checkpoints", help="the models to serve")
    p.add_argument("--clients", type=int, default=20, help="concurrent clients (default: %(default)s)")
    p.add_argument("--requests", type=int, default=100, help="requests per client (default: %(default)s)")
    p.add_argument("--max-seconds", type=float, default=900.0, help="no request starts after this")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per request")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.quick:
        args.clients, args.requests = 4, 10
    if args.clients < 1 or args.requests < 1:
        p.error("--clients and --requests must be at least 1")
    if args.url is not None and not is_loopback(args.url):
        p.error(f"{args.url}: the load test only runs against this machine (loopback)")
    info = machine()
    print(describe(info), flush=True)
    warn_if_busy(info)
    result = run(
        args.url, args.checkpoints, args.clients, args.requests, args.max_seconds, args.timeout, args.seed
    )
    total = result["total"]
    print(
        f"\n## {args.clients} clients x {args.requests} mixed requests: {total['n']} answered in "
        f"{total['wall_s']:.1f} s ({total['answered_per_s']:.1f}/s), {total['errors']} errors, "
        f"{total['not_sent']} not sent (time limit)\n"
    )
    print(table(result))
    for message in result["error_messages"][:5]:
        print("error:", message, file=sys.stderr)
    write_json(args.json, result, info)
    return 0 if total["errors"] == 0 and total["not_sent"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
