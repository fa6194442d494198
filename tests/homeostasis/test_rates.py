"""In-burst rate, pairwise correlation and CV^2 on hand-made spike trains."""
import numpy as np
import pytest

from homeostasis.rates import (cv2_isi, cv2_isi_trials, in_burst_rate, mean_pairwise_correlation,
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
    # sample variance: 40 intervals, sum of squared deviations 40 x (10 ms)^2 over 39
    assert cv2_isi(np.zeros(t.size, int), t, [0])[0] == pytest.approx(0.25 * 40 / 39, rel=1e-9)


def _poisson_trials(rng, rate, n_neur, n_trials, t0, t1):
    trials = []
    for _ in range(n_trials):
        ns, ts = [], []
        for i in range(n_neur):
            k = rng.poisson(rate * (t1 - t0))
            ts.append(np.sort(rng.uniform(t0, t1, k)))
            ns.append(np.full(k, i))
        trials.append((np.concatenate(ns), np.concatenate(ts), t0, t1))
    return trials


def test_cv2_pooled_over_short_trials_is_near_one_for_poisson():
    """Five 0.94 s trials at 10 Hz: per-trial CV^2 reads ~0.89 (~0.76 with the population variance);
    pooling each neuron's ~45 intervals reads ~1 (Fig. 2f: 0.95 = Poisson-like)."""
    rng = np.random.default_rng(3)
    trials = _poisson_trials(rng, 10.0, 300, 5, 0.06, 1.0)
    cv2, rates = cv2_isi_trials(trials, np.arange(300))
    assert cv2.size == 300 and rates.shape == (300,)
    # sd of one neuron's estimate ~ sqrt(8/45) ~ 0.42 -> mean of 300 ~ 0.025
    assert abs(cv2.mean() - 1.0) < 0.08
    assert abs(rates.mean() - 10.0) < 0.3
    per_trial = np.concatenate([cv2_isi(n, t, np.arange(300), a, b) for n, t, a, b in trials])
    assert per_trial.mean() < cv2.mean() - 0.04  # the small-sample bias the pooling removes
    isi_sets = [np.diff(t[n == i]) for n, t, _, _ in trials for i in range(300)]
    population_var = np.mean([x.var() / x.mean()**2 for x in isi_sets if x.size >= 2])
    assert population_var < 0.8  # the estimator used before: biased low by a quarter


def test_cv2_pooled_never_joins_trials():
    """Regular trains (25 ms) with a different phase in each trial: 0, not the gap between trials."""
    trials = [(np.zeros(30, int), 0.06 + ph + 0.025 * np.arange(30), 0.06, 1.0) for ph in (0.0, 0.011, 0.003)]
    cv2, rates = cv2_isi_trials(trials, [0])
    assert cv2 == pytest.approx([0.0], abs=1e-12)
    assert rates == pytest.approx([90 / (3 * 0.94)])
    # a neuron with fewer than min_isis pooled intervals is left out; a neuron silent everywhere too
    few = [(np.array([0, 0, 1]), np.array([0.1, 0.2, 0.3]), 0.06, 1.0)] * 3
    cv2, _ = cv2_isi_trials(few, [0, 1, 2], min_isis=4)
    assert cv2.size == 0
    cv2, _ = cv2_isi_trials(few, [0, 1, 2], min_isis=3)
    assert cv2.size == 1
    with pytest.raises(ValueError, match="min_isis"):
        cv2_isi_trials(few, [0], min_isis=1)
    with pytest.raises(ValueError, match="window"):
        cv2_isi_trials([(np.array([0]), np.array([0.1]), 0.5, 0.5)], [0])
