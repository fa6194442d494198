"""Metrics of an EBN (pure functions; Büchel et al. 2021, Sec. II, Brendel et al. 2020).

- :func:`weight_distance`: distance of a recurrent matrix ``C`` to the optimum
  ``C*`` over off-diagonal entries, invariant to the scale of ``C``::

      s = tr(C^T C*) / sum C*^2,     d = sum (C - s C*)^2 / sum C^2

  (Brendel et al. 2020, Methods "Convergence of the network"; ``d = 1`` for a
  ``C`` orthogonal to ``C*``, 0 for ``C`` proportional to it).
- :func:`fit_readout` / :func:`decoding_error`: least-squares linear readout of
  ``x`` from the filtered spike trains, error ``sum_d var(x_d - x_hat_d) /
  sum_d var(x_d)`` on held-out signals.
- :func:`mean_rate`: mean firing rate per neuron (Hz).
- :func:`sparsity`: mean fraction of silent neurons per 10 ms bin.
"""
from __future__ import annotations

import numpy as np

from circuits.numba_target import njit


@njit(cache=True)
def _gram(R, X, G, B):
    """Accumulate ``G += R^T R`` and ``B += R^T X`` (single-threaded loops)."""
    T, n = R.shape
    nx = X.shape[1]
    for t in range(T):
        for i in range(n):
            ri = R[t, i]
            if ri == 0.0:
                continue
            for j in range(n):
                G[i, j] += ri * R[t, j]
            for d in range(nx):
                B[i, d] += ri * X[t, d]


def _offdiag(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"expected a square matrix, got shape {a.shape}")
    return a[~np.eye(a.shape[0], dtype=bool)]


def weight_distance(C: np.ndarray, C_opt: np.ndarray) -> tuple[float, float]:
    """Scale-invariant distance ``d`` of ``C`` to ``C_opt`` and the scale ``s`` (off-diagonal).

    Returns ``(d, s)``.  Raises ValueError for shapes that differ, for an all-zero
    optimum, or for an all-zero ``C`` (the distance is undefined).
    """
    c = _offdiag(C)
    co = _offdiag(C_opt)
    if c.shape != co.shape:
        raise ValueError(f"C and C_opt shapes differ: {np.shape(C)} vs {np.shape(C_opt)}")
    so = float(np.sum(co**2))
    sc = float(np.sum(c**2))
    if so == 0.0 or sc == 0.0:
        raise ValueError("distance undefined: an off-diagonal part is all zero")
    s = float(np.dot(c, co)) / so
    return float(np.sum((c - s * co) ** 2) / sc), s


def fit_readout(rs: list[np.ndarray], xs: list[np.ndarray]) -> np.ndarray:
    """Least-squares readout ``W`` (N x Nx) with ``x ~ r W`` over the given segments.

    Solved through the normal equations ``(R^T R) W = R^T X`` (N x N, summed over
    segments) with an SVD-based solver, which also handles silent neurons
    (zero columns) by the minimum-norm solution.
    """
    if len(rs) != len(xs):
        raise ValueError(f"{len(rs)} readout segments but {len(xs)} target segments")
    n = rs[0].shape[1]
    G = np.zeros((n, n))
    B = np.zeros((n, xs[0].shape[1]))
    for r, x in zip(rs, xs):
        if r.shape[0] != x.shape[0]:
            raise ValueError(f"readout inputs have {r.shape[0]} rows, targets {x.shape[0]}")
        _gram(np.ascontiguousarray(r, dtype=np.float64), np.ascontiguousarray(x, dtype=np.float64), G, B)
    W, *_ = np.linalg.lstsq(G, B, rcond=None)
    return W


def decoding_error(W: np.ndarray, rs: list[np.ndarray], xs: list[np.ndarray]) -> float:
    """Normalised squared error ``sum_d var(x_d - x_hat_d) / sum_d var(x_d)`` of readout ``W``."""
    R = np.concatenate(rs, axis=0)
    X = np.concatenate(xs, axis=0)
    err = X.copy()
    for d in range(X.shape[1]):  # matrix-vector products: no multithreaded BLAS call
        err[:, d] -= R @ np.ascontiguousarray(W[:, d])
    return float(np.sum(np.var(err, axis=0)) / np.sum(np.var(X, axis=0)))


def mean_rate(counts: np.ndarray, duration: float) -> float:
    """Mean firing rate per neuron (Hz) from spike counts over ``duration`` seconds."""
    if duration <= 0:
        raise ValueError(f"duration={duration!r} must be positive")
    return float(np.mean(counts) / duration)


def rate_bound_hz(n_neurons: int, dt: float, max_spikes_per_step: int | None) -> float:
    """Highest mean rate per neuron (Hz) the simulator can produce: ``min(1, c / N) / dt``.

    A neuron spikes at most once per step and the network at most ``c =
    max_spikes_per_step`` times (no network cap when None).  A network at this
    bound is clipped by the time step, not encoding anything: see :func:`runaway`.
    """
    cap = n_neurons if max_spikes_per_step is None else min(int(max_spikes_per_step), n_neurons)
    return cap / n_neurons / dt


#: A network whose mean rate reaches this fraction of :func:`rate_bound_hz` has run away.
RUNAWAY_FRACTION = 0.5


def runaway(rate_hz: float, n_neurons: int, dt: float, max_spikes_per_step: int | None) -> bool:
    """Whether a measured mean rate (Hz) is at the simulator's spike-per-step bound (>= half of it).

    Runaway networks (e.g. learning on coarse grids without the one-spike-per-step
    cap) fire thousands of Hz; their weights and errors say nothing about
    convergence, so summaries count them apart.  A NaN rate counts as runaway.
    """
    bound = rate_bound_hz(n_neurons, dt, max_spikes_per_step)
    return not (rate_hz < RUNAWAY_FRACTION * bound)


def sparsity(spike_steps: np.ndarray, spike_ids: np.ndarray, n_neurons: int, n_steps: int,
             dt: float, bin_s: float = 10e-3) -> float:
    """Mean over 10 ms bins of the fraction of neurons that fire no spike in the bin."""
    per_bin = max(1, int(round(bin_s / dt)))
    n_bins = n_steps // per_bin
    if n_bins < 1:
        raise ValueError(f"{n_steps} steps of {dt} s hold no full {bin_s} s bin")
    active = np.zeros((n_bins, n_neurons), dtype=bool)
    b = np.asarray(spike_steps) // per_bin
    keep = b < n_bins
    active[b[keep], np.asarray(spike_ids)[keep]] = True
    return float(1.0 - active.mean())


def filtered_spikes(spike_steps: np.ndarray, spike_ids: np.ndarray, n_neurons: int, n_steps: int,
                    dt: float, tau: float) -> np.ndarray:
    """Spike trains filtered by ``dr/dt = -r / tau + o(t)`` (jump 1 per spike), shape (n_steps, N).

    Same convention as the kernel's readout trace: the value at step ``t``
    includes the spikes of step ``t``.
    """
    from scipy.signal import lfilter
    s = np.zeros((n_steps, n_neurons))
    np.add.at(s, (np.asarray(spike_steps), np.asarray(spike_ids)), 1.0)
    return lfilter([1.0], [1.0, -np.exp(-dt / tau)], s, axis=0)
