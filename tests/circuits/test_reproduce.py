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


def test_crashed_stage_fails_even_with_an_old_metrics_file(tmp_path, monkeypatch):
    """A command that raises exits 1; the stage must not be read from a previous run's metrics.json."""
    crash = reproduce.Stage("crash", "a command that raises on a bad seed", ("ebn", "train", "--quick"),
                            ("ebn", "train"),
                            (reproduce.Claim("x", "y", "z", lambda m: m["x"], lambda v: v == 1),))
    monkeypatch.setattr(reproduce, "STAGES", (crash,))
    (tmp_path / "crash").mkdir()
    (tmp_path / "crash" / "metrics.json").write_text('{"x": 1}')
    (tmp_path / "crash" / "old.png").write_bytes(b"")
    merged = reproduce.run(tmp_path, seed=-1, quiet=True)
    assert merged["stages"]["crash"]["status"] == "failed"
    assert merged["stages"]["crash"]["returncode"] == 1
    assert merged["claims"][0]["met"] is False
    assert merged["stages"]["crash"]["figures"] == []
    assert merged["failed_stages"] == ["crash"]
