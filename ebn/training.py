"""Training an EBN with the discrete rule and validating it (paper Fig. 1).

Seeds: every random draw comes from a named stream of the run seed
(:func:`circuits.mismatch.stream_seed`): ``"decoder"``, ``"init"``,
``"validation"`` and ``("train", i)`` for the fresh signal of iteration ``i``.
A run therefore reproduces bit-identically from its seed.

A validation point simulates the network with learning off on a fixed set of
signals: ``n_fit`` signals to fit the least-squares readout and ``n_test``
held-out signals on which the decoding error, the rate and the sparsity are
measured; the first ``transient`` seconds of each signal are left out.
The decoding error uses spike trains filtered with ``tau_readout`` (10 ms,
the reference setting); ``decoding_error_tau_mem`` repeats the measurement
with the membrane time constant, the time scale on which the EBN represents
its estimate ``x_hat = D rho`` (``V = D^T (x - x_hat)``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from circuits.mismatch import stream_seed

from . import metrics
from .config import EBNConfig, TrainConfig
from .network import Chip, Network, build_network, simulate
from .signals import command, smoothed_noise


def _rng(seed: int, *keys) -> np.random.Generator:
    return np.random.default_rng(stream_seed(seed, *keys))


@dataclass(frozen=True)
class SignalSet:
    """Fixed signals: ``xs`` (targets, T x Nx, V) and ``cs`` (commands, T x Nx, V/s)."""

    xs: tuple
    cs: tuple


def make_signals(cfg: EBNConfig, tcfg: TrainConfig, rng: np.random.Generator, count: int,
                 tau_mem: float | None = None) -> SignalSet:
    """``count`` smoothed-noise signals of ``tcfg.duration`` seconds."""
    n_steps = int(round(tcfg.duration / cfg.dt))
    tau = cfg.tau_mem if tau_mem is None else tau_mem
    xs, cs = [], []
    for _ in range(count):
        x, xd = smoothed_noise(rng, n_steps, cfg.n_dims, cfg.dt, tcfg.signal_sigma, tcfg.signal_std)
        xs.append(x)
        cs.append(command(x, xd, tau))
    return SignalSet(tuple(xs), tuple(cs))


def validation_set(cfg: EBNConfig, tcfg: TrainConfig, seed: int) -> SignalSet:
    """The fixed validation signals of run ``seed`` (first ``n_fit`` fit, rest held out)."""
    return make_signals(cfg, tcfg, _rng(seed, "validation"), tcfg.n_fit + tcfg.n_test)


@dataclass
class Evaluation:
    """Metrics of one network state on the validation set.

    ``distance`` / ``scale`` are None for the optimal network itself.  The
    example fields hold the first held-out signal for plotting.
    """

    decoding_error: float
    rate_hz: float
    sparsity: float
    decoding_error_tau_mem: float | None = None
    distance: float | None = None
    scale: float | None = None
    example_x: np.ndarray | None = field(default=None, repr=False)
    example_xhat: np.ndarray | None = field(default=None, repr=False)
    example_spikes: tuple | None = field(default=None, repr=False)

    def as_dict(self) -> dict:
        d = {"decoding_error": self.decoding_error, "rate_hz": self.rate_hz, "sparsity": self.sparsity,
             "decoding_error_tau_mem": self.decoding_error_tau_mem}
        if self.distance is not None:
            d["distance"] = self.distance
            d["scale"] = self.scale
        return d


def evaluate(net: Network, W: np.ndarray, vset: SignalSet, tcfg: TrainConfig, *,
             with_distance: bool = True, keep_example: bool = False) -> Evaluation:
    """Simulate ``W`` (learning off, on a copy) on the validation set and measure it."""
    cfg = net.cfg
    Wc = np.array(W, dtype=np.float64, order="C", copy=True)
    skip = int(round(tcfg.transient / cfg.dt))
    rs, xs, sims = [], [], []
    for x, c in zip(vset.xs, vset.cs):
        res = simulate(net, Wc, c, learn=False, record=True)
        rs.append(res.r[skip:])
        xs.append(x[skip:])
        sims.append(res)
    nf = tcfg.n_fit
    Wout = metrics.fit_readout(rs[:nf], xs[:nf])
    err = metrics.decoding_error(Wout, rs[nf:], xs[nf:])
    # the same readout on spike trains filtered with the membrane time constant,
    # the time scale of the network's own estimate x_hat = D rho
    n_steps = vset.xs[0].shape[0]
    slow = [metrics.filtered_spikes(res.spike_steps, res.spike_ids, cfg.n_neurons, n_steps,
                                    cfg.dt, cfg.tau_mem)[skip:] for res in sims]
    Wslow = metrics.fit_readout(slow[:nf], xs[:nf])
    err_slow = metrics.decoding_error(Wslow, slow[nf:], xs[nf:])
    test = sims[nf:]
    counts = np.zeros(cfg.n_neurons)
    spars = []
    for res in test:
        keep = res.spike_steps >= skip
        counts += np.bincount(res.spike_ids[keep], minlength=cfg.n_neurons)
        spars.append(metrics.sparsity(res.spike_steps[keep] - skip, res.spike_ids[keep],
                                      cfg.n_neurons, n_steps - skip, cfg.dt))
    rate = metrics.mean_rate(counts, len(test) * (n_steps - skip) * cfg.dt)
    ev = Evaluation(err, rate, float(np.mean(spars)), decoding_error_tau_mem=err_slow)
    if with_distance:
        if np.any(W[~np.eye(W.shape[0], dtype=bool)]):
            ev.distance, ev.scale = metrics.weight_distance(W, net.optimal_weights())
        else:  # a grid coarser than every weight (or one neuron) leaves no recurrent weight: no distance
            ev.distance, ev.scale = float("nan"), 0.0
    if keep_example:
        ev.example_x = vset.xs[nf]
        ev.example_xhat = sims[nf].r @ Wout
        ev.example_spikes = (sims[nf].spike_steps * cfg.dt, sims[nf].spike_ids)
    return ev


@dataclass
class TrainResult:
    """Everything a Fig. 1 run produces (see :func:`train`)."""

    seed: int
    net: Network
    W_initial: np.ndarray
    W_learned: np.ndarray
    initial: Evaluation
    learned: Evaluation
    optimal: Evaluation
    curves: dict
    wall_s: float
    train_wall_s: float

    def metrics_dict(self) -> dict:
        return {
            "initial": self.initial.as_dict(),
            "learned": self.learned.as_dict(),
            "optimal": self.optimal.as_dict(),
            "curves": self.curves,
            "seed": self.seed,
            "wall_s": self.wall_s,
            "train_wall_s": self.train_wall_s,
        }


def train(cfg: EBNConfig, tcfg: TrainConfig, seed: int, *, chip: Chip | None = None,
          progress=None, validate: bool = True, W_init: np.ndarray | None = None) -> TrainResult:
    """Train a random network with the discrete rule on fresh signals (paper Fig. 1).

    Parameters
    ----------
    cfg, tcfg : network and training configuration
    seed : int >= 0, the run seed (all streams derive from it)
    chip : mismatch factors (nominal if None); must match ``cfg``
    progress : optional callable ``progress(i)`` called after each iteration
    validate : if False only the initial and final points are validated
    W_init : optional initial matrix (weight units, on the grid) instead of the random one

    Returns a :class:`TrainResult` with the initial / learned / optimal
    evaluations and the learning curves (iteration, distance, decoding error,
    rate, sparsity, weight updates).
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r} must be a non-negative integer")
    if cfg.n_neurons < 2:  # a single neuron simulates (EBNConfig allows it) but has no recurrent weight to learn
        raise ValueError(f"n_neurons={cfg.n_neurons} is outside the allowed range for training [2, 5000]")
    t0 = time.perf_counter()
    net = build_network(cfg, _rng(seed, "decoder"), chip)
    if W_init is None:
        W = net.initial_weights(_rng(seed, "init"))
    else:
        W = np.array(W_init, dtype=np.float64, order="C", copy=True)
    W0 = W.copy()
    vset = validation_set(cfg, tcfg, seed)
    curves = {"iteration": [], "distance": [], "decoding_error": [], "decoding_error_tau_mem": [],
              "rate_hz": [], "sparsity": [], "updates": []}

    def record(i, n_upd):
        ev = evaluate(net, W, vset, tcfg)
        curves["iteration"].append(i)
        curves["distance"].append(ev.distance)
        curves["decoding_error"].append(ev.decoding_error)
        curves["decoding_error_tau_mem"].append(ev.decoding_error_tau_mem)
        curves["rate_hz"].append(ev.rate_hz)
        curves["sparsity"].append(ev.sparsity)
        curves["updates"].append(n_upd)

    initial = evaluate(net, W, vset, tcfg, keep_example=True)
    train_wall = 0.0
    n_upd = 0
    if validate:
        record(0, 0)
    for i in range(tcfg.n_iterations):
        sig = make_signals(cfg, tcfg, _rng(seed, "train", i), 1)
        t1 = time.perf_counter()
        res = simulate(net, W, sig.cs[0], learn=True)
        train_wall += time.perf_counter() - t1
        n_upd = res.n_updates
        last = i == tcfg.n_iterations - 1
        if validate and ((i + 1) % tcfg.validate_every == 0 or last):
            record(i + 1, n_upd)
        if progress is not None:
            progress(i)
    learned = evaluate(net, W, vset, tcfg, keep_example=True)
    optimal = evaluate(net, net.optimal_weights(), vset, tcfg, with_distance=False, keep_example=True)
    return TrainResult(int(seed), net, W0, W.copy(), initial, learned, optimal, curves,
                       time.perf_counter() - t0, train_wall)
