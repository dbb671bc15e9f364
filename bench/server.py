"""The demo as users meet it: ``python app.py`` in a subprocess on a free loopback port, and a small
raw-HTTP client for its API. Shared by the bench scripts that load the running app.

    with DemoServer() as server:                 # starts app.py, shipped checkpoints
        seconds = server.wait_until_served()     # process start -> first /explore answered
        api = GradioApi(server.url)
        face, = api.call("explore", "fer-multi", "happy", *[0.0] * 16)
        png = api.fetch(face)                    # what a browser downloads next
        print(server.memory())                   # resident memory of the server process tree

The client speaks Gradio's queue API directly (``POST /gradio_api/call/<name>``, then the answer as
server-sent events from ``GET /gradio_api/call/<name>/<event id>``; files go up through ``POST
/gradio_api/upload``), one ``httpx`` connection per client, so what is timed is the server and the
network round trip rather than a client library: ``gradio_client`` would add its own start-up
(it downloads the API description) and a thread per call.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench.common import REPO
from demo.config import DemoConfig

API = "/gradio_api"
DEMO = DemoConfig()  # the settings the app starts with
SLIDERS = DEMO.max_sliders  # /explore takes model, expression and this many slider values
SWAP_STRENGTH = DEMO.swap_strength  # what /swap is asked for unless a user moves the slider
SLIDER_RANGE = DEMO.slider_range  # /explore takes slider values within -range..range


class ApiError(RuntimeError):
    """The server answered a call with an error (or not at all)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class GradioApi:
    """One client (one connection, one session) of a running Gradio app.

    Like a browser tab or a ``gradio_client.Client``, every call carries this client's session
    hash, so the server keeps one session per client (without one, each call would open a session
    of its own, which the server holds in memory for a while).
    """

    def __init__(self, url: str, timeout: float = 120.0) -> None:
        self.url = url.rstrip("/")
        self.http = httpx.Client(base_url=self.url, timeout=timeout)
        self.session_hash = uuid.uuid4().hex[:11]

    def __enter__(self) -> GradioApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def upload(self, path: str | Path, name: str | None = None) -> dict[str, Any]:
        """Send a file as the browser does (as ``name``); the payload a file input of the API takes."""
        with open(path, "rb") as file:
            response = self.http.post(f"{API}/upload", files={"files": (name or Path(path).name, file)})
        response.raise_for_status()
        return {"path": response.json()[0], "meta": {"_type": "gradio.FileData"}}

    def call(self, api_name: str, *data: Any) -> list[Any]:
        """Queue one call of a named endpoint and wait for its outputs; ApiError if it fails."""
        body = {"data": list(data), "session_hash": self.session_hash}
        response = self.http.post(f"{API}/call/{api_name}", json=body)
        if response.status_code != 200:
            raise ApiError(f"/{api_name}: HTTP {response.status_code} {response.text[:200]}")
        event_id = response.json()["event_id"]
        event = None
        with self.http.stream("GET", f"{API}/call/{api_name}/{event_id}") as stream:
            if stream.status_code != 200:
                raise ApiError(f"/{api_name}: HTTP {stream.status_code} while waiting for the result")
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    payload = json.loads(line.split(":", 1)[1])
                    if event == "error":
                        raise ApiError(f"/{api_name}: {payload}")
                    return payload
        raise ApiError(f"/{api_name}: the event stream ended without a result")

    def fetch(self, output: dict[str, Any]) -> bytes:
        """Download a file output (an image), as the page does to show it."""
        url = output.get("url") or f"{API}/file={output['path']}"
        response = self.http.get(url)
        response.raise_for_status()
        return response.content


# The demo of app.py on another checkpoint folder; port and address come from the environment.
SERVE_FOLDER = """
import sys
from pathlib import Path
from demo import DemoConfig, build_demo, launch
config = DemoConfig(checkpoint_dir=Path(sys.argv[1]))
launch(build_demo(config), config, quiet=True)
"""


class DemoServer:
    """``python app.py`` on a free loopback port, with its own Gradio cache folder and log file
    (or, given ``checkpoints``, the same demo serving the models in that folder).

    ``threads`` sets OMP_NUM_THREADS for the server (torch's thread count); None leaves torch's
    default, every core, as a user's ``python app.py`` has.
    """

    def __init__(
        self, threads: int | None = None, log: Path | None = None, checkpoints: Path | None = None
    ) -> None:
        self.threads = threads
        self.checkpoints = checkpoints
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._temp = tempfile.TemporaryDirectory(prefix="facevae-bench-")
        self.log = log or Path(self._temp.name) / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.started = 0.0

    def __enter__(self) -> DemoServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        env = {
            **os.environ,
            "GRADIO_SERVER_NAME": "127.0.0.1",
            "GRADIO_SERVER_PORT": str(self.port),
            "GRADIO_ANALYTICS_ENABLED": "False",
            "GRADIO_TEMP_DIR": str(Path(self._temp.name) / "gradio"),
            "PYTHONUNBUFFERED": "1",
        }
        if self.threads:
            env["OMP_NUM_THREADS"] = str(self.threads)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as log:
            self.started = time.perf_counter()
            self.process = subprocess.Popen(
                self.command(), cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
            )

    def command(self) -> list[str]:
        if self.checkpoints is None:
            return [sys.executable, "app.py"]
        return [sys.executable, "-c", SERVE_FOLDER, str(self.checkpoints.resolve())]

    def wait_until_served(self, timeout: float = 120.0) -> dict[str, float]:
        """Seconds from process start until the page is served and until the first /explore call
        is answered (a default slider face); RuntimeError with the log's end if it never is."""
        page = None
        with GradioApi(self.url, timeout=timeout) as api:
            while True:
                elapsed = time.perf_counter() - self.started
                if self.process is None or self.process.poll() is not None:
                    raise RuntimeError(f"app.py exited before serving; its log ends:\n{self.log_tail()}")
                if elapsed > timeout:
                    raise RuntimeError(f"app.py served nothing in {timeout:.0f} s; log:\n{self.log_tail()}")
                try:
                    if page is None:
                        api.http.get("/").raise_for_status()
                        page = time.perf_counter() - self.started
                    api.call("explore", "fer-multi", "neutral", *[0.0] * SLIDERS)
                    return {"page_s": page, "first_api_s": time.perf_counter() - self.started}
                except (httpx.TransportError, httpx.HTTPStatusError, ApiError):
                    time.sleep(0.02)

    def memory(self) -> dict[str, float]:
        """Resident memory (MiB) of the server and any children: now, and the peak so far."""
        pids = _process_tree(self.process.pid) if self.process else []
        status = [_status(pid) for pid in pids]
        return {
            "rss_mib": sum(s.get("VmRSS", 0) for s in status) / 1024,
            "peak_rss_mib": sum(s.get("VmHWM", 0) for s in status) / 1024,
            "processes": len(pids),
        }

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # Gradio closes cleanly on Ctrl-C
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._temp.cleanup()


def _status(pid: int) -> dict[str, int]:
    """The kB fields of /proc/PID/status (VmRSS, VmHWM, ...); empty where unreadable (not Linux)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    fields = {}
    for line in lines:
        name, _, value = line.partition(":")
        parts = value.split()
        if len(parts) == 2 and parts[1] == "kB":
            fields[name] = int(parts[0])
    return fields


def _process_tree(root: int) -> list[int]:
    """``root`` and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += children.get(pid, [])
    return tree


class FrameStream:
    """A streaming event of a running demo fed one frame at a time, as a webcam tab feeds it, except
    that each frame is sent once the last one is answered: `send` returns that frame's outputs.

    The first frame opens the event (``POST /gradio_api/call/<name>``, answers as server-sent events
    from ``GET .../<event id>``); later frames go to ``POST /gradio_api/stream/<event id>``, which is
    what the page's streaming webcam posts to.
    """

    def __init__(self, api: GradioApi, api_name: str) -> None:
        self.api = api
        self.api_name = api_name
        self.event_id: str | None = None
        self._answers: httpx.Response | None = None
        self._lines: Any = None

    def __enter__(self) -> FrameStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, *data: Any) -> list[Any]:
        body = {"data": list(data), "session_hash": self.api.session_hash}
        if self.event_id is None:
            response = self.api.http.post(f"{API}/call/{self.api_name}", json=body)
            if response.status_code != 200:
                raise ApiError(f"/{self.api_name}: HTTP {response.status_code} {response.text[:200]}")
            self.event_id = response.json()["event_id"]
            request = self.api.http.build_request("GET", f"{API}/call/{self.api_name}/{self.event_id}")
            self._answers = self.api.http.send(request, stream=True)
            self._lines = self._answers.iter_lines()
        else:
            response = self.api.http.post(f"{API}/stream/{self.event_id}", json=body)
            if response.status_code != 200:
                raise ApiError(f"/{self.api_name}: HTTP {response.status_code} for a frame")
        return self._next_answer()

    def _next_answer(self) -> list[Any]:
        event = None
        for line in self._lines:
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("generating", "complete", "error"):
                payload = json.loads(line.split(":", 1)[1])
                if event == "error":
                    raise ApiError(f"/{self.api_name}: {payload}")
                return payload
        raise ApiError(f"/{self.api_name}: the stream ended")

    def close(self) -> None:
        if self.event_id is not None:
            self.api.http.post(f"{API}/stream/{self.event_id}/close")
        if self._answers is not None:
            self._answers.close()
        self.event_id, self._answers = None, None
