"""Behavioural twins of the spike extender, the DPI synapse and the Traff comparator.

Each twin implements the design equation of its block (the blocks of Büchel
et al. 2021, Sec. III and Fig. 2, which describe them without equations; the
equations are the blocks' design equations as SPEC §2 writes them: the
capacitor-discharge pulse width of the extender, Bartolozzi & Indiveri 2007
for the DPI, Traff 1992 for the comparator).  Each twin's
docstring writes its equation out, with parameters from the PDK
characterisation (:mod:`circuits.characterise`) and the design values of the
netlists (capacitors, bias currents) — never numbers tuned to the transients
they are compared with.

Mismatch: :func:`extender_width_spread`, :func:`dpi_spread` and
:func:`comparator_offset_spread` push frozen log-normal factors of the common
mismatch model (:class:`circuits.mismatch.MismatchModel`, one per transistor
that sets the figure, from its W/L) through the twin and return the predicted
spread of the figure, to compare with the SPICE Monte Carlo (``tt_mm``).

Units: SI throughout (A, V, F, s).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .constants import NOMINAL, VDD_V
from .mismatch import MismatchModel, stream_seed
from .numba_target import njit
from .validation import check_range


def _positive(owner: str, name: str, value, hi: float = math.inf) -> float:
    return check_range(f"{owner}.{name}", value, 0.0, hi, lo_open=True)


# --------------------------------------------------------------------------- spike extender
@dataclass(frozen=True)
class SpikeExtenderTwin:
    """Pulse extender: ``t_pw = C_pw V_sw / I_pw`` (design equation: I_pw discharges C_pw by the inverter's
    switching swing V_sw; the block is Büchel et al. 2021's spike extender, Sec. III, which gives no equation).

    Attributes
    ----------
    c_pw : float
        Timing capacitor (F).
    v_sw : float
        Switching voltage of the timing node (V), from the characterisation.
    vdd : float
        Output high level (V).
    """

    c_pw: float
    v_sw: float
    vdd: float = VDD_V

    def __post_init__(self) -> None:
        _positive("SpikeExtenderTwin", "c_pw", self.c_pw, 1e-9)
        _positive("SpikeExtenderTwin", "v_sw", self.v_sw, self.vdd)
        _positive("SpikeExtenderTwin", "vdd", self.vdd, 5.0)

    def width(self, i_pw):
        """Pulse width (s) for bias current(s) ``i_pw`` (A); scalar or array."""
        i = np.asarray(i_pw, float)
        if np.any(~np.isfinite(i)) or np.any(i <= 0):
            raise ValueError(f"i_pw={i_pw!r} must be positive and finite")
        w = self.c_pw * self.v_sw / i
        return float(w) if w.ndim == 0 else w

    def output(self, t: np.ndarray, spike_times, i_pw: float) -> np.ndarray:
        """Output voltage (V) at times ``t`` (shape (n,)) for input spikes at ``spike_times``.

        The extender is retriggerable (as the netlist): each spike restarts the
        timing, so the output is high on the union of ``[t_k, t_k + t_pw)``.
        """
        t = np.asarray(t, float)
        w = self.width(i_pw)
        high = np.zeros(t.shape, bool)
        for tk in np.atleast_1d(np.asarray(spike_times, float)):
            high |= (t >= tk) & (t < tk + w)
        return np.where(high, self.vdd, 0.0)


# --------------------------------------------------------------------------- DPI synapse
@njit(cache=True)
def _dpi_integrate(t, on, i_start, tau, i_gain, i_inf, i_floor):
    """Integrate the DPI equation on the grid ``t`` (Bartolozzi & Indiveri 2007):

    on:  tau (1 + I_gain / I) dI/dt + I = I_inf          (I_inf = I_gain I_w / I_tau - I_gain)
    off: tau dI/dt + I = 0                                (exact exponential)

    RK4 sub-steps of at most tau/200 inside each grid interval; ``on[k]`` holds
    on the interval [t[k], t[k+1]). Returns I (A), shape (n,); -1 marks a
    non-finite value (the caller raises).
    """
    n = t.shape[0]
    out = np.empty(n)
    i = i_start
    out[0] = i
    for k in range(n - 1):
        dt = t[k + 1] - t[k]
        if on[k]:
            m = int(dt / (tau / 200.0)) + 1
            h = dt / m
            for _ in range(m):
                k1 = (i_inf - i) / (tau * (1.0 + i_gain / i))
                y = max(i + 0.5 * h * k1, i_floor)
                k2 = (i_inf - y) / (tau * (1.0 + i_gain / y))
                y = max(i + 0.5 * h * k2, i_floor)
                k3 = (i_inf - y) / (tau * (1.0 + i_gain / y))
                y = max(i + h * k3, i_floor)
                k4 = (i_inf - y) / (tau * (1.0 + i_gain / y))
                i = max(i + h * (k1 + 2.0 * k2 + 2.0 * k3 + k4) / 6.0, i_floor)
        else:
            i = max(i * math.exp(-dt / tau), i_floor)
        if not math.isfinite(i):
            out[k + 1] = -1.0
            return out
        out[k + 1] = i
    return out


@dataclass(frozen=True)
class DPISynapseTwin:
    """DPI synapse (Bartolozzi & Indiveri 2007).

    ``tau = C U_T / (kappa I_tau)``; while the input pulse is on
    ``tau (1 + I_gain/I_syn) dI_syn/dt + I_syn = I_gain I_w / I_tau - I_gain``,
    otherwise ``tau dI_syn/dt = -I_syn``.

    Attributes
    ----------
    c_syn : float
        Integration capacitor (F).
    kappa : float
        Characterised subthreshold slope factor of the output nfet.
    u_t : float
        Thermal voltage (V).
    i_tau, i_gain, i_w : float
        Bias currents (A).
    """

    c_syn: float
    kappa: float
    u_t: float
    i_tau: float
    i_gain: float
    i_w: float

    def __post_init__(self) -> None:
        _positive("DPISynapseTwin", "c_syn", self.c_syn, 1e-9)
        _positive("DPISynapseTwin", "kappa", self.kappa, 1.0)
        _positive("DPISynapseTwin", "u_t", self.u_t, 0.1)
        for name in ("i_tau", "i_gain", "i_w"):
            _positive("DPISynapseTwin", name, getattr(self, name), 1e-3)

    @property
    def tau(self) -> float:
        """Time constant ``C U_T / (kappa I_tau)`` (s)."""
        return self.c_syn * self.u_t / (self.kappa * self.i_tau)

    @property
    def i_linear(self) -> float:
        """Linear-regime steady state ``I_gain I_w / I_tau`` (A)."""
        return self.i_gain * self.i_w / self.i_tau

    @property
    def i_steady(self) -> float:
        """Steady state of the full equation, ``I_gain I_w / I_tau - I_gain`` (A)."""
        return self.i_linear - self.i_gain

    def simulate(self, t: np.ndarray, pulse_on: np.ndarray, i_start: float, i_floor: float = 1e-15) -> np.ndarray:
        """I_syn(t) (A), shape (n,), for the input ``pulse_on`` (bool, shape (n,)).

        ``pulse_on[k]`` holds on ``[t[k], t[k+1])``; ``i_start`` is I_syn at t[0].
        ``i_floor`` (A) is the leakage floor below which I_syn does not decay.
        """
        t = np.ascontiguousarray(t, dtype=np.float64)
        on = np.ascontiguousarray(pulse_on, dtype=np.bool_)
        if t.ndim != 1 or on.shape != t.shape or t.size < 2 or np.any(np.diff(t) <= 0):
            raise ValueError("t must be a strictly increasing 1-D grid and pulse_on the same shape")
        if self.i_steady <= 0:
            raise ValueError(f"I_w/I_tau = {self.i_w / self.i_tau:g} <= 1: the DPI has no positive steady state")
        out = _dpi_integrate(t, on, max(float(i_start), i_floor), self.tau, self.i_gain, self.i_steady,
                             float(i_floor))
        bad = np.nonzero(out < 0)[0]
        if bad.size:
            raise FloatingPointError(f"DPISynapseTwin.simulate: non-finite I_syn at t={t[bad[0]]:.6g} s")
        return out


def pulse_train(t: np.ndarray, t_start: float, width: float, period: float, n_pulses: int | None = None) -> np.ndarray:
    """Boolean input of rectangular pulses (shape of ``t``): on for ``width`` every ``period`` from ``t_start``."""
    t = np.asarray(t, float)
    rel = t - t_start
    k = np.floor(rel / period)
    on = (rel >= 0) & (rel - k * period < width)
    if n_pulses is not None:
        on &= k < n_pulses
    return on


# --------------------------------------------------------------------------- Traff comparator
@dataclass(frozen=True)
class TraffComparatorTwin:
    """Ideal current comparator with offset and delay (Traff 1992).

    ``out = VDD`` when ``I_in - I_sink > offset`` (decided ``delay`` after the
    net current changes), 0 otherwise.

    Attributes
    ----------
    offset : float
        Input-referred current offset (A), from the SPICE measurement.
    delay : float
        Decision delay (s), from the SPICE measurement.
    vdd : float
        Output high level (V).
    """

    offset: float = 0.0
    delay: float = 0.0
    vdd: float = VDD_V

    def __post_init__(self) -> None:
        if not math.isfinite(self.offset):
            raise ValueError(f"TraffComparatorTwin.offset={self.offset!r} must be finite")
        if not math.isfinite(self.delay) or self.delay < 0:
            raise ValueError(f"TraffComparatorTwin.delay={self.delay!r} must be >= 0")

    def decide(self, i_net):
        """True where the net current into the input node (A) exceeds the offset."""
        return np.asarray(i_net, float) > self.offset

    def output(self, t: np.ndarray, i_net: np.ndarray) -> np.ndarray:
        """Output voltage (V) on the grid ``t`` for the net input current ``i_net`` (same shape)."""
        t = np.asarray(t, float)
        i_del = np.interp(t - self.delay, t, np.asarray(i_net, float))
        return np.where(self.decide(i_del), self.vdd, 0.0)


# --------------------------------------------------------------------------- mismatch predictions
def _factors(model: MismatchModel, n: int, seed: int, name: str) -> np.ndarray:
    return model.draw(n, stream_seed(seed, name))


def _delta_vt(w_um: float, l_um: float, device: str, n: int, seed: int, name: str) -> np.ndarray:
    """``n`` Pelgrom threshold shifts (V) of a ``w_um`` x ``l_um`` device from the common mismatch model."""
    return MismatchModel.from_geometry(w_um, l_um, device).delta_vt(n, stream_seed(seed, name),
                                                                    kappa=NOMINAL.kappa(device))


def extender_width_spread(twin: SpikeExtenderTwin, i_pw: float, kappa_mirror: float, u_t: float,
                          n: int = 20000, seed: int = 0) -> float:
    """Predicted relative spread (std/mean) of the spike-extender pulse width.

    The width ``C V_sw / I_pw`` varies through the I_pw mirror (pfets MPD, MPO,
    2/4 µm: ``I_out = I_pw f_MPO / f_MPD`` with ``sigma_ln = kappa_mirror
    sigma_VT / U_T``; ``kappa_mirror`` is the effective slope g_m U_T / I at the
    mirror's current) and through V_sw (INV1: nfet 0.5/1, pfet 1/1; each
    threshold shift moves the switching point by half of it, the symmetric-
    inverter estimate). Pelgrom sigma_VT from the common mismatch model.
    """
    mirror = MismatchModel.from_geometry(2, 4, "pfet", kappa=kappa_mirror, u_t=u_t)
    f = _factors(mirror, n, seed, "MPO") / _factors(mirror, n, seed, "MPD")
    # threshold shifts of INV1's devices (V); a larger nfet V_T raises the switching point, a larger
    # pfet |V_T| lowers it
    dvt_n = _delta_vt(0.5, 1, "nfet", n, seed, "MI1N")
    dvt_p = _delta_vt(1, 1, "pfet", n, seed, "MI1P")
    v_sw = twin.v_sw + 0.5 * dvt_n - 0.5 * dvt_p
    w = twin.c_pw * v_sw / (i_pw * f)
    return float(np.std(w) / np.mean(w))


def dpi_spread(twin: DPISynapseTwin, kappa_p: float, n: int = 20000, seed: int = 0) -> dict:
    """Predicted relative spreads (std/mean) of the DPI's tau and steady-state gain.

    Mirrors and devices of ``netlists/dpi_synapse.cir`` and their factors:
    I_tau = i_tau f_MTAU/f_MTD (nfets 2/2); I_w = i_w f_MW/f_MWD (nfets 2/2);
    the returned current is scaled by f_MPO/f_MPD (pfets 2/2); the pair MA/MB
    (nfets 50/0.5) shifts the balance point by f_MA/f_MB; the output MSYN and
    the I_gain diode MGD (nfets 4/2) scale I_gain by f_MSYN/f_MGD. These
    effective currents enter the twin's ``tau`` and steady state
    ``I_gain I_w / I_tau - I_gain``. The nfets use ``twin.kappa`` (weak
    inversion); ``kappa_p`` is the pfet mirror's effective slope factor.
    """
    k, ut = twin.kappa, twin.u_t
    n22 = MismatchModel.from_geometry(2, 2, "nfet", kappa=k, u_t=ut)
    n42 = MismatchModel.from_geometry(4, 2, "nfet", kappa=k, u_t=ut)
    pair = MismatchModel.from_geometry(50, 0.5, "nfet", kappa=k, u_t=ut)
    p22 = MismatchModel.from_geometry(2, 2, "pfet", kappa=kappa_p, u_t=ut)
    d = {name: _factors(m, n, seed, name) for name, m in (
        ("MTAU", n22), ("MTD", n22), ("MW", n22), ("MWD", n22), ("MPO", p22), ("MPD", p22),
        ("MA", pair), ("MB", pair), ("MSYN", n42), ("MGD", n42))}
    i_tau = twin.i_tau * d["MTAU"] / d["MTD"]
    m = d["MPO"] / d["MPD"]
    i_w = twin.i_w * d["MW"] / d["MWD"]
    i_gain = twin.i_gain * d["MSYN"] / d["MGD"] / (d["MA"] / d["MB"])
    tau = twin.c_syn * ut / (k * i_tau)
    # steady state with the return-mirror gain m: m * I_w I_g/(I_g + I) = I_tau
    i_ss = i_gain * (m * i_w / i_tau - 1.0)
    return {"tau": float(np.std(tau) / np.mean(tau)), "gain": float(np.std(i_ss) / np.mean(i_ss))}


def comparator_offset_spread(i_ref: float, kappa_n: float, kappa_p: float, u_t: float,
                             n: int = 20000, seed: int = 0) -> float:
    """Predicted standard deviation (A) of the comparator's input-referred offset.

    Monte Carlo bench ``netlists/benches/traff_comparator_mc.cir``: a pfet mirror
    (MSD diode, MSO output, 4/4 µm) sources ``i_ref`` into the Traff input and an
    nfet mirror (MKD, MKO, 4/4 µm) sinks ``i_ref + x``; the decision flips at
    ``x = i_ref (f_MSO f_MKD / (f_MSD f_MKO) - 1)``. The Traff core adds no
    current offset of its own (its followers absorb any net current), which the
    twin — an ideal comparator — assumes. ``kappa_n``/``kappa_p`` are the
    mirrors' effective slope factors g_m U_T / I at ``i_ref``.
    """
    p = MismatchModel.from_geometry(4, 4, "pfet", kappa=kappa_p, u_t=u_t)
    nn = MismatchModel.from_geometry(4, 4, "nfet", kappa=kappa_n, u_t=u_t)
    x = i_ref * (_factors(p, n, seed, "MSO") * _factors(nn, n, seed, "MKD")
                 / (_factors(p, n, seed, "MSD") * _factors(nn, n, seed, "MKO")) - 1.0)
    return float(np.std(x))
