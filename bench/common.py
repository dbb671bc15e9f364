"""What every bench script shares: timing statistics, the machine, tables, JSON, targets.

Timings are wall-clock (``time.perf_counter``) and summarised as median and 95th percentile over
repeated runs after warm-up. Every JSON file carries the machine description and the exact command
line, so a number can always be traced to where and how it was measured.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "runs" / "bench"  # default JSON folder (runs/ is ignored by git)


# -- timing -------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize(seconds: Sequence[float]) -> dict[str, float]:
    """Median, p95, mean, min and max in milliseconds, and the number of runs."""
    ms = [s * 1e3 for s in seconds]
    return {
        "n": len(ms),
        "median_ms": statistics.median(ms) if ms else math.nan,
        "p95_ms": percentile(ms, 95),
        "mean_ms": statistics.fmean(ms) if ms else math.nan,
        "min_ms": min(ms, default=math.nan),
        "max_ms": max(ms, default=math.nan),
    }


def time_calls(
    fn: Callable[[], Any],
    warmup: int = 3,
    repeat: int = 50,
    max_seconds: float = math.inf,
    setup: Callable[[], Any] | None = None,
    min_runs: int = 5,
) -> list[float]:
    """Seconds per call of ``fn`` over ``repeat`` runs after ``warmup`` untimed ones.

    Stops early (after at least ``min_runs`` timed runs) once ``max_seconds`` of timed runs have
    passed, so a slow configuration costs a bounded time. ``setup`` runs untimed before every call.
    """
    for _ in range(warmup):
        if setup is not None:
            setup()
        fn()
    times: list[float] = []
    start = time.perf_counter()
    for _ in range(repeat):
        if setup is not None:
            setup()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) >= min_runs and time.perf_counter() - start > max_seconds:
            break
    return times


def set_threads(threads: int) -> None:
    """Intra-op threads for torch (and OpenCV, which the face detector uses)."""
    torch.set_num_threads(threads)
    try:
        import cv2

        cv2.setNumThreads(threads)
    except ImportError:  # pragma: no cover - opencv is a runtime dependency
        pass


def thread_counts(arg: str | None) -> list[int]:
    """``--threads 1,2`` -> [1, 2]; the default is 1 and every core, once each."""
    if arg:
        return [int(t) for t in arg.split(",") if t.strip()]
    return sorted({1, available_cores()})


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# -- compute ceiling ----------------------------------------------------------------------------


def matmul_gflops(threads: int, size: int = 2048, seconds: float = 2.0) -> float:
    """This CPU's float32 matrix-multiply throughput (GFLOP/s) at ``threads``: the best of repeated
    ``size``-square sgemms, a practical ceiling for what convolutions can reach."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        a, b = torch.randn(size, size), torch.randn(size, size)
        out = torch.empty(size, size)
        torch.mm(a, b, out=out)  # warm-up: page in, pick the kernel
        best, start = math.inf, time.perf_counter()
        while True:
            t0 = time.perf_counter()
            torch.mm(a, b, out=out)
            best = min(best, time.perf_counter() - t0)
            if time.perf_counter() - start > seconds:
                break
        return 2 * size**3 / best / 1e9
    finally:
        torch.set_num_threads(previous)


def count_flops(fn: Callable[[], Any]) -> int:
    """Floating-point operations of one call (multiply and add counted separately), as counted by
    ``torch.utils.flop_counter`` (matmuls and convolutions; elementwise work is not counted)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


# -- the machine --------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def machine() -> dict[str, Any]:
    """Where the numbers come from: CPU, cores, memory, software, threads, and how busy it was."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (math.nan,) * 3
    return {
        "cpu": cpu_model(),
        "cores": available_cores(),
        "logical_cpus": os.cpu_count(),
        "memory_gib": memory_gib(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "platform": platform.platform(),
        "load_average_1m": round(load[0], 2),
    }


def describe(info: dict[str, Any]) -> str:
    """One line for the top of a printed report."""
    return (
        f"{info['cpu']} ({info['cores']} cores, {info['memory_gib']} GiB, {info['cpu_capability']}), "
        f"torch {info['torch']}, python {info['python']}, load average {info['load_average_1m']}"
    )


def warn_if_busy(info: dict[str, Any]) -> None:
    """Timings taken beside other work are not this machine's numbers; say so loudly."""
    if info["load_average_1m"] > 0.5 * info["cores"]:
        print(
            f"warning: load average {info['load_average_1m']} on {info['cores']} cores: other work is "
            "running, timings will be slower and noisier than this machine can do",
            file=sys.stderr,
        )


# -- output -------------------------------------------------------------------------------------


def fmt(value: Any, digits: int = 3) -> str:
    """A table cell: floats to ``digits`` significant figures, None as n/a."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 10**digits else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(fmt(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def meets(value: float | None, limit: float, at_most: bool = True) -> str:
    """Target cell: 'yes (<= 3)' or 'NO (<= 3)'."""
    if value is None or math.isnan(value):
        return "n/a"
    ok = value <= limit if at_most else value >= limit
    return f"{'yes' if ok else 'NO'} ({'<=' if at_most else '>='} {fmt(float(limit))})"


def command_line() -> str:
    return "python -m " + " ".join(shlex.quote(a) for a in [_module_name(), *sys.argv[1:]])


def _module_name() -> str:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return spec.name if spec is not None else Path(sys.argv[0]).stem


def write_json(path: Path, payload: dict[str, Any], info: dict[str, Any]) -> Path:
    """``payload`` with the machine, the command and the time; NaN and infinity become null."""
    document = {
        "command": command_line(),
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": info,
        **payload,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_finite(document), indent=2) + "\n")
    print(f"\nwrote {path}")
    return path


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def parser(name: str, doc: str | None) -> argparse.ArgumentParser:
    """The options every script has: --quick, --json, --threads."""
    p = argparse.ArgumentParser(
        prog=f"python -m bench.{name}", description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="a few runs of everything (seconds): a smoke test")
    p.add_argument(
        "--json", type=Path, default=RESULTS / f"{name}.json", help="results file (default: %(default)s)"
    )
    return p


def profile_table(prof: Any, rows: int = 15, sort_by: str = "self_cpu_time_total") -> str:
    """torch.profiler's table of the ops that took the most time."""
    return prof.key_averages().table(sort_by=sort_by, row_limit=rows, max_name_column_width=40)


def top_ops(prof: Any, rows: int = 15) -> list[dict[str, Any]]:
    """The same as JSON: op name, calls, self and total CPU milliseconds."""
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    return [
        {
            "op": e.key,
            "calls": e.count,
            "self_cpu_ms": e.self_cpu_time_total / 1e3,
            "cpu_total_ms": e.cpu_time_total / 1e3,
        }
        for e in events[:rows]
    ]
