"""Peer cross-check: the chip model vs the same DPI equations integrated by Brian2 (rk4, 2x finer step here)."""
import numpy as np
import pytest

pytest.importorskip("brian2")

from homeostasis.peers import PeersConfig, fi_model_vs_peer, synapse_model_vs_peer  # noqa: E402

# numpy code generation: no C compiler or Cython build in the test suite; the synapse's pulses as the
# DPI equation's solution over each pulse (resolving 10 µs pulses in time takes minutes with numpy)
CFG = PeersConfig(peer_dt=5e-5, codegen_target="numpy", synapse_pulses="jump")


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


@pytest.mark.parametrize("which, factor", [("syn_gfac", 1.5), ("tau_syn", 1.5)])
def test_synapse_check_fails_for_a_wrong_model_synapse(monkeypatch, which, factor):
    """The peer derives its synapse from the bias codes: a model whose jump or tau is off by 50 %
    must miss the 5 % criterion (the peer had copied both from the model, so nothing could fail)."""
    from homeostasis.chip import DynapSE2Chip
    original = DynapSE2Chip.neuron_parameters

    def wrong(self):
        p = original(self)
        p[which] = p[which] * factor  # the model's run reads both (jump per pulse, decay per step)
        return p
    monkeypatch.setattr(DynapSE2Chip, "neuron_parameters", wrong)
    s = synapse_model_vs_peer(CFG)
    assert s["nrmse_i_syn"] > 0.05


def test_synapse_with_pulses_integrated_in_time_matches_the_model():
    """The reproduction's mode: the peer integrates each 10 µs pulse at 1 µs (a short run: numpy code
    generation takes ~0.1 ms per step)."""
    cfg = PeersConfig(peer_dt=5e-5, codegen_target="numpy", synapse_pulses="ode")
    s = synapse_model_vs_peer(cfg, duration_s=0.012, pulse_times_s=(0.0005, 0.0025, 0.0026, 0.0065))
    assert s["peer_t_pw_s"] == pytest.approx(1e-5) and s["nrmse_i_syn"] < 0.05 and s["nrmse_i_mem"] < 0.05
