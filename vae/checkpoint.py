"""Checkpoints that are safe to load and say what they hold.

A model file is one safetensors file: the weights (optionally half precision), any extra tensors
(slider directions, say), and in its header the model config, free-form metadata and a SHA-256 of
the tensors. Loading never unpickles anything, rebuilds the model from the stored config, and turns
every way a file can be wrong into one CheckpointError that names the file and the problem.
Training state for resuming (optimiser, RNG) is a separate torch file read with weights_only=True.
Every write goes to a temporary file that is renamed into place, so a crash never leaves half a file.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from vae.classifier import ClassifierConfig, ExpressionClassifier
from vae.config import ModelConfig
from vae.conv_vae import build_model
from vae.shape_model import ShapeConfig, ShapeVAE

FORMAT = "facevae/1"
MODEL_PREFIX = "model."
EXTRA_PREFIX = "extra."


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, corrupt, or not the model that was asked for."""


AnyConfig = ModelConfig | ClassifierConfig | ShapeConfig


@dataclass
class Checkpoint:
    model: nn.Module  # a ConvVAE (or subclass), an ExpressionClassifier or a ShapeVAE, in eval mode
    metadata: dict[str, Any]
    extras: dict[str, torch.Tensor] = field(default_factory=dict)
    path: Path | None = None

    @property
    def config(self) -> AnyConfig:
        return self.model.config


def config_from_dict(data: dict[str, Any]) -> AnyConfig:
    if data.get("kind") == "classifier":
        return ClassifierConfig.from_dict(data)
    if data.get("kind") == "shape":
        return ShapeConfig.from_dict(data)
    return ModelConfig.from_dict(data)


def build(config: AnyConfig) -> nn.Module:
    if isinstance(config, ClassifierConfig):
        return ExpressionClassifier(config)
    if isinstance(config, ShapeConfig):
        return ShapeVAE(config)
    return build_model(config)


def atomic_write(path: str | Path, write: Callable[[str], None]) -> None:
    """Write through a temporary file in the same folder, then rename it over `path`.

    Readers see the old file or the new one, never part of one, even if the process is killed
    (SIGKILL, power loss) mid-write. A kill leaves its temporary file behind (``.NAME.PID.*.tmp``);
    the next successful write removes those of writers that are no longer running.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes files private; a checkpoint is meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)  # the rename itself survives a power cut
    remove_stale_temporaries(path)


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Delete temporary files that killed writers of `path` left; those of live processes stay.

    Writers are told apart by the process id in the name, so this assumes they run on this machine
    (a folder shared with writers on other machines is not supported)."""
    if os.name != "posix":  # no cheap, safe liveness check elsewhere: leave them
        return []
    removed = []
    prefix = f".{path.name}."
    for tmp in path.parent.glob(f"{glob.escape(prefix)}*.tmp"):
        pid = tmp.name[len(prefix) :].split(".", 1)[0]
        if pid.isdigit() and not _running(int(pid)):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    return True


def _fsync_folder(folder: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot sync a folder; the rename is still atomic
        pass
    finally:
        os.close(fd)


def _digest(tensors: dict[str, torch.Tensor]) -> str:
    sha = hashlib.sha256()
    for name in sorted(tensors):
        sha.update(name.encode())
        sha.update(tensors[name].contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return sha.hexdigest()


def save_model(
    path: str | Path,
    model: nn.Module,
    metadata: dict[str, Any] | None = None,
    extras: dict[str, torch.Tensor] | None = None,
    half: bool = False,
) -> None:
    """Save weights, config and metadata; `half` stores floating weights as float16 (half the size)."""
    tensors = {}
    for name, value in model.state_dict().items():
        value = value.detach().cpu()
        if half and value.is_floating_point():
            value = value.half()
        tensors[MODEL_PREFIX + name] = value.contiguous()
    for name, value in (extras or {}).items():
        tensors[EXTRA_PREFIX + name] = value.detach().cpu().contiguous()
    header = {
        "format": FORMAT,
        "config": json.dumps(model.config.to_dict()),
        "metadata": json.dumps(metadata or {}),
        "sha256": _digest(tensors),
    }
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=header))


def read_header(path: str | Path) -> tuple[AnyConfig, dict[str, Any]]:
    """Config and metadata of a checkpoint, without reading its weights."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
    except Exception as exc:  # safetensors raises several types for a damaged header
        raise CheckpointError(f"{path}: not a readable safetensors checkpoint ({exc})") from exc
    if header.get("format") != FORMAT:
        raise CheckpointError(
            f"{path}: not a FaceVAE checkpoint (header format {header.get('format')!r}, want {FORMAT!r}); "
            "safetensors files of other projects hold no config to rebuild a FaceVAE model from"
        )
    if "config" not in header:
        raise CheckpointError(f"{path}: no model config in header")
    try:
        config = config_from_dict(_json_object(header["config"]))
    except (ValueError, TypeError) as exc:  # ConfigError and JSONDecodeError are ValueErrors
        raise CheckpointError(f"{path}: invalid model config in header ({exc})") from exc
    try:
        metadata = _json_object(header.get("metadata", "{}"))
    except ValueError as exc:
        raise CheckpointError(f"{path}: invalid metadata in header ({exc})") from exc
    return config, metadata


def _json_object(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object, got {type(value).__name__}")
    return value


def config_differences(found: AnyConfig, expected: AnyConfig) -> list[str]:
    a, b = found.to_dict(), expected.to_dict()
    return [
        f"{k}={a.get(k)!r} (expected {b.get(k)!r})" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)
    ]


def load_checkpoint(
    path: str | Path, expect: AnyConfig | None = None, device: str | torch.device = "cpu"
) -> Checkpoint:
    """Rebuild the model a file describes; with `expect`, refuse a file of another architecture."""
    path = Path(path)
    config, metadata = read_header(path)
    if expect is not None and config != expect:
        raise CheckpointError(
            f"{path}: holds a different model: {', '.join(config_differences(config, expect))}"
        )
    try:
        with safe_open(str(path), framework="pt") as f:
            tensors = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118 (not a dict)
            stored_digest = (f.metadata() or {}).get("sha256")
    except Exception as exc:
        raise CheckpointError(f"{path}: corrupt or truncated tensor data ({exc})") from exc
    if stored_digest != _digest(tensors):
        raise CheckpointError(f"{path}: checksum mismatch, the file is corrupt")

    state = {k[len(MODEL_PREFIX) :]: v for k, v in tensors.items() if k.startswith(MODEL_PREFIX)}
    _check_weights_fit(path, config, state)
    model = build(config)
    own = model.state_dict()
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()})
    model.to(device).eval()
    extras = {k[len(EXTRA_PREFIX) :]: v.float() for k, v in tensors.items() if k.startswith(EXTRA_PREFIX)}
    return Checkpoint(model=model, metadata=metadata, extras=extras, path=path)


def _check_weights_fit(path: Path, config: AnyConfig, state: dict[str, torch.Tensor]) -> None:
    """Refuse weights that are not those of the model `config` describes.

    The model is built on the meta device, which allocates nothing, so a header that claims a huge
    model beside small weights is refused before any memory is spent on it.
    """
    with torch.device("meta"):
        own = build(config).state_dict()
    found = {
        "missing": sorted(set(own) - set(state)),
        "unexpected": sorted(set(state) - set(own)),
        "wrong shape": sorted(
            f"{k} {list(state[k].shape)} (config: {list(own[k].shape)})"
            for k in set(own) & set(state)
            if own[k].shape != state[k].shape
        ),
    }
    problems = [
        f"{what}: {', '.join(names[:3])}{' ...' * (len(names) > 3)}" for what, names in found.items() if names
    ]
    if problems:
        raise CheckpointError(f"{path}: weights do not fit the stored config ({'; '.join(problems)})")


def save_training_state(path: str | Path, state: dict[str, Any]) -> None:
    """Everything a resumed run needs; tensors, numbers and strings only, so weights_only loads it."""
    atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_training_state(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no training state to resume from")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a pickle with code in it lands here too: it is refused, never run
        raise CheckpointError(f"{path}: unreadable training state ({exc.__class__.__name__}: {exc})") from exc
