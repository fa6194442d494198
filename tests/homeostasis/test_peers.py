"""Peer cross-check: the chip model vs the same DPI equations integrated by Brian2 (rk4, 10x finer step)."""
import numpy as np
import pytest

pytest.importorskip("brian2")

from homeostasis.peers import PeersConfig, fi_model_vs_peer, synapse_model_vs_peer  # noqa: E402

# numpy code generation: no C compiler or Cython build in the test suite
CFG = PeersConfig(peer_dt=5e-5, codegen_target="numpy")


def test_fi_matches_peer_within_10_percent():
    levels = {"pyr": [150e-12, 250e-12, 600e-12], "pv": [350e-12, 450e-12, 900e-12]}
    res = fi_model_vs_peer(levels, CFG, duration_s=0.4)
    for name, f in res.items():
        model, peer = np.asarray(f["model_hz"]), np.asarray(f["peer_hz"])
        assert np.all((peer >= 5) & (peer <= 100)), (name, peer)
        # criterion: rates within 10 % over 5-100 Hz
        assert np.all(np.abs(model - peer) <= 0.10 * peer), (name, model, peer)


def test_synapse_and_membrane_trajectories_match_peer():
    s = synapse_model_vs_peer(CFG)
    assert s["nrmse_i_syn"] < 0.05
    assert s["nrmse_i_mem"] < 0.05
