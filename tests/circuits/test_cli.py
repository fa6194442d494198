"""The shared command-line dispatcher: one-line errors and Ctrl-C; outputs of a rerun."""
import json
import os
import subprocess
import sys

import pytest

from circuits import cli


def _cli(*args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if k != cli.TRACEBACK_ENV}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, env=env, timeout=120)


def test_bad_value_is_one_line_with_exit_2(tmp_path):
    r = _cli("homeostasis", "train", "--quick", "--mismatch-cv", "5", "--out", str(tmp_path / "t"))
    assert r.returncode == cli.EXIT_BAD_INPUT
    assert "error: mismatch_cv=5.0 is outside the allowed range [0, 3]" in r.stderr
    assert "Traceback" not in r.stderr
    r = _cli("homeostasis", "paradoxical", "--quick", "--dc-na", "-1", "--out", str(tmp_path / "p"))
    assert r.returncode == 2 and "--dc-na=-1.0 is outside the allowed range (0, 1000]" in r.stderr
    (tmp_path / "afile").write_text("")
    r = _cli("ebn", "train", "--quick", "--out", str(tmp_path / "afile" / "x"))
    assert r.returncode == 2 and "afile" in r.stderr and "Traceback" not in r.stderr
    r = _cli("homeostasis", "neurons", "--quick", "--seed", "-1", "--out", str(tmp_path / "n"))
    assert r.returncode == 2 and "--seed=-1 must be >= 0" in r.stderr
    # a bad value leaves the folder of a previous run alone
    prev = tmp_path / "prev"
    prev.mkdir()
    (prev / "metrics.json").write_text("{}")
    (prev / "photo.png").write_text("")
    r = _cli("homeostasis", "train", "--quick", "--mismatch-cv", "5", "--out", str(prev))
    assert r.returncode == 2 and sorted(f.name for f in prev.iterdir()) == ["metrics.json", "photo.png"]
    # the traceback on request
    r = _cli("ebn", "train", "--quick", "--neurons", "1", "--out", str(tmp_path / "e"),
             env_extra={cli.TRACEBACK_ENV: "1"})
    assert r.returncode == 1 and "Traceback" in r.stderr


def test_interrupt_is_one_line_with_exit_130(monkeypatch, capsys):
    def boom(args):
        raise KeyboardInterrupt
    monkeypatch.setattr(cli, "main", lambda *a, **k: boom(None))
    monkeypatch.delenv(cli.TRACEBACK_ENV, raising=False)
    assert cli.run("homeostasis", "", ()) == cli.EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert "interrupted" in err and "Traceback" not in err


def test_programs_calling_main_get_the_exception(tmp_path):
    from ebn.__main__ import main
    with pytest.raises(ValueError, match="n_neurons=1"):
        main(["train", "--quick", "--neurons", "1", "--out", str(tmp_path), "--quiet"])


def test_a_rerun_leaves_no_file_of_the_previous_run(tmp_path):
    from ebn.__main__ import main
    out = tmp_path / "et"
    assert main(["train", "--quick", "--iterations", "1", "--table", "2", "--out", str(out), "--quiet"]) in (0, 3)
    assert (out / "seed_table.json").exists()
    main(["train", "--quick", "--iterations", "1", "--neurons", "10", "--out", str(out), "--quiet"])
    assert not (out / "seed_table.json").exists() and not (out / "seed_table.md").exists()
    assert json.loads((out / "metrics.json").read_text())["config"]["n_neurons"] == 10
    (out / "notes.png").write_text("mine")  # a file the command did not write stays
    main(["train", "--quick", "--iterations", "1", "--out", str(out), "--quiet"])
    assert (out / "notes.png").read_text() == "mine"


def test_a_grid_coarser_than_every_weight_has_no_distance(tmp_path):
    """omega = 256 weight units rounds every recurrent weight (|w| <= ~100) to 0: the distance is null, not a crash."""
    from ebn.__main__ import main
    main(["train", "--quick", "--iterations", "1", "--granularity", "256", "--out", str(tmp_path), "--quiet"])
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["initial"]["distance"] is None and m["initial"]["scale"] == 0.0


def test_a_run_stopped_while_writing_leaves_no_metrics_json(tmp_path, monkeypatch):
    """metrics.json is removed when a command starts writing and written last: a stopped rerun
    cannot leave the old metrics beside the new data."""
    from ebn import plotting
    from ebn.__main__ import main
    out = tmp_path / "et"
    main(["train", "--quick", "--iterations", "1", "--table", "1", "--out", str(out), "--quiet"])
    assert (out / "metrics.json").exists() and (out / "seed_table.json").exists()

    def stop(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(plotting, "plot_learning_curves", stop)
    with pytest.raises(KeyboardInterrupt):
        main(["train", "--quick", "--iterations", "1", "--neurons", "10", "--out", str(out), "--quiet"])
    assert not (out / "metrics.json").exists() and not (out / "seed_table.json").exists()
    assert (out / "data.npz").exists()  # the new run's data, with no metrics claiming it finished
