"""Behavioural model of the EBN plastic synapse (``netlists/plastic_synapse.cir``).

The model chains the behavioural twins of the blocks (:mod:`circuits.twins`:
spike extender, DPI synapse, Traff comparator) with the parts that belong to
the plastic synapse itself:

* the **weight**: a saturating up/down counter, ``w in [-32, 31]``, stepping
  by exactly one LSB at the END of an input pulse (Büchel et al. 2021, Sec. III, weight storage);
* the **signed current DAC**: ``I_w = |w| * iunit`` by design into the DPI
  synapse, in the model the transfer measured on the netlist for every code
  (:func:`characterise_dac`: 27-42 % above design on sky130); the sign steers
  the synaptic current into (``w >= 0``, excitatory) or out of (``w < 0``,
  inhibitory) the neuron input;
* the **DPI neuron** (a DPI integrator, Bartolozzi & Indiveri 2007, in its
  first-order form; Büchel et al. 2021 number no neuron equation):
  ``tau_m (1 + I_g/I_mem) dI_mem/dt + I_mem = G I_in + c`` with
  ``tau_m = C_mem U_T / (kappa I_tau)``; the DC transfer ``I_mem = G I_in + c``
  (``G ~ I_g / (I_tau att)``) and the reset current ``I_reset`` are measured
  once by a DC characterisation of the neuron netlist
  (:func:`characterise_neuron`), never fitted to the experiment;
* the **rule in current mode** (Büchel et al. 2021, eq. 4: eq. 3 in currents,
  Sec. III and Figs. 4, 6): with ``I_before`` the membrane current held at pulse onset and
  ``I_Omega/2 = w * iunit * w_omega / wp_dac`` (by design; measured per
  code like the DAC) the signed replica of the weight current,

      INC  if  I_before + I_Omega/2 < I_rest - I_SL
      DEC  if  I_before + I_Omega/2 > I_rest + I_SL
      SL   otherwise,

  each inequality evaluated by a :class:`~circuits.twins.TraffComparatorTwin`
  on the net current of its node (INC node: ``I_rest - I_SL - I_before -
  I_Omega/2``; DEC node: ``I_rest + I_SL - I_before - I_Omega/2``).

Mismatch (:class:`MismatchDraw`): frozen log-normal factors of the common model
(:meth:`circuits.mismatch.MismatchModel.from_geometry`, one per transistor of
the netlist that sets a current ratio, from its W/L) multiply the corresponding
currents, so a seeded draw is one virtual chip.

Units: SI throughout (A, V, F, s, Hz). Arrays are float64, shape ``(n,)`` on
the model's time grid.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from .mismatch import MismatchModel, stream_seed
from .numba_target import njit
from .twins import DPISynapseTwin, SpikeExtenderTwin, TraffComparatorTwin
from .validation import check_range

#: Range of the stored weight (6-bit two's complement).
W_MIN, W_MAX = -32, 31
#: Phase codes of the rule.
SL, INC, DEC = 0, 1, -1
PHASE_NAMES = {INC: "INC", DEC: "DEC", SL: "SL"}


# --------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class PlasticSynapseParams:
    """Design values of ``netlists/plastic_synapse.cir`` (same names, SI units).

    Attributes
    ----------
    ipw, cpw : spike-extender bias current (A) and timing capacitor (F).
    itau_s, igain_s, csyn : DPI synapse leak / gain biases (A) and capacitor (F).
    iunit : weight-DAC LSB current (A); ``I_w = |w| iunit``.
    wp_dac, w_omega : widths (µm) of the DAC pfet diode and of the I_Omega/2
        copies; ``I_Omega/2`` per LSB is ``iunit * w_omega / wp_dac``.
    i_dc : resting drive of the neuron (A).
    cmem, i_tau, i_g, att : DPI neuron capacitor (F), leak and gain biases (A),
        input-mirror attenuation.
    i_rest, i_sl : rule references (A).
    v_reset : membrane reset voltage (V) giving I_reset.
    """

    ipw: float = 0.7e-9
    cpw: float = 1e-12
    itau_s: float = 38e-12
    igain_s: float = 190e-12
    csyn: float = 5e-12
    iunit: float = 60e-12
    wp_dac: float = 36.0
    w_omega: float = 7.0
    i_dc: float = 4.6e-9
    cmem: float = 10e-12
    i_tau: float = 24e-12
    i_g: float = 1.2e-9
    att: int = 20
    i_rest: float = 9e-9
    i_sl: float = 0.3e-9
    v_reset: float = 0.3

    def __post_init__(self) -> None:
        o = "PlasticSynapseParams"
        for name, lo, hi in (("ipw", 1e-11, 1e-6), ("cpw", 1e-14, 1e-10), ("itau_s", 1e-13, 1e-8),
                             ("igain_s", 1e-13, 1e-8), ("csyn", 1e-14, 1e-10), ("iunit", 1e-12, 1e-8),
                             ("wp_dac", 1.0, 500.0), ("w_omega", 0.42, 500.0), ("i_dc", 1e-11, 1e-7),
                             ("cmem", 1e-13, 1e-9), ("i_tau", 1e-13, 1e-8), ("i_g", 1e-13, 1e-7),
                             ("att", 1, 100), ("i_rest", 1e-10, 1e-7), ("i_sl", 1e-12, 1e-8),
                             ("v_reset", 0.0, 0.6)):
            check_range(f"{o}.{name}", getattr(self, name), lo, hi)
        if int(self.att) != self.att:
            raise ValueError(f"{o}.att={self.att!r} must be an integer in [1, 100]")
        if self.i_sl >= self.i_rest:
            raise ValueError(f"{o}.i_sl={self.i_sl!r} must be smaller than i_rest={self.i_rest!r}")

    @property
    def i_omega_half_lsb(self) -> float:
        """I_Omega/2 per LSB produced by the replica copies (A)."""
        return self.iunit * self.w_omega / self.wp_dac

    def netlist_params(self) -> dict:
        """The values as ``.param`` overrides of the benches."""
        d = asdict(self)
        d["att"] = int(d["att"])
        return d


@dataclass(frozen=True)
class ExperimentConfig:
    """Protocol of the paper's experiments (Büchel et al. 2021, Figs. 5 and 6).

    Attributes
    ----------
    experiment : 1 (one plastic synapse) or 2 (plus a fixed excitatory synapse).
    rate_hz : input spike rate (Hz), 20..300; the extended pulses are ~1 ms.
    duration_s : simulated time (s), 0.01..2.
    w0 : initial weight, -32..31.
    w_exc : weight (in LSB of iunit) of the fixed excitatory synapse of
        experiment 2, 1..64 (ignored in experiment 1).
    t_first : time of the first input spike (s).
    dt : time step of the behavioural model (s).
    """

    experiment: int = 1
    rate_hz: float = 200.0
    duration_s: float = 0.5
    w0: int = 0
    w_exc: int = 16
    t_first: float = 2e-3
    dt: float = 10e-6

    def __post_init__(self) -> None:
        o = "ExperimentConfig"
        if self.experiment not in (1, 2):
            raise ValueError(f"{o}.experiment={self.experiment!r} is not one of [1, 2]")
        check_range(f"{o}.rate_hz", self.rate_hz, 20.0, 300.0)
        check_range(f"{o}.duration_s", self.duration_s, 0.01, 2.0)
        if int(self.w0) != self.w0:
            raise ValueError(f"{o}.w0={self.w0!r} must be an integer")
        check_range(f"{o}.w0", self.w0, W_MIN, W_MAX)
        if int(self.w_exc) != self.w_exc:
            raise ValueError(f"{o}.w_exc={self.w_exc!r} must be an integer")
        check_range(f"{o}.w_exc", self.w_exc, 1, 64)
        check_range(f"{o}.t_first", self.t_first, 0.0, 0.1)
        check_range(f"{o}.dt", self.dt, 1e-7, 1e-4)

    @property
    def period(self) -> float:
        return 1.0 / self.rate_hz


# --------------------------------------------------------------------------- neuron characterisation
@dataclass(frozen=True)
class NeuronDC:
    """DC transfer of the DPI neuron netlist: ``I_mem = gain * I_in + offset`` and ``I_reset`` (A).

    ``k_drive``, ``k_exc``, ``k_inh``: copy factors (output / input current) of
    the mirrors that carry the resting drive, the excitatory and the
    inhibitory synaptic current into the neuron input, measured at the
    neuron's operating point (their outputs sit at the neuron's input voltage,
    their diodes at their own gate voltage: drain-voltage effects make the
    copies 5-7 % large on sky130).
    """

    gain: float
    offset: float
    i_reset: float
    k_drive: float = 1.0
    k_exc: float = 1.0
    k_inh: float = 1.0


_NEURON_CACHE: dict = {}


def characterise_neuron(params: PlasticSynapseParams = PlasticSynapseParams(), corner: str = "tt") -> NeuronDC:
    """Measure the neuron's DC transfer and I_reset with ngspice (cached per parameter set).

    ``netlists/benches/plastic_neuron_char_tb.cir``: a DC sweep of the input
    current over 2..6 nA (the operating range of the experiments) fitted by a
    straight line, and an operating point with the membrane tied to v_reset;
    ``netlists/benches/plastic_input_paths_tb.cir``: the copy factors of the
    drive and synaptic mirrors into the neuron input at the resting drive.
    """
    key = (params.i_tau, params.i_g, params.att, params.cmem, params.v_reset, params.i_dc, corner)
    if key in _NEURON_CACHE:
        return _NEURON_CACHE[key]
    from .spice import run_dc, run_op

    p = {"i_tau": params.i_tau, "i_g": params.i_g, "att": int(params.att), "cmem": params.cmem,
         "v_reset": params.v_reset}
    r = run_dc("benches/plastic_neuron_char_tb.cir", "iin", 2e-9, 6e-9, 0.25e-9, params=p, corner=corner)
    i_in, i_mem = r.sweep, r.i("vm")
    gain, offset = np.polyfit(i_in, i_mem, 1)
    o = run_op("benches/plastic_neuron_char_tb.cir", params={**p, "rst": 1}, corner=corner)
    i_path = 1e-9
    q = run_op("benches/plastic_input_paths_tb.cir",
               params={k: v for k, v in p.items() if k != "v_reset"} | {"i_dc": params.i_dc, "i_path": i_path},
               corner=corner)
    dc = NeuronDC(float(gain), float(offset), float(o.i("vm")[0]),
                  k_drive=float(q.i("vdrv")[0]) / params.i_dc, k_exc=float(q.i("vexc")[0]) / i_path,
                  k_inh=float(q.i("vinh")[0]) / i_path)
    if not (dc.gain > 0 and dc.i_reset > 0):
        raise RuntimeError(f"neuron characterisation is implausible: {dc}")
    _NEURON_CACHE[key] = dc
    return dc


@dataclass(frozen=True)
class DACTransfer:
    """Measured currents of the weight DAC and of its I_Omega/2 replicas, per code (A).

    Index ``w + 32`` for ``w`` in -32..31 (shape (64,) each):
    ``i_w`` the weight current delivered into the DPI synapse's weight diode;
    ``i_om_src`` the I_Omega/2 sourced into a comparator node by the pfet
    replica (the path of ``w < 0``); ``i_om_sink`` the I_Omega/2 drained by the
    nfet replica (the path of ``w >= 0``). All copies of the DAC work at drain
    voltages other than their diodes' and the smallest codes at a few pA, so
    on sky130 the real currents exceed ``|w| iunit`` by 27-42 % and the
    replicas exceed ``|w| iunit w_omega / wp_dac`` by 33-110 %
    (``netlists/benches/plastic_dac_tb.cir``).
    """

    i_w: tuple
    i_om_src: tuple
    i_om_sink: tuple

    @classmethod
    def ideal(cls, params: "PlasticSynapseParams") -> "DACTransfer":
        """The design equations: ``|w| iunit`` and ``|w| iunit w_omega / wp_dac`` (no device effects)."""
        mag = np.abs(np.arange(W_MIN, W_MAX + 1)) * params.iunit
        om = mag * params.w_omega / params.wp_dac
        return cls(tuple(mag.tolist()), tuple(om.tolist()), tuple(om.tolist()))


def dac_bits(w: int) -> tuple[tuple[int, ...], int]:
    """The DAC inputs of code ``w`` as plastic_synapse.cir drives them: magnitude bits
    ``m_i = q_i XOR q_5`` (i = 0..4) and sign ``s = q_5`` of the two's-complement ``q``;
    ``|w| = sum m_i 2^i + s``."""
    u = w + 64 if w < 0 else w
    s = 1 if w < 0 else 0
    return tuple(((u >> i) & 1) ^ s for i in range(5)), s


_DAC_CACHE: dict = {}


def characterise_dac(params: PlasticSynapseParams = PlasticSynapseParams(), corner: str = "tt") -> DACTransfer:
    """Measure the DAC and replica currents of every code with ngspice (cached per parameter set).

    One operating point of ``netlists/benches/plastic_dac_tb.cir`` per code,
    the bits set as in the circuit (``m_i = q_i XOR q_5``, ``s = q_5``).
    """
    key = (params.iunit, params.wp_dac, params.w_omega, corner)
    if key in _DAC_CACHE:
        return _DAC_CACHE[key]
    from .spice import run_op

    i_w, src, sink = [], [], []
    for w in range(W_MIN, W_MAX + 1):
        if w == 0:  # no leg on: no current by construction
            i_w.append(0.0), src.append(0.0), sink.append(0.0)
            continue
        m, s = dac_bits(w)
        q = run_op("benches/plastic_dac_tb.cir", corner=corner,
                   params={f"b{i}": b for i, b in enumerate(m)} | {"bsign": s, "iunit": params.iunit,
                                                                   "wp_dac": params.wp_dac,
                                                                   "w_omega": params.w_omega})
        i_w.append(float(q.i("viw")[0]))
        src.append(float(q.i("vop")[0]))
        sink.append(float(q.i("von")[0]))
    t = DACTransfer(tuple(i_w), tuple(src), tuple(sink))
    nz = np.arange(W_MIN, W_MAX + 1) != 0
    if not all(np.all(np.asarray(a)[nz] > 0) for a in (t.i_w, t.i_om_src, t.i_om_sink)):
        raise RuntimeError("DAC characterisation is implausible: a non-positive current for a non-zero code")
    _DAC_CACHE[key] = t
    return t


# --------------------------------------------------------------------------- mismatch
#: Devices whose ratios set the currents of the model: name -> (W, L, type), at the default
#: :class:`PlasticSynapseParams`; :func:`device_geometry` puts in the widths that are parameters.
DEVICES = {
    # spike extender I_pw mirror (spike_extender.cir)
    "ext_MPD": (2, 4, "pfet"), "ext_MPO": (2, 4, "pfet"),
    # weight DAC (signed_current_dac.cir): reference and legs (W = k * 4, L = 8), pfet diode/copy
    "dac_ref": (4, 8, "nfet"), "dac_l0": (4, 8, "nfet"), "dac_l1": (8, 8, "nfet"), "dac_l2": (16, 8, "nfet"),
    "dac_l3": (32, 8, "nfet"), "dac_l4": (64, 8, "nfet"), "dac_ls": (4, 8, "nfet"),
    "dac_MPD": (36, 8, "pfet"), "dac_MPO": (36, 8, "pfet"),
    # DPI synapse (dpi_synapse.cir)
    "syn_MTD": (2, 2, "nfet"), "syn_MTAU": (2, 2, "nfet"), "syn_MWD": (2, 2, "nfet"), "syn_MW": (2, 2, "nfet"),
    "syn_MPD": (2, 2, "pfet"), "syn_MPO": (2, 2, "pfet"), "syn_MGD": (4, 2, "nfet"), "syn_MSYN": (4, 2, "nfet"),
    "syn_MA": (50, 0.5, "nfet"), "syn_MB": (50, 0.5, "nfet"),
    # experiment 2's fixed excitatory synapse (plastic_exp2_tb.cir): its own dpi_synapse XEXC
    # (ideal I_w = w_exc iunit, no DAC) and its own pfet mirror XMXD/XMXO into the neuron input
    **{f"exc_{k[4:]}": v for k, v in {
        "syn_MTD": (2, 2, "nfet"), "syn_MTAU": (2, 2, "nfet"), "syn_MWD": (2, 2, "nfet"),
        "syn_MW": (2, 2, "nfet"), "syn_MPD": (2, 2, "pfet"), "syn_MPO": (2, 2, "pfet"),
        "syn_MGD": (4, 2, "nfet"), "syn_MSYN": (4, 2, "nfet"), "syn_MA": (50, 0.5, "nfet"),
        "syn_MB": (50, 0.5, "nfet")}.items()},
    "exc_MXD": (8, 8, "pfet"), "exc_MXO": (8, 8, "pfet"),
    # sign steering (plastic_synapse.cir)
    "st_MSY": (8, 8, "pfet"), "st_MSE": (8, 8, "pfet"), "st_MSI": (8, 8, "pfet"),
    "st_MNID": (8, 8, "nfet"), "st_MNIO": (8, 8, "nfet"),
    # resting drive
    "dc_MDCD": (8, 8, "pfet"), "dc_MDCO": (8, 8, "pfet"),
    # neuron (dpi_neuron.cir): input mirror, leak, gain, output
    "neu_MIN": (160, 8, "nfet"), "neu_MTAIL": (8, 8, "nfet"), "neu_MTD": (8, 8, "nfet"),
    "neu_MTAU": (8, 8, "nfet"), "neu_MG": (8, 8, "nfet"), "neu_MB": (8, 8, "nfet"), "neu_MA": (8, 8, "nfet"),
    "neu_MPD": (8, 8, "pfet"), "neu_MPO": (8, 8, "pfet"), "neu_MOUT": (8, 8, "nfet"),
    # sensing, references of the rule
    "sen_MSD": (240, 20, "pfet"), "sen_MSC": (240, 20, "pfet"), "sen_MHD": (240, 20, "nfet"),
    "sen_MHI": (240, 20, "nfet"), "sen_MHE": (240, 20, "nfet"),
    "ref_MRD": (240, 20, "pfet"), "ref_MRI": (240, 20, "pfet"), "ref_MRE": (240, 20, "pfet"),
    "sl_MSLD": (8, 8, "pfet"), "sl_MSLO": (8, 8, "pfet"), "sl_MSND": (8, 8, "nfet"), "sl_MSNO": (8, 8, "nfet"),
    "om_MOK": (7, 8, "pfet"), "om_MOKD": (8, 8, "nfet"), "om_MOI1": (8, 8, "nfet"), "om_MOE1": (8, 8, "nfet"),
    "om_MOPI": (7, 8, "pfet"), "om_MOPE": (7, 8, "pfet"),
}


def device_geometry(params: "PlasticSynapseParams | None" = None) -> dict:
    """:data:`DEVICES` with the parameterised widths of ``params``: the DAC pfet diode and copy
    (``wp_dac``, netlist ``W={wp}``) and the I_Omega/2 copies (``w_omega``)."""
    p = params or PlasticSynapseParams()
    geo = dict(DEVICES)
    for name in ("dac_MPD", "dac_MPO"):
        geo[name] = (p.wp_dac, 8, "pfet")
    for name in ("om_MOK", "om_MOPI", "om_MOPE"):
        geo[name] = (p.w_omega, 8, "pfet")
    return geo


@dataclass(frozen=True)
class MismatchDraw:
    """Frozen current factors of one virtual plastic synapse (all 1 for the nominal circuit).

    ``factors[name]`` multiplies the drain current of device ``name`` of
    :data:`DEVICES` at a given gate voltage, drawn from
    ``MismatchModel.from_geometry(W, L, type)`` with the characterised kappa.
    """

    factors: dict = field(default_factory=dict)

    def f(self, name: str) -> float:
        return float(self.factors.get(name, 1.0))

    @classmethod
    def draw(cls, seed: int, kappa_n: float, kappa_p: float, u_t: float,
             params: "PlasticSynapseParams | None" = None) -> "MismatchDraw":
        """One virtual synapse; device sizes from :func:`device_geometry` of ``params`` (default sizes if None)."""
        out = {}
        for name, (w, l, dev) in device_geometry(params).items():
            k = kappa_n if dev == "nfet" else kappa_p
            m = MismatchModel.from_geometry(w, l, dev, kappa=k, u_t=u_t)
            out[name] = float(m.draw(1, stream_seed(seed, "plastic", name))[0])
        return cls(out)


# --------------------------------------------------------------------------- kernels
@njit(cache=True)
def _neuron_step(i_mem, i_in, n, dt, tau, i_g, gain, offset, i_floor, out, start):
    """Integrate the DPI neuron over ``n`` steps of ``dt`` (RK2), writing into ``out[start:start+n]``.

    ``tau (1 + I_g/I) dI/dt + I = gain * I_in[k] + offset`` (Bartolozzi &
    Indiveri 2007 in the characterised form). Returns the final I (A); -1 if
    a non-finite value occurred.
    """
    i = i_mem
    for k in range(n):
        drive = gain * i_in[k] + offset
        if drive < i_floor:
            drive = i_floor
        k1 = (drive - i) / (tau * (1.0 + i_g / i))
        y = max(i + 0.5 * dt * k1, i_floor)
        k2 = (drive - y) / (tau * (1.0 + i_g / y))
        i = max(i + dt * k2, i_floor)
        if not math.isfinite(i):
            return -1.0
        out[start + k] = i
    return i


# --------------------------------------------------------------------------- result
@dataclass
class ModelResult:
    """Traces of one run of the behavioural model (SI units, shape (n,) unless noted).

    t, i_mem, i_syn : time (s), membrane current (A), plastic synaptic current (A).
    weight : stored weight after each grid point (int).
    pulse_t : pulse onset times (s), shape (p,); phase : rule decision per pulse
    (INC = 1, DEC = -1, SL = 0), shape (p,); i_before : membrane current held at
    each onset (A), shape (p,); w_at_pulse : weight used by each pulse, shape (p,).
    i_omega_lsb : per-pulse membrane increment per LSB (A); i_lower / i_upper
    (A), shape (p,): ``I_rest - I_Omega/2 -+ I_SL`` at each pulse, with the
    circuit's I_Omega/2 (:meth:`PlasticSynapseModel.omega_half_table`).
    """

    t: np.ndarray
    i_mem: np.ndarray
    i_syn: np.ndarray
    weight: np.ndarray
    pulse_t: np.ndarray
    phase: np.ndarray
    i_before: np.ndarray
    w_at_pulse: np.ndarray
    i_lower: np.ndarray
    i_upper: np.ndarray
    i_omega_lsb: float


# --------------------------------------------------------------------------- model
class PlasticSynapseModel:
    """The whole plastic synapse + neuron, built from the block twins.

    Parameters
    ----------
    params : PlasticSynapseParams
        Design values (the netlist defaults unless changed).
    char : circuits.characterise.Characterisation
        PDK constants (kappa_n, kappa_p, u_t, v_sw_extender).
    neuron : NeuronDC
        DC characterisation of the neuron netlist.
    mismatch : MismatchDraw, optional
        Frozen factors of one virtual chip (nominal when omitted).
    """

    def __init__(self, params: PlasticSynapseParams, char, neuron: NeuronDC,
                 mismatch: MismatchDraw | None = None, dac: DACTransfer | None = None):
        self.p = params
        self.char = char
        self.neuron = neuron
        self.dac = dac or DACTransfer.ideal(params)
        self._omega_half_table = None
        self.mm = mismatch or MismatchDraw()
        f = self.mm.f
        self.extender = SpikeExtenderTwin(c_pw=params.cpw, v_sw=char.v_sw_extender)
        self.t_pw = self.extender.width(params.ipw * f("ext_MPO") / f("ext_MPD"))
        # comparators: ideal decision on the sign of the net current (the block twin)
        self.comparator = TraffComparatorTwin(offset=0.0, delay=0.0)
        # neuron time constant (DPI: C U_T / (kappa I_tau)), leak mirror factor
        i_tau = params.i_tau * f("neu_MTAU") / f("neu_MTD")
        self.tau_m = params.cmem * char.u_t / (char.kappa_n * i_tau)
        # neuron DC transfer, with the mismatch of its input mirror / pair / output
        g_mm = (f("neu_MTAIL") / f("neu_MIN")) * (f("neu_MPO") / f("neu_MPD")) * (f("neu_MTD") / f("neu_MTAU")) \
            * (f("neu_MB") / f("neu_MG")) * (f("neu_MOUT") / f("neu_MA"))
        self.gain = neuron.gain * g_mm
        # I_g seen by the DPI equation (currents f_X I0 exp(kappa V/U_T) per device X): the
        # diode MG sets exp(kappa V_g/U_T) = i_g / (I0 f_MG), so MB carries the equivalent
        # i_g f_MB/f_MG against MA's I0 f_MA exp(kappa V_c/U_T) = I_mem f_MA/f_MOUT; MB's share
        # I_t I_gB / (I_gB + I_mem f_MA/f_MOUT) = I_t I_g' / (I_g' + I_mem) with
        #     I_g' = i_g (f_MOUT / f_MA) (f_MB / f_MG),
        # the same factor that g_mm carries. The DPI's steady-state offset is -I_g', so the
        # characterised offset scales with I_g' / i_g as well.
        g_fac = (f("neu_MOUT") / f("neu_MA")) * (f("neu_MB") / f("neu_MG"))
        self.offset = neuron.offset * g_fac
        self.i_g = params.i_g * g_fac
        self.i_reset = neuron.i_reset * f("neu_MOUT")
        self.i_dc = params.i_dc * neuron.k_drive * f("dc_MDCO") / f("dc_MDCD")

    # -- pieces ---------------------------------------------------------------
    def _dac_rel(self, w: int) -> float:
        """Mismatch factor of the DAC diode current for code w: sum of the drawn legs over the nominal sum."""
        f = self.mm.f
        m, s = dac_bits(w)
        legs = nominal = 0.0
        for i, bit in enumerate(m):
            legs += bit * (1 << i) * f(f"dac_l{i}")
            nominal += bit * (1 << i)
        legs += s * f("dac_ls")
        nominal += s
        return legs / nominal / f("dac_ref")

    def dac_current(self, w: int) -> float:
        """Weight current (A) of code w (signed_current_dac.cir): the measured transfer
        (:class:`DACTransfer`, ``|w| iunit`` by design) times the legs' and mirrors' mismatch."""
        if w == 0:
            return 0.0
        f = self.mm.f
        return self.dac.i_w[w - W_MIN] * self._dac_rel(w) * f("dac_MPO") / f("dac_MPD")

    def synapse_twin(self, i_w: float, devices: str = "syn") -> DPISynapseTwin:
        """The DPI synapse twin with weight current i_w (A) and the mismatch of the dpi_synapse
        instance ``devices``: ``"syn"`` the plastic synapse's, ``"exc"`` experiment 2's fixed one."""
        if devices not in ("syn", "exc"):
            raise ValueError(f"devices={devices!r} is not one of ['syn', 'exc']")
        mm = self.mm

        def f(name: str) -> float:
            return mm.f(f"{devices}_{name}")

        return DPISynapseTwin(
            c_syn=self.p.csyn, kappa=self.char.kappa_n, u_t=self.char.u_t,
            i_tau=self.p.itau_s * f("MTAU") / f("MTD"),
            i_gain=self.p.igain_s * f("MSYN") / f("MGD") / (f("MA") / f("MB")),
            i_w=max(i_w, 1e-15) * f("MW") / f("MWD") * f("MPO") / f("MPD"))

    def i_omega_lsb(self) -> float:
        """Peak change of I_mem caused by one pulse of one LSB in the linear regime (A).

        The synapse adds ``dI_syn = (I_gain I_w / I_tau)(1 - exp(-t_pw/tau_s))``
        per pulse (design equation of SPEC §2, from the DPI equation of Bartolozzi & Indiveri
        2007; Büchel et al. 2021 state no such equation); through the neuron (``tau_m``, DC gain G) the
        membrane response to that decaying current peaks at
        ``G dI_syn tau_s/(tau_m - tau_s) (exp(-t*/tau_m) - exp(-t*/tau_s))``
        at ``t* = ln(tau_m/tau_s) tau_s tau_m / (tau_m - tau_s)``. One LSB of
        weight current is the DAC's mean step, ``(I_w(31) - I_w(1)) / 30``.
        """
        tw = self.synapse_twin((self.dac_current(W_MAX) - self.dac_current(1)) / (W_MAX - 1))
        d_syn = tw.i_linear * (1.0 - math.exp(-self.t_pw / tw.tau))
        ts, tm = tw.tau, self.tau_m
        if abs(tm - ts) < 1e-12:
            peak = d_syn * math.exp(-1.0)
        else:
            tstar = math.log(tm / ts) * ts * tm / (tm - ts)
            peak = d_syn * ts / (tm - ts) * (math.exp(-tstar / tm) - math.exp(-tstar / ts))
        return self.neuron.gain * peak

    def omega_half_table(self) -> np.ndarray:
        """Signed I_Omega/2 (A) the circuit adds to I_before for every code, index ``w + 32``:
        the mean of the INC and DEC replicas (:meth:`_omega_half`). With it the rule's band is
        ``[I_rest - I_Omega/2 - I_SL, I_rest - I_Omega/2 + I_SL]`` as the comparators see it.
        Computed once per model (its parameters, mismatch and DAC transfer are frozen)."""
        if self._omega_half_table is None:
            self._omega_half_table = np.array([0.5 * sum(self._omega_half(w)) for w in range(W_MIN, W_MAX + 1)])
        return self._omega_half_table

    def decide(self, i_before: float, w: int) -> int:
        """Rule decision (INC / DEC / SL) for the held I_before (A) and weight w (paper Fig. 4)."""
        f = self.mm.f
        p = self.p
        om = self._omega_half(w)
        i_rest_inc = p.i_rest * f("ref_MRI") / f("ref_MRD")
        i_rest_dec = p.i_rest * f("ref_MRE") / f("ref_MRD")
        sense = f("sen_MSC") / f("sen_MSD") / f("sen_MHD")
        i_b_inc = i_before * sense * f("sen_MHI")
        i_b_dec = i_before * sense * f("sen_MHE")
        i_sl_inc = p.i_sl * f("sl_MSNO") / f("sl_MSND")
        i_sl_dec = p.i_sl * f("sl_MSLO") / f("sl_MSLD")
        net_inc = i_rest_inc - i_sl_inc - i_b_inc - om[0]
        net_dec = i_rest_dec + i_sl_dec - i_b_dec - om[1]
        inc = bool(self.comparator.decide(net_inc))
        dec = not bool(self.comparator.decide(net_dec))
        if inc and not dec:
            return INC
        if dec and not inc:
            return DEC
        return SL

    def _omega_half(self, w: int) -> tuple[float, float]:
        """Signed I_Omega/2 (A) drained from the INC and DEC nodes (replica copies of the DAC diode)."""
        f = self.mm.f
        if w == 0:
            return 0.0, 0.0
        rel = self._dac_rel(w)
        if w >= 0:
            base = self.dac.i_om_sink[w - W_MIN] * rel * f("om_MOK") / f("dac_MPD") / f("om_MOKD")
            return base * f("om_MOI1"), base * f("om_MOE1")
        mag = self.dac.i_om_src[w - W_MIN] * rel
        return -mag * f("om_MOPI") / f("dac_MPD"), -mag * f("om_MOPE") / f("dac_MPD")

    # -- run ------------------------------------------------------------------
    def run(self, cfg: ExperimentConfig) -> ModelResult:
        """Simulate the protocol ``cfg`` (pulses of width t_pw every 1/rate from t_first)."""
        p = self.p
        dt = cfg.dt
        n = int(round(cfg.duration_s / dt)) + 1
        t = np.arange(n) * dt
        i_mem = np.empty(n)
        i_syn_tr = np.zeros(n)
        weight = np.empty(n, dtype=np.int64)
        period = cfg.period
        if self.t_pw >= period:
            raise ValueError(f"rate_hz={cfg.rate_hz!r}: the pulse width {self.t_pw:.3g} s does not fit the "
                             f"period {period:.3g} s")
        onsets = cfg.t_first + period * np.arange(int(math.floor((cfg.duration_s - cfg.t_first) / period)) + 1)
        onsets = onsets[onsets < cfg.duration_s]
        k_on = np.round(onsets / dt).astype(np.int64)
        k_off = np.round((onsets + self.t_pw) / dt).astype(np.int64)
        on = np.zeros(n, dtype=bool)
        for a, b in zip(k_on, k_off):
            on[a:min(b, n)] = True
        # fixed excitatory synapse of experiment 2: the same twin with a fixed weight current and
        # its own devices (XEXC, mirror XMXD/XMXO of plastic_exp2_tb.cir; exc_* draws)
        i_exc = np.zeros(n)
        if cfg.experiment == 2:
            exc = self.synapse_twin(cfg.w_exc * p.iunit, devices="exc")
            # its pfet 8/8 mirror feeds the neuron input directly, like the resting drive's (k_drive)
            i_exc = exc.simulate(t, on, 1e-15) * self.neuron.k_drive * self.mm.f("exc_MXO") / self.mm.f("exc_MXD")
        f = self.mm.f
        g_exc = self.neuron.k_exc * f("st_MSE") / f("st_MSY")
        g_inh = self.neuron.k_inh * f("st_MSI") / f("st_MSY") * f("st_MNIO") / f("st_MNID")
        w = int(cfg.w0)
        i = self.i_reset
        i_syn = 1e-15
        phases, before, w_used = [], [], []
        # boundaries: onsets and pulse ends split the grid into segments of constant (w, sign)
        edges = sorted(set([0, n - 1] + [int(k) for k in k_on if k < n] + [int(k) for k in k_off if k < n]))
        pending = {}
        k_on_set = {int(k): j for j, k in enumerate(k_on)}
        k_off_set = {int(k): j for j, k in enumerate(k_off)}
        i_mem[0] = i
        weight[0] = w
        for a, b in zip(edges[:-1], edges[1:]):
            if a in k_on_set:
                # pulse onset: hold I_before, evaluate the rule with the current weight
                d = self.decide(i, w)
                phases.append(d)
                before.append(i)
                w_used.append(w)
                pending[k_on_set[a]] = d
            if a in k_off_set and k_off_set[a] in pending:
                d = pending.pop(k_off_set[a])
                w = min(W_MAX, max(W_MIN, w + d))
            seg = slice(a, b + 1)
            tw = self.synapse_twin(self.dac_current(w) if w != 0 else 1e-15)
            on_seg = on[seg] & (w != 0)
            if tw.i_steady > 0:
                s = tw.simulate(t[seg], on_seg, i_syn)
            else:  # no drive (w = 0, or I_w below I_tau): the synapse only decays
                s = np.maximum(i_syn * np.exp(-(t[seg] - t[a]) / tw.tau), 1e-15)
            i_syn = float(s[-1])
            i_syn_tr[seg] = s
            sign = g_exc if w >= 0 else -g_inh
            i_in = self.i_dc + sign * s[:-1] + i_exc[a:b]
            i_end = _neuron_step(i, np.ascontiguousarray(i_in), b - a, dt, self.tau_m, self.i_g, self.gain,
                                 self.offset, 1e-13, i_mem, a + 1)
            if i_end < 0:
                raise FloatingPointError(f"PlasticSynapseModel.run: non-finite I_mem in [{t[a]:.6g}, {t[b]:.6g}] s")
            i = i_end
            weight[a + 1:b + 1] = w
        w_arr = np.asarray(w_used, dtype=np.int64)
        om_lsb = self.i_omega_lsb()
        half = self.omega_half_table()[w_arr - W_MIN]
        return ModelResult(t=t, i_mem=i_mem, i_syn=i_syn_tr, weight=weight, pulse_t=onsets[:len(phases)],
                           phase=np.asarray(phases, dtype=np.int64), i_before=np.asarray(before),
                           w_at_pulse=w_arr, i_lower=p.i_rest - half - p.i_sl, i_upper=p.i_rest - half + p.i_sl,
                           i_omega_lsb=om_lsb)
