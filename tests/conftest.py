"""Shared fixtures: synthetic data in the real layouts, and the real data where it exists."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import torch

from tests.synthetic import write_fer_csv

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

# The suite runs on pytest-xdist's workers (pyproject.toml): the cores are shared between them.
WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
torch.set_num_threads(max(1, min(2, torch.get_num_threads()) // WORKERS))
TEMP_FOLDER = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    """Each xdist worker writes its temporary files (its demo's, its browser's) in a folder of its
    own: the tests that look for photos left on disk then see only their own worker's files."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        folder = tempfile.mkdtemp(prefix=f"facevae-tests-{worker}-")
        config.stash[TEMP_FOLDER] = folder
        os.environ["TMPDIR"] = tempfile.tempdir = folder


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(TEMP_FOLDER, None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def fer_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic fer2013.csv: 224 training, 56 public-test and 56 private-test faces."""
    return write_fer_csv(tmp_path_factory.mktemp("fer") / "fer2013.csv")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if SHARED_DATA.is_dir():
        return
    skip = pytest.mark.skip(reason=f"real face data not found at {SHARED_DATA} (see README: Data)")
    for item in items:
        if "real_data" in item.keywords:
            item.add_marker(skip)
