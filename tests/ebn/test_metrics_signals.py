"""Metrics (Brendel et al. 2020 distance, readout, rate, sparsity) and input signals."""
import numpy as np
import pytest

from ebn import metrics
from ebn.signals import gaussian_kernel, smoothed_noise


def _opt(n=10, seed=0):
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((2, n))
    D /= np.linalg.norm(D, axis=0)
    return -D.T @ D


def test_distance_is_zero_at_the_optimum_and_scale_invariant():
    C = _opt()
    assert metrics.weight_distance(C, C) == pytest.approx((0.0, 1.0), abs=1e-12)
    d, s = metrics.weight_distance(37.0 * C, C)
    assert d == pytest.approx(0.0, abs=1e-12) and s == pytest.approx(37.0)


def test_distance_ignores_the_diagonal_and_is_one_for_orthogonal_matrices():
    C = _opt()
    C2 = C.copy()
    np.fill_diagonal(C2, 123.0)
    assert metrics.weight_distance(C2, C)[0] == pytest.approx(0.0, abs=1e-12)
    # a matrix orthogonal to C off the diagonal has s = 0 and d = 1
    R = np.random.default_rng(1).standard_normal(C.shape)
    off = ~np.eye(C.shape[0], dtype=bool)
    r, c = R[off], C[off]
    R[off] = r - np.dot(r, c) / np.dot(c, c) * c
    d, s = metrics.weight_distance(R, C)
    assert s == pytest.approx(0.0, abs=1e-12) and d == pytest.approx(1.0)
    with pytest.raises(ValueError):
        metrics.weight_distance(np.zeros_like(C), C)


def test_readout_and_decoding_error():
    rng = np.random.default_rng(2)
    R = rng.standard_normal((500, 5))
    Wt = rng.standard_normal((5, 2))
    X = R @ Wt
    W = metrics.fit_readout([R[:250]], [X[:250]])
    assert metrics.decoding_error(W, [R[250:]], [X[250:]]) == pytest.approx(0.0, abs=1e-20)
    # a zero readout leaves the whole variance: error 1
    assert metrics.decoding_error(np.zeros((5, 2)), [R], [X]) == pytest.approx(1.0)


def test_rate_and_sparsity():
    assert metrics.mean_rate(np.array([10, 20, 0, 10]), 2.0) == pytest.approx(5.0)
    # 4 neurons, 1 s at 0.1 ms = 100 bins of 10 ms; neuron 0 fires in every bin, others never
    steps = np.arange(100) * 100
    assert metrics.sparsity(steps, np.zeros(100, int), 4, 10000, 1e-4) == pytest.approx(0.75)
    assert metrics.sparsity(np.array([], int), np.array([], int), 4, 10000, 1e-4) == 1.0


def test_gaussian_kernel_is_normalised_with_exact_derivative():
    g, dg = gaussian_kernel(30e-3, 1e-4)
    assert g.sum() == pytest.approx(1.0)
    assert np.argmax(g) == (g.size - 1) // 2
    num = np.gradient(g, 1e-4)
    assert np.max(np.abs(num - dg)) < 1e-3 * np.max(np.abs(dg))


def test_smoothed_noise_statistics():
    # 20 s with a 30 ms kernel: ~ 20 / (2 sqrt(pi) 0.03) ~ 190 independent samples per
    # component -> the sample std has a relative standard error of ~5 %; allow 4 sigma
    rng = np.random.default_rng(5)
    x, xd = smoothed_noise(rng, 200000, 2, 1e-4, 30e-3, 3.0)
    assert x.shape == (200000, 2) and xd.shape == x.shape
    assert np.all(np.abs(np.std(x, axis=0) / 3.0 - 1.0) < 0.2)
    # the derivative signal is the derivative of x (checked by finite differences)
    num = np.gradient(x, 1e-4, axis=0)
    assert np.max(np.abs(num[1:-1] - xd[1:-1])) < 1e-3 * np.std(xd)
    with pytest.raises(ValueError, match="sigma"):
        smoothed_noise(rng, 10, 2, 1e-4, 0.0, 1.0)


def test_filtered_spikes_match_the_kernel_readout_trace():
    from ebn.config import EBNConfig, TrainConfig
    from ebn.network import build_network, simulate
    from ebn.training import _rng, make_signals
    cfg = EBNConfig()
    net = build_network(cfg, _rng(0, "decoder"))
    c = make_signals(cfg, TrainConfig(duration=0.3), _rng(0, "x"), 1).cs[0]
    res = simulate(net, net.optimal_weights(), c, record=True)
    r = metrics.filtered_spikes(res.spike_steps, res.spike_ids, cfg.n_neurons, c.shape[0], cfg.dt,
                                cfg.tau_readout)
    assert res.counts.sum() > 5
    assert np.allclose(r, res.r, rtol=0, atol=1e-12)
