"""Experiments 1 and 2 of the EBN plastic synapse (Büchel et al. 2021, Figs. 5 and 6): SPICE and model.

* :func:`run_spice` runs ``netlists/benches/plastic_exp{1,2}_tb.cir`` (sky130,
  ngspice, Gear integration) and returns a :class:`Trace`;
* :func:`run_model` runs :class:`circuits.plastic_model.PlasticSynapseModel`
  on the same protocol and returns a :class:`Trace`;
* :func:`measure` turns a trace into the figures of ``metrics.json``: final
  weight, final membrane current, the band ``[I_lower, I_upper]`` with
  ``I_lower/upper = I_rest - w I_Omega/2 -+ I_SL`` (the paper's eq. 3 in currents, SPEC §2), whether the
  circuit settled in band, the settling time and the phase sequence;
* :func:`run_monte_carlo` runs N mismatched instances of the plastic synapse
  (corner ``tt_mm``, one seeded deck each, in parallel processes) and draws
  virtual chips of the behavioural model from the common mismatch model.

Units: SI (A, s, Hz).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .constants import VDD_V
from .plastic_model import (PHASE_NAMES, SL, W_MAX, W_MIN, ExperimentConfig, MismatchDraw, PlasticSynapseModel,
                            PlasticSynapseParams, characterise_dac, characterise_neuron)

#: Output step (s) and default maximum internal step (s) of the SPICE transients.
SPICE_STEP_S = 1e-4
SPICE_MAX_STEP_S = 2e-4
#: Fraction of the run at its end over which "settled" is judged (>= SETTLE_MIN_PULSES pulses).
SETTLE_WINDOW_FRACTION = 0.25
SETTLE_MIN_PULSES = 10

BENCHES = {1: "benches/plastic_exp1_tb.cir", 2: "benches/plastic_exp2_tb.cir"}


@dataclass
class Trace:
    """One run (SPICE or model) on the experiment's protocol.

    t : (n,) time (s); i_mem : (n,) membrane current (A); weight : (n,) int.
    pulse_t : (p,) pulse onsets (s); i_before : (p,) I_mem at each onset (A);
    w_before : (p,) weight in force at each onset; phase : (p,) decision
    applied at the end of the pulse (INC 1, DEC -1, SL 0).
    """

    t: np.ndarray
    i_mem: np.ndarray
    weight: np.ndarray
    pulse_t: np.ndarray
    i_before: np.ndarray
    w_before: np.ndarray
    phase: np.ndarray
    source: str = ""


def _onsets(cfg: ExperimentConfig) -> np.ndarray:
    on = cfg.t_first + cfg.period * np.arange(int(math.floor((cfg.duration_s - cfg.t_first) / cfg.period)) + 1)
    return on[on < cfg.duration_s]


def _trace_from(t, i_mem, weight, cfg: ExperimentConfig, source: str) -> Trace:
    """Sample I_mem and the weight at each pulse onset; the phase is the weight step the pulse caused."""
    if not (np.all(np.isfinite(i_mem)) and np.all(np.isfinite(t))):
        bad = np.nonzero(~np.isfinite(i_mem))[0]
        raise FloatingPointError(f"{source}: non-finite I_mem at t={t[bad[0]]:.6g} s")
    on = _onsets(cfg)
    k = np.clip(np.searchsorted(t, on) - 1, 0, len(t) - 1)
    i_b = i_mem[k]
    w_b = weight[k]
    nxt = np.append(w_b[1:], weight[-1])
    phase = np.sign(nxt - w_b).astype(np.int64)
    return Trace(t=t, i_mem=i_mem, weight=weight, pulse_t=on, i_before=i_b, w_before=w_b, phase=phase,
                 source=source)


def bench_params(cfg: ExperimentConfig, params: PlasticSynapseParams) -> dict:
    """``.param`` overrides of the bench for ``cfg`` and ``params``."""
    d = params.netlist_params()
    d.update(period=cfg.period, t_first=cfg.t_first, w0=int(cfg.w0))
    if cfg.experiment == 2:
        d["w_exc"] = int(cfg.w_exc)
    return d


def weight_from_bits(bits: np.ndarray) -> np.ndarray:
    """Two's-complement weight from logic levels ``bits`` (6, n) (V, high > 0.9 V)."""
    q = (np.asarray(bits) > 0.9).astype(np.int64)
    return sum(q[i] << i for i in range(5)) - 32 * q[5]


def run_spice(cfg: ExperimentConfig, params: PlasticSynapseParams = PlasticSynapseParams(),
              max_step: float = SPICE_MAX_STEP_S, corner: str = "tt", seed: int | None = None,
              timeout_s: float = 7200.0) -> Trace:
    """Transistor-level run of experiment ``cfg.experiment`` (ngspice, sky130); ``timeout_s`` wall limit."""
    from .spice import run_tran

    text = _bench_text(BENCHES[cfg.experiment])
    r = run_tran(text, SPICE_STEP_S, cfg.duration_s, params=bench_params(cfg, params), corner=corner,
                 seed=seed, max_step=max_step, timeout_s=timeout_s)
    w = weight_from_bits(np.array([r.v(f"q{i}") for i in range(6)]))
    return _trace_from(r.time, r["i(v.xp.vimem)"], w, cfg, "spice")


def _bench_text(bench: str) -> str:
    """The bench with Gear integration (no trapezoidal ringing at the fast logic edges)."""
    from .spice import NETLIST_DIR

    path = NETLIST_DIR / bench
    text = path.read_text().replace(".include ../", f".include {path.parent.parent}/")
    return text + "\n.option method=gear\n"


def run_model(cfg: ExperimentConfig, params: PlasticSynapseParams = PlasticSynapseParams(),
              mismatch: MismatchDraw | None = None,
              model: PlasticSynapseModel | None = None) -> tuple[Trace, np.ndarray]:
    """Behavioural run; returns the trace and the model's signed I_Omega/2 per code
    (A, shape (64,), index w + 32: :meth:`PlasticSynapseModel.omega_half_table`), the band of :func:`measure`."""
    m = model or build_model(params, mismatch)
    r = m.run(cfg)
    tr = _trace_from(r.t, r.i_mem, r.weight, cfg, "model")
    return tr, m.omega_half_table()


def build_model(params: PlasticSynapseParams = PlasticSynapseParams(), mismatch: MismatchDraw | None = None,
                corner: str = "tt") -> PlasticSynapseModel:
    """The behavioural model with the PDK characterisation and the neuron's DC characterisation."""
    from .characterise import characterise

    return PlasticSynapseModel(params, characterise(), characterise_neuron(params, corner), mismatch,
                               dac=characterise_dac(params, corner))


# --------------------------------------------------------------------------- measurements
def phase_runs(phase: np.ndarray) -> list[str]:
    """Run-length compressed phase names, e.g. ['INC', 'DEC', 'SL', 'INC', 'SL']."""
    out: list[str] = []
    for p in np.asarray(phase).tolist():
        name = PHASE_NAMES[int(p)]
        if not out or out[-1] != name:
            out.append(name)
    return out


def measure(tr: Trace, cfg: ExperimentConfig, params: PlasticSynapseParams, omega_half) -> dict:
    """Figures of one run.

    ``omega_half``: signed I_Omega/2 per code (A, shape (64,), index w + 32),
    as the circuit produces it from the weight current (the nominal chip's,
    :meth:`PlasticSynapseModel.omega_half_table`): the band is the rule's,
    ``I_lower/upper = I_rest - I_Omega/2(w) -+ I_SL`` of the final weight.
    ``settled_in_band``: the weight does not change over the final window (the
    last :data:`SETTLE_WINDOW_FRACTION` of the pulses, at least
    :data:`SETTLE_MIN_PULSES`) and every I_mem sample at pulse onset in that
    window lies in ``[I_lower, I_upper]``.
    ``settle_time_s``: onset of the first pulse after the last weight change.
    """
    omega_half = np.asarray(omega_half, dtype=float)
    if omega_half.shape != (W_MAX - W_MIN + 1,):
        raise ValueError(f"omega_half has shape {omega_half.shape}, expected ({W_MAX - W_MIN + 1},)")
    w_final = int(tr.weight[-1])
    half = float(omega_half[w_final - W_MIN])
    i_lower = params.i_rest - half - params.i_sl
    i_upper = params.i_rest - half + params.i_sl
    n = len(tr.pulse_t)
    win = max(SETTLE_MIN_PULSES, int(math.ceil(SETTLE_WINDOW_FRACTION * n)))
    win = min(win, n)
    tail = slice(n - win, n)
    changed = np.nonzero(tr.phase != SL)[0]
    last_change = int(changed[-1]) if changed.size else -1
    settle_idx = last_change + 1
    settle_time = float(tr.pulse_t[settle_idx]) if settle_idx < n else float("nan")
    in_band = bool(np.all((tr.i_before[tail] >= i_lower) & (tr.i_before[tail] <= i_upper)))
    no_change = bool(np.all(tr.phase[tail] == SL))
    return {
        "final_weight": w_final,
        "final_i_mem_a": float(np.mean(tr.i_before[tail])),
        "i_lower_a": float(i_lower),
        "i_upper_a": float(i_upper),
        "settled_in_band": bool(in_band and no_change),
        "settle_time_s": settle_time,
        "peak_i_mem_a": float(np.max(tr.i_mem)),
        "min_weight": int(np.min(tr.weight)),
        "max_weight": int(np.max(tr.weight)),
        "phases": phase_runs(tr.phase),
    }


# --------------------------------------------------------------------------- Monte Carlo
def mc_deck(n: int, cfg: ExperimentConfig, params: PlasticSynapseParams) -> str:
    """ngspice deck with ``n`` copies of the plastic synapse (experiment 1) on one spike source."""
    from .spice import NETLIST_DIR

    if not (1 <= n <= 200):
        raise ValueError(f"n={n!r} is outside the allowed range [1, 200]")
    p = bench_params(cfg, params)
    lines = [f"* Monte Carlo of experiment 1: {n} plastic synapses (tt_mm mismatch per instance)",
             f".include {NETLIST_DIR / 'plastic_synapse.cir'}",
             ".param " + " ".join(f"{k}={v!r}" for k, v in p.items()),
             f"VDD vdd 0 {VDD_V}",
             f"VSPK spike 0 PULSE(0 {VDD_V} {{t_first}} 1u 1u 5u {{period}})"]
    # every design value of the model goes to every instance (a value missing here would change
    # the model but not the SPICE instances); w0 sets the register's initial state
    names = ["w0", *params.netlist_params()]
    args = " ".join(f"{k}={{{k}}}" for k in names)
    save = []
    for j in range(n):
        lines.append(f"XP{j} spike pulse{j} nin{j} vc{j} vh{j} " + " ".join(f"q{i}_{j}" for i in range(6))
                     + f" inc{j} dec{j} vdd 0 plastic_synapse {args}")
        save += [f"i(v.xp{j}.vimem)"] + [f"v(q{i}_{j})" for i in range(6)]
    lines.append(".save " + " ".join(save))
    lines.append(".option method=gear")
    return "\n".join(lines) + "\n"


def _mc_instance(cfg: ExperimentConfig, params: PlasticSynapseParams, seed: int, max_step: float,
                 timeout_s: float):
    """One mismatched instance (``tt_mm``, ngspice seed ``seed``): (t, I_mem, weight), or ``None``
    when the transient exceeds ``timeout_s`` (wall)."""
    from .spice import SpiceTimeoutError, run_tran

    try:
        r = run_tran(mc_deck(1, cfg, params), SPICE_STEP_S, cfg.duration_s, corner="tt_mm", seed=seed,
                     max_step=max_step, timeout_s=timeout_s)
    except SpiceTimeoutError:
        return None  # counted as an instance that did not settle, reported as timed out
    return r.time, r["i(v.xp0.vimem)"], weight_from_bits(np.array([r[f"v(q{i}_0)"] for i in range(6)]))


def run_monte_carlo(n: int, cfg: ExperimentConfig, params: PlasticSynapseParams = PlasticSynapseParams(),
                    seed: int = 1, max_step: float = SPICE_MAX_STEP_S, model_draws: int = 200,
                    spice: bool = True, timeout_s: float = 600.0, workers: int = 2) -> dict:
    """Monte Carlo of experiment 1: SPICE (``tt_mm``) and the behavioural model.

    Each of the ``n`` SPICE instances is its own deck (instance ``j`` seeded
    ``seed + j``), run on ``workers`` parallel processes: in one deck the
    mismatched copies switch at different times and every copy is integrated
    at the union of all their time steps (4 copies in one deck cost ~20 times
    one).  Returns the per-instance SPICE metrics, the model's
    final weights over ``model_draws`` virtual chips (seeds ``seed .. seed +
    model_draws - 1`` of the common mismatch model) and the summary figures.
    An instance whose transient exceeds ``timeout_s`` (wall, per instance) is
    reported as timed out and counts as not settled.
    """
    if cfg.experiment != 1:
        raise ValueError(f"cfg.experiment={cfg.experiment!r}: the Monte Carlo runs experiment 1")
    from .characterise import characterise

    ch = characterise()
    base = build_model(params)
    om = base.omega_half_table()
    out: dict = {"instances": int(n), "seed": int(seed)}
    if spice:
        if not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers={workers!r} must be an integer >= 1")
        if workers == 1 or n == 1:
            runs = [_mc_instance(cfg, params, seed + j, max_step, timeout_s) for j in range(n)]
        else:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            from .procs import die_with_parent

            with ProcessPoolExecutor(min(workers, n), mp_context=mp.get_context("spawn"),
                                     initializer=die_with_parent) as pool:
                futs = [pool.submit(_mc_instance, cfg, params, seed + j, max_step, timeout_s) for j in range(n)]
                runs = [f.result() for f in futs]
        per = []
        for j, run in enumerate(runs):
            if run is None:
                per.append({"seed": int(seed + j), "timed_out": True, "settled_in_band": False})
                continue
            t, i_mem, w = run
            per.append({"seed": int(seed + j), "timed_out": False,
                        **measure(_trace_from(t, i_mem, w, cfg, f"spice mc {j}"), cfg, params, om)})
        fw = np.array([m["final_weight"] for m in per if not m["timed_out"]], float)
        out.update(spice_instances=per, timed_out=int(sum(m["timed_out"] for m in per)),
                   settled_fraction=float(np.mean([m["settled_in_band"] for m in per])),
                   final_weight_mean_spice=float(fw.mean()) if fw.size else None,
                   final_weight_std_spice=float(fw.std(ddof=1)) if fw.size > 1 else None)
    mw = []
    settled = []
    for s in range(seed, seed + model_draws):
        mm = MismatchDraw.draw(s, ch.kappa_n, ch.kappa_p, ch.u_t, params)
        tr, _ = run_model(cfg, params, model=PlasticSynapseModel(params, ch, base.neuron, mm, dac=base.dac))
        met = measure(tr, cfg, params, om)
        mw.append(met["final_weight"])
        settled.append(met["settled_in_band"])
    mw = np.array(mw, float)
    out.update(model_final_weights=mw.tolist(), final_weight_mean_model=float(mw.mean()),
               final_weight_std_model=float(mw.std(ddof=1)), settled_fraction_model=float(np.mean(settled)))
    return out
