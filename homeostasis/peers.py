"""Peer cross-check: the chip model's DPI neuron and synapse against Brian2.

The peer is an independent implementation of the *same* equations
(:mod:`homeostasis.kernels` docstring; Chicca et al. 2014, as in
teili's DPI model) written as Brian2 equations and integrated by Brian2's own
solvers (``rk4`` at ``PeersConfig.peer_dt``, by default 10x finer than the
model's step; no noise).  The neurons take their per-neuron parameters from the
chip (:meth:`DynapSE2Chip.neuron_parameters`): the FI check tests the model's
integration scheme (exact logistic step with frozen coefficients at
dt = 0.1 ms).  The synapse check derives its DPI from the bias codes and the
device constants (tau, gain, pulse width) and integrates the pulse itself
(:func:`synapse_model_vs_peer`): it tests the model's pulse-extender jump and
synaptic decay, not a copy of them.

Criteria: FI rates agree within 10 % over 5-100 Hz; synaptic (and
membrane) trajectories within 5 % NRMSE (RMS difference / range of the peer
trace).

Where the peers differ: Rockpool's DynapSim merges the four synapse types
into one and clips the per-step synaptic input at the floor current, so
inhibition nearly vanishes; it is not used here; teili's DPI neuron uses a logistic positive
feedback in I_mem where this model uses ``I_a,gain x^2/(1+x^2)`` (same
fixed-point structure); the Brian2 peer below uses this model's form so the
comparison is one to one.

Brian2 is a dev/test-only dependency (``pip install eibalance[peers]``);
importing this module works without it, running the peers needs it.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from .chip import ChipConfig, DynapSE2Chip
from .neuron_types import PV, PYR

#: Lines shared by both forms of the DPI neuron below (``Iin`` and ``Ish`` are defined by each form).
_DPI_CORE = """
dImem/dt = Imem*(P - Q*Imem)/(tau_mem*(Imem + Ig)) : amp (unless refractory)
P = Ig/Itau*(Iin - Ish - Itau + Ia) : amp
Q = 1 + (Ish - Ia)/Itau : 1
xa = Imem/Iath : 1
Ia = Iagain*xa**2/(1 + xa**2) : amp
dIampa/dt = -Iampa/tau_ampa : amp
dIgabaa/dt = -Igabaa/tau_gabaa : amp
Inoise : amp
tau_mem : second (constant)
Ig : amp (constant)
Itau : amp (constant)
Iath : amp (constant)
Iagain : amp (constant)
Idc : amp
Ispkthr : amp (constant)
Ireset : amp (constant)
Ifloor : amp (constant)
tref : second (constant)
tau_ampa : second (constant)
tau_gabaa : second (constant)
gf_ampa : 1 (constant)
gf_gabaa : 1 (constant)
"""

#: Brian2 equations of the DPI neuron (same as homeostasis.kernels), SI units.
DPI_EQUATIONS = _DPI_CORE + """Iin = Iampa + Inmda*Imem/(Imem + Inmdathr) - Igabab + Idc + Inoise : amp
Ish = Iahp + Igabaa : amp
dInmda/dt = -Inmda/tau_nmda : amp
dIgabab/dt = -Igabab/tau_gabab : amp
dIahp/dt = -Iahp/tau_ahp : amp
Inmdathr : amp (constant)
tau_nmda : second (constant)
tau_gabab : second (constant)
tau_ahp : second (constant)
ahp_jump : amp (constant)
"""

#: :data:`DPI_EQUATIONS` for networks whose NMDA, GABA_B and adaptation currents are identically zero
#: (the cross-homeostasis networks): the same equation without those state variables, as the model's
#: kernel drops them (``kernels._membrane_step_ampa_gaba_a``), so that Brian2 is timed on the same work.
DPI_EQUATIONS_AMPA_GABA_A = _DPI_CORE + """Iin = Iampa + Idc + Inoise : amp
Ish = Igabaa : amp
"""

NOISE_EQUATION = "dInoise/dt = -Inoise/tau_noise + sigma_noise*sqrt(2/tau_noise)*xi : amp"


def brian2_available() -> bool:
    try:
        import brian2  # noqa: F401  (availability check only)
    except ImportError:
        return False
    return True


def _require_brian2():
    try:
        import brian2
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("the peer cross-check needs Brian2: pip install 'eibalance[peers]' (brian2, numpy<2.4)") \
            from err
    return brian2


#: The AMPA DPI with its input pulse resolved in time (Bartolozzi & Indiveri 2007, linear regime):
#: ``tau dI/dt = -I + I_gain I_w / I_tau`` while a pulse of width t_pw is on, ``-I`` otherwise.
AMPA_PULSE_EQUATION = """dIampa/dt = (-Iampa + int(t >= pulse_start and t < pulse_end)*Igain_ampa*Iw_ampa/Itau_ampa)/tau_ampa : amp
pulse_start : second
pulse_end : second
Iw_ampa : amp
Igain_ampa : amp (constant)
Itau_ampa : amp (constant)"""


def brian2_group(b2, params: dict, neurons: np.ndarray, *, noise_std: float = 0.0, noise_tau: float = 5e-3,
                 method: str = "euler", name: str = "dpi", ampa_pulses: bool = False,
                 ampa_gaba_a_only: bool = False):
    """A Brian2 NeuronGroup of the chip's DPI neurons ``neurons`` with the chip's per-neuron parameters.

    ``ampa_pulses``: the AMPA synapse integrates its input pulses (:data:`AMPA_PULSE_EQUATION`;
    the caller sets ``tau_ampa``, ``Igain_ampa``, ``Itau_ampa`` and drives ``pulse_start``,
    ``pulse_end``, ``Iw_ampa``) instead of taking the model's jump ``gf_ampa``.
    ``ampa_gaba_a_only``: :data:`DPI_EQUATIONS_AMPA_GABA_A` (refused if a neuron adapts).
    """
    reduced = ampa_gaba_a_only
    if reduced and np.any(np.asarray(params["ahp_jump"])[neurons] != 0):
        raise ValueError("ampa_gaba_a_only=True needs neurons without adaptation (AHP jump 0)")
    eqs = DPI_EQUATIONS_AMPA_GABA_A if reduced else DPI_EQUATIONS
    if ampa_pulses:
        eqs = eqs.replace("dIampa/dt = -Iampa/tau_ampa : amp", AMPA_PULSE_EQUATION)
    ns = {}
    if noise_std > 0:
        eqs = eqs.replace("\nInoise : amp\n", "\n" + NOISE_EQUATION + "\n")
        ns = {"tau_noise": noise_tau * b2.second, "sigma_noise": noise_std * b2.amp}
    g = b2.NeuronGroup(len(neurons), eqs, threshold="Imem > Ispkthr",
                       reset="Imem = Ireset" if reduced else "Imem = Ireset\nIahp += ahp_jump", refractory="tref",
                       method=method, namespace=ns, name=name)
    amp, second = b2.amp, b2.second
    sel = lambda k: np.asarray(params[k])[neurons]  # noqa: E731
    g.tau_mem = sel("tau_mem") * second
    g.Ig = sel("i_g") * amp
    g.Itau = sel("i_tau") * amp
    g.Iath = sel("i_a_th") * amp
    g.Iagain = sel("i_a_gain") * amp
    if not reduced:
        g.Inmdathr = sel("nmda_thr") * amp
    g.Idc = sel("i_dc") * amp
    g.Ispkthr = sel("i_spkthr") * amp
    g.Ireset = params["i_reset_a"] * amp
    g.Ifloor = params["i_floor_a"] * amp
    g.tref = sel("t_ref") * second
    tau = np.asarray(params["tau_syn"])[:, neurons]
    g.tau_ampa, g.tau_gabaa = tau[0] * second, tau[2] * second
    if not reduced:
        g.tau_nmda, g.tau_gabab = tau[1] * second, tau[3] * second
        g.tau_ahp = sel("tau_ahp") * second
        g.ahp_jump = sel("ahp_jump") * amp
    gf = np.asarray(params["syn_gfac"])[:, neurons]
    g.gf_ampa = gf[0]
    g.gf_gabaa = gf[2]
    g.Imem = params["i_floor_a"] * amp
    # leakage floor of the membrane current, as on the chip (I0)
    g.run_regularly("Imem = clip(Imem, Ifloor, 1*amp)", when="end")
    return g


def _chip_params(chip: DynapSE2Chip) -> dict:
    p = chip.neuron_parameters()
    p["i_floor_a"] = chip.config.device.i0_n
    p["i_reset_a"] = max(chip.config.i_reset, chip.config.device.i0_n)
    return p


@dataclass(frozen=True)
class PeersConfig:
    """Settings of the peer cross-check.

    Attributes
    ----------
    dt : float
        Step of the chip model (s).
    peer_dt : float
        Step of the Brian2 peer (s), <= dt.
    fi_duration_s : float
        Duration of each FI run (s).
    quick : bool
        Fewer FI levels, shorter runs.
    codegen_target : str
        Brian2 code generation target for the peer ('cython' or 'numpy').
    synapse_pulses : str
        How the peer's AMPA synapse takes an input pulse: ``'ode'`` integrates the pulse current
        ``I_gain I_w / I_tau`` over its width t_pw (step t_pw / 10; ~20 s with cython); ``'jump'``
        adds the DPI equation's solution over the pulse, ``(I_gain I_w / I_tau)(1 - e^{-t_pw/tau})``,
        at the pulse's end (fast).  Both derive tau, I_gain, I_tau and t_pw from the bias codes.
    """

    dt: float = 1e-4
    peer_dt: float = 1e-5
    fi_duration_s: float = 2.0
    quick: bool = False
    codegen_target: str = "cython"
    synapse_pulses: str = "ode"

    def __post_init__(self) -> None:
        if not (1e-6 <= self.dt <= 1e-3):
            raise ValueError(f"PeersConfig.dt={self.dt!r} is outside the allowed range 1e-6..1e-3 s")
        if not (1e-7 <= self.peer_dt <= self.dt):
            raise ValueError(f"PeersConfig.peer_dt={self.peer_dt!r} must be in 1e-7..dt={self.dt} s")
        if self.codegen_target not in ("cython", "numpy"):
            raise ValueError(f"PeersConfig.codegen_target={self.codegen_target!r} is not 'cython' or 'numpy'")
        if self.synapse_pulses not in ("ode", "jump"):
            raise ValueError(f"PeersConfig.synapse_pulses={self.synapse_pulses!r} is not 'ode' or 'jump'")
        if not (0.2 <= self.fi_duration_s <= 100):
            raise ValueError(f"PeersConfig.fi_duration_s={self.fi_duration_s!r} is outside 0.2..100 s")


def _nominal_chip(dt: float) -> DynapSE2Chip:
    chip = DynapSE2Chip(0, ChipConfig(dt=dt, mismatch_cv=0.0, noise_std=0.0))
    chip.apply_neuron_type(0, PYR)
    chip.apply_neuron_type(1, PV)
    return chip


def run_peers(cfg: PeersConfig = PeersConfig(), *, quiet: bool = False) -> dict:
    """Single-neuron FI curves (Pyr and PV) and an AMPA synapse response, model vs Brian2."""
    b2 = _require_brian2()
    b2.prefs.logging.console_log_level = "ERROR"
    b2.prefs.codegen.target = cfg.codegen_target
    dur = min(1.0, cfg.fi_duration_s) if cfg.quick else cfg.fi_duration_s
    # DC levels spanning ~5..100 Hz for both types
    levels = {"pyr": np.array([90, 110, 150, 220, 350, 600, 900, 1200]) * 1e-12,
              "pv": np.array([270, 300, 350, 450, 600, 900, 1300]) * 1e-12}
    if cfg.quick:
        levels = {k: v[::2] for k, v in levels.items()}
    out = {"config": {"dt_s": cfg.dt, "peer_dt_s": cfg.peer_dt, "fi_duration_s": dur, "peer": "brian2 " +
                      b2.__version__, "peer_method": "rk4", "synapse_pulses": cfg.synapse_pulses}}
    t0 = time.perf_counter()
    fi_all = fi_model_vs_peer(levels, cfg, duration_s=dur)
    sel_err = []
    for name, f in fi_all.items():
        m, p = np.asarray(f["model_hz"]), np.asarray(f["peer_hz"])
        ok = (p >= 5) & (p <= 100)
        rel = np.abs(m[ok] - p[ok]) / p[ok]
        f["rel_err_5_100hz"] = rel.tolist()
        f["max_rel_err_5_100hz"] = float(rel.max()) if rel.size else float("nan")
        sel_err.append(f["max_rel_err_5_100hz"])
    out["fi_by_type"] = fi_all
    # flattened view for the plot (Pyr)
    out["fi"] = fi_all["pyr"]
    out["fi_max_rel_err_5_100hz"] = float(np.nanmax(sel_err))
    # synapse: a pulse train into an AMPA synapse of a subthreshold Pyr neuron
    out["synapse"] = synapse_model_vs_peer(cfg)
    out["wall_s"] = time.perf_counter() - t0
    return out


def _isi_rates(idx: np.ndarray, times: np.ndarray, n: int) -> np.ndarray:
    """Firing rate (Hz) of each of ``n`` neurons as 1 / mean inter-spike interval (regular firing, no noise).

    The first interval (from rest) is dropped; fewer than 3 spikes give 0.
    """
    out = np.zeros(n)
    for k in range(n):
        t = np.sort(times[idx == k])
        if t.size >= 3:
            out[k] = 1.0 / np.mean(np.diff(t[1:]))
    return out


def fi_model_vs_peer(levels: dict, cfg: PeersConfig, *, duration_s: float) -> dict:
    """Rates (Hz, 1/mean ISI) of nominal neurons under DC: model and Brian2 peer in one run each.

    ``levels`` maps 'pyr'/'pv' to DC levels (A); returns, per type,
    ``{"dc_a", "model_hz", "peer_hz"}``.
    """
    b2 = _require_brian2()
    b2.prefs.logging.console_log_level = "ERROR"
    b2.prefs.codegen.target = cfg.codegen_target
    chip = _nominal_chip(cfg.dt)
    params = _chip_params(chip)
    ids, dc_all, slices = [], [], {}
    for name, dcs in levels.items():
        core = {"pyr": 0, "pv": 1}[name]
        dcs = np.asarray(dcs, dtype=np.float64)
        # one neuron per DC level (all neurons of a core are identical without mismatch)
        slices[name] = slice(len(ids), len(ids) + dcs.size)
        ids.extend(core * 256 + np.arange(dcs.size))
        dc_all.extend(dcs)
    ids = np.asarray(ids)
    dc_all = np.asarray(dc_all)
    d = np.zeros(chip.n_neurons)
    d[ids] = dc_all
    rec = chip.run(duration_s, dc_a=d)
    local = np.full(chip.n_neurons, -1)
    local[ids] = np.arange(ids.size)
    model_hz = _isi_rates(local[rec.neurons], rec.times_s, ids.size)
    b2.start_scope()
    b2.defaultclock.dt = cfg.peer_dt * b2.second
    g = brian2_group(b2, params, ids, method="rk4", name="fi_neurons")
    g.Idc = dc_all * b2.amp
    mon = b2.SpikeMonitor(g)
    b2.run(duration_s * b2.second)
    peer_hz = _isi_rates(np.asarray(mon.i), np.asarray(mon.t), ids.size)
    return {name: {"dc_a": dc_all[sl].tolist(), "model_hz": model_hz[sl].tolist(), "peer_hz": peer_hz[sl].tolist()}
            for name, sl in slices.items()}


#: Input pulse times (s) of the synapse check, within its 0.3 s run.
SYNAPSE_PULSES_S = (0.0205, 0.0405, 0.0455, 0.0605, 0.1005, 0.1025, 0.1505)


def synapse_model_vs_peer(cfg: PeersConfig, *, duration_s: float = 0.3, pulse_times_s=SYNAPSE_PULSES_S) -> dict:
    """AMPA current and membrane of a subthreshold Pyr neuron under a pulse train: model vs Brian2 (NRMSE).

    The peer's synapse is built from the bias codes and the device constants, not from the model's
    derived parameters: ``tau = C_syn U_T / (kappa I_tau)``, and each input pulse of width
    ``t_pw = Q_pw / I_pw`` either integrated by Brian2 as a current ``I_gain I_w / I_tau``
    (``cfg.synapse_pulses = 'ode'``, step ``t_pw / 10``) or added as that equation's solution over the
    pulse (``'jump'``).  Pulses sit where the model puts them: the pulse of an input spike in step k
    ends at the end of that step, ``(k + 1) dt``.  So the model's closed-form jump and decay are
    checked, not copied.
    """
    b2 = _require_brian2()
    b2.prefs.logging.console_log_level = "ERROR"
    b2.prefs.codegen.target = cfg.codegen_target
    chip = _nominal_chip(cfg.dt)
    chip.set_bias(0, "W3", 3, 40)
    params = _chip_params(chip)
    n = 0
    dur = float(duration_s)
    times = np.asarray(pulse_times_s, dtype=np.float64)
    if times.size == 0 or not (0.0 <= times.min() and times.max() < dur):
        raise ValueError(f"pulse_times_s={pulse_times_s!r} must be non-empty and inside [0, duration_s={dur})")
    dc = 90e-12
    d = np.zeros(chip.n_neurons)
    d[n] = dc
    rec = chip.run(dur, dc_a=d, input_spikes=(np.full(times.size, n), times), record=("i_mem", "i_ampa"),
                   record_neurons=[n])
    i_syn_m = rec.traces["i_ampa"][:, 0]
    i_mem_m = rec.traces["i_mem"][:, 0]
    t_model = (np.arange(i_syn_m.size) + 1) * cfg.dt
    # peer: the DPI's parameters from the nominal bias currents (one DAC) and the device constants
    dev, ccfg = chip.config.device, chip.config
    i_w = chip.nominal_current(0, "W3")
    i_tau_s, i_gain_s = chip.nominal_current(0, "AMPA_TAU"), chip.nominal_current(0, "AMPA_GAIN")
    tau_s = ccfg.c_syn * dev.u_t / (dev.kappa_n * i_tau_s)
    t_pw = ccfg.q_pw / chip.nominal_current(0, "PULSE_PW")
    ode = cfg.synapse_pulses == "ode"
    dt_peer = min(cfg.peer_dt, t_pw / 10) if ode else cfg.peer_dt
    b2.start_scope()
    b2.defaultclock.dt = dt_peer * b2.second
    g = brian2_group(b2, params, np.array([n]), method="rk4", name="syn_neuron", ampa_pulses=ode)
    g.Idc = dc * b2.amp
    g.tau_ampa = tau_s * b2.second
    # the model's pulse of a spike in step k ends at the end of step k, (k + 1) dt; a synapse acts after
    # the state update of its step, so its pulse (or jump) starts with the next peer step
    t_end = (np.floor(times / cfg.dt + 1e-9) + 1) * cfg.dt
    ns = {"pulse_width": t_pw * b2.second, "gain_ratio": i_gain_s / i_tau_s}
    if ode:
        g.Igain_ampa = i_gain_s * b2.amp
        g.Itau_ampa = i_tau_s * b2.amp
        g.pulse_start = -1 * b2.second
        g.pulse_end = -1 * b2.second
        t_pre = t_end - t_pw - dt_peer
        on_pre = "pulse_start_post = t + dt\npulse_end_post = t + dt + pulse_width\nIw_ampa_post = w"
    else:
        t_pre = t_end - dt_peer
        on_pre = "Iampa_post += gain_ratio*w*(1 - exp(-pulse_width/tau_ampa_post))"
    src = b2.SpikeGeneratorGroup(1, np.zeros(times.size, int), np.round(t_pre / dt_peer) * dt_peer * b2.second,
                                 name="pulses")
    syn = b2.Synapses(src, g, "w : amp", on_pre=on_pre, namespace=ns, name="ampa")
    syn.connect(i=0, j=0)
    syn.w = i_w * b2.amp
    mon = b2.StateMonitor(g, ["Iampa", "Imem"], record=0, dt=cfg.dt * b2.second)
    b2.run(dur * b2.second)
    t_peer = np.asarray(mon.t)
    i_syn_p = np.interp(t_model, t_peer, np.asarray(mon.Iampa[0]))
    i_mem_p = np.interp(t_model, t_peer, np.asarray(mon.Imem[0]))

    def nrmse(a, b):
        return float(np.sqrt(np.mean((a - b) ** 2)) / (np.max(b) - np.min(b)))

    return {"t_s": t_model.tolist(), "model_i_syn_a": i_syn_m.tolist(), "peer_i_syn_a": i_syn_p.tolist(),
            "model_i_mem_a": i_mem_m.tolist(), "peer_i_mem_a": i_mem_p.tolist(),
            "nrmse_i_syn": nrmse(i_syn_m, i_syn_p), "nrmse_i_mem": nrmse(i_mem_m, i_mem_p),
            "pulse_times_s": times.tolist(), "dc_a": dc, "i_w_a": i_w, "peer_tau_s": tau_s, "peer_t_pw_s": t_pw}


def summary_lines(res: dict) -> list[str]:
    out = []
    for name, f in res["fi_by_type"].items():
        pairs = ", ".join(f"{dc * 1e12:.0f} pA: {m:.1f}/{p:.1f}" for dc, m, p in
                          zip(f["dc_a"], f["model_hz"], f["peer_hz"]))
        out.append(f"{name} FI model/peer (Hz): {pairs}; max rel. error 5-100 Hz {f['max_rel_err_5_100hz']:.3f}")
    s = res["synapse"]
    out.append(f"AMPA synapse NRMSE {s['nrmse_i_syn']:.4f}, membrane NRMSE {s['nrmse_i_mem']:.4f}")
    if not math.isfinite(res["fi_max_rel_err_5_100hz"]):
        out.append("no FI level in 5-100 Hz")
    return out
