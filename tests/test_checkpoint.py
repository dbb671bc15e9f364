import pickle

import pytest
import torch

from vae.checkpoint import CheckpointError, load_checkpoint, load_training_state, read_header, save_model
from vae.classifier import ClassifierConfig, ExpressionClassifier
from vae.config import ModelConfig
from vae.models import build_model

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


def test_mismatched_architecture_is_refused_with_the_differences(saved) -> None:
    _, path = saved
    with pytest.raises(CheckpointError, match=r"latent_dim=16 \(expected 32\)"):
        load_checkpoint(path, expect=CONFIG.with_(latent_dim=32))


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
