"""The package's JSON writer: no NaN ever reaches a file, NumPy types become plain JSON."""
import json
import math
import os

import numpy as np
import pytest

from circuits.jsonio import dumps, jsonable, write_json


def _strict(text):
    def no_constant(name):
        raise ValueError(f"{name} in JSON")
    return json.loads(text, parse_constant=no_constant)


def test_non_finite_becomes_null_and_numpy_becomes_plain(tmp_path):
    obj = {"nan": float("nan"), "inf": np.float64(np.inf), "arr": np.array([1.0, np.nan]), 3: (np.int64(2), np.bool_(True)),
           "nested": [{"x": -math.inf}]}
    write_json(tmp_path / "m.json", obj)
    back = _strict((tmp_path / "m.json").read_text())
    assert back == {"nan": None, "inf": None, "arr": [1.0, None], "3": [2, True], "nested": [{"x": None}]}
    assert not list(tmp_path.glob(".*tmp"))  # the temporary file is gone
    mask = os.umask(0)
    os.umask(mask)
    assert os.stat(tmp_path / "m.json").st_mode & 0o777 == 0o666 & ~mask  # readable like any other file
    assert jsonable(np.float32(0.5)) == 0.5
    with pytest.raises(TypeError):
        dumps({"x": object()})


def test_plastic_synapse_metrics_are_strict_json(tmp_path):
    """A run too short to settle has no settling time: null, not NaN."""
    from circuits.__main__ import main

    main(["plastic-synapse", "--out", str(tmp_path), "--no-spice", "--duration", "0.02", "--quiet"])
    m = _strict((tmp_path / "metrics.json").read_text())
    assert m["model"]["settle_time_s"] is None
