import json
import os
import pickle
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from vae.checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_training_state,
    read_header,
    remove_stale_temporaries,
    save_model,
)
from vae.classifier import ClassifierConfig, ExpressionClassifier
from vae.config import ModelConfig
from vae.conv_vae import build_model

CONFIG = ModelConfig(image_size=48, channels=1, widths=(8, 16, 32, 32), latent_dim=16)


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = build_model(CONFIG).eval()
    path = tmp_path / "model.safetensors"
    save_model(path, model, {"epochs": 3, "data": "synthetic"}, extras={"directions": torch.eye(16)[:4]})
    return model, path


def test_round_trip_restores_weights_config_metadata_and_extras(saved) -> None:
    model, path = saved
    loaded = load_checkpoint(path, expect=CONFIG)
    assert loaded.config == CONFIG
    assert loaded.metadata == {"epochs": 3, "data": "synthetic"}
    assert torch.equal(loaded.extras["directions"], torch.eye(16)[:4])
    x = torch.rand(2, 1, 48, 48)
    assert torch.equal(loaded.model.decode(model.encode(x)[0]), model.decode(model.encode(x)[0]))
    assert read_header(path)[0] == CONFIG


def test_half_precision_checkpoints_are_half_the_size_and_close(saved, tmp_path) -> None:
    model, path = saved
    half = tmp_path / "half.safetensors"
    save_model(half, model, half=True)
    assert half.stat().st_size < 0.6 * path.stat().st_size
    z = torch.randn(2, 16)
    assert torch.allclose(load_checkpoint(half).model.decode(z), model.decode(z), atol=2e-2)


def test_classifier_checkpoints_round_trip(tmp_path) -> None:
    classifier = ExpressionClassifier(ClassifierConfig()).eval()
    save_model(tmp_path / "c.safetensors", classifier, {"val_accuracy": 0.5})
    loaded = load_checkpoint(tmp_path / "c.safetensors").model
    x = torch.rand(2, 1, 48, 48)
    assert isinstance(loaded, ExpressionClassifier) and torch.equal(loaded(x), classifier(x))


def rewrite_header(path: Path, **changes: str | None) -> None:
    """Rewrite `path` with the same tensors and its header changed (a None value drops the key)."""
    with safe_open(str(path), framework="pt") as f:
        header, tensors = f.metadata(), {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118
    header = {k: v for k, v in {**header, **changes}.items() if v is not None}
    save_file(tensors, str(path), metadata=header)


def test_a_classifier_written_by_another_version_is_refused_by_name(tmp_path) -> None:
    path = tmp_path / "c.safetensors"
    save_model(path, ExpressionClassifier(ClassifierConfig()))
    rewrite_header(path, config=json.dumps({**ClassifierConfig().to_dict(), "attention": True}))
    message = r"c\.safetensors.*unknown classifier config fields \['attention'\]"
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)


def test_mismatched_architecture_is_refused_with_the_differences(saved) -> None:
    _, path = saved
    with pytest.raises(CheckpointError, match=r"latent_dim=16 \(expected 32\)"):
        load_checkpoint(path, expect=CONFIG.with_(latent_dim=32))


def test_a_safetensors_file_from_another_project_is_refused_as_such(tmp_path) -> None:
    """Weights without FaceVAE's header: no metadata at all, or that of another library ('pt')."""
    weights = {"encoder.weight": torch.randn(4, 4)}
    for name, metadata in (("bare", None), ("transformers", {"format": "pt"})):
        path = tmp_path / f"{name}.safetensors"
        save_file(weights, str(path), metadata=metadata)
        with pytest.raises(CheckpointError, match=rf"{name}\.safetensors: not a FaceVAE checkpoint"):
            load_checkpoint(path)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (None, "no model config in header"),
        ("{latent_dim: 16", "invalid model config in header .*Expecting property name"),
        ("[16, 32]", r"invalid model config in header \(expected a JSON object, got list\)"),
        (json.dumps({**CONFIG.to_dict(), "latent_dim": 0}), "latent_dim must be positive, got 0"),
        (json.dumps({**CONFIG.to_dict(), "widths": ["wide"]}), "invalid model config in header .*'wide'"),
        (json.dumps({**CONFIG.to_dict(), "kind": "gan"}), "kind must be one of"),
        (json.dumps({**CONFIG.to_dict(), "image_size": 40}), "image_size 40 must be divisible by 2\\*\\*4"),
    ],
)
def test_a_header_with_an_invalid_config_is_refused_with_the_reason(saved, config, message) -> None:
    _, path = saved
    rewrite_header(path, config=config)
    for read in (read_header, load_checkpoint):
        with pytest.raises(CheckpointError, match=rf"model\.safetensors: .*{message}"):
            read(path)


def test_a_header_with_invalid_metadata_is_refused(saved) -> None:
    _, path = saved
    rewrite_header(path, metadata='["epochs", 3]')
    with pytest.raises(CheckpointError, match=r"invalid metadata in header \(expected a JSON object"):
        load_checkpoint(path)


def test_weights_that_do_not_fit_the_stored_config_are_refused_with_what_differs(saved, tmp_path) -> None:
    """A header that describes another model than its weights: each kind of mismatch is named."""
    _, path = saved
    cases = [
        (
            CONFIG.with_(latent_dim=32),
            r"wrong shape: decoder\.project\.weight \[\d+, 16\] \(config: \[\d+, 32\]\)",
        ),
        (CONFIG.with_(kind="ae"), r"unexpected: to_logvar\.bias, to_logvar\.weight\)"),
    ]
    for config, message in cases:
        rewrite_header(path, config=json.dumps(config.to_dict()))
        with pytest.raises(
            CheckpointError, match=rf"model\.safetensors: weights do not fit the stored config \({message}"
        ):
            load_checkpoint(path)
    classifier = tmp_path / "classifier.safetensors"
    save_model(classifier, ExpressionClassifier(ClassifierConfig()))
    rewrite_header(classifier, config=json.dumps(CONFIG.to_dict()))
    with pytest.raises(
        CheckpointError, match=r"\(missing: decoder\..* \.\.\.; unexpected: features\..* \.\.\.\)"
    ):
        load_checkpoint(classifier)


def test_a_header_claiming_a_huge_model_is_refused_before_building_it(saved) -> None:
    """Checked on the meta device: a terabyte-sized model is refused without allocating it."""
    _, path = saved
    rewrite_header(path, config=json.dumps(CONFIG.with_(latent_dim=2**36).to_dict()))
    with pytest.raises(CheckpointError, match=r"wrong shape: .*\(config: \[68719476736"):
        load_checkpoint(path)


def test_missing_truncated_and_corrupt_files_name_the_file(saved, tmp_path) -> None:
    _, path = saved
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "absent.safetensors")
    data = path.read_bytes()
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"truncated\.safetensors"):
        load_checkpoint(truncated)
    flipped = bytearray(data)
    flipped[-100] ^= 0xFF
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(bytes(flipped))
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        load_checkpoint(corrupt)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match=r"garbage\.safetensors"):
        load_checkpoint(garbage)


class _Payload:
    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path(__import__('os').environ['PWNED']).write_text('ran')",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_a_malicious_pickle_is_refused_and_never_runs(tmp_path, monkeypatch) -> None:
    marker = tmp_path / "pwned"
    monkeypatch.setenv("PWNED", str(marker))
    evil = tmp_path / "train_state.pt"
    evil.write_bytes(pickle.dumps({"model": _Payload()}))
    with pytest.raises(CheckpointError, match="unreadable training state"):
        load_training_state(evil)
    with pytest.raises(CheckpointError):
        load_checkpoint(evil)
    assert not marker.exists(), "the pickle payload ran"


def test_saving_never_leaves_a_partial_file(saved, tmp_path, monkeypatch) -> None:
    model, path = saved
    before = path.read_bytes()

    def failing_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("vae.checkpoint.save_file", failing_save)
    with pytest.raises(OSError):
        save_model(path, model)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


# Saves a 3M-parameter model and a training state over and over; every tensor of version v holds v.
# Bytes reach the disk in 256 KB pieces with pauses, as on a slow disk, so most kills land mid-write.
WRITER = """
import io, sys, time, torch
import safetensors.torch
import vae.checkpoint
from vae.checkpoint import save_model, save_training_state
from vae.config import PRESETS
from vae.conv_vae import build_model

def slowly(data, filename):
    with open(filename, "wb") as f:
        for start in range(0, len(data), 2**18):
            f.write(data[start : start + 2**18])
            f.flush()
            time.sleep(0.002)

def save_file(tensors, filename, metadata=None):
    slowly(safetensors.torch.save(tensors, metadata=metadata), filename)

def save(obj, filename):
    buffer = io.BytesIO()
    torch_save(obj, buffer)
    slowly(buffer.getvalue(), filename)

torch_save, torch.save, vae.checkpoint.save_file = torch.save, save, save_file
folder, first = sys.argv[1], int(sys.argv[2])
model = build_model(PRESETS["cpu"])
for version in range(first, first + 1_000_000):
    with torch.no_grad():
        for value in model.state_dict().values():
            value.fill_(version)
    save_model(f"{folder}/model.safetensors", model, {"version": version})
    state = {"version": version, "weights": torch.full((1_000_000,), float(version))}
    save_training_state(f"{folder}/train_state.pt", state)
    print(version, flush=True)
"""


@pytest.mark.slow
def test_a_writer_killed_mid_save_leaves_the_old_or_the_new_file(tmp_path: Path) -> None:
    """SIGKILL at random moments of a save loop: both files always load whole (old or new version),
    and the next writer's first save removes the temporary files the killed one left."""
    repo = Path(__file__).resolve().parents[1]
    rng = random.Random(0)
    kills = mid_write = 0
    version = -1
    while kills < 4 or (not mid_write and kills < 8):
        with open(tmp_path / "stderr.txt", "w") as stderr:
            writer = subprocess.Popen(
                [sys.executable, "-c", WRITER, str(tmp_path), str(version + 1)],
                cwd=repo,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        first = writer.stdout.readline()  # one whole save done
        assert first, (tmp_path / "stderr.txt").read_text()
        left = [p.name for p in tmp_path.glob(".*.tmp") if f".{writer.pid}." not in p.name]
        assert left == [], "the killed writer's temporary files should be gone after a save"
        time.sleep(rng.uniform(0.0, 0.5))
        writer.kill()
        writer.wait()
        writer.stdout.close()
        kills += 1
        temporaries = list(tmp_path.glob(".*.tmp"))
        mid_write += bool(temporaries)
        assert len(temporaries) <= 2, temporaries  # at most the file being written, for each of the two

        checkpoint = load_checkpoint(tmp_path / "model.safetensors")  # checks the SHA-256 of every tensor
        saved = checkpoint.metadata["version"]
        assert saved >= int(first)
        assert all(torch.all(t == saved) for t in checkpoint.model.state_dict().values()), "mixed versions"
        state = load_training_state(tmp_path / "train_state.pt")
        assert state["version"] >= int(first) and torch.all(state["weights"] == state["version"])
        version = max(saved, state["version"])
    assert mid_write, f"none of {kills} kills caught a save in progress"


def test_only_temporary_files_of_dead_writers_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "model.safetensors"
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    dead = int(finished.stdout)
    mine = tmp_path / f".model.safetensors.{os.getpid()}.abc.tmp"
    theirs = tmp_path / f".model.safetensors.{dead}.abc.tmp"
    other = tmp_path / f".other.safetensors.{dead}.abc.tmp"
    for path in (mine, theirs, other):
        path.write_bytes(b"partial")
    assert remove_stale_temporaries(target) == [theirs]
    assert mine.exists() and other.exists() and not theirs.exists()
