"""Speed benchmark and dt convergence of the chip model on the 200/50 E/I network.

The network (Maryada et al. 2025, Methods): 200 Pyr on core 0 and 50 PV on
core 1, every ordered pair connected with p = 0.1, excitatory AMPA and
inhibitory GABA_A, four shared weights (core 0 ``W0`` = w_ee, ``W1`` = w_ei;
core 1 ``W0`` = w_ie, ``W1`` = w_ii).  For a benchmark that fires steadily at
~20 Hz (Pyr) / ~40 Hz (PV) for 10 s regardless of seed, the cores also get a
DC input (150 pA per Pyr, 180 pA per PV neuron; subthreshold on its own for
PV; injected per neuron so only the 250 network neurons are simulated) and the weights
are fixed at :data:`BENCH_WEIGHTS_A`.

Reported: medians over ``repeats`` timed runs of each simulator, interleaved
(numba, Brian2, numba, ...) so that both see the same machine state, of the
simulated seconds per wall second (and per CPU second: on a shared
machine the process's CPU time is the steadier figure; Brian2's binary is
measured through ``RUSAGE_CHILDREN``) of the numba model on one core
(``numba.set_num_threads(1)``; compiled for the target that
:mod:`circuits.numba_target` chose, which the output names), the first-call
time (JIT compile or cache load) separately, the same network (same per-neuron parameters, per-synapse
weights, dt and duration, and the same state variables: the model's kernel
skips NMDA, GABA_B and adaptation when they cannot be non-zero, and Brian2 gets
:data:`homeostasis.peers.DPI_EQUATIONS_AMPA_GABA_A` without them) in Brian2
``cpp_standalone`` (compile time excluded; single thread), and the trainer workload (5 repetitions x 1 s in
one batched call, all cores).

dt convergence: population rates at dt = 0.2, 0.1, 0.05, 0.025 ms (same
chip, same network, independent noise per repetition); the target is a
< 2 % change when halving dt from 0.1 ms.
"""
from __future__ import annotations

import os
import resource
import shutil
import tempfile
import time
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from circuits import numba_target
from circuits.mismatch import stream_seed

from .chip import NEURONS_PER_CORE, ChipConfig, DynapSE2Chip
from .dac import code_for_current
from .neuron_types import PV, PYR

#: Fixed weights (A) of the benchmark network: ~20 Hz Pyr / ~40 Hz PV with the DC biases below.
BENCH_WEIGHTS_A = {"w_ee": 55e-9, "w_ei": 200e-9, "w_ie": 100e-9, "w_ii": 120e-9}
#: DC bias per core (A).
BENCH_DC_A = {"pyr": 150e-12, "pv": 180e-12}
#: (core, bias name) of each weight class.
WEIGHT_BIAS = {"w_ee": (0, "W0"), "w_ei": (0, "W1"), "w_ie": (1, "W0"), "w_ii": (1, "W1")}


@dataclass(frozen=True)
class BenchConfig:
    """Benchmark settings.

    Attributes
    ----------
    chip_seed, net_seed : int
        Seeds of the virtual chip (mismatch) and of the connectivity.
    n_pyr, n_pv : int
        Population sizes (<= 256 each).
    p : float
        Connection probability of every ordered pair (0 < p <= 1).
    duration_s : float
        Simulated time of the speed runs (s).
    dt : float
        Integration step (s).
    quick : bool
        2 s instead of ``duration_s``, shorter dt-convergence runs.
    brian2 : bool
        Also time Brian2 (needs the ``peers`` extra and a C++ compiler).
    dt_convergence : bool
        Also run the dt-convergence study.
    repeats : int
        Timed runs of each simulator, interleaved (numba, Brian2, numba, ...)
        so that both see the same machine state; medians are reported.
    """

    chip_seed: int = 0
    net_seed: int = 0
    n_pyr: int = 200
    n_pv: int = 50
    p: float = 0.1
    duration_s: float = 10.0
    dt: float = 1e-4
    quick: bool = False
    brian2: bool = True
    dt_convergence: bool = True
    repeats: int = 5

    def __post_init__(self) -> None:
        if isinstance(self.repeats, bool) or not isinstance(self.repeats, int) or not 1 <= self.repeats <= 50:
            raise ValueError(f"BenchConfig.repeats={self.repeats!r} is outside the allowed range 1..50")
        for name in ("chip_seed", "net_seed"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"BenchConfig.{name}={v!r} must be an integer >= 0")
        for name in ("n_pyr", "n_pv"):
            v = getattr(self, name)
            if not isinstance(v, int) or not 1 <= v <= NEURONS_PER_CORE:
                raise ValueError(f"BenchConfig.{name}={v!r} is outside the allowed range 1..{NEURONS_PER_CORE}")
        if not (0.0 < self.p <= 1.0):
            raise ValueError(f"BenchConfig.p={self.p!r} is outside the allowed range (0, 1]")
        if not (0.1 <= self.duration_s <= 1000.0):
            raise ValueError(f"BenchConfig.duration_s={self.duration_s!r} is outside the allowed range 0.1..1000 s")
        if not (1e-6 <= self.dt <= 1e-3):
            raise ValueError(f"BenchConfig.dt={self.dt!r} is outside the allowed range 1e-6..1e-3 s")

    @property
    def sim_s(self) -> float:
        return 2.0 if self.quick else self.duration_s


def build_ei_network(n_pyr: int, n_pv: int, p: float, seed: int):
    """Random E/I connectivity: every ordered pair of distinct neurons with probability ``p``.

    Returns ``(pre, post, synapse_type, weight_bias)`` for
    :meth:`DynapSE2Chip.set_connections` (Pyr = 0..n_pyr-1 on core 0, PV =
    256..256+n_pv-1 on core 1).
    """
    rng = np.random.default_rng(stream_seed(seed, "bench", "network"))
    ids = np.concatenate([np.arange(n_pyr), NEURONS_PER_CORE + np.arange(n_pv)])
    a = rng.random((ids.size, ids.size)) < p
    np.fill_diagonal(a, False)
    pi, qi = np.nonzero(a)
    pre, post = ids[pi], ids[qi]
    exc = pre < NEURONS_PER_CORE
    return pre, post, np.where(exc, "AMPA", "GABA_A"), np.where(exc, "W0", "W1")


def make_bench_chip(cfg: BenchConfig, dt: float | None = None) -> DynapSE2Chip:
    chip = DynapSE2Chip(cfg.chip_seed, ChipConfig(dt=cfg.dt if dt is None else dt))
    chip.apply_neuron_type(0, PYR)
    chip.apply_neuron_type(1, PV)
    chip.set_connections(*build_ei_network(cfg.n_pyr, cfg.n_pv, cfg.p, cfg.net_seed))
    for name, (core, bias) in WEIGHT_BIAS.items():
        chip.set_bias(core, bias, *code_for_current(BENCH_WEIGHTS_A[name]))
    return chip


def bench_dc(cfg: BenchConfig) -> np.ndarray:
    """Per-neuron DC (A, shape (1024,)) of the network's neurons only (a core DC bias would drive all 256)."""
    d = np.zeros(4 * NEURONS_PER_CORE)
    d[:cfg.n_pyr] = BENCH_DC_A["pyr"]
    d[NEURONS_PER_CORE:NEURONS_PER_CORE + cfg.n_pv] = BENCH_DC_A["pv"]
    return d


def population_rates(neurons: np.ndarray, times: np.ndarray, n_pyr: int, n_pv: int, t0: float, t1: float) -> dict:
    """Mean rate (Hz) of each population over [t0, t1)."""
    m = (times >= t0) & (times < t1)
    n = neurons[m]
    return {"pyr": float(np.sum(n < NEURONS_PER_CORE) / (n_pyr * (t1 - t0))),
            "pv": float(np.sum(n >= NEURONS_PER_CORE) / (n_pv * (t1 - t0)))}


class _ModelTimer:
    """The numba model on one core: first call (JIT compile or cache load) at construction, then timed runs."""

    def __init__(self, cfg: BenchConfig):
        self.cfg = cfg
        self.chip = make_bench_chip(cfg)
        t0 = time.perf_counter()
        self.chip.run(cfg.dt * 10, dc_a=bench_dc(cfg))  # first call: compile, or load from numba's cache
        self.jit_s = time.perf_counter() - t0
        self.walls, self.cpus, self.rec = [], [], None

    def run_once(self) -> None:
        import numba

        self.chip.drain()
        threads = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            t0 = time.perf_counter()
            c0 = time.process_time()
            self.rec = self.chip.run(self.cfg.sim_s, dc_a=bench_dc(self.cfg), seed=1)
            self.walls.append(time.perf_counter() - t0)
            self.cpus.append(time.process_time() - c0)
        finally:
            numba.set_num_threads(threads)

    def result(self) -> dict:
        """Medians over the timed runs, the runs themselves, and the trainer workload on all cores."""
        import numba

        cfg, rec = self.cfg, self.rec
        rates = population_rates(rec.neurons, rec.times_s, cfg.n_pyr, cfg.n_pv, 0.2, cfg.sim_s)
        # trainer workload: 5 repetitions x 1 s in one batched call on all cores
        self.chip.drain()
        t0 = time.perf_counter()
        self.chip.run_batch(1.0, 5, dc_a=bench_dc(cfg), seeds=[11, 12, 13, 14, 15])
        batch_wall = time.perf_counter() - t0
        rtf = [cfg.sim_s / w for w in self.walls]
        return {"realtime_factor": float(np.median(rtf)), "realtime_factor_runs": rtf,
                "realtime_factor_cpu": float(np.median([cfg.sim_s / c for c in self.cpus])),
                "wall_s": float(np.median(self.walls)), "cpu_s": float(np.median(self.cpus)), "jit_s": self.jit_s,
                "rates_hz": rates, "n_spikes": int(rec.neurons.size), "numba_threads_batch": numba.get_num_threads(),
                "batch_5x1s_wall_s": batch_wall, "trainer_400x5x1s_estimate_s": 400 * batch_wall}


class _Brian2Timer:
    """The same network in Brian2 cpp_standalone (single thread): built and compiled at construction
    (compile time reported separately), then the compiled binary is run and timed as often as asked."""

    def __init__(self, cfg: BenchConfig):
        import brian2 as b2

        from .peers import brian2_group

        self.cfg, self.b2 = cfg, b2
        chip = make_bench_chip(cfg)
        params = chip.neuron_parameters()
        params["i_floor_a"] = chip.config.device.i0_n
        params["i_reset_a"] = max(chip.config.i_reset, chip.config.device.i0_n)
        pre, post, stype, _ = chip.connections
        w_syn = chip.synapse_weights()
        self.ids = np.concatenate([np.arange(cfg.n_pyr), NEURONS_PER_CORE + np.arange(cfg.n_pv)])
        local = np.full(chip.n_neurons, -1)
        local[self.ids] = np.arange(self.ids.size)
        self.directory = tempfile.mkdtemp(prefix="eibalance_brian2_")
        b2.prefs.logging.console_log_level = "ERROR"
        b2.set_device("cpp_standalone", directory=self.directory, build_on_run=False)
        try:
            b2.prefs.devices.cpp_standalone.openmp_threads = 0
            b2.defaultclock.dt = cfg.dt * b2.second
            # the state this network can use, as the model's kernel selects it (no NMDA, GABA_B or,
            # when no neuron adapts, adaptation): both simulators integrate the same variables
            g = brian2_group(b2, params, self.ids, noise_std=chip.config.noise_std,
                             noise_tau=chip.config.noise_tau, method="euler", name="ei",
                             ampa_gaba_a_only=not np.any(np.asarray(params["ahp_jump"])[self.ids]))
            g.Idc = bench_dc(cfg)[self.ids] * b2.amp
            exc = stype == 0
            se = b2.Synapses(g, g, "w : amp", on_pre="Iampa_post += gf_ampa_post*w", name="exc")
            se.connect(i=local[pre[exc]], j=local[post[exc]])
            se.w = w_syn[exc] * b2.amp
            si = b2.Synapses(g, g, "w : amp", on_pre="Igabaa_post += gf_gabaa_post*w", name="inh")
            si.connect(i=local[pre[~exc]], j=local[post[~exc]])
            si.w = w_syn[~exc] * b2.amp
            mon = b2.SpikeMonitor(g)  # a local: Brian2's magic run() collects the objects of this frame
            self.mon = mon
            b2.run(cfg.sim_s * b2.second)
            t0 = time.perf_counter()
            b2.device.build(directory=self.directory, compile=True, run=False)
            self.compile_s = time.perf_counter() - t0
        except BaseException:
            self.close()
            raise
        self.walls, self.cpus, self.internal = [], [], []

    def run_once(self) -> None:
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        self.b2.device.run(directory=self.directory, with_output=False)
        wall = time.perf_counter() - t0
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.walls.append(wall)
        self.cpus.append((ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime))
        self.internal.append(float(getattr(self.b2.device, "_last_run_time", wall) or wall))

    def result(self) -> dict:
        cfg = self.cfg
        neurons = self.ids[np.asarray(self.mon.i)]
        times = np.asarray(self.mon.t)
        rates = population_rates(neurons, times, cfg.n_pyr, cfg.n_pv, 0.2, cfg.sim_s)
        rtf = [cfg.sim_s / w for w in self.walls]
        return {"realtime_factor": float(np.median(rtf)), "realtime_factor_runs": rtf,
                "realtime_factor_internal": float(np.median([cfg.sim_s / w for w in self.internal])),
                "realtime_factor_cpu": float(np.median([cfg.sim_s / c for c in self.cpus])),
                "run_wall_s": float(np.median(self.walls)), "run_cpu_s": float(np.median(self.cpus)),
                "compile_s": self.compile_s, "rates_hz": rates, "target": "cpp_standalone",
                "method": "euler", "version": self.b2.__version__}

    def close(self) -> None:
        """Reset Brian2 to its runtime device and delete the generated project (~2 MB of sources and binary)."""
        self.b2.device.reinit()
        self.b2.set_device("runtime")
        shutil.rmtree(self.directory, ignore_errors=True)


def dt_convergence(cfg: BenchConfig, *, quiet: bool = False) -> dict:
    """Population rates at several dt (same chip and network), 4 repetitions each."""
    dts = [2e-4, 1e-4, 5e-5, 2.5e-5]
    dur = 3.0 if cfg.quick else 10.0
    n_rep = 4
    res = {"dt_s": dts, "duration_s": dur, "n_rep": n_rep, "rates_hz": {"pyr": [], "pv": []},
           "rates_sem_hz": {"pyr": [], "pv": []}}
    for dt in tqdm(dts, desc="dt convergence", disable=quiet):
        chip = make_bench_chip(cfg, dt=dt)
        recs = chip.run_batch(dur, n_rep, dc_a=bench_dc(cfg), seeds=[101, 102, 103, 104])
        r = [population_rates(x.neurons, x.times_s, cfg.n_pyr, cfg.n_pv, 0.2, dur) for x in recs]
        for k in ("pyr", "pv"):
            v = np.array([x[k] for x in r])
            res["rates_hz"][k].append(float(v.mean()))
            res["rates_sem_hz"][k].append(float(v.std(ddof=1) / np.sqrt(n_rep)))
    i1, i2 = dts.index(1e-4), dts.index(5e-5)
    res["rel_change_halving_0p1ms"] = {k: abs(res["rates_hz"][k][i2] - res["rates_hz"][k][i1]) / res["rates_hz"][k][i2]
                                       for k in ("pyr", "pv")}
    return res


def run_bench(cfg: BenchConfig = BenchConfig(), *, quiet: bool = False) -> dict:
    """Time the numba model and Brian2 on the same network, interleaved, ``cfg.repeats`` runs each.

    Reported figures are medians over the runs; ``speedup_vs_brian2`` is the
    median of the per-pair ratios (each numba run against the Brian2 run right
    after it), which cancels most of a shared machine's drift.
    """
    out = {"config": {"chip_seed": cfg.chip_seed, "net_seed": cfg.net_seed, "n_pyr": cfg.n_pyr, "n_pv": cfg.n_pv,
                      "p": cfg.p, "duration_s": cfg.sim_s, "dt_s": cfg.dt, "weights_a": BENCH_WEIGHTS_A,
                      "dc_a": BENCH_DC_A, "cpu_count": os.cpu_count(), "repeats": cfg.repeats},
           "vector_target": numba_target.describe()}
    # the peer's keys are always there: null when Brian2 was skipped or could not run (brian2_error says why)
    out.update(brian2_realtime_factor=None, speedup_vs_brian2=None,
               brian2_error=None if cfg.brian2 else "skipped (--no-brian2)")
    model = _ModelTimer(cfg)
    peer = None
    if cfg.brian2:
        try:
            peer = _Brian2Timer(cfg)
        except Exception as err:  # noqa: BLE001 - missing package, compiler or failed build: the model still runs
            out["brian2_error"] = f"{type(err).__name__}: {err}"
    try:
        for _ in tqdm(range(cfg.repeats), desc="speed runs", disable=quiet):
            model.run_once()
            if peer is not None:
                peer.run_once()
        m = model.result()
        out["model"] = m
        out["realtime_factor"] = m["realtime_factor"]
        out["jit_s"] = m["jit_s"]
        out["rates_hz"] = m["rates_hz"]
        if peer is not None:
            b = peer.result()
            out["brian2"] = b
            out["brian2_realtime_factor"] = b["realtime_factor"]
            out["speedup_vs_brian2_runs"] = [bw / mw for mw, bw in zip(model.walls, peer.walls)]
            out["speedup_vs_brian2"] = float(np.median(out["speedup_vs_brian2_runs"]))
            out["speedup_vs_brian2_cpu"] = float(np.median([bc / mc for mc, bc in zip(model.cpus, peer.cpus)]))
            out["speedup_vs_brian2_internal_timer"] = float(np.median(
                [bi / mw for mw, bi in zip(model.walls, peer.internal)]))
    finally:
        if peer is not None:
            peer.close()
    if cfg.dt_convergence:
        out["dt_convergence"] = dt_convergence(cfg, quiet=quiet)
    return out


def summary_lines(res: dict) -> list[str]:
    m = res["model"]
    c = res["config"]
    lines = [f"E/I network {c['n_pyr']}/{c['n_pv']}, p={c['p']}, {c['duration_s']:g} s at dt={c['dt_s'] * 1e3:g} ms; "
             f"medians of {c['repeats']} interleaved runs; numba target: {res.get('vector_target', 'n/a')}",
             f"{'simulator':<28}{'sim s / wall s':>16}{'sim s / cpu s':>15}{'wall (s)':>10}{'compile (s)':>13}"
             f"{'Pyr Hz':>8}{'PV Hz':>8}",
             f"{'numba model, 1 core':<28}{m['realtime_factor']:>16.1f}{m['realtime_factor_cpu']:>15.1f}"
             f"{m['wall_s']:>10.3f}{m['jit_s']:>13.2f}{m['rates_hz']['pyr']:>8.1f}{m['rates_hz']['pv']:>8.1f}"]
    if "brian2" in res:
        b = res["brian2"]
        lines.append(f"{'Brian2 cpp_standalone, 1 th':<28}{b['realtime_factor']:>16.1f}{b['realtime_factor_cpu']:>15.1f}"
                     f"{b['run_wall_s']:>10.3f}{b['compile_s']:>13.2f}{b['rates_hz']['pyr']:>8.1f}"
                     f"{b['rates_hz']['pv']:>8.1f}")
        lines.append("numba runs (x real time): " + ", ".join(f"{v:.1f}" for v in m["realtime_factor_runs"])
                     + "; Brian2 runs: " + ", ".join(f"{v:.1f}" for v in b["realtime_factor_runs"]))
        lines.append(f"speed-up vs Brian2 (median of the per-pair ratios): {res['speedup_vs_brian2']:.1f}x (wall), "
                     f"{res['speedup_vs_brian2_cpu']:.1f}x (CPU time), "
                     f"{res['speedup_vs_brian2_internal_timer']:.1f}x (vs Brian2's own loop timer "
                     f"{b['realtime_factor_internal']:.1f}x real time)")
    elif res.get("brian2_error"):
        lines.append(f"Brian2 not run: {res['brian2_error']}")
    lines.append(f"trainer workload 5 x 1 s batched ({m['numba_threads_batch']} threads): "
                 f"{m['batch_5x1s_wall_s']:.3f} s -> 400 iterations ~ {m['trainer_400x5x1s_estimate_s']:.0f} s")
    if "dt_convergence" in res:
        d = res["dt_convergence"]
        for k in ("pyr", "pv"):
            pairs = ", ".join(f"{dt * 1e3:g} ms: {r:.2f}" for dt, r in zip(d["dt_s"], d["rates_hz"][k]))
            lines.append(f"dt convergence {k} (Hz): {pairs}; change when halving 0.1 ms: "
                         f"{100 * d['rel_change_halving_0p1ms'][k]:.2f} %")
    return lines
