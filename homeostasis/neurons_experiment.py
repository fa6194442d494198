"""Pyr and PV silicon neurons under DC injection (Maryada et al. 2025, Fig. 1c,d).

Fig. 1c: membrane traces of two sample neurons per type under four DC levels,
two subthreshold and two spiking.  The chip's membrane is a current; the
plotted "membrane potential" is its voltage image through the subthreshold
transistor law, ``V = (U_T/kappa) ln(I_mem/I0)`` (subthreshold law of :mod:`circuits.constants`; paper caption:
"given by an exponential function").

Fig. 1d: FI curves (rate vs DC) of all 256 neurons of the Pyr core and of the
PV core, mean and spread across the core (device mismatch), with a zoom at
low rates.

The rheobase of each neuron follows from the DPI equation's fixed points
(:func:`rheobase_a`); the sample traces use levels placed relative to it so
the subthreshold/spiking split holds for every sample despite mismatch.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from .chip import NEURONS_PER_CORE, ChipConfig, DynapSE2Chip
from .neuron_types import PV, PYR

TYPES = {"pyr": (0, PYR), "pv": (1, PV)}


def _default_fi_grid() -> tuple:
    return tuple(np.round(np.concatenate([np.linspace(0.0, 400e-12, 21), np.linspace(500e-12, 2e-9, 7)]), 15))


@dataclass(frozen=True)
class NeuronsConfig:
    """Settings of the Fig. 1c,d experiment.

    Attributes
    ----------
    chip_seed : int
        Virtual chip (mismatch) seed, >= 0.
    mismatch_cv : float
        CV of the bias mismatch (0 .. 3; paper ~0.2).
    fi_currents_a : tuple of float
        DC levels of the FI curve (A), each 0 .. 1e-7.
    fi_duration_s : float
        Duration of each FI run (s), 0.1 .. 100.
    trace_duration_s : float
        Duration of the membrane traces (s), 0.05 .. 10.
    sample_neurons : tuple of int
        Indices (within the core) of the two sample neurons per type.
    noise_seed : int
        Seed of the runs' noise.
    """

    chip_seed: int = 0
    mismatch_cv: float = 0.2
    fi_currents_a: tuple = field(default_factory=_default_fi_grid)
    fi_duration_s: float = 2.0
    trace_duration_s: float = 1.0
    sample_neurons: tuple = (0, 1)
    noise_seed: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.chip_seed, bool) or not isinstance(self.chip_seed, int) or self.chip_seed < 0:
            raise ValueError(f"NeuronsConfig.chip_seed={self.chip_seed!r} must be an integer >= 0")
        if isinstance(self.noise_seed, bool) or not isinstance(self.noise_seed, int) or self.noise_seed < 0:
            raise ValueError(f"NeuronsConfig.noise_seed={self.noise_seed!r} must be an integer >= 0")
        if not (0.0 <= self.mismatch_cv <= 3.0):
            raise ValueError(f"NeuronsConfig.mismatch_cv={self.mismatch_cv!r} is outside the allowed range 0..3")
        if len(self.fi_currents_a) < 2 or any(not (0.0 <= float(x) <= 1e-7) for x in self.fi_currents_a):
            raise ValueError(f"NeuronsConfig.fi_currents_a={self.fi_currents_a!r}: need >= 2 levels in 0..1e-7 A")
        if not (0.1 <= self.fi_duration_s <= 100.0):
            raise ValueError(f"NeuronsConfig.fi_duration_s={self.fi_duration_s!r} is outside the allowed range 0.1..100 s")
        if not (0.05 <= self.trace_duration_s <= 10.0):
            raise ValueError(f"NeuronsConfig.trace_duration_s={self.trace_duration_s!r} is outside the allowed "
                             "range 0.05..10 s")
        if len(self.sample_neurons) != 2 or any(not (0 <= int(k) < NEURONS_PER_CORE) for k in self.sample_neurons):
            raise ValueError(f"NeuronsConfig.sample_neurons={self.sample_neurons!r}: two indices in 0..255")


def rheobase_a(params: dict, config: ChipConfig, neuron: int) -> float:
    """DC rheobase (A) of one neuron from the fixed points of the DPI equation.

    With constant input the fixed points satisfy (kernels module docstring,
    ``P = Q I``)::

        I_in = I_tau + I I_tau/I_g - I_a(I) (1 + I/I_g)

    A stable subthreshold fixed point exists up to the largest value of the
    right-hand side over ``I0 <= I <= I_spkthr``; above it the neuron fires.
    """
    i = np.geomspace(config.device.i0_n, params["i_spkthr"][neuron], 20000)
    x = i / params["i_a_th"][neuron]
    ia = params["i_a_gain"][neuron] * x * x / (1.0 + x * x)
    f = params["i_tau"][neuron] + i * params["i_tau"][neuron] / params["i_g"][neuron] \
        - ia * (1.0 + i / params["i_g"][neuron])
    return float(f.max())


def make_chip(cfg: NeuronsConfig) -> DynapSE2Chip:
    chip = DynapSE2Chip(cfg.chip_seed, ChipConfig(mismatch_cv=cfg.mismatch_cv))
    for core, ntype in TYPES.values():
        chip.apply_neuron_type(core, ntype)
    return chip


def run_neurons(cfg: NeuronsConfig = NeuronsConfig(), *, quiet: bool = False) -> dict:
    """Run Fig. 1c (traces) and Fig. 1d (FI curves); returns a JSON-ready results dict (+ arrays)."""
    chip = make_chip(cfg)
    params = chip.neuron_parameters()
    u_t, kappa, i0 = chip.config.device.u_t, chip.config.device.kappa_n, chip.config.device.i0_n
    levels = np.asarray(cfg.fi_currents_a, dtype=np.float64)
    rates = {name: np.zeros((levels.size, NEURONS_PER_CORE)) for name in TYPES}
    idx = {name: core * NEURONS_PER_CORE + np.arange(NEURONS_PER_CORE) for name, (core, _) in TYPES.items()}
    for k, dc in enumerate(tqdm(levels, desc="FI curves", disable=quiet, file=None)):
        d = np.zeros(chip.n_neurons)
        for name in TYPES:
            d[idx[name]] = dc
        chip.drain()
        if dc == 0.0:
            # nothing is driven: every neuron stays at rest (no spikes without input)
            continue
        rec = chip.run(cfg.fi_duration_s, dc_a=d, seed=cfg.noise_seed + k)
        counts = np.bincount(rec.neurons, minlength=chip.n_neurons)
        for name in TYPES:
            rates[name][k] = counts[idx[name]] / cfg.fi_duration_s
    fi = {}
    for name in TYPES:
        r = rates[name]
        mean = r.mean(axis=1)
        slope = np.diff(mean) / np.diff(levels) * 1e-9  # Hz per nA
        rb = np.array([rheobase_a(params, chip.config, int(n)) for n in idx[name]])
        fi[name] = {
            "dc_a": levels.tolist(),
            "rate_mean_hz": mean.tolist(),
            "rate_std_hz": r.std(axis=1).tolist(),
            "rate_p10_hz": np.percentile(r, 10, axis=1).tolist(),
            "rate_p90_hz": np.percentile(r, 90, axis=1).tolist(),
            "rheobase_mean_a": float(rb.mean()),
            "rheobase_cv": float(rb.std() / rb.mean()),
            "max_gain_hz_per_na": float(slope.max()),
            # slope of the mean FI curve between 1 nA and the top of the grid (Hz/nA)
            "gain_high_hz_per_na": float((np.interp(levels[-1], levels, mean) - np.interp(1e-9, levels, mean))
                                         / max(levels[-1] - 1e-9, 1e-12) * 1e-9) if levels[-1] > 1e-9 else float("nan"),
            "tau_mem_mean_s": float(params["tau_mem"][idx[name]].mean()),
            "t_ref_mean_s": float(params["t_ref"][idx[name]].mean()),
        }
    # Fig. 1c traces: per sample neuron two subthreshold and two spiking levels
    traces = {}
    dt = chip.config.dt
    for name, (core, _) in TYPES.items():
        traces[name] = []
        for k in cfg.sample_neurons:
            n = core * NEURONS_PER_CORE + int(k)
            rb = rheobase_a(params, chip.config, n)
            itau = params["i_tau"][n]
            lv = [itau + 0.5 * (rb - itau), itau + 0.9 * (rb - itau), 1.5 * rb, 3.0 * rb]
            d_levels = []
            for j, dc in enumerate(lv):
                d = np.zeros(chip.n_neurons)
                d[n] = dc
                chip.drain()
                rec = chip.run(cfg.trace_duration_s, dc_a=d, record=("i_mem",), record_neurons=[n],
                               seed=cfg.noise_seed + 1000 + j)
                i_mem = rec.traces["i_mem"][:, 0]
                d_levels.append({
                    "dc_a": float(dc),
                    "v_mem_v": (u_t / kappa * np.log(i_mem / i0)).tolist(),
                    "spike_times_s": rec.times_s.tolist(),
                    "subthreshold_expected": j < 2,
                })
            traces[name].append({"neuron": int(n), "rheobase_a": rb, "levels": d_levels})
    return {
        "config": {"chip_seed": cfg.chip_seed, "mismatch_cv": cfg.mismatch_cv, "fi_duration_s": cfg.fi_duration_s,
                   "trace_duration_s": cfg.trace_duration_s, "noise_seed": cfg.noise_seed, "dt_s": dt,
                   "sample_neurons": list(cfg.sample_neurons)},
        "fi": fi,
        "traces": traces,
        "trace_dt_s": dt,
        "_rates": rates,
    }


def quick_config(seed: int = 0) -> NeuronsConfig:
    """A short version for --quick (coarser grid, shorter runs)."""
    grid = tuple(np.round(np.concatenate([np.linspace(0.0, 400e-12, 9), [1e-9, 2e-9]]), 15))
    return NeuronsConfig(chip_seed=seed, fi_currents_a=grid, fi_duration_s=0.5, trace_duration_s=0.5)


def summary_lines(results: dict) -> list[str]:
    out = []
    for name, f in results["fi"].items():
        r = np.asarray(f["rate_mean_hz"])
        dc = np.asarray(f["dc_a"])
        at1 = float(np.interp(1e-9, dc, r))
        out.append(f"{name}: rheobase {f['rheobase_mean_a'] * 1e12:.1f} pA (CV {f['rheobase_cv']:.2f}), "
                   f"rate at 1 nA {at1:.1f} Hz, gain above 1 nA {f['gain_high_hz_per_na']:.0f} Hz/nA, "
                   f"tau_mem {f['tau_mem_mean_s'] * 1e3:.1f} ms, t_ref {f['t_ref_mean_s'] * 1e3:.2f} ms")
    return out
