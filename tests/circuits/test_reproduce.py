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
    """A stage that stops on a bad value fails with its traceback (stages run with EIBALANCE_TRACEBACK=1);
    it must not be read from a previous run's metrics.json, and its stderr is in the report and the log
    also without --quiet."""
    crash = reproduce.Stage("crash", "a command that stops on a bad value",
                            ("ebn", "train", "--quick", "--neurons", "1"), ("ebn", "train"),
                            (reproduce.Claim("x", "y", "z", lambda m: m["x"], lambda v: v == 1),))
    monkeypatch.setattr(reproduce, "STAGES", (crash,))
    (tmp_path / "crash").mkdir()
    (tmp_path / "crash" / "metrics.json").write_text('{"x": 1}')
    (tmp_path / "crash" / "old.png").write_bytes(b"")
    merged = reproduce.run(tmp_path, quiet=False)
    assert merged["stages"]["crash"]["status"] == "failed"
    assert merged["stages"]["crash"]["returncode"] == 1
    assert "n_neurons=1 is outside the allowed range" in merged["stages"]["crash"]["error"]
    log = (tmp_path / "crash" / "log.txt").read_text()
    assert "Traceback" in log and "n_neurons=1" in log
    assert merged["claims"][0]["met"] is False
    assert merged["stages"]["crash"]["figures"] == []
    assert merged["failed_stages"] == ["crash"]


def test_bad_seed_is_refused_before_any_stage(tmp_path):
    with pytest.raises(ValueError, match="--seed=-1 is outside"):
        reproduce.run(tmp_path / "r", seed=-1, quiet=True)
    with pytest.raises(ValueError, match="--seed=2147483647 is outside"):
        reproduce.run(tmp_path / "r", seed=2**31 - 1, quiet=True)
    assert not (tmp_path / "r").exists()


def _quick_stages(monkeypatch):
    a = reproduce.Stage("a", "first", ("circuits", "--help"), ("circuits", "--help"),
                        (reproduce.Claim("a ran", "", "", lambda m: 1, lambda v: True),))
    b = reproduce.Stage("b", "second", ("ebn", "--help"), ("ebn", "--help"))
    monkeypatch.setattr(reproduce, "STAGES", (a, b))


def test_only_keeps_the_other_stages_and_another_mode_is_refused(tmp_path, monkeypatch):
    _quick_stages(monkeypatch)
    calls = []
    real = reproduce._run_stage
    monkeypatch.setattr(reproduce, "_run_stage", lambda st, *a, **k: calls.append(st.name) or real(st, *a, **k))
    from circuits.__main__ import main
    assert main(["reproduce", "--out", str(tmp_path), "--quiet"]) == 1  # both stages write no metrics: failed
    first_a = json.loads((tmp_path / "metrics.json").read_text())["stages"]["a"]
    merged = reproduce.run(tmp_path, only=["b"], quiet=True)
    assert calls == ["a", "b", "b"]  # a was not rerun ...
    assert list(merged["stages"]) == ["a", "b"] and merged["stages"]["a"] == first_a  # ... and its result kept
    assert [c["claim"] for c in merged["claims"]] == ["a ran"]
    assert "second" in (tmp_path / "index.html").read_text() and "first" in (tmp_path / "index.html").read_text()
    before = (tmp_path / "metrics.json").read_text()
    for kw in ({"full": True}, {"seed": 2}):
        with pytest.raises(ValueError, match="choose another --out"):
            reproduce.run(tmp_path, only=["a"], quiet=True, **kw)
    assert (tmp_path / "metrics.json").read_text() == before  # nothing touched


def test_interrupted_stage_is_shown_as_interrupted(tmp_path, monkeypatch):
    _quick_stages(monkeypatch)

    def stop(stage, *a, **k):
        if stage.name == "b":
            raise KeyboardInterrupt
        return real(stage, *a, **k)
    real = reproduce._run_stage
    monkeypatch.setattr(reproduce, "_run_stage", stop)
    with pytest.raises(KeyboardInterrupt):
        reproduce.run(tmp_path, quiet=True)
    m = json.loads((tmp_path / "metrics.json").read_text())
    # a ran to its end (it writes no metrics.json, so it is a failed stage); b was stopped
    assert m["stages"]["a"]["status"] == "failed" and m["stages"]["b"]["status"] == "interrupted"
    assert m["failed_stages"] == ["a", "b"] and "no metrics.json" in m["stages"]["a"]["error"]
    assert "stage interrupted" in (tmp_path / "index.html").read_text()
    # the next run reruns it and keeps a
    monkeypatch.setattr(reproduce, "_run_stage", real)
    merged = reproduce.run(tmp_path, only=["b"], quiet=True)
    assert list(merged["stages"]) == ["a", "b"] and merged["stages"]["a"]["command"].endswith("--quiet")
    assert merged["stages"]["b"]["status"] == "failed" and "no metrics.json" in merged["stages"]["b"]["error"]


def _claim(stage, text_start):
    st = next(s for s in reproduce.STAGES if s.name == stage)
    return next(c for c in st.claims if c.text.startswith(text_start))


def test_phase_sequence_claim_merges_runs_split_by_slow_phases():
    c = _claim("plastic-exp1", "phase sequence")
    m = {"spice": {"phases": ["INC", "SL", "INC", "DEC", "SL", "INC"]}}
    assert c.measure(m) == "INC→DEC" and c.check(c.measure(m))
    m = {"spice": {"phases": ["SL", "DEC", "SL", "INC"]}}
    assert not c.check(c.measure(m))


def test_paradoxical_claims_need_recovery_and_use_the_per_trial_test():
    good = {"trials_analysed": 63, "stats": {
        k: {"log10_p_during_lt_before": -33.0, "log10_p_during_lt_after": -30.0, "p_after_vs_before": 0.7}
        for k in ("pv", "pyr")}, "stats_per_neuron": {}}
    st = next(s for s in reproduce.STAGES if s.name == "paradoxical")
    assert all(c.check(c.measure(good)) for c in st.claims)
    no_recovery = json.loads(json.dumps(good))
    no_recovery["stats"]["pv"]["p_after_vs_before"] = 1e-6
    no_recovery["stats"]["pv"]["log10_p_during_lt_after"] = -0.5
    assert sum(not c.check(c.measure(no_recovery)) for c in st.claims) == 2
    weak = json.loads(json.dumps(good))
    weak["stats"]["pyr"]["log10_p_during_lt_before"] = -19.0  # p < 1e-18 but not < 1e-20
    assert sum(not c.check(c.measure(weak)) for c in st.claims) == 1


def test_no_inhibitory_claims_read_the_paired_test():
    st = next(s for s in reproduce.STAGES if s.name == "no-inhibitory")
    m = {"paired_test": {"pyr": {"p": 0.074}, "pv": {"p": 0.027}}}
    assert [c.check(c.measure(m)) for c in st.claims] == [False, True]
    assert not any(c.check(c.measure({"paired_test": {"pyr": {"p": None}, "pv": {"p": None}}})) for c in st.claims)


def test_stage_log_keeps_each_line_as_it_last_showed(tmp_path):
    with open(tmp_path / "log.txt", "w") as fh:
        lines = reproduce._LogLines(fh)
        for chunk in ("train:  10%\rtrain:  5", "0%\rtrain: 100%\n", "Traceback (most\r\n", " recent call)\r\nValue",
                      "Error: bad"):
            lines.feed(chunk.encode())
        assert (tmp_path / "log.txt").read_text().endswith("Traceback (most\n recent call)\n")  # written as it came
        lines.close()
    assert (tmp_path / "log.txt").read_text() == "train: 100%\nTraceback (most\n recent call)\nValueError: bad\n"


def test_stage_log_decodes_a_character_split_between_reads(tmp_path):
    data = "bar |██| 5 µs\n".encode()
    cut = data.index("█".encode()) + 1  # inside the first block character
    with open(tmp_path / "log.txt", "w", encoding="utf-8") as fh:
        lines = reproduce._LogLines(fh)
        lines.feed(data[:cut])
        lines.feed(data[cut:])
        lines.close()
    assert (tmp_path / "log.txt").read_text(encoding="utf-8") == "bar |██| 5 µs\n"


def test_weight_correlation_claim_reads_undefined_without_enough_converged_runs():
    c = _claim("sweep", "smallest corr(w_ee, w_ei)")
    m = {"corr": {"0": {"wee_wei": [None, None], "n": 2}, "1": {"wee_wei": [0.9, 1e-4], "n": 5}}}
    assert c.measure(m) == "undefined on chip 0 (converged runs: 2)" and not c.check(c.measure(m))
    m["corr"]["0"]["wee_wei"] = [0.8, 0.01]
    assert c.measure(m) == 0.8 and c.check(0.8)
    m["corr"]["0"]["wee_wei"] = [0.3, 0.2]  # not significant on one chip: missed, with the reason
    assert c.measure(m) == "0.30 (largest p 0.2)" and not c.check(c.measure(m))


def test_ebn_claims_count_runaway_runs_and_compare_learned_with_initial_error():
    gran = {"median_by_omega": {"2": {"distance": 0.05, "runs": 3, "runaway_runs": 0},
                                "32": {"distance": 0.9, "runs": 3, "runaway_runs": 1}}}
    ratio = _claim("ebn-granularity", "distance at the coarsest omega / at the best omega (runs that did not run away)")
    assert ratio.measure(gran) == 0.9 / 0.05 and ratio.check(ratio.measure(gran))
    away = _claim("ebn-granularity", "learned networks that ran away (rate at the spike-per-step bound)")
    assert away.measure(gran) == "1 of 6" and not away.check("1 of 6")
    gran["median_by_omega"]["32"].update(distance=None, runaway_runs=3)  # every coarsest run ran away
    assert ratio.measure(gran) is None and not ratio.check(None)
    gran["median_by_omega"]["32"].update(distance=0.9, runaway_runs=0)
    assert away.measure(gran) == "0 of 6" and away.check("0 of 6")
    err = _claim("ebn-train", "learned decoding error / initial (10 ms readout)")
    m = {"initial": {"decoding_error": 0.256}, "learned": {"decoding_error": 0.425}}
    assert not err.check(err.measure(m))
    m["learned"]["decoding_error"] = 0.21
    assert err.check(err.measure(m))
    mm = _claim("ebn-mismatch", "learned networks that ran away (rate at the spike-per-step bound)")
    assert mm.measure({"summary": {"0": {"learned_runaway": 0, "n": 5}, "0.3": {"learned_runaway": 1, "n": 5}}}) \
        == "1 of 10"
