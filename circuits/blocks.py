"""Bench experiments on the spike extender, the DPI synapse and the Traff comparator.

Each function runs real ngspice transients of a bench in ``netlists/benches/``,
extracts figures ``.meas``-style (threshold crossings, log-linear fits, final
values) and compares them with the behavioural twins of :mod:`circuits.twins`
parameterised by :func:`circuits.characterise.characterise`.

Figures (blocks of Büchel et al. 2021, Sec. III; their equations are the design equations of
SPEC §2 and Bartolozzi & Indiveri 2007, the paper states none of them):

* spike extender — pulse width for a 20 ns input spike over an I_pw sweep vs
  ``t_pw = C_pw V_sw / I_pw``; rail-to-rail levels (worst sample of each level); a second spike inside the
  pulse retriggers it (one merged pulse ending ``t_pw`` after the last spike);
* DPI synapse — tau from the log-linear decay vs ``C U_T / (kappa I_tau)``;
  steady state vs the DPI equation's ``I_gain I_w / I_tau - I_gain`` at I_syn <= 5 nA
  (subthreshold); a 100 Hz train of
  1 ms pulses vs the twin's trajectory (NRMSE = RMS error / range of the
  SPICE trace);
* Traff comparator — resolution (smallest |dI| decided correctly and rail to
  rail within the decision window) and delay (at |dI| = 1 % of the reference)
  at 1, 10, 100 nA;
* Monte Carlo (``tt_mm``, 32 instances per deck) of pulse width, DPI tau and
  gain, comparator offset vs the twin + the common mismatch model.

Golden waveforms: :func:`golden_waveforms` produces small decimated traces of
one run per bench; ``tests/circuits/golden/blocks_golden.npz`` holds the
reference copy. Regenerate it on purpose (after an intended netlist change)
with::

    python -m circuits verify --regenerate-golden

which calls :func:`write_golden`.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .characterise import Characterisation, characterise
from .constants import VDD_V
from .twins import (DPISynapseTwin, SpikeExtenderTwin, TraffComparatorTwin, comparator_offset_spread,
                    dpi_spread, extender_width_spread, pulse_train)

#: Reference copy of the golden waveforms.
GOLDEN_PATH = Path(__file__).resolve().parent.parent / "tests" / "circuits" / "golden" / "blocks_golden.npz"

#: Design values of the benches (the netlists' defaults where they exist).
C_PW_F = 1e-12
C_SYN_F = 5e-12
SPIKE_WIDTH_S = 20e-9
#: Decision window of the comparator (s): 5 % of a 1 ms learning pulse.
DECISION_WINDOW_S = 50e-6
#: |dI| steps of the comparator bench, as fractions of the reference current.
DI_FRACTIONS = (0.1, 0.03, 0.01, 0.003, 0.001, 0.0003)
MC_INSTANCES = 32
#: Current window (A) of the log-linear tau fit on the DPI decay.
TAU_FIT_A = (0.1e-9, 1e-9)


class MeasurementError(RuntimeError):
    """A figure could not be extracted from a waveform (says which and why)."""


# --------------------------------------------------------------------------- waveform helpers
def crossings(t: np.ndarray, y: np.ndarray, level: float, rising: bool) -> np.ndarray:
    """Times (s) at which ``y`` crosses ``level`` upwards (``rising``) or downwards, linearly interpolated."""
    t = np.asarray(t, float)
    y = np.asarray(y, float)
    a, b = y[:-1] - level, y[1:] - level
    idx = np.nonzero((a < 0) & (b >= 0))[0] if rising else np.nonzero((a > 0) & (b <= 0))[0]
    frac = a[idx] / (a[idx] - b[idx])
    return t[idx] + frac * (t[idx + 1] - t[idx])


def _check_finite(name: str, arr: np.ndarray) -> np.ndarray:
    if not np.all(np.isfinite(arr)):
        raise FloatingPointError(f"{name}: non-finite values in the waveform")
    return arr


# --------------------------------------------------------------------------- spike extender
def spike_extender_run(i_pw: float, char: Characterisation, t2: float | None = None,
                       points: int = 300) -> dict:
    """One transient of ``benches/spike_extender_tb.cir`` and its measured figures.

    Parameters
    ----------
    i_pw : float
        Bias current (A).
    char : Characterisation
        PDK constants (V_sw for the twin's expected width, which sets the run length).
    t2 : float, optional
        Time (s) of a second spike (the first is at 2 µs); None for a single spike.
    points : int
        Output points of the transient (sets the time step).

    Returns
    -------
    dict with ``t``, ``out``, ``c`` (arrays), ``width`` (s, first rise to last
    fall of ``out`` at VDD/2), ``n_pulses``, ``v_high``, ``v_low`` (V).
    """
    if not (1e-10 <= i_pw <= 1e-5):
        raise ValueError(f"i_pw={i_pw!r} is outside the allowed range 1e-10..1e-5 A")
    from . import spice

    t1 = 2e-6
    twin = SpikeExtenderTwin(C_PW_F, char.v_sw_extender)
    w = twin.width(i_pw)
    last = t1 if t2 is None else t2
    stop = last + 1.5 * w + 1e-6
    params = {"ipw": i_pw, "cpw": C_PW_F, "t1": t1, "t2": (t2 if t2 is not None else 10 * stop),
              "tsp": SPIKE_WIDTH_S}
    r = spice.run_tran("benches/spike_extender_tb.cir", step=stop / points, stop=stop, params=params,
                       max_step=stop / points)
    t, out = r.time, _check_finite("spike extender out", r.v("out"))
    up, down = crossings(t, out, VDD_V / 2, True), crossings(t, out, VDD_V / 2, False)
    if up.size == 0 or down.size == 0:
        raise MeasurementError(f"spike extender at i_pw={i_pw:g} A: no complete output pulse")
    v_high, v_low = pulse_levels(t, out, t1, VDD_V)
    return {"t": t, "out": out, "c": r.v("x1.c"), "width": float(down[-1] - up[0]),
            "n_pulses": int(up.size), "v_high": v_high, "v_low": v_low, "t1": t1, "t2": t2}


#: Fraction of the pulse width trimmed at each edge before the levels are read (the output
#: inverters switch within it: their transitions are < 1 % of t_pw from 1 nA to 300 nA).
EDGE_TRIM = 0.01


def pulse_levels(t: np.ndarray, out: np.ndarray, t_in: float, vdd: float) -> tuple[float, float]:
    """Worst high and low level (V) of an output pulse: ``v_high`` the LOWEST sample over the
    pulse (first rise to last fall at vdd/2, :data:`EDGE_TRIM` of its width trimmed at each edge),
    ``v_low`` the HIGHEST sample before the input at ``t_in`` and after the pulse (trimmed the
    same). Rail to rail means the whole high level and the whole low level reach the rails."""
    t = np.asarray(t, float)
    out = np.asarray(out, float)
    up, down = crossings(t, out, vdd / 2, True), crossings(t, out, vdd / 2, False)
    if up.size == 0 or down.size == 0 or down[-1] <= up[0]:
        raise MeasurementError("pulse_levels: no complete output pulse")
    trim = EDGE_TRIM * (down[-1] - up[0])
    high = out[(t >= up[0] + trim) & (t <= down[-1] - trim)]
    low = out[(t < t_in) | (t >= down[-1] + trim)]
    if high.size == 0 or low.size == 0:
        raise MeasurementError(f"pulse_levels: no samples on the {'high' if high.size == 0 else 'low'} level")
    return float(np.min(high)), float(np.max(low))


def spike_extender_sweep(i_pw_values, char: Characterisation | None = None, progress=None) -> dict:
    """Pulse width over an I_pw sweep, SPICE vs twin, plus the back-to-back experiment.

    Returns the ``metrics.json`` section (lists) and the waveforms under ``"_waves"``.
    """
    char = char or characterise()
    twin = SpikeExtenderTwin(C_PW_F, char.v_sw_extender)
    widths, runs = [], []
    for i in i_pw_values:
        run = spike_extender_run(float(i), char)
        widths.append(run["width"])
        runs.append(run)
        if progress:
            progress.update(1)
    model = [float(twin.width(float(i))) for i in i_pw_values]
    rel = [abs(s / m - 1) for s, m in zip(widths, model)]
    # back-to-back: a second spike at half the pulse width (I_pw = 10 nA)
    i_bb = 10e-9
    w_bb = twin.width(i_bb)
    bb = spike_extender_run(i_bb, char, t2=2e-6 + 0.5 * w_bb)
    if progress:
        progress.update(1)
    bb_model = 0.5 * w_bb + w_bb
    return {
        "i_pw_a": [float(i) for i in i_pw_values],
        "width_spice_s": widths,
        "width_model_s": model,
        "rel_err": rel,
        "max_rel_err": float(max(rel)),
        "v_high_min_v": float(min(r["v_high"] for r in runs)),
        "v_low_max_v": float(max(r["v_low"] for r in runs)),
        "rail_to_rail": bool(min(r["v_high"] for r in runs) >= 0.99 * VDD_V
                             and max(r["v_low"] for r in runs) <= 0.01 * VDD_V),
        "back_to_back": {"i_pw_a": i_bb, "spike_gap_s": 0.5 * w_bb, "n_output_pulses": bb["n_pulses"],
                         "width_spice_s": bb["width"], "width_model_s": float(bb_model),
                         "rel_err": float(abs(bb["width"] / bb_model - 1)),
                         "behaviour": "retriggerable: a spike during the pulse restarts the timing; "
                                      "one merged pulse ends t_pw after the last spike"},
        "v_sw_v": char.v_sw_extender,
        "c_pw_f": C_PW_F,
        "_waves": {"runs": runs, "back_to_back": bb},
    }


# --------------------------------------------------------------------------- DPI synapse
def _dpi_run(params: dict, stop: float, points: int, tdel: float, pw: float, per: float):
    from . import spice

    p = dict(params, tdel=tdel, pw=pw, per=per)
    r = spice.run_tran("benches/dpi_synapse_tb.cir", step=stop / points, stop=stop, params=p,
                       max_step=stop / points)
    return r.time, _check_finite("DPI I_syn", -r.i("vout"))


def decay_tau(t: np.ndarray, i: np.ndarray, t_off: float, i_hi: float = TAU_FIT_A[1],
              i_lo: float = TAU_FIT_A[0]) -> float:
    """Time constant (s) of the decay after ``t_off``: least-squares slope of ln I_syn(t)
    for ``i_lo <= I_syn <= i_hi`` (A)."""
    sel = (t > t_off) & (i <= i_hi) & (i >= i_lo)
    if sel.sum() < 8:
        raise MeasurementError(f"DPI decay: only {int(sel.sum())} points with {i_lo:g} <= I_syn <= {i_hi:g} A "
                               f"after t={t_off:g} s (I_syn at t_off = {float(np.interp(t_off, t, i)):.3g} A)")
    slope = np.polyfit(t[sel], np.log(i[sel]), 1)[0]
    if slope >= 0:
        raise MeasurementError("DPI decay: I_syn does not decay after the pulse")
    return float(-1.0 / slope)


def dpi_tau_run(i_tau: float, char: Characterisation, points: int = 500) -> dict:
    """Charge the DPI with one long pulse, then measure tau on the decay.

    Charging biases: I_w = 4 I_tau, I_gain = 1 nA (steady state 3 nA, above the
    fit window); C_syn = 5 pF. tau is fitted on the decay between
    :data:`TAU_FIT_A` (subthreshold, where the characterised kappa holds).
    """
    if not (5e-12 <= i_tau <= 1e-8):
        raise ValueError(f"i_tau={i_tau!r} is outside the allowed range 5e-12..1e-8 A")
    twin = DPISynapseTwin(C_SYN_F, char.kappa_n, char.u_t, i_tau, 1e-9, 4 * i_tau)
    tau = twin.tau
    tdel = 0.05 * tau
    pw = tau * (math.log(1e6) * twin.i_gain / twin.i_steady + 8.0)
    stop = tdel + pw + 4.0 * tau
    params = {"itau": i_tau, "igain": twin.i_gain, "iw": twin.i_w, "csyn": C_SYN_F}
    t, i = _dpi_run(params, stop, points, tdel, pw, 10 * stop)
    t_off = tdel + pw
    return {"t": t, "i": i, "t_off": t_off, "tau_spice": decay_tau(t, i, t_off), "tau_model": tau}


def dpi_gain_run(i_tau: float, i_gain: float, i_w: float, char: Characterisation, points: int = 300,
                 c_syn: float = 1e-12) -> dict:
    """Steady-state I_syn at the end of a long pulse vs the DPI equation's steady state
    ``I_gain I_w / I_tau - I_gain`` (``i_full``; SPEC §2, Bartolozzi & Indiveri 2007) and its
    linear approximation ``I_gain I_w / I_tau`` (``i_linear``, valid for I_syn >> I_gain)."""
    twin = DPISynapseTwin(c_syn, char.kappa_n, char.u_t, i_tau, i_gain, i_w)
    # growth from the leakage floor (rate ~ I_inf/(tau I_gain)) and settling
    pw = twin.tau * (math.log(1e6) * i_gain / twin.i_steady + 8.0)
    stop = 0.02 * pw + pw
    params = {"itau": i_tau, "igain": i_gain, "iw": i_w, "csyn": c_syn}
    t, i = _dpi_run(params, stop * 1.0001, points, 0.02 * pw, 2 * stop, 10 * stop)
    return {"i_ss_spice": float(i[-1]), "i_linear": twin.i_linear, "i_full": twin.i_steady}


def dpi_train_run(char: Characterisation, rate_hz: float = 100.0, pulse_s: float = 1e-3,
                  duration_s: float = 0.2, points: int = 2000, i_tau: float = 20e-12,
                  i_gain: float = 1e-9, i_w: float = 1e-9) -> dict:
    """Response to a train of extended pulses (``rate_hz``, width ``pulse_s``) vs the twin.

    The twin starts from the SPICE operating point's I_syn and integrates Bartolozzi & Indiveri 2007's
    equation on the SPICE time grid. NRMSE = RMS(I_spice - I_twin) / (max - min of I_spice).
    """
    if not (1.0 <= rate_hz <= 1e4) or not (0 < pulse_s < 1.0 / rate_hz):
        raise ValueError(f"rate_hz={rate_hz!r}, pulse_s={pulse_s!r}: need 1..1e4 Hz and 0 < pulse_s < period")
    period = 1.0 / rate_hz
    tdel = 0.5e-3
    params = {"itau": i_tau, "igain": i_gain, "iw": i_w, "csyn": C_SYN_F}
    t, i = _dpi_run(params, duration_s, points, tdel, pulse_s, period)
    twin = DPISynapseTwin(C_SYN_F, char.kappa_n, char.u_t, i_tau, i_gain, i_w)
    on = pulse_train(t, tdel, pulse_s, period)
    model = twin.simulate(t, on, i_start=float(i[0]), i_floor=float(i[0]))
    # uniform-time RMS (the SPICE grid is not uniform)
    tu = np.linspace(t[0], t[-1], 4000)
    a, b = np.interp(tu, t, i), np.interp(tu, t, model)
    nrmse = float(np.sqrt(np.mean((a - b) ** 2)) / (a.max() - a.min()))
    return {"t": t, "i_spice": i, "i_model": model, "on": on, "nrmse": nrmse, "rate_hz": rate_hz,
            "pulse_s": pulse_s, "i_tau": i_tau, "i_gain": i_gain, "i_w": i_w}


def dpi_experiments(i_tau_values, gain_ratios, char: Characterisation | None = None, train_duration_s=0.2,
                    progress=None) -> dict:
    """tau sweep, steady-state gain sweep and the 100 Hz train (metrics section + waves)."""
    char = char or characterise()
    taus, runs = [], []
    for it in i_tau_values:
        run = dpi_tau_run(float(it), char)
        taus.append(run["tau_spice"])
        runs.append(run)
        if progress:
            progress.update(1)
    model = [DPISynapseTwin(C_SYN_F, char.kappa_n, char.u_t, float(it), 1e-10, 1e-9).tau
             for it in i_tau_values]
    tau_err = [abs(s / m - 1) for s, m in zip(taus, model)]
    i_tau_g, i_gain_g = 20e-12, 100e-12
    gains = []
    for ratio in gain_ratios:
        g = dpi_gain_run(i_tau_g, i_gain_g, ratio * i_tau_g, char)
        g["ratio_iw_itau"] = float(ratio)
        gains.append(g)
        if progress:
            progress.update(1)
    # the DPI equation's steady state is I_gain I_w / I_tau - I_gain (i_full); the linear form
    # differs from it by 1/(ratio - 1) and is kept only for information
    gain_err = [abs(g["i_ss_spice"] / g["i_full"] - 1) for g in gains]
    train = dpi_train_run(char, duration_s=train_duration_s)
    if progress:
        progress.update(1)
    return {
        "i_tau_a": [float(x) for x in i_tau_values],
        "tau_spice_s": taus,
        "tau_model_s": model,
        "tau_rel_err": tau_err,
        "tau_max_rel_err": float(max(tau_err)),
        "gain": {"i_tau_a": i_tau_g, "i_gain_a": i_gain_g,
                 "ratio_iw_itau": [g["ratio_iw_itau"] for g in gains],
                 "i_ss_spice_a": [g["i_ss_spice"] for g in gains],
                 "i_linear_a": [g["i_linear"] for g in gains],
                 "i_full_a": [g["i_full"] for g in gains],
                 "rel_err_linear": [abs(g["i_ss_spice"] / g["i_linear"] - 1) for g in gains],
                 "rel_err_full": gain_err},
        # worst |I_ss SPICE / (I_gain I_w/I_tau - I_gain) - 1| over the ratios
        "gain_max_rel_err": float(max(gain_err)),
        "train_nrmse": train["nrmse"],
        "train": {k: train[k] for k in ("rate_hz", "pulse_s", "i_tau", "i_gain", "i_w")},
        "kappa": char.kappa_n,
        "c_syn_f": C_SYN_F,
        "_waves": {"tau_runs": runs, "train": train},
    }


# --------------------------------------------------------------------------- Traff comparator
def traff_run(i_ref: float, tseg: float = DECISION_WINDOW_S, fractions=DI_FRACTIONS) -> dict:
    """One transient of ``benches/traff_comparator_tb.cir`` (12 decisions) and its figures.

    Segment k (1..12) starts at ``k tseg``; odd segments ask for out HIGH (net
    current into the node = +|dI|), even ones for LOW. A decision is correct
    when the output reaches the right rail (within 10 % of VDD) by the end of
    its segment; its delay is the VDD/2 crossing time after the step.
    """
    if not (1e-11 <= i_ref <= 1e-5):
        raise ValueError(f"i_ref={i_ref!r} is outside the allowed range 1e-11..1e-5 A")
    if len(fractions) != 6:
        raise ValueError(f"fractions={fractions!r} must hold 6 values (the bench has d1..d6)")
    from . import spice

    ds = {f"d{k + 1}": i_ref * f for k, f in enumerate(fractions)}
    stop = 13 * tseg
    r = spice.run_tran("benches/traff_comparator_tb.cir", step=tseg / 250, stop=stop,
                       params=dict(iref=i_ref, tseg=tseg, **ds), max_step=tseg / 50)
    t, out = r.time, _check_finite("Traff out", r.v("out"))
    decisions = []
    for k in range(1, 13):
        want_high = k % 2 == 1
        t0, t1 = k * tseg, (k + 1) * tseg
        seg = (t >= t0) & (t <= t1)
        end = float(np.interp(t1 - 1e-3 * tseg, t, out))
        correct = end >= 0.9 * VDD_V if want_high else end <= 0.1 * VDD_V
        cr = crossings(t[seg], out[seg], VDD_V / 2, want_high)
        delay = float(cr[0] - t0) if (cr.size and correct) else float("nan")
        decisions.append({"di_a": float(ds[f"d{(k + 1) // 2}"]) * (1 if want_high else -1),
                          "want_high": want_high, "correct": bool(correct), "delay_s": delay})
    return {"t": t, "out": out, "v_in": r.v("in"), "decisions": decisions, "tseg": tseg}


def ref_key(i_ref: float) -> str:
    """metrics.json key of a reference current: 1e-08 -> "1e-8"."""
    mant, exp = f"{i_ref:.0e}".split("e")
    return f"{mant}e{int(exp)}"


def traff_experiments(i_refs=(1e-9, 1e-8, 1e-7), progress=None) -> dict:
    """Resolution, delay and correctness at each reference current (metrics section + waves)."""
    res, delay, correct_all, detail, waves = {}, {}, True, {}, {}
    for i_ref in i_refs:
        run = traff_run(i_ref)
        key = ref_key(i_ref)
        waves[key] = run
        mags = sorted({abs(d["di_a"]) for d in run["decisions"]}, reverse=True)
        ok = {m: all(d["correct"] for d in run["decisions"] if abs(d["di_a"]) == m) for m in mags}
        # resolution: smallest |dI| such that it and every larger |dI| are decided correctly
        resolved = None
        for m in mags:
            if not ok[m]:
                break
            resolved = m
        res[key] = resolved
        d1 = [d["delay_s"] for d in run["decisions"] if math.isclose(abs(d["di_a"]), 0.01 * i_ref, rel_tol=1e-6)]
        delay[key] = float(max(d1)) if d1 and all(np.isfinite(d1)) else float("nan")
        floor = 0.1e-9 if math.isclose(i_ref, 1e-8) else 0.01 * i_ref
        must = [ok[m] for m in mags if m >= floor * (1 - 1e-9)]
        correct_all &= all(must)
        detail[key] = run["decisions"]
        if progress:
            progress.update(1)
    # the twin: an ideal comparator with the measured delay and offset 0 (ideal current sources:
    # |offset| < resolution); agreement = final decisions equal to the twin's sign decisions
    twin = TraffComparatorTwin(offset=0.0, delay=delay.get(ref_key(1e-8), 0.0) if np.isfinite(
        delay.get(ref_key(1e-8), np.nan)) else 0.0)
    # SPICE's decision: the wanted rail when reached, otherwise the opposite
    pairs = [(bool(twin.decide(d["di_a"])), d["want_high"] if d["correct"] else not d["want_high"])
             for decs in detail.values() for d in decs]
    agree = float(np.mean([a == b for a, b in pairs]))
    return {"resolution_a": res, "delay_s": delay, "all_decisions_correct": bool(correct_all),
            "twin": {"offset_a": twin.offset, "delay_s": twin.delay, "decisions_agree_fraction": agree},
            "delay_definition": "worst VDD/2 crossing time after a step of the net current to "
                                "+-1 % of the reference",
            "decision_window_s": DECISION_WINDOW_S, "decisions": detail, "_waves": waves}


# --------------------------------------------------------------------------- Monte Carlo
def mc_spike_extender(char: Characterisation, seed: int, i_pw: float = 10e-9) -> dict:
    """Pulse widths of 32 extenders in one tt_mm deck vs the twin + mismatch model."""
    from . import spice

    twin = SpikeExtenderTwin(C_PW_F, char.v_sw_extender)
    w = twin.width(i_pw)
    stop = 2e-6 + 1.6 * w
    r = spice.run_tran("benches/spike_extender_mc.cir", step=stop / 300, stop=stop, corner="tt_mm", seed=seed,
                       params={"ipw": i_pw}, max_step=stop / 300)
    widths = []
    for k in range(1, MC_INSTANCES + 1):
        out = r.v(f"out{k}")
        up, down = crossings(r.time, out, VDD_V / 2, True), crossings(r.time, out, VDD_V / 2, False)
        if not up.size or not down.size:
            raise MeasurementError(f"Monte Carlo spike extender {k}: no complete pulse")
        widths.append(float(down[-1] - up[0]))
    widths = np.array(widths)
    pred = extender_width_spread(twin, i_pw, char.kappa_eff("pfet", i_pw, 2, 4), char.u_t, seed=seed)
    return {"figure": "pulse width, relative sigma", "i_pw_a": i_pw, "n": MC_INSTANCES,
            "mean": float(widths.mean()), "sigma_measured": float(widths.std(ddof=1) / widths.mean()),
            "sigma_predicted": pred, "values": widths.tolist()}


def dpi_mirror_kappa(char: Characterisation, twin: DPISynapseTwin) -> tuple[float, float]:
    """Current (A) of the DPI's pfet return mirror MPD/MPO (2/2) where the steady-state gain is
    read, and its effective slope factor there: the mirror carries MB's share
    ``I_w I_gain / (I_gain + I_syn)``, which at the steady state balances the leak, i.e. I_tau
    (not I_w)."""
    i_mirror = twin.i_w * twin.i_gain / (twin.i_gain + twin.i_steady)
    return float(i_mirror), float(char.kappa_eff("pfet", i_mirror, 2, 2))


def mc_dpi(char: Characterisation, seed: int, i_tau: float = 20e-12, i_gain: float = 100e-12,
           i_w: float = 200e-12, c_syn: float = 1e-12) -> dict:
    """tau and steady state of 32 DPI synapses in one tt_mm deck vs the twin + mismatch model."""
    from . import spice

    twin = DPISynapseTwin(c_syn, char.kappa_n, char.u_t, i_tau, i_gain, i_w)
    tdel = 0.05 * twin.tau
    pw = twin.tau * (math.log(1e6) * i_gain / twin.i_steady + 8.0)
    stop = tdel + pw + 3.5 * twin.tau
    r = spice.run_tran("benches/dpi_synapse_mc.cir", step=stop / 500, stop=stop, corner="tt_mm", seed=seed,
                       params={"itau": i_tau, "igain": i_gain, "iw": i_w, "csyn": c_syn, "tdel": tdel, "pw": pw},
                       max_step=stop / 500)
    t, t_off = r.time, tdel + pw
    taus, gains = [], []
    for k in range(1, MC_INSTANCES + 1):
        i = _check_finite(f"DPI MC {k}", -r.i(f"vo{k}"))
        gains.append(float(np.interp(t_off, t, i)))
        taus.append(decay_tau(t, i, t_off))
    taus, gains = np.array(taus), np.array(gains)
    i_mirror, kappa_mirror = dpi_mirror_kappa(char, twin)
    pred = dpi_spread(twin, kappa_mirror, seed=seed)
    return {"tau": {"figure": "tau, relative sigma", "n": MC_INSTANCES, "mean": float(taus.mean()),
                    "sigma_measured": float(taus.std(ddof=1) / taus.mean()), "sigma_predicted": pred["tau"],
                    "values": taus.tolist()},
            "gain": {"figure": "steady-state I_syn, relative sigma", "n": MC_INSTANCES,
                     "mean": float(gains.mean()), "sigma_measured": float(gains.std(ddof=1) / gains.mean()),
                     "sigma_predicted": pred["gain"], "values": gains.tolist(),
                     "i_mirror_a": i_mirror, "kappa_p_mirror": kappa_mirror}}


def mc_traff(char: Characterisation, seed: int, i_ref: float = 10e-9, xmax: float = 2e-9) -> dict:
    """Input-referred offsets of 32 comparators (with their input mirrors) in one tt_mm deck."""
    from . import spice

    t0, tramp = 20e-6, 400e-6
    stop = t0 + tramp + 5e-6
    r = spice.run_tran("benches/traff_comparator_mc.cir", step=tramp / 1000, stop=stop, corner="tt_mm",
                       seed=seed, params={"iref": i_ref, "xmax": xmax, "t0": t0, "tramp": tramp},
                       max_step=tramp / 400)
    offs = []
    for k in range(1, MC_INSTANCES + 1):
        cr = crossings(r.time, r.v(f"out{k}"), VDD_V / 2, False)
        cr = cr[cr > t0]
        if not cr.size:
            raise MeasurementError(f"Monte Carlo comparator {k}: no decision within +-{xmax:g} A")
        offs.append(-xmax + 2 * xmax * (cr[0] - t0) / tramp)
    offs = np.array(offs)
    pred = comparator_offset_spread(i_ref, char.kappa_eff("nfet", i_ref, 4, 4), char.kappa_eff("pfet", i_ref, 4, 4),
                                    char.u_t, seed=seed)
    return {"figure": "input-referred offset (A), sigma", "i_ref_a": i_ref, "n": MC_INSTANCES,
            "mean": float(offs.mean()), "sigma_measured": float(offs.std(ddof=1)),
            "sigma_predicted": pred, "values": offs.tolist()}


# --------------------------------------------------------------------------- golden waveforms
GOLDEN_GRID = {"spike_extender": np.linspace(0, 120e-6, 241), "dpi_synapse": np.linspace(0, 0.1, 401),
               "traff_comparator": np.linspace(0, 13 * DECISION_WINDOW_S, 521)}
#: The single-spike run of the golden spike-extender waveform.
GOLDEN_I_PW_A = 10e-9
GOLDEN_TRAIN_S = 0.1
#: Tolerance of the analogue golden traces, as a fraction of the trace's range:
#: ngspice is deterministic for a given netlist, so only timestep differences
#: between builds remain (< 0.5 %); 2 % catches e.g. a 5 % change of a capacitor
#: or a bias mirror.
GOLDEN_ANALOG_TOL = 0.02


def golden_runs(char: Characterisation | None = None) -> dict:
    """The three runs behind the golden waveforms (tt corner): a 10 nA spike
    extender, 0.1 s of the 100 Hz DPI train (:func:`dpi_train_run` defaults),
    the Traff bench at 10 nA."""
    char = char or characterise()
    return {"spike_extender": spike_extender_run(GOLDEN_I_PW_A, char, points=600),
            "dpi_synapse": dpi_train_run(char, duration_s=GOLDEN_TRAIN_S),
            "traff_comparator": traff_run(1e-8)}


def golden_waveforms(runs: dict | None = None) -> dict[str, np.ndarray]:
    """Decimated waveforms on :data:`GOLDEN_GRID` from :func:`golden_runs` (computed if not given):
    spike-extender v(out) and v(c), DPI I_syn of the train, Traff v(out)."""
    runs = runs or golden_runs()
    se, dp, tc = runs["spike_extender"], runs["dpi_synapse"], runs["traff_comparator"]
    g = GOLDEN_GRID
    return {"spike_extender_out": np.interp(g["spike_extender"], se["t"], se["out"]),
            "spike_extender_c": np.interp(g["spike_extender"], se["t"], se["c"]),
            "dpi_synapse_isyn": np.interp(g["dpi_synapse"], dp["t"], dp["i_spice"]),
            "traff_comparator_out": np.interp(g["traff_comparator"], tc["t"], tc["out"])}


def write_golden(path: Path = GOLDEN_PATH, runs: dict | None = None) -> Path:
    """Regenerate the golden waveforms (compressed .npz) on purpose."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **golden_waveforms(runs), **{f"grid_{k}": v for k, v in GOLDEN_GRID.items()})
    return path


def compare_golden(new: dict, ref) -> dict[str, str]:
    """Differences between golden waveforms ``new`` and the reference ``ref`` (name -> message).

    Analogue traces (``spike_extender_c``, ``dpi_synapse_isyn``) must agree within
    :data:`GOLDEN_ANALOG_TOL` of the reference trace's range at every grid point;
    digital outputs may differ only next to an edge: at most 2 grid points per
    edge of the reference. An empty dict means the behaviour is unchanged.
    """
    problems = {}
    for name in ("spike_extender_c", "dpi_synapse_isyn"):
        a, b = np.asarray(new[name]), np.asarray(ref[name])
        err = float(np.max(np.abs(a - b)) / (b.max() - b.min()))
        if not err <= GOLDEN_ANALOG_TOL:
            problems[name] = f"max deviation {err * 100:.2f} % of the range (allowed {GOLDEN_ANALOG_TOL * 100:g} %)"
    for name in ("spike_extender_out", "traff_comparator_out"):
        a, b = np.asarray(new[name]) > VDD_V / 2, np.asarray(ref[name]) > VDD_V / 2
        edges = int(np.count_nonzero(np.diff(b.astype(int))))
        bad = int(np.count_nonzero(a != b))
        if bad > 2 * edges:
            problems[name] = f"{bad} grid points differ (allowed {2 * edges}: 2 per edge)"
    return problems


# --------------------------------------------------------------------------- everything
#: Largest I_w / I_tau of the steady-state test: I_gain (ratio - 1) at I_gain = 100 pA reaches the
#: 5 nA upper end of the DPI's subthreshold range (dpi_synapse.cir header).
DPI_MAX_GAIN_RATIO = 51.0


@dataclass(frozen=True)
class VerifyConfig:
    """Sizes of the verification run (``--quick`` uses :meth:`quick`).

    Attributes
    ----------
    i_pw_a : tuple of float
        Spike-extender bias sweep (A), must span >= 2 decades.
    i_tau_a : tuple of float
        DPI leak-bias sweep (A), must span >= 2 decades.
    gain_ratios : tuple of float
        I_w / I_tau ratios of the steady-state test (I_tau = 20 pA, I_gain = 100 pA), each in
        (1, DPI_MAX_GAIN_RATIO]: the steady state I_gain (ratio - 1) stays within the
        netlist's subthreshold range (I_syn <= ~5 nA, dpi_synapse.cir).
    train_duration_s : float
        Duration of the 100 Hz train (s).
    monte_carlo : bool
        Run the three tt_mm decks.
    seed : int
        ngspice random seed of the Monte Carlo decks and the mismatch-model draws.
    """

    i_pw_a: tuple = (1e-9, 3e-9, 10e-9, 30e-9, 100e-9, 300e-9)
    i_tau_a: tuple = (30e-12, 100e-12, 300e-12, 1e-9, 3e-9)
    gain_ratios: tuple = (3.0, 10.0, 30.0)
    train_duration_s: float = 0.2
    monte_carlo: bool = True
    seed: int = 1

    def __post_init__(self) -> None:
        for name, lo, hi in (("i_pw_a", 1e-10, 1e-5), ("i_tau_a", 5e-12, 1e-8)):
            vals = getattr(self, name)
            if len(vals) < 2 or any(not (lo <= float(v) <= hi) for v in vals):
                raise ValueError(f"VerifyConfig.{name}={vals!r}: need >= 2 values in {lo:g}..{hi:g} A")
            if max(vals) / min(vals) < 100 * (1 - 1e-9):
                raise ValueError(f"VerifyConfig.{name}={vals!r} spans less than 2 decades")
        if not self.gain_ratios or any(not (1 < float(r) <= DPI_MAX_GAIN_RATIO) for r in self.gain_ratios):
            raise ValueError(f"VerifyConfig.gain_ratios={self.gain_ratios!r}: each ratio must be in "
                             f"(1, {DPI_MAX_GAIN_RATIO:g}] (I_syn <= 5 nA, the DPI's subthreshold range)")
        if not (0.05 <= self.train_duration_s <= 2.0):
            raise ValueError(f"VerifyConfig.train_duration_s={self.train_duration_s!r} is outside 0.05..2 s")
        from .spice import check_ngspice_seed
        check_ngspice_seed("VerifyConfig.seed", self.seed)

    @classmethod
    def quick(cls, seed: int = 1) -> "VerifyConfig":
        return cls(i_pw_a=(1e-9, 10e-9, 100e-9), i_tau_a=(30e-12, 300e-12, 3e-9), gain_ratios=(3.0, 10.0, 30.0),
                   train_duration_s=0.1, monte_carlo=True, seed=seed)

    def n_steps(self) -> int:
        return len(self.i_pw_a) + 1 + len(self.i_tau_a) + len(self.gain_ratios) + 1 + 3 + (3 if self.monte_carlo else 0)


def verify(config: VerifyConfig, progress=None) -> dict:
    """Run every bench of the three blocks; returns metrics (JSON-able) with ``_waves`` sections."""
    t_start = time.time()
    char = characterise()
    metrics = {"characterisation": {k: getattr(char, k) for k in
                                    ("u_t", "kappa_n", "i0_n", "kappa_p", "i0_p", "v_sw_extender", "key")}}
    metrics["spike_extender"] = spike_extender_sweep(config.i_pw_a, char, progress)
    metrics["dpi_synapse"] = dpi_experiments(config.i_tau_a, config.gain_ratios, char,
                                             train_duration_s=config.train_duration_s, progress=progress)
    metrics["traff_comparator"] = traff_experiments(progress=progress)
    if config.monte_carlo:
        mc = {"seed": config.seed}
        mc["spike_extender"] = mc_spike_extender(char, config.seed)
        if progress:
            progress.update(1)
        d = mc_dpi(char, config.seed)
        mc["dpi_synapse_tau"], mc["dpi_synapse_gain"] = d["tau"], d["gain"]
        if progress:
            progress.update(1)
        mc["traff_comparator"] = mc_traff(char, config.seed)
        if progress:
            progress.update(1)
        for key in ("spike_extender", "dpi_synapse_tau", "dpi_synapse_gain", "traff_comparator"):
            mc[key]["ratio"] = mc[key]["sigma_measured"] / mc[key]["sigma_predicted"]
        metrics["mismatch"] = mc
    metrics["seed"] = config.seed
    metrics["wall_s"] = time.time() - t_start
    return metrics


def strip_waves(obj):
    """A copy of ``obj`` without the ``_waves`` entries and with NaN as None (for metrics.json)."""
    if isinstance(obj, dict):
        return {k: strip_waves(v) for k, v in obj.items() if not k.startswith("_")}
    if isinstance(obj, (list, tuple)):
        return [strip_waves(v) for v in obj]
    if isinstance(obj, (float, np.floating)) and not math.isfinite(obj):
        return None
    return obj
