"""Speed benchmark of the numba EBN simulator (a script, not a timed test).

Measures, in the calling process:

- ``jit_s``: wall time of the first call of the kernel (compilation, or
  loading from numba's on-disk cache when a previous process compiled it;
  ``cache_hits`` / ``cache_misses`` say which);
- ``sim_s_per_wall_s[N]``: simulated seconds per wall second for N = 20, 100,
  500, 2000, learning off (the optimal network) and on
  (``sim_s_per_wall_s_learning``, from a random start), on the reference
  input (smoothed noise, 0.1 ms steps), one spike per step (see
  :func:`_sim_speed`);
- ``train_n20_50it_wall_s``: wall time of the whole 50-iteration N = 20 Fig. 1
  training (:func:`ebn.training.train` without intermediate validation:
  signal generation, 50 s of learning, initial / learned / optimal
  evaluations) after compilation;
- ``speedup_vs_numpy``: wall-time ratio of :func:`ebn.reference.simulate_numpy`
  over the numba kernel on the same N = 20 network and signal with learning
  on, after checking that both give identical spikes and weights.
"""
from __future__ import annotations

import time

import numpy as np

from .config import EBNConfig, TrainConfig
from .kernels import run_network
from .network import build_network, simulate
from .reference import simulate_numpy
from .training import _rng, make_signals, train

BENCH_SIZES = (20, 100, 500, 2000)


def _sim_speed(n: int, duration: float, learn: bool, seed: int, repeats: int = 3) -> float:
    """Simulated s per wall s: learning off on the optimal network, learning on from a
    random start whose std is scaled by sqrt(20 / N) (the same summed recurrent input
    variance as the N = 20 reference, so that large random networks do not start in a
    runaway burst where every neuron fires every step).  One spike per step
    (``max_spikes_per_step = 1``): with hundreds of neurons sharing a 2-D space, many
    have nearly equal decoders and would otherwise all fire in the step before the
    1 ms inhibition arrives."""
    std = EBNConfig().init_weight_std * np.sqrt(20.0 / n)
    cfg = EBNConfig(n_neurons=n, init_weight_std=float(std), max_spikes_per_step=1)
    tcfg = TrainConfig(duration=duration)
    net = build_network(cfg, _rng(seed, "decoder"))
    W0 = net.initial_weights(_rng(seed, "init")) if learn else np.ascontiguousarray(net.optimal_weights())
    c = make_signals(cfg, tcfg, _rng(seed, "bench"), 1).cs[0]
    best = np.inf
    for _ in range(repeats):
        W = W0.copy()
        t0 = time.perf_counter()
        simulate(net, W, c, learn=learn)
        best = min(best, time.perf_counter() - t0)
    return duration / best


def run_bench(seed: int = 0, sizes=BENCH_SIZES, numpy_duration: float = 1.0, progress=None) -> dict:
    """Run every measurement; returns the ``metrics.json`` dictionary."""
    out: dict = {"seed": int(seed)}
    # -- compile (or load from cache) on a tiny problem
    cfg = EBNConfig(n_neurons=4)
    net = build_network(cfg, _rng(seed, "decoder"))
    c = np.zeros((10, cfg.n_dims))
    t0 = time.perf_counter()
    simulate(net, net.initial_weights(_rng(seed, "init")), c, learn=True, record=True)
    out["jit_s"] = time.perf_counter() - t0
    stats = run_network.stats
    out["cache_hits"] = int(sum(stats.cache_hits.values()))
    out["cache_misses"] = int(sum(stats.cache_misses.values()))
    # -- simulated seconds per wall second
    out["sim_s_per_wall_s"] = {}
    out["sim_s_per_wall_s_learning"] = {}
    for n in sizes:
        dur = 1.0 if n <= 500 else 0.5
        out["sim_s_per_wall_s"][str(n)] = _sim_speed(n, dur, False, seed)
        out["sim_s_per_wall_s_learning"][str(n)] = _sim_speed(n, dur, True, seed)
        if progress is not None:
            progress()
    # -- the Fig. 1 training run
    t0 = time.perf_counter()
    res = train(EBNConfig(), TrainConfig(), seed, validate=False)
    out["train_n20_50it_wall_s"] = time.perf_counter() - t0
    out["train_n20_50it_learning_loop_wall_s"] = res.train_wall_s
    if progress is not None:
        progress()
    # -- numba vs straightforward numpy, same network, same signal, learning on
    cfg = EBNConfig()
    tcfg = TrainConfig(duration=numpy_duration)
    net = build_network(cfg, _rng(seed, "decoder"))
    W0 = net.initial_weights(_rng(seed, "init"))
    c = make_signals(cfg, tcfg, _rng(seed, "bench"), 1).cs[0]
    Wn = W0.copy()
    t0 = time.perf_counter()
    counts_np, steps_np, _ = simulate_numpy(net, Wn, c, learn=True)
    t_np = time.perf_counter() - t0
    best = np.inf
    for _ in range(3):
        Wb = W0.copy()
        t0 = time.perf_counter()
        res = simulate(net, Wb, c, learn=True, record=True)
        best = min(best, time.perf_counter() - t0)
    identical = bool(np.array_equal(counts_np, res.counts) and np.array_equal(steps_np, res.spike_steps)
                     and np.array_equal(Wn, Wb))
    out["numpy_comparison"] = {"n_neurons": cfg.n_neurons, "simulated_s": numpy_duration,
                               "numpy_wall_s": t_np, "numba_wall_s": best, "identical": identical}
    out["speedup_vs_numpy"] = t_np / best
    if progress is not None:
        progress()
    return out
