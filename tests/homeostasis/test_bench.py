"""The benchmark's metrics.json always has the keys the report reads, measured or null."""
import json

from homeostasis.__main__ import main


def test_bench_without_brian2_writes_null_peer_figures(tmp_path):
    rc = main(["bench", "--out", str(tmp_path), "--quick", "--no-brian2", "--no-dt", "--repeats", "1", "--quiet",
               "--seed", "3"])
    assert rc == 0
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["realtime_factor"] > 0 and m["jit_s"] >= 0 and set(m["rates_hz"]) == {"pyr", "pv"}
    assert m["brian2_realtime_factor"] is None and m["speedup_vs_brian2"] is None
    assert "skipped" in m["brian2_error"]
    assert m["config"]["chip_seed"] == 3 and m["config"]["net_seed"] == 3
