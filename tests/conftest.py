"""Shared fixtures: synthetic data in the real layouts, and the real data where it exists."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.synthetic import write_fer_csv

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

torch.set_num_threads(min(2, torch.get_num_threads()))


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
