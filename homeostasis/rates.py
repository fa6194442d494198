"""Population rates and firing-regime statistics of spike trains (Maryada et al. 2025, Methods and Fig. 2f).

* **In-burst rate** (Methods, "Network emulation"): spikes before
  ``t_start`` (60 ms: the 40 ms kick plus 20 ms of settling) are discarded;
  the rate is the number of the population's remaining spikes divided by
  ``N_pop x window``, where the window runs from ``t_start`` to the
  population's last spike.  A burst that dies early is therefore measured
  over its own duration, not diluted over the trial.  A window shorter than
  ``min_window_s`` (default 10 ms, one kick interval) is widened to it, so a
  single stray spike cannot read as a high rate.
* **Pairwise correlation** (Fig. 2f, left): Pearson correlation of spike
  counts in 5 ms bins, averaged over all pairs of neurons of a population
  whose counts vary.
* **CV^2 of inter-spike intervals** (Fig. 2f, right): ``var(ISI)/mean(ISI)^2``
  per neuron (0 regular, 1 Poisson; the paper: "the variance of the
  inter-spike interval divided by its squared mean"), with the sample
  (n - 1) variance.  The intervals of a short trial are few and the
  population variance biases CV^2 low (a 10 Hz Poisson train over 0.94 s
  reads 0.76), so :func:`cv2_isi_trials` pools each neuron's intervals over
  several trials (never across a trial boundary) before the ratio.

Spike trains are given as two arrays ``(neurons, times_s)`` (int64 neuron
index, float64 seconds) as in :class:`homeostasis.interface.SpikeRecord`.
"""
from __future__ import annotations

import math

import numpy as np


def _arrays(neurons, times_s) -> tuple[np.ndarray, np.ndarray]:
    n = np.asarray(neurons, dtype=np.int64).ravel()
    t = np.asarray(times_s, dtype=np.float64).ravel()
    if n.shape != t.shape:
        raise ValueError(f"neurons ({n.size}) and times_s ({t.size}) differ in length")
    if t.size and not np.all(np.isfinite(t)):
        raise ValueError("times_s contains non-finite spike times")
    return n, t


def _members(neurons: np.ndarray, population) -> np.ndarray:
    pop = np.asarray(population, dtype=np.int64).ravel()
    if pop.size == 0:
        raise ValueError("population is empty")
    return np.isin(neurons, pop)


def in_burst_rate(neurons, times_s, population, *, t_start_s: float = 0.06,
                  t_stop_s: float | None = None, min_window_s: float = 0.01) -> float:
    """In-burst mean rate (Hz) of ``population`` (Methods).

    Parameters
    ----------
    neurons, times_s : arrays (n_spikes,)
        Spike neuron indices and times (s).
    population : int array (N_pop,)
        Neuron indices of the population (its size is ``N_pop``).
    t_start_s : float
        Spikes before this time are ignored (default 0.06 s).
    t_stop_s : float or None
        Spikes at or after this time are ignored (default: none).
    min_window_s : float
        Smallest window (s) used for the division.

    Returns
    -------
    float
        ``n_spikes / (N_pop * max(t_last - t_start, min_window))``, 0 without spikes.
    """
    if not (min_window_s > 0 and math.isfinite(min_window_s)):
        raise ValueError(f"min_window_s={min_window_s!r} must be > 0")
    n, t = _arrays(neurons, times_s)
    pop = np.unique(np.asarray(population, dtype=np.int64))
    keep = _members(n, pop) & (t >= t_start_s)
    if t_stop_s is not None:
        keep &= t < t_stop_s
    ts = t[keep]
    if ts.size == 0:
        return 0.0
    window = max(float(ts.max()) - t_start_s, min_window_s)
    return ts.size / (pop.size * window)


def window_rate(neurons, times_s, population, t0_s: float, t1_s: float) -> float:
    """Plain mean rate (Hz) of ``population`` in ``[t0, t1)``: spikes / (N_pop (t1 - t0))."""
    if not t1_s > t0_s:
        raise ValueError(f"window [{t0_s}, {t1_s}) is empty")
    n, t = _arrays(neurons, times_s)
    pop = np.unique(np.asarray(population, dtype=np.int64))
    k = _members(n, pop) & (t >= t0_s) & (t < t1_s)
    return int(k.sum()) / (pop.size * (t1_s - t0_s))


def binned_counts(neurons, times_s, population, t0_s: float, t1_s: float,
                  bin_s: float = 0.005) -> np.ndarray:
    """Spike counts, int64 array (N_pop, n_bins), of each neuron of ``population`` in bins of ``bin_s``."""
    if not (bin_s > 0 and t1_s - t0_s >= bin_s):
        raise ValueError(f"bin_s={bin_s!r} must be > 0 and fit in [{t0_s}, {t1_s})")
    n, t = _arrays(neurons, times_s)
    pop = np.asarray(population, dtype=np.int64).ravel()
    n_bins = int(math.floor((t1_s - t0_s) / bin_s + 1e-9))
    row = {int(p): i for i, p in enumerate(pop)}
    counts = np.zeros((pop.size, n_bins), dtype=np.int64)
    k = _members(n, pop) & (t >= t0_s) & (t < t0_s + n_bins * bin_s)
    b = np.minimum(((t[k] - t0_s) / bin_s).astype(np.int64), n_bins - 1)
    rows = np.fromiter((row[int(x)] for x in n[k]), dtype=np.int64, count=int(k.sum()))
    np.add.at(counts, (rows, b), 1)
    return counts


def pairwise_correlations(counts: np.ndarray) -> np.ndarray:
    """Pearson correlations of all pairs of rows of ``counts`` whose counts vary.

    Returns the upper-triangle coefficients, float64 array (n_pairs,).
    """
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim != 2:
        raise ValueError(f"counts must be 2-D (neurons, bins), got shape {c.shape}")
    c = c[c.std(axis=1) > 0]
    if c.shape[0] < 2:
        return np.zeros(0)
    r = np.corrcoef(c)
    iu = np.triu_indices(r.shape[0], k=1)
    return r[iu]


def mean_pairwise_correlation(neurons, times_s, population, t0_s: float, t1_s: float,
                              bin_s: float = 0.005) -> float:
    """Mean pairwise spike-count correlation (5 ms bins) of ``population`` in ``[t0, t1)``; NaN if < 2 active neurons."""
    r = pairwise_correlations(binned_counts(neurons, times_s, population, t0_s, t1_s, bin_s))
    return float(r.mean()) if r.size else float("nan")


def _isis_by_neuron(neurons, times_s, population, t0_s: float, t1_s: float) -> dict:
    """{neuron: (ISIs (s), spike count)} of each neuron of ``population`` firing in ``[t0, t1)``."""
    n, t = _arrays(neurons, times_s)
    k = _members(n, population) & (t >= t0_s) & (t < t1_s)
    n, t = n[k], t[k]
    order = np.lexsort((t, n))
    n, t = n[order], t[order]
    out = {}
    if n.size:
        for seg in np.split(np.arange(n.size), np.flatnonzero(np.diff(n)) + 1):
            out[int(n[seg[0]])] = (np.diff(t[seg]), seg.size)
    return out


def _cv2(isi: np.ndarray) -> float:
    m = isi.mean()
    return float(isi.var(ddof=1) / m**2) if m > 0 else float("nan")


def cv2_isi(neurons, times_s, population, t0_s: float = 0.0, t1_s: float = math.inf,
            min_spikes: int = 3, return_rates: bool = False):
    """CV^2 = var(ISI)/mean(ISI)^2 (sample variance) of each neuron of ``population`` with >= ``min_spikes``
    spikes in ``[t0, t1)``.

    Returns float64 array (n_qualifying_neurons,); with ``return_rates``, also
    those neurons' rates (Hz) over ``[t0, t1)`` (finite ``t1`` required).
    """
    if return_rates and not (math.isfinite(t1_s) and t1_s > t0_s):
        raise ValueError(f"return_rates needs a finite window, got [{t0_s!r}, {t1_s!r})")
    if min_spikes < 3:
        raise ValueError(f"min_spikes={min_spikes!r} must be >= 3 (two ISIs for a variance)")
    out, counts = [], []
    for isi, count in _isis_by_neuron(neurons, times_s, population, t0_s, t1_s).values():
        c = _cv2(isi) if count >= min_spikes else float("nan")
        if np.isfinite(c):
            out.append(c)
            counts.append(count)
    cv2 = np.asarray(out, dtype=np.float64)
    return (cv2, np.asarray(counts, dtype=np.float64) / (t1_s - t0_s)) if return_rates else cv2


def cv2_isi_trials(trials, population, min_isis: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """CV^2 of each neuron of ``population`` from its ISIs pooled over several trials.

    Parameters
    ----------
    trials : iterable of ``(neurons, times_s, t0_s, t1_s)``
        One spike train per trial and the window ``[t0, t1)`` (s) analysed in it.
        Intervals are taken inside each window only, never across trials.
    population : int array (N_pop,)
    min_isis : int
        Fewest pooled intervals a neuron needs (>= 2).

    Returns
    -------
    cv2, rates_hz : float64 arrays (n_qualifying_neurons,)
        CV^2 (sample variance over mean^2) and each neuron's rate: its spikes
        over the summed windows.

    A neuron whose rate differs between trials has its rate change counted
    as irregularity too (regular at 10 Hz in one trial and 20 Hz in another
    reads 0.13); the trials of one trained network share its weights, so its
    neurons' rates change little between them.
    """
    if min_isis < 2:
        raise ValueError(f"min_isis={min_isis!r} must be >= 2 (a variance needs two intervals)")
    isis, counts, total = {}, {}, 0.0
    for neurons, times_s, t0_s, t1_s in trials:
        if not (math.isfinite(t1_s) and t1_s > t0_s):
            raise ValueError(f"each trial needs a finite, non-empty window, got [{t0_s!r}, {t1_s!r})")
        total += t1_s - t0_s
        for k, (isi, count) in _isis_by_neuron(neurons, times_s, population, t0_s, t1_s).items():
            isis.setdefault(k, []).append(isi)
            counts[k] = counts.get(k, 0) + count
    cv2, rates = [], []
    for k in sorted(isis):
        isi = np.concatenate(isis[k])
        if isi.size >= min_isis and isi.mean() > 0:
            cv2.append(_cv2(isi))
            rates.append(counts[k] / total)
    return np.asarray(cv2, dtype=np.float64), np.asarray(rates, dtype=np.float64)
