"""Chip-in-the-loop cross-homeostatic training (Maryada et al. 2025, Methods "Chip-in-the-loop training").

Protocol of one iteration, for each cluster of the network (one cluster in
the standard network; Fig. 6 stimulates the clusters one after the other):

1. ``n_reps`` (5) trials of ``trial_s`` (1 s).  Each trial starts from the
   drained state; a kick of ``kick_n_spikes`` (4) input spikes at
   ``kick_interval_s`` (10 ms) intervals goes to a random ``kick_fraction``
   (80 %) of the cluster's Pyr neurons, each target with its own random delay
   in ``[0, kick_max_delay_s)``, so the kick lies inside the first 40 ms.
2. Pyr and PV in-burst rates of each trial (:func:`homeostasis.rates.in_burst_rate`,
   first 60 ms ignored), averaged over the repetitions: ``E``, ``I``.
3. ``dw`` from eq. 2 (:func:`homeostasis.rule.weight_update`); with several
   clusters the mean of the clusters' ``dw`` (Fig. 6).
4. Stochastic rounding (eq. 3) and the coarse/fine update (eq. 4) of each
   weight code; the new codes are written to the chip; the chip is drained.

Seeds: ``seed`` draws the initial weight codes (unless given), the kick
targets and delays, the chip's trial noise seeds and the stochastic
rounding, each from its own named stream (:func:`circuits.mismatch.stream_seed`);
the chip's mismatch comes from its own chip seed, fixed when the chip is
built.  The same (seed, chip) gives the same run bit for bit.

Every iteration records the mean and per-trial rates and the (coarse, fine,
current) of every weight before the update (``n_iterations + 1`` codes:
the last row is the final state).

Draining: the paper drains after each iteration; here every trial starts
drained (``drain`` before each trial), which includes the paper's drain and
makes the five repetitions independent samples.

Chips: any :class:`homeostasis.interface.ChipInterface`.  If the chip also
offers ``run_batch(duration_s, n_reps, input_spikes=[...], seeds=[...])`` returning
one :class:`SpikeRecord` per repetition (the numba model runs repetitions in
parallel this way), the repetitions of an iteration go through it in one
call; otherwise they are run one after the other with ``drain()`` between
them and the per-trial seed passed as ``seed=`` when ``run`` accepts it.
"""
from __future__ import annotations

import inspect
import math
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from circuits.mismatch import stream_seed

from .dac import bias_current, code_for_current
from .interface import SYNAPSE_TYPES, WEIGHT_BIASES
from .network import MEM, Network, WEIGHT_CLASSES, add_ensemble
from .rates import in_burst_rate
from .rule import RuleConfig, apply_update, initial_codes, weight_update


def _pos_int(name, v, lo=1, hi=10**7):
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or not lo <= v <= hi:
        raise ValueError(f"{name}={v!r} must be an integer in [{lo}, {hi}]")


def _real(name, v, lo, hi):
    if not (isinstance(v, (int, float, np.integer, np.floating)) and math.isfinite(v) and lo <= v <= hi):
        raise ValueError(f"{name}={v!r} is outside the allowed range [{lo:g}, {hi:g}]")


@dataclass(frozen=True)
class KickConfig:
    """The kick that starts each trial (Methods: 4 spikes at 10 ms to 80 % of Pyr, random delay per target).

    ``synapse`` is the synapse type of the input (AMPA); its weight is the
    bias ``weight_bias`` of the Pyr core set to ``weight_code`` (the chip
    model's external input enters through ``W3``).  (5, 100) = 879 nA makes
    almost every kick spike elicit one Pyr spike on the numba model (567 of
    640 kick spikes answered with all recurrent weights off, chip seed 1).
    """

    n_spikes: int = 4
    interval_s: float = 0.010
    fraction: float = 0.8
    max_delay_s: float = 0.010
    synapse: str = "AMPA"
    weight_bias: str = "W3"
    weight_code: tuple = (5, 100)

    def __post_init__(self):
        _pos_int("kick.n_spikes", self.n_spikes, 1, 100)
        _real("kick.interval_s", self.interval_s, 1e-4, 1.0)
        _real("kick.fraction", self.fraction, 1e-3, 1.0)
        _real("kick.max_delay_s", self.max_delay_s, 0.0, 1.0)
        if self.synapse not in SYNAPSE_TYPES:
            raise ValueError(f"kick.synapse={self.synapse!r} is not one of {SYNAPSE_TYPES}")
        if self.weight_bias not in WEIGHT_BIASES:
            raise ValueError(f"kick.weight_bias={self.weight_bias!r} is not one of {WEIGHT_BIASES}")
        if len(self.weight_code) != 2:
            raise ValueError(f"kick.weight_code={self.weight_code!r} must be (coarse, fine)")
        bias_current(*self.weight_code)

    @property
    def end_s(self) -> float:
        """Latest possible kick spike time (s)."""
        return (self.n_spikes - 1) * self.interval_s + self.max_delay_s


@dataclass(frozen=True)
class TrainConfig:
    """The training protocol (Methods).

    Attributes
    ----------
    n_iterations : int (400)
    n_reps : int, trials per iteration (5)
    trial_s : float, trial length (1 s)
    t_ignore_s : float, start of the rate window (0.06 s)
    min_window_s : float, smallest in-burst window (0.01 s)
    kick : KickConfig
    rule : RuleConfig (eq. 2-4; defaults: paper text)
    final_window : int, iterations averaged for the final rates (20)
    tol_e_hz, tol_i_hz : float, convergence criterion |E - E_t| <= 2 Hz and |I - I_t| <= 4 Hz
    ensemble_at : int or None, iteration at which an ensemble is implanted (Fig. 5; 250)
    ensemble_size, ensemble_p : int, float (32, 0.5)
    ensemble_delta_a : float, extra weight current of the ensemble synapses (8.8 nA, Fig. 5d)
    """

    n_iterations: int = 400
    n_reps: int = 5
    trial_s: float = 1.0
    t_ignore_s: float = 0.06
    min_window_s: float = 0.01
    kick: KickConfig = field(default_factory=KickConfig)
    rule: RuleConfig = field(default_factory=RuleConfig)
    final_window: int = 20
    tol_e_hz: float = 2.0
    tol_i_hz: float = 4.0
    ensemble_at: int | None = None
    ensemble_size: int = 32
    ensemble_p: float = 0.5
    ensemble_delta_a: float = 8.8e-9

    def __post_init__(self):
        _pos_int("n_iterations", self.n_iterations, 1, 100000)
        _pos_int("n_reps", self.n_reps, 1, 1000)
        _real("trial_s", self.trial_s, 0.01, 100.0)
        _real("t_ignore_s", self.t_ignore_s, 0.0, self.trial_s)
        _real("min_window_s", self.min_window_s, 1e-5, self.trial_s)
        if self.kick.end_s > self.t_ignore_s:
            raise ValueError(f"the kick ends at {self.kick.end_s:g} s, after t_ignore_s={self.t_ignore_s:g} s")
        _pos_int("final_window", self.final_window, 1, self.n_iterations)
        _real("tol_e_hz", self.tol_e_hz, 0.0, 1000.0)
        _real("tol_i_hz", self.tol_i_hz, 0.0, 1000.0)
        if self.ensemble_at is not None:
            _pos_int("ensemble_at", self.ensemble_at, 1, self.n_iterations - 1)
        _pos_int("ensemble_size", self.ensemble_size, 2, 256)
        _real("ensemble_p", self.ensemble_p, 0.0, 1.0)
        _real("ensemble_delta_a", self.ensemble_delta_a, 0.0, 1e-6)


@dataclass
class TrainResult:
    """Record of one training run.

    Arrays (C clusters, R repetitions, T iterations, W = 5 weight classes
    ee, ie, ei, ii, mem; mem is 0 where no ensemble exists):

    rates_hz : (T, C, 2) mean (Pyr, PV) in-burst rate per iteration
    rates_reps_hz : (T, C, R, 2) per-trial rates
    codes : (T + 1, W, 2) (coarse, fine) before each iteration's update; last row final
    currents_a : (T + 1, W) nominal currents of ``codes`` (eq. 1)
    dw : (T, 4) the real-valued update (mean over clusters) in fine steps
    steps : (T, 4) its stochastic rounding
    saturated : (T, 4) the coarse/fine update hit the ends of the DAC range
    last_spikes : (neurons, times_s) of the last trial of the last iteration (cluster 0)
    """

    config: TrainConfig
    seed: int
    rates_hz: np.ndarray
    rates_reps_hz: np.ndarray
    codes: np.ndarray
    currents_a: np.ndarray
    dw: np.ndarray
    steps: np.ndarray
    saturated: np.ndarray
    last_spikes: tuple
    wall_s: float
    network: Network

    def final_rates(self) -> np.ndarray:
        """(C, 2): mean (Pyr, PV) rate over the last ``final_window`` iterations."""
        w = self.config.final_window
        return self.rates_hz[-w:].mean(axis=0)

    def converged(self) -> np.ndarray:
        """(C,) bool: final rates within ``tol_e_hz``/``tol_i_hz`` of the targets."""
        fr = self.final_rates()
        r = self.config.rule
        return (np.abs(fr[:, 0] - r.e_target_hz) <= self.config.tol_e_hz) & \
               (np.abs(fr[:, 1] - r.i_target_hz) <= self.config.tol_i_hz)

    def arrays(self) -> dict:
        return {
            "rates_hz": self.rates_hz, "rates_reps_hz": self.rates_reps_hz, "codes": self.codes,
            "currents_a": self.currents_a, "dw": self.dw, "steps": self.steps,
            "saturated": self.saturated, "last_neurons": self.last_spikes[0],
            "last_times_s": self.last_spikes[1], "exc": self.network.exc, "inh": self.network.inh,
            "ensemble": self.network.ensemble,
        }


def make_kick(rng: np.random.Generator, pyr: np.ndarray, kick: KickConfig) -> tuple[np.ndarray, np.ndarray]:
    """Input spikes (targets, times_s) of one kick, sorted by time.

    ``round(fraction * N_pyr)`` distinct targets drawn from ``pyr``; each gets
    ``n_spikes`` spikes at ``delay + k * interval`` with ``delay`` uniform in
    ``[0, max_delay_s)``.
    """
    n = max(1, int(round(kick.fraction * pyr.size)))
    targets = rng.choice(pyr, size=n, replace=False)
    delays = rng.uniform(0.0, kick.max_delay_s, size=n) if kick.max_delay_s > 0 else np.zeros(n)
    times = delays[:, None] + kick.interval_s * np.arange(kick.n_spikes)[None, :]
    tgt = np.repeat(targets, kick.n_spikes)
    t = times.ravel()
    order = np.argsort(t, kind="stable")
    return tgt[order].astype(np.int64), t[order]


def _has_kw(fn, name: str) -> bool:
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def run_trials(chip, duration_s: float, kicks: list, seeds: list[int], kick: KickConfig, dc_a=None) -> list:
    """Run one trial per kick from the drained state; returns one SpikeRecord per trial.

    The kicks enter through ``kick.synapse`` with the weight of the Pyr
    core's bias ``kick.weight_bias``.  Uses the chip's
    ``run_batch`` when it has one (parallel repetitions), otherwise
    ``drain()`` + ``run()`` per trial.
    """
    kw = {"input_synapse": kick.synapse, "input_weight_bias": kick.weight_bias}
    if dc_a is not None:
        kw["dc_a"] = dc_a
    if hasattr(chip, "run_batch"):
        chip.drain()
        return list(chip.run_batch(duration_s, len(kicks), input_spikes=kicks, seeds=seeds, **kw))
    pass_seed = _has_kw(chip.run, "seed")
    out = []
    for kick, s in zip(kicks, seeds):
        chip.drain()
        seed_kw = {"seed": int(s)} if pass_seed else {}
        out.append(chip.run(duration_s, input_spikes=kick, **kw, **seed_kw))
    return out


def _set_weights(chip, net: Network, codes: np.ndarray, active: np.ndarray) -> None:
    for k in range(len(WEIGHT_CLASSES)):
        if active[k]:
            core, name = net.weight_target(k)
            chip.set_bias(core, name, int(codes[k, 0]), int(codes[k, 1]))


def _mem_code(codes: np.ndarray, delta_a: float) -> tuple[int, int]:
    i = bias_current(int(codes[0, 0]), int(codes[0, 1])) + delta_a
    return code_for_current(min(i, bias_current(5, 255)))


def train(chip, net: Network, cfg: TrainConfig, seed: int, *, init_codes=None,
          progress: bool = False, desc: str = "train") -> TrainResult:
    """Train the four shared weights of ``net`` on ``chip`` (module docstring).

    Parameters
    ----------
    chip : ChipInterface (already built with its chip seed)
    net : Network from :func:`homeostasis.network.build_network`
    cfg : TrainConfig
    seed : int, the run seed (initial codes, kicks, trial noise, rounding)
    init_codes : int array (4, 2), optional: initial (coarse, fine); default
        drawn as in the paper (C in {3,4,5}, F in U[20,200]).
    progress : show a tqdm bar on stderr
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r} must be a non-negative integer")
    t_wall = time.perf_counter()
    rng_init = np.random.default_rng(stream_seed(seed, "init"))
    rng_kick = np.random.default_rng(stream_seed(seed, "kick"))
    rng_noise = np.random.default_rng(stream_seed(seed, "trial-noise"))
    rng_sr = np.random.default_rng(stream_seed(seed, "rounding"))
    codes4 = initial_codes(rng_init) if init_codes is None else np.asarray(init_codes, dtype=np.int64)
    if codes4.shape != (4, 2):
        raise ValueError(f"init_codes has shape {codes4.shape}, expected (4, 2)")
    for k in range(4):  # validates ranges with a clear message
        bias_current(int(codes4[k, 0]), int(codes4[k, 1]))
    exc_classes = {c: net.config.weight_bias_names[k] for k, c in enumerate(WEIGHT_CLASSES) if c in ("ee", "ei", "mem")}
    if cfg.kick.weight_bias in exc_classes.values():
        raise ValueError(f"kick.weight_bias={cfg.kick.weight_bias!r} is also the bias of a weight class on the Pyr "
                         f"core ({exc_classes}); the kick needs its own")
    # the ensemble is drawn now (same seed stream as at the implant), so bad settings fail before training
    net_ens = None
    if cfg.ensemble_at is not None and net.ensemble.size == 0:
        net_ens = add_ensemble(net, seed, size=cfg.ensemble_size, p_within=cfg.ensemble_p)

    T, R, C = cfg.n_iterations, cfg.n_reps, len(net.clusters)
    W = len(WEIGHT_CLASSES)
    rates = np.zeros((T, C, 2))
    rates_reps = np.zeros((T, C, R, 2))
    codes = np.zeros((T + 1, W, 2), dtype=np.int64)
    currents = np.zeros((T + 1, W))
    dws = np.zeros((T, 4))
    steps = np.zeros((T, 4), dtype=np.int64)
    sat = np.zeros((T, 4), dtype=bool)
    active = np.array([True] * 4 + [net.ensemble.size > 0])
    cur = np.zeros((W, 2), dtype=np.int64)
    cur[:4] = codes4
    if active[MEM]:
        cur[MEM] = _mem_code(cur, cfg.ensemble_delta_a)

    net.apply_to(chip)
    _set_weights(chip, net, cur, active)
    chip.set_bias(net.config.exc_core, cfg.kick.weight_bias, *map(int, cfg.kick.weight_code))
    chip.drain()
    last = (np.zeros(0, np.int64), np.zeros(0))
    from tqdm import tqdm
    bar = tqdm(range(T), disable=not progress, desc=desc, file=sys.stderr, unit="it", leave=False)
    for it in bar:
        if net_ens is not None and it == cfg.ensemble_at:
            net = net_ens
            active[MEM] = True
            cur[MEM] = _mem_code(cur, cfg.ensemble_delta_a)
            net.apply_to(chip)
            _set_weights(chip, net, cur, active)
        codes[it] = cur
        currents[it] = [bias_current(int(c), int(f)) if active[k] else 0.0 for k, (c, f) in enumerate(cur)]
        dw_sum = np.zeros(4)
        for ci, (pyr, pv) in enumerate(net.clusters):
            kicks = [make_kick(rng_kick, pyr, cfg.kick) for _ in range(R)]
            seeds = [int(s) for s in rng_noise.integers(1, 2**62, size=R)]
            recs = run_trials(chip, cfg.trial_s, kicks, seeds, cfg.kick)
            for r, rec in enumerate(recs):
                for pi, pop in enumerate((pyr, pv)):
                    rates_reps[it, ci, r, pi] = in_burst_rate(
                        rec.neurons, rec.times_s, pop, t_start_s=cfg.t_ignore_s,
                        min_window_s=cfg.min_window_s)  # the trial's spikes lie in (0, trial_s], all counted
            e_hz, i_hz = rates_reps[it, ci].mean(axis=0)
            rates[it, ci] = (e_hz, i_hz)
            dw_sum += weight_update(float(e_hz), float(i_hz), cfg.rule)
            if ci == 0:
                last = (np.asarray(recs[-1].neurons), np.asarray(recs[-1].times_s))
        dw = dw_sum / C
        new4, st, sa = apply_update(cur[:4], dw, rng_sr, cfg.rule)
        dws[it], steps[it], sat[it] = dw, st, sa
        cur[:4] = new4
        if active[MEM]:
            cur[MEM] = _mem_code(cur, cfg.ensemble_delta_a)
        _set_weights(chip, net, cur, active)
        chip.drain()
        if progress:
            bar.set_postfix(E=f"{rates[it, 0, 0]:.1f}", I=f"{rates[it, 0, 1]:.1f}")
    codes[T] = cur
    currents[T] = [bias_current(int(c), int(f)) if active[k] else 0.0 for k, (c, f) in enumerate(cur)]
    return TrainResult(cfg, int(seed), rates, rates_reps, codes, currents, dws, steps, sat, last,
                       time.perf_counter() - t_wall, net)
