"""bench/load.py against the demo with tiny models: a short mixed run must answer every request."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import load

pytest_plugins = ["tests.test_demo_support"]


@pytest.mark.slow
def test_a_short_load_run_has_no_errors(tiny_checkpoints: Path, tmp_path: Path, capsys) -> None:
    report_path = tmp_path / "load.json"
    code = load.main(["--quick", "--checkpoints", str(tiny_checkpoints), "--json", str(report_path)])
    report = json.loads(report_path.read_text())
    assert code == 0, report["error_messages"]
    total = report["total"]
    assert total["n"] == 4 * 10 and total["errors"] == 0 and total["not_sent"] == 0
    assert set(report["endpoints"]) == {"explore", "swap", "gallery"}
    assert all(row["n"] > 0 for row in report["endpoints"].values()), "every kind of request was made"
    assert "| /swap |" in capsys.readouterr().out and report["machine"]["cores"] >= 1


def test_only_loopback_is_load_tested() -> None:
    assert load.is_loopback("http://127.0.0.1:7860/") and load.is_loopback("http://localhost:7860")
    assert not load.is_loopback("https://example.org/") and not load.is_loopback("http://10.0.0.1:7860")
    with pytest.raises(ValueError, match="loopback"):
        load.run(url="https://example.org/")
    with pytest.raises(SystemExit):
        load.main(["--url", "http://192.168.1.10:7860/"])
