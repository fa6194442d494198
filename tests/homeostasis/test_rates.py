"""In-burst rate, pairwise correlation and CV^2 on hand-made spike trains."""
import numpy as np
import pytest

from homeostasis.rates import (cv2_isi, in_burst_rate, mean_pairwise_correlation,
                               pairwise_correlations, window_rate, binned_counts)


def test_in_burst_rate_hand_made():
    pop = np.arange(10)
    # spikes before 60 ms ignored; 20 spikes in [0.06, 0.56] -> window 0.5 s
    t = np.concatenate([np.full(5, 0.01), np.linspace(0.1, 0.56, 20)])
    n = np.concatenate([np.arange(5), np.arange(20) % 10])
    assert in_burst_rate(n, t, pop) == pytest.approx(20 / (10 * 0.5))
    # spikes of another population do not count and do not extend the window
    n2 = np.concatenate([n, [50, 51]])
    t2 = np.concatenate([t, [0.9, 0.95]])
    assert in_burst_rate(n2, t2, pop) == pytest.approx(20 / (10 * 0.5))
    # whole-trial activity: window reaches the last spike
    t3 = np.linspace(0.06, 1.0, 101)[1:]
    assert in_burst_rate(np.zeros(100, int), t3, [0]) == pytest.approx(100 / 0.94)
    # silence
    assert in_burst_rate(n, np.full(n.size, 0.02), pop) == 0.0
    # a single stray spike is measured over the minimum window
    assert in_burst_rate([0], [0.0605], pop, min_window_s=0.01) == pytest.approx(1 / (10 * 0.01))


def test_window_rate():
    n = np.zeros(30, int)
    t = np.linspace(0.0, 0.99, 30)
    assert window_rate(n, t, [0, 1], 0.0, 1.0) == pytest.approx(15.0)


def test_poisson_trains_are_asynchronous_irregular():
    rng = np.random.default_rng(0)
    n_neur, dur, rate = 40, 20.0, 20.0
    ns, ts = [], []
    for i in range(n_neur):
        k = rng.poisson(rate * dur)
        ts.append(np.sort(rng.uniform(0, dur, k)))
        ns.append(np.full(k, i))
    n, t = np.concatenate(ns), np.concatenate(ts)
    cv2 = cv2_isi(n, t, np.arange(n_neur))
    # Poisson: CV^2 = 1; each estimate from ~400 ISIs has sd ~ sqrt(8/400)~0.14, mean of 40 -> 0.03
    assert cv2.size == n_neur and abs(cv2.mean() - 1.0) < 0.1
    cv2_r, rates = cv2_isi(n, t, np.arange(n_neur), 0.0, dur, return_rates=True)
    assert np.array_equal(cv2_r, cv2) and rates.shape == (n_neur,)
    # rate of each train: Poisson count / duration, sd sqrt(400)/20 = 1 Hz
    assert abs(rates.mean() - rate) < 1.0 and np.allclose(rates * dur, np.bincount(n, minlength=n_neur))
    # independent trains: mean correlation 0 with sd ~ 1/sqrt(n_bins) / sqrt(n_pairs)
    r = mean_pairwise_correlation(n, t, np.arange(n_neur), 0.0, dur)
    assert abs(r) < 0.01


def test_regular_and_synchronous_trains():
    t = np.arange(0, 2, 0.025)
    # perfectly regular: CV^2 = 0
    assert cv2_isi(np.zeros(t.size, int), t, [0])[0] == pytest.approx(0.0, abs=1e-12)
    # identical trains in 4 neurons: correlation 1
    n = np.repeat(np.arange(4), t.size)
    tt = np.tile(t + 0.001, 4)
    assert mean_pairwise_correlation(n, tt, np.arange(4), 0.0, 2.0) == pytest.approx(1.0)
    counts = binned_counts(n, tt, np.arange(4), 0.0, 2.0)
    assert counts.shape == (4, 400) and counts.sum() == 4 * t.size
    assert pairwise_correlations(np.zeros((3, 10))).size == 0


def test_bad_input():
    with pytest.raises(ValueError):
        in_burst_rate([0, 1], [0.1], [0])
    with pytest.raises(ValueError):
        in_burst_rate([0], [np.nan], [0])
    with pytest.raises(ValueError):
        cv2_isi([0], [0.1], [0], min_spikes=2)
    with pytest.raises(ValueError, match="finite window"):
        cv2_isi([0], [0.1], [0], return_rates=True)


def test_cv2_is_the_squared_coefficient_of_variation():
    # intervals alternating 10 ms / 30 ms: mean 20 ms, std 10 ms -> CV 0.5, CV^2 0.25
    isi = np.tile([0.010, 0.030], 20)
    t = np.concatenate([[0.0], np.cumsum(isi)])
    assert cv2_isi(np.zeros(t.size, int), t, [0])[0] == pytest.approx(0.25, rel=1e-9)
