"""The ``python -m ebn`` commands run end to end on short settings and reject bad arguments."""
import json

import pytest

from ebn.__main__ import build_parser, main


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for cmd in ("train", "granularity", "mismatch", "bench"):
        assert cmd in out


def test_train_writes_metrics_and_figures(tmp_path):
    rc = main(["train", "--out", str(tmp_path), "--iterations", "3", "--seed", "2", "--quiet"])
    assert rc == 0
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["seed"] == 2
    for key in ("initial", "learned"):
        assert set(m[key]) >= {"distance", "decoding_error", "rate_hz", "sparsity"}
    assert set(m["optimal"]) >= {"decoding_error", "rate_hz", "sparsity"}
    assert m["curves"]["iteration"] == [0, 1, 2, 3]
    assert m["learned"]["distance"] < m["initial"]["distance"]
    for f in ("fig1.png", "learning_curves.png", "data.npz"):
        assert (tmp_path / f).stat().st_size > 1000


def test_bad_arguments_raise_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="n_neurons"):
        main(["train", "--out", str(tmp_path), "--neurons", "0", "--quiet"])
    with pytest.raises(ValueError, match="granularity"):
        main(["train", "--out", str(tmp_path), "--granularity", "-1", "--quiet"])
    with pytest.raises(ValueError, match="seed"):
        main(["train", "--out", str(tmp_path), "--seed", "-3", "--quiet"])
    with pytest.raises(ValueError, match="granularity"):
        main(["granularity", "--out", str(tmp_path), "--omegas", "1,0", "--quiet"])
    with pytest.raises(SystemExit):
        build_parser().parse_args(["mismatch", "--cvs", "a,b"])


def test_options_given_with_quick_are_kept(tmp_path):
    rc = main(["train", "--out", str(tmp_path), "--quick", "--iterations", "2", "--quiet"])
    assert rc == 0
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["train_config"]["n_iterations"] == 2 and m["curves"]["iteration"] == [0, 1, 2]
    with pytest.raises(ValueError, match="--chips=0"):
        main(["mismatch", "--out", str(tmp_path), "--quick", "--chips", "0", "--quiet"])
