"""The reproduction entry point: one cheap stage end to end, a failing stage reported."""
import json
import re
from pathlib import Path

import pytest

from circuits import reproduce


def _links(index: Path) -> list[str]:
    text = index.read_text()
    return [m for m in re.findall(r"(?:href|src)='([^']+)'", text) if not m.startswith("#")]


@pytest.mark.spice
def test_mismatch_stage_end_to_end(tmp_path):
    merged = reproduce.run(tmp_path, only=["mismatch"], quiet=True)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["stages"]["mismatch"]["status"] == "ok"
    assert metrics["stages"]["mismatch"]["metrics"]["nfet"]
    assert {c["stage"] for c in metrics["claims"]} == {"mismatch"}
    assert merged["failed_stages"] == []
    links = _links(tmp_path / "index.html")
    assert any(link.endswith("mismatch.png") for link in links)
    for link in links:
        assert (tmp_path / link).exists(), link


def test_failing_stage_is_reported_and_others_run(tmp_path, monkeypatch):
    bad = reproduce.Stage("broken", "a stage whose command does not exist", ("circuits", "no-such-command"),
                          ("circuits", "no-such-command"),
                          (reproduce.Claim("x", "y", "z", lambda m: m["x"], lambda v: True),))
    ok = reproduce.Stage("help", "a stage that writes no metrics", ("circuits", "--help"), ("circuits", "--help"))
    monkeypatch.setattr(reproduce, "STAGES", (bad, ok))
    merged = reproduce.run(tmp_path, quiet=True)
    assert merged["stages"]["broken"]["status"] == "failed"
    assert "exit status" in merged["stages"]["broken"]["error"]
    assert "help" in merged["stages"]  # the next stage still ran
    assert merged["claims"][0]["met"] is False
    index = (tmp_path / "index.html").read_text()
    assert "stage failed" in index
    for link in _links(tmp_path / "index.html"):
        assert (tmp_path / link).exists(), link


def test_unknown_stage_name():
    with pytest.raises(ValueError, match="unknown stage"):
        reproduce.run(Path("/nonexistent/unused"), only=["nope"], quiet=True)
