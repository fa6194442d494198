"""Single-neuron dynamics against the analytical LIF solution, and the NumPy cross-check."""
import math

import numpy as np
import pytest

from ebn.config import EBNConfig, TrainConfig
from ebn.network import build_network, draw_chip, simulate
from ebn.reference import simulate_numpy
from ebn.training import _rng, make_signals


def _single_neuron(c_value, duration, **kw):
    cfg = EBNConfig(n_neurons=1, n_dims=1, **kw)
    net = build_network(cfg, np.random.default_rng(0))  # D = [[+-1]]
    sign = float(net.D[0, 0])
    c = np.full((int(round(duration / cfg.dt)), 1), c_value * sign)  # F c = c_value
    W = np.array([[-(1.0 + cfg.mu) / cfg.weight_unit_v]])  # optimal reset -(|D|^2 + mu)
    return cfg, net, simulate(net, W, c, record=True)


def test_first_spike_time_matches_lif_solution():
    # V(t) = I tau (1 - exp(-t/tau)) from rest 0 with constant drive I (V/s): first crossing of T
    I = 40.0
    cfg, net, res = _single_neuron(I, 0.2)
    T, tau = net.thresholds[0], cfg.tau_mem
    t_star = -tau * math.log(1 - T / (I * tau))
    assert res.spike_steps.size > 0
    t_first = (res.spike_steps[0] + 1) * cfg.dt  # V is evaluated at the end of a step
    assert abs(t_first - t_star) <= cfg.dt


def test_regular_firing_rate_matches_lif_solution():
    # after a spike V restarts at T - (1 + mu); the ISI solves V_reset -> T under drive I:
    # isi = tau ln((I tau - V_reset) / (I tau - T)); the step quantises each ISI up to one dt
    I = 60.0
    cfg, net, res = _single_neuron(I, 2.0)
    T, tau = net.thresholds[0], cfg.tau_mem
    v_reset = T - (1.0 + cfg.mu)
    isi = tau * math.log((I * tau - v_reset) / (I * tau - T))
    isis = np.diff(res.spike_steps) * cfg.dt
    assert isis.size > 10
    assert np.all(isis >= isi - cfg.dt) and np.all(isis <= isi + cfg.dt)


def test_subthreshold_neuron_never_spikes():
    # I tau < T: the asymptote stays below threshold
    cfg, net, res = _single_neuron(0.9 * 1.0 / 0.05, 1.0)
    assert res.counts[0] == 0


@pytest.mark.parametrize("tau_syn, spikes_per_step, cv", [(1e-3, None, 0.0), (1e-3, 1, 0.0), (0.0, None, 0.0),
                                                          (1e-3, None, 0.2), (0.0, 1, 0.2)])
def test_numba_kernel_equals_numpy_reference(tau_syn, spikes_per_step, cv):
    """Same spikes and weights; with cv > 0 on a mismatched chip (thresholds, leaks, feed-forward and
    per-synapse recurrent efficacies all differ from 1)."""
    cfg = EBNConfig(tau_syn=tau_syn, max_spikes_per_step=spikes_per_step)
    net = build_network(cfg, _rng(1, "decoder"), draw_chip(cfg, cv, 5) if cv else None)
    W0 = net.initial_weights(_rng(1, "init"))
    c = make_signals(cfg, TrainConfig(duration=0.3), _rng(1, "x"), 1).cs[0]
    Wa, Wb = W0.copy(), W0.copy()
    res = simulate(net, Wa, c, learn=True, record=True)
    counts, steps, ids = simulate_numpy(net, Wb, c, learn=True)
    assert res.counts.sum() > 10
    assert np.array_equal(res.counts, counts)
    assert np.array_equal(res.spike_steps, steps) and np.array_equal(res.spike_ids, ids)
    assert np.array_equal(Wa, Wb)
    assert res.n_updates > 0


def test_overflowing_spike_buffer_is_rerun_from_the_same_start(monkeypatch):
    """A recorded run whose spikes overflow the first buffer gives the same spikes, weights and state."""
    import ebn.network as network

    cfg = EBNConfig()
    net = build_network(cfg, _rng(1, "decoder"))
    W0 = net.initial_weights(_rng(1, "init"))
    c = make_signals(cfg, TrainConfig(duration=0.3), _rng(1, "x"), 1).cs[0]
    runs = []
    for guess, minimum in ((16, 1 << 16), (0, 1)):   # (0, 1): a one-spike buffer, certain to overflow
        monkeypatch.setattr(network, "_SPIKES_PER_STEP_GUESS", guess)
        monkeypatch.setattr(network, "_MIN_SPIKE_BUFFER", minimum)
        W = W0.copy()
        state = (np.zeros(cfg.n_neurons), np.zeros(cfg.n_neurons), np.zeros(cfg.n_neurons))
        res = simulate(net, W, c, learn=True, record=True, state=state)
        runs.append((res, W, state))
    (a, Wa, sa), (b, Wb, sb) = runs
    assert a.spike_steps.size > 1
    assert np.array_equal(a.spike_steps, b.spike_steps) and np.array_equal(a.spike_ids, b.spike_ids)
    assert np.array_equal(a.counts, b.counts) and np.array_equal(a.r, b.r) and a.n_updates == b.n_updates
    assert np.array_equal(Wa, Wb) and all(np.array_equal(x, y) for x, y in zip(sa, sb))


def test_one_spike_moves_each_potential_by_its_own_efficacy():
    """V_n jumps by u eff[n, k] W[n, k] when k spikes (instantaneous synapse): eff is per (post, pre)."""
    cfg = EBNConfig(n_neurons=2, n_dims=1, tau_syn=0.0, granularity=2.0)
    chip = draw_chip(cfg, 0.3, 7)
    assert abs(chip.rec[0, 1] - chip.rec[1, 0]) > 0.01   # asymmetric efficacies
    net = build_network(cfg, _rng(2, "decoder"), chip)
    W = np.array([[-200.0, 40.0], [60.0, -200.0]])
    T = 200
    c = np.zeros((T, 1))
    j = int(np.argmax(np.abs(net.F[:, 0])))   # drive hard enough that a neuron fires within T steps
    c[:, 0] = 3.0 * np.sign(net.F[j, 0]) * net.thresholds[j] / (abs(net.F[j, 0]) * cfg.tau_mem)
    v, i_f, r = np.zeros(2), np.zeros(2), np.zeros(2)
    res = simulate(net, W.copy(), c, record=True, state=(v, i_f, r))
    first = int(res.spike_steps[0])
    k = int(res.spike_ids[0])
    assert np.sum(res.spike_steps == first) == 1   # a single spike in that step
    # replay the first spike's step by hand: leak + drive up to it, then the jump of the other neuron
    other = 1 - k
    v2, i2, r2 = np.zeros(2), np.zeros(2), np.zeros(2)
    simulate(net, W.copy(), c[:first], state=(v2, i2, r2))
    a_m = np.exp(-cfg.dt / net.tau_mem)
    before = cfg.v_rest + (v2 - cfg.v_rest) * a_m + net.tau_mem * (1 - a_m) * (net.F @ c[first])
    v3, i3, r3 = v2.copy(), i2.copy(), r2.copy()
    simulate(net, W.copy(), c[first:first + 1], state=(v3, i3, r3))
    want = before[other] + cfg.weight_unit_v * chip.rec[other, k] * W[other, k]
    assert v3[other] == pytest.approx(want, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("v_rest", [0.0, 1.0, -0.5])
def test_threshold_is_measured_from_the_resting_potential(v_rest):
    """Same first spike time for any v_rest: the neuron relaxes to v_rest and spikes T above it
    (an absolute threshold made a neuron at v_rest = 1 fire with no input at all)."""
    I = 40.0
    cfg, net, res = _single_neuron(I, 0.2, v_rest=v_rest)
    T, tau = net.thresholds[0], cfg.tau_mem
    t_star = -tau * math.log(1 - T / (I * tau))
    assert abs((res.spike_steps[0] + 1) * cfg.dt - t_star) <= cfg.dt
    _, _, silent = _single_neuron(0.0, 1.0, v_rest=v_rest)
    assert silent.counts[0] == 0
