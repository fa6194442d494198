"""A straightforward NumPy implementation of the same network (for benchmarks and cross-checks).

Same equations, same step order and same spike resolution as
:func:`ebn.kernels.run_network` (see its module docstring), written the way
one would without numba: a Python loop over time steps with vectorised numpy
operations inside.  The benchmark times it against the kernel and the tests
check that both give the same spikes and weights.
"""
from __future__ import annotations

import numpy as np

from .kernels import FLUSH
from .network import Network


def simulate_numpy(net: Network, W: np.ndarray, c: np.ndarray, *, learn: bool = False):
    """Simulate like :func:`ebn.network.simulate` (state from rest); ``W`` updated in place.

    Returns ``(counts (N,), spike_steps (n_spikes,), spike_ids (n_spikes,))``, int64.
    """
    cfg = net.cfg
    n = cfg.n_neurons
    u, om, g = cfg.weight_unit_v, cfg.granularity, cfg.gain
    tau_m = net.tau_mem
    a_m = np.exp(-cfg.dt / tau_m)
    gain_m = tau_m * (1.0 - a_m)
    inst = cfg.tau_syn <= 0
    a_s = np.exp(-cfg.dt / cfg.tau_syn) if not inst else 0.0
    syn_gain = cfg.tau_syn * (1.0 - a_s)
    F = net.F
    eff = net.chip.rec
    T_n = net.thresholds + cfg.v_rest
    v = np.full(n, cfg.v_rest)
    i_f = np.zeros(n)
    counts = np.zeros(n, dtype=np.int64)
    steps, ids = [], []
    offdiag = ~np.eye(n, dtype=bool)
    for t in range(c.shape[0]):
        v = cfg.v_rest + (v - cfg.v_rest) * a_m + gain_m * (F @ c[t])
        if not inst:
            v = v + syn_gain * i_f
            i_f = i_f * a_s
            i_f[np.abs(i_f) < FLUSH] = 0.0
        if not np.all(np.isfinite(v)):
            raise FloatingPointError(f"non-finite membrane potential at step {t}")
        spiked = np.zeros(n, dtype=bool)
        for _ in range(n if cfg.max_spikes_per_step is None else cfg.max_spikes_per_step):
            margin = np.where(spiked, 0.0, v - T_n)
            k = int(np.argmax(margin))
            if margin[k] <= 0.0:
                break
            spiked[k] = True
            counts[k] += 1
            steps.append(t)
            ids.append(k)
            kick = u * eff[:, k] * W[:, k]
            if learn:
                gv = np.where(offdiag[:, k], g, 1.0)  # the reset is seen with gain 1
                a = 2.0 * v + gv * kick
                step_v = gv * u * eff[:, k] * om
                mask = np.ones(n, dtype=bool) if cfg.learn_reset else offdiag[:, k]
                inc = (a < -0.5 * step_v + 2.0 * cfg.v_rest) & mask
                dec = (a > 0.5 * step_v + 2.0 * cfg.v_rest) & mask
                W[:, k] += om * (inc.astype(np.float64) - dec.astype(np.float64))
            v[k] += kick[k]
            others = offdiag[:, k]
            if inst:
                v[others] += kick[others]
            else:
                i_f[others] += kick[others] / cfg.tau_syn
    return counts, np.array(steps, dtype=np.int64), np.array(ids, dtype=np.int64)
