"""Behavioural DYNAP-SE2 chip (numba): implements :class:`homeostasis.interface.ChipInterface`.

The chip has 4 cores x 256 DPI neurons (global index ``core * 256 + k``).
Every bias is a (coarse, fine) code of the one bias DAC (:mod:`homeostasis.dac`,
Maryada et al. 2025 eq. 1) and is shared by all neurons of a core; device
mismatch (the common model, :mod:`circuits.mismatch`) makes each neuron's and
each synapse's effective current differ.  Dynamics: :mod:`homeostasis.kernels`.

Quick start
-----------
>>> from homeostasis.chip import DynapSE2Chip
>>> from homeostasis.neuron_types import PYR, PV
>>> chip = DynapSE2Chip(chip_seed=3)          # default: 20 % CV mismatch, dt = 0.1 ms
>>> chip.apply_neuron_type(0, PYR); chip.apply_neuron_type(1, PV)
>>> chip.set_bias(0, "W0", 4, 60)             # core 0 (Pyr) weight W0, e.g. w_ee
>>> chip.set_connections(pre, post, ["AMPA"] * len(pre), ["W0"] * len(pre))
>>> rec = chip.run(1.0, input_spikes=(targets, times_s))      # SpikeRecord
>>> recs = chip.run_batch(1.0, 5, input_spikes=[(t0, s0), ...])  # 5 repetitions
>>> chip.drain()

Constructor
-----------
``DynapSE2Chip(chip_seed=0, config=ChipConfig())``.  ``chip_seed`` (int >= 0)
freezes the virtual chip: every mismatch factor comes from
``stream_seed(chip_seed, "neuron", <bias>)`` (per neuron, every neuron and
synapse bias) and ``stream_seed(chip_seed, "synapse", "weight")`` (per CAM
slot, shape (1024, 64)), so the same seed is the same chip and two seeds are
two chips.  ``ChipConfig.mismatch_cv`` (default 0.2) sets the CV; 0 gives the
nominal chip.  The noise of each run is seeded too (``seed=`` of
:meth:`run`, else ``stream_seed(chip_seed, "noise", run_index)``) and stored
in the returned :class:`SpikeRecord` as ``seed``.

Biases (per core; :data:`BIAS_NAMES`)
-------------------------------------
Neuron: ``LEAK`` (I_tau; tau_mem = C_mem U_T/(kappa I_tau)), ``GAIN`` (I_g),
``SPKTHR`` (spike threshold current), ``REFR`` (t_ref = Q_ref / I_refr),
``DC`` (constant injection), ``AHP_TAU``, ``AHP_GAIN``, ``AHP_W`` (adaptation;
``AHP_W`` fine 0 switches it off), ``NMDA_THR`` (NMDA gate).
Synapses (one DPI per type per neuron): ``AMPA_TAU``, ``AMPA_GAIN``,
``NMDA_TAU``, ``NMDA_GAIN``, ``GABA_A_TAU``, ``GABA_A_GAIN``, ``GABA_B_TAU``,
``GABA_B_GAIN`` (tau_s = C_syn U_T/(kappa I_tau,s)), ``PULSE_PW`` (pulse
extender: t_pw = Q_pw / I_pw).
Weights: ``W0``..``W3``, the four weight biases of a core, used by the
connections *into* that core.

Building the E/I network of Maryada et al. (one convention; the trainer owns it)
-------------------------------------------------------------------------------
Pyr on core 0 (``apply_neuron_type(0, PYR)``), PV on core 1.  Weights are biases
of the postsynaptic core: core 0 ``W0`` = w_ee (Pyr->Pyr, AMPA), core 0 ``W1``
= w_ei (PV->Pyr, GABA_A), core 1 ``W0`` = w_ie (Pyr->PV, AMPA), core 1 ``W1``
= w_ii (PV->PV, GABA_A).  External input spikes (the kick) enter through
``input_synapse`` (default AMPA) with the weight bias ``input_weight_bias``
(default ``W3``) of the target's core, occupying one CAM slot.

Each neuron accepts at most 64 inputs (CAM entries); :meth:`set_connections`
raises ``ValueError`` naming the neuron and its count otherwise.

Only neurons that can be excited are integrated: those in a connection, a
target of external input, given DC (``dc_a`` / ``dc_schedule``), recorded,
or on a core whose ``DC`` bias is non-zero (a core DC bias drives all 256
neurons of the core, as on the chip).  The others stay at rest.

Runs: :meth:`run` continues from the current state and keeps the final state
(``drain`` resets it); :meth:`run_batch` runs ``n_reps`` independent trials
from the current state in one parallel kernel call (each with its own input
spikes and noise seed) and leaves the state unchanged.  Both return
:class:`~homeostasis.interface.SpikeRecord` (global neuron indices, spike
times in s, requested traces ``(n_steps, n_recorded)`` plus ``"neurons"``),
with the noise seed used as the extra attribute ``seed``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from circuits.constants import NOMINAL, DeviceConstants
from circuits.mismatch import MismatchModel, stream_seed
from circuits.validation import check_range

from . import kernels
from .dac import bias_current
from .interface import SYNAPSE_TYPES, WEIGHT_BIASES, SpikeRecord

N_CORES = 4
NEURONS_PER_CORE = 256
N_NEURONS = N_CORES * NEURONS_PER_CORE
MAX_FAN_IN = 64

NEURON_BIASES = ("LEAK", "GAIN", "SPKTHR", "REFR", "DC", "AHP_TAU", "AHP_GAIN", "AHP_W", "NMDA_THR")
SYNAPSE_BIASES = ("AMPA_TAU", "AMPA_GAIN", "NMDA_TAU", "NMDA_GAIN", "GABA_A_TAU", "GABA_A_GAIN",
                  "GABA_B_TAU", "GABA_B_GAIN", "PULSE_PW")
BIAS_NAMES = NEURON_BIASES + SYNAPSE_BIASES + WEIGHT_BIASES

#: Power-on biases of every core (coarse, fine): the Pyr setting of Maryada et al. 2025 (Methods)
#: for the neuron and the authors' synapse settings; weights off.
DEFAULT_BIASES = {
    "LEAK": (2, 4), "GAIN": (3, 40), "SPKTHR": (3, 40), "REFR": (2, 45), "DC": (0, 0),
    "AHP_TAU": (1, 40), "AHP_GAIN": (1, 80), "AHP_W": (0, 0), "NMDA_THR": (2, 20),
    "AMPA_TAU": (2, 30), "AMPA_GAIN": (2, 35), "NMDA_TAU": (1, 60), "NMDA_GAIN": (1, 130),
    "GABA_A_TAU": (2, 16), "GABA_A_GAIN": (1, 90), "GABA_B_TAU": (1, 40), "GABA_B_GAIN": (1, 90),
    "PULSE_PW": (1, 128),
    "W0": (0, 0), "W1": (0, 0), "W2": (0, 0), "W3": (0, 0),
}


def _check_range(owner: str, name: str, value, lo: float, hi: float) -> None:
    check_range(f"{owner}.{name}", value, lo, hi)


@dataclass(frozen=True)
class ChipConfig:
    """Physical constants of the behavioural chip (SI units).

    Attributes
    ----------
    dt : float
        Integration step (s), 1 µs .. 1 ms; default 0.1 ms.
    mismatch_cv : float
        CV of every bias/weight current factor (0 = nominal chip, default 0.2).
    c_mem : float
        Membrane capacitance (F).  25 pF puts the Pyr membrane time constant
        at ~13 ms and PV at ~5 ms with the authors' leak biases.
    c_syn : float
        Synaptic DPI capacitance (F), the same for every synapse type; 100 pF
        gives tau_AMPA ~7 ms with the authors' AMPA tau bias (2, 30) and
        tau_GABA_A ~13 ms / ~6.6 ms with GABA_A tau (2, 16) (authors') /
        (2, 32) (the Pyr/PV types, :mod:`homeostasis.neuron_types`).
    c_ahp : float
        Adaptation DPI capacitance (F).
    q_ref : float
        Charge (C) the refractory bias removes: t_ref = q_ref / I_REFR
        (Pyr (2,45) -> 1.9 ms, PV (2,85) -> 1.0 ms).
    q_pw : float
        Charge (C) of the pulse extender: t_pw = q_pw / I_PULSE_PW (10 µs by default).
    i_a_gain, i_a_th : float
        Positive feedback of the neuron (A): ``I_a = i_a_gain x^2/(1 + x^2)``,
        ``x = I_mem / i_a_th`` (see :mod:`homeostasis.kernels`).  The default 60 pA
        is below the leak of both cell types (I_LEAK 69.5 pA Pyr, 174 pA PV), so
        ``Q = 1 + (I_sh - I_a)/I_tau`` stays > 0 on a nominal neuron: the feedback
        steepens the approach to I_spkthr but never runs away on its own (an
        adaptive-exponential upstroke needs ``i_a_gain > I_LEAK``; with 20 %
        mismatch about a quarter of the neurons can reach it).  These neurons are
        leaky current-mode integrators with a soft nonlinearity below threshold.
    i_reset : float
        Membrane current after a spike (A).
    noise_std, noise_tau : float
        Std (A) and correlation time (s) of the OU noise current per neuron.
    device : DeviceConstants
        U_T, kappa, I0 (the package's single copy).
    """

    dt: float = 1e-4
    mismatch_cv: float = 0.2
    c_mem: float = 25e-12
    c_syn: float = 100e-12
    c_ahp: float = 100e-12
    q_ref: float = 1.5e-12
    q_pw: float = 2.75e-15
    i_a_gain: float = 60e-12
    i_a_th: float = 3.0e-9
    i_reset: float = 1e-12
    noise_std: float = 2e-12
    noise_tau: float = 5e-3
    device: DeviceConstants = field(default_factory=lambda: NOMINAL)

    def __post_init__(self) -> None:
        o = "ChipConfig"
        _check_range(o, "dt", self.dt, 1e-6, 1e-3)
        _check_range(o, "mismatch_cv", self.mismatch_cv, 0.0, 3.0)
        for n in ("c_mem", "c_syn", "c_ahp"):
            _check_range(o, n, getattr(self, n), 1e-15, 1e-9)
        _check_range(o, "q_ref", self.q_ref, 1e-16, 1e-9)
        _check_range(o, "q_pw", self.q_pw, 1e-19, 1e-11)
        _check_range(o, "i_a_gain", self.i_a_gain, 0.0, 1e-6)
        _check_range(o, "i_a_th", self.i_a_th, 1e-15, 1e-6)
        _check_range(o, "i_reset", self.i_reset, 0.0, 1e-6)
        _check_range(o, "noise_std", self.noise_std, 0.0, 1e-6)
        _check_range(o, "noise_tau", self.noise_tau, 1e-5, 10.0)
        if not isinstance(self.device, DeviceConstants):
            raise ValueError(f"ChipConfig.device={self.device!r} must be a DeviceConstants")

    @property
    def mismatch(self) -> MismatchModel:
        return MismatchModel.none() if self.mismatch_cv == 0.0 else MismatchModel.from_cv(self.mismatch_cv)


def _type_index(value) -> int:
    if isinstance(value, str):
        if value not in SYNAPSE_TYPES:
            raise ValueError(f"synapse_type={value!r} is not one of {SYNAPSE_TYPES}")
        return SYNAPSE_TYPES.index(value)
    v = int(value)
    if v != value or not 0 <= v < len(SYNAPSE_TYPES):
        raise ValueError(f"synapse_type={value!r} is outside the allowed range 0..{len(SYNAPSE_TYPES) - 1}")
    return v


class DynapSE2Chip:
    """A virtual DYNAP-SE2 with frozen mismatch (see the module docstring for the API)."""

    n_cores = N_CORES
    neurons_per_core = NEURONS_PER_CORE
    n_neurons = N_NEURONS
    max_fan_in = MAX_FAN_IN

    def __init__(self, chip_seed: int = 0, config: ChipConfig | None = None) -> None:
        if isinstance(chip_seed, bool) or not isinstance(chip_seed, (int, np.integer)) or chip_seed < 0:
            raise ValueError(f"chip_seed={chip_seed!r} must be a non-negative integer")
        self.chip_seed = int(chip_seed)
        self.config = ChipConfig() if config is None else config
        if not isinstance(self.config, ChipConfig):
            raise ValueError(f"config={config!r} must be a ChipConfig")
        mm = self.config.mismatch
        # frozen mismatch factors (median 1)
        self._factor = {name: mm.draw(N_NEURONS, stream_seed(self.chip_seed, "neuron", name))
                        for name in NEURON_BIASES + SYNAPSE_BIASES + ("PFB_GAIN", "PFB_TH")}
        self._w_factor = mm.draw((N_NEURONS, MAX_FAN_IN), stream_seed(self.chip_seed, "synapse", "weight"))
        self._codes = {(c, n): DEFAULT_BIASES[n] for c in range(N_CORES) for n in BIAS_NAMES}
        self._pre = np.zeros(0, np.int64)
        self._post = np.zeros(0, np.int64)
        self._stype = np.zeros(0, np.int64)
        self._wbias = np.zeros(0, np.int64)
        self._slot = np.zeros(0, np.int64)
        self._fan_in = np.zeros(N_NEURONS, np.int64)
        self._run_index = 0
        self.drain()

    # -- biases -------------------------------------------------------------
    def _check_core(self, core) -> int:
        if isinstance(core, bool) or not isinstance(core, (int, np.integer)) or not 0 <= core < N_CORES:
            raise ValueError(f"core={core!r} is outside the allowed range 0..{N_CORES - 1}")
        return int(core)

    def _check_name(self, name) -> str:
        if name not in BIAS_NAMES:
            raise ValueError(f"bias name={name!r} is not one of {BIAS_NAMES}")
        return name

    def set_bias(self, core: int, name: str, coarse: int, fine: int) -> None:
        """Set bias ``name`` of ``core`` to (coarse 0..5, fine 0..255)."""
        core = self._check_core(core)
        name = self._check_name(name)
        bias_current(coarse, fine)  # validates the code
        self._codes[(core, name)] = (int(coarse), int(fine))

    def get_bias(self, core: int, name: str) -> tuple[int, int]:
        """The (coarse, fine) code of bias ``name`` of ``core``."""
        return self._codes[(self._check_core(core), self._check_name(name))]

    def set_biases(self, core: int, codes: dict) -> None:
        """Set several biases of ``core`` from a ``{name: (coarse, fine)}`` mapping."""
        for name, (c, f) in codes.items():
            self.set_bias(core, name, c, f)

    def apply_neuron_type(self, core: int, neuron_type) -> None:
        """Apply a :class:`homeostasis.neuron_types.NeuronType`'s biases to ``core``."""
        self.set_biases(core, neuron_type.biases)

    def nominal_current(self, core: int, name: str) -> float:
        """Nominal (mismatch-free) current of a bias (A)."""
        return bias_current(*self.get_bias(core, name))

    def bias_currents(self, name: str) -> np.ndarray:
        """Per-neuron effective current of bias ``name`` (A, shape (1024,)), mismatch included."""
        name = self._check_name(name)
        nominal = np.repeat([bias_current(*self._codes[(c, name)]) for c in range(N_CORES)], NEURONS_PER_CORE)
        if name in WEIGHT_BIASES:
            return nominal
        return nominal * self._factor[name]

    # -- connectivity ---------------------------------------------------------
    def set_connections(self, pre, post, synapse_type, weight_bias) -> None:
        """Replace all recurrent connections (see :class:`ChipInterface`).

        ``pre``, ``post``: global neuron indices (int arrays, same length);
        ``synapse_type``: names from :data:`SYNAPSE_TYPES` or their indices;
        ``weight_bias``: names ``W0``..``W3`` of the *postsynaptic* core's
        weight bias.  Connection ``k`` into neuron ``n`` occupies the next CAM
        slot of ``n`` (in the given order), which fixes its mismatch factor.
        """
        pre = np.asarray(pre)
        post = np.asarray(post)
        if pre.ndim != 1 or post.shape != pre.shape:
            raise ValueError(f"pre and post must be 1-D of equal length, got {pre.shape} and {post.shape}")
        n = pre.shape[0]
        for nm, arr in (("pre", pre), ("post", post)):
            if n and (arr.dtype.kind not in "iu" or arr.min() < 0 or arr.max() >= N_NEURONS):
                raise ValueError(f"{nm} must hold integer neuron indices in 0..{N_NEURONS - 1}")
        st = np.asarray(synapse_type, dtype=object).reshape(-1) if not np.isscalar(synapse_type) \
            else np.array([synapse_type] * n, dtype=object)
        wb = np.asarray(weight_bias, dtype=object).reshape(-1) if not np.isscalar(weight_bias) \
            else np.array([weight_bias] * n, dtype=object)
        if st.shape[0] != n or wb.shape[0] != n:
            raise ValueError(f"synapse_type and weight_bias need {n} entries, got {st.shape[0]} and {wb.shape[0]}")
        stype = np.array([_type_index(v) for v in st], dtype=np.int64)
        wbias = np.empty(n, np.int64)
        for k, v in enumerate(wb):
            if v not in WEIGHT_BIASES:
                raise ValueError(f"weight_bias={v!r} is not one of {WEIGHT_BIASES}")
            wbias[k] = WEIGHT_BIASES.index(v)
        fan_in = np.bincount(post.astype(np.int64), minlength=N_NEURONS) if n else np.zeros(N_NEURONS, np.int64)
        if fan_in.max(initial=0) > MAX_FAN_IN:
            worst = int(np.argmax(fan_in))
            raise ValueError(f"neuron {worst} (core {worst // NEURONS_PER_CORE}) would have {int(fan_in[worst])} "
                             f"inputs; each neuron accepts at most {MAX_FAN_IN} (CAM entries)")
        # CAM slot of each connection: its rank among the connections into the same neuron
        order = np.argsort(post, kind="stable")
        slot = np.empty(n, np.int64)
        starts = np.concatenate(([0], np.cumsum(fan_in)))
        slot[order] = np.arange(n) - starts[post[order]]
        self._pre, self._post = pre.astype(np.int64), post.astype(np.int64)
        self._stype, self._wbias, self._slot, self._fan_in = stype, wbias, slot, fan_in

    @property
    def connections(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(pre, post, synapse type index, weight-bias index) of the configured connections."""
        return self._pre.copy(), self._post.copy(), self._stype.copy(), self._wbias.copy()

    def synapse_weights(self) -> np.ndarray:
        """Effective weight current (A) of every configured connection, mismatch included."""
        w_nom = np.array([[bias_current(*self._codes[(c, w)]) for w in WEIGHT_BIASES] for c in range(N_CORES)])
        return w_nom[self._post // NEURONS_PER_CORE, self._wbias] * self._w_factor[self._post, self._slot]

    # -- state --------------------------------------------------------------
    def drain(self) -> None:
        """Reset every neuron and synapse to rest (membrane at the floor I0, currents 0, not refractory)."""
        self._i_mem = np.full(N_NEURONS, self.config.device.i0_n)
        self._i_syn = np.zeros((4, N_NEURONS))
        self._i_ahp = np.zeros(N_NEURONS)
        self._refr = np.zeros(N_NEURONS)
        self._noise = np.zeros(N_NEURONS)
        self._pending = np.zeros(N_NEURONS, dtype=bool)

    def state(self) -> dict:
        """Copy of the dynamic state (A): i_mem (1024,), i_syn (4, 1024), i_ahp, refractory steps, noise,
        and ``pending`` (1024,) bool: neurons whose spike at the end of the last run is not yet delivered."""
        return {"i_mem": self._i_mem.copy(), "i_syn": self._i_syn.copy(), "i_ahp": self._i_ahp.copy(),
                "refr_steps": self._refr.copy(), "noise": self._noise.copy(), "pending": self._pending.copy()}

    # -- effective parameters -----------------------------------------------
    def neuron_parameters(self) -> dict:
        """Effective per-neuron parameters (SI, shape (1024,) or (4, 1024)), mismatch included."""
        cfg = self.config
        ut, kap = cfg.device.u_t, cfg.device.kappa_n
        b = {n: self.bias_currents(n) for n in NEURON_BIASES + SYNAPSE_BIASES}
        if np.any(b["LEAK"] <= 0):
            raise ValueError("LEAK bias must be > 0 on every core (fine > 0): the membrane needs a leak")
        for n in ("GAIN", "SPKTHR", "REFR", "PULSE_PW", "AHP_TAU", "AMPA_TAU", "NMDA_TAU", "GABA_A_TAU",
                  "GABA_B_TAU"):
            if np.any(b[n] <= 0):
                cores = sorted({int(i) // NEURONS_PER_CORE for i in np.flatnonzero(b[n] <= 0)})
                raise ValueError(f"bias {n} is 0 on core(s) {cores}; it must be > 0 (fine >= 1)")
        p = {}
        p["i_tau"] = b["LEAK"]
        p["tau_mem"] = cfg.c_mem * ut / (kap * b["LEAK"])
        p["i_g"] = b["GAIN"]
        p["i_spkthr"] = b["SPKTHR"]
        p["t_ref"] = cfg.q_ref / b["REFR"]
        p["i_dc"] = b["DC"]
        p["i_a_gain"] = cfg.i_a_gain * self._factor["PFB_GAIN"]
        p["i_a_th"] = cfg.i_a_th * self._factor["PFB_TH"]
        p["nmda_thr"] = b["NMDA_THR"]
        t_pw = cfg.q_pw / b["PULSE_PW"]
        p["t_pw"] = t_pw
        tau_s = np.stack([cfg.c_syn * ut / (kap * b[f"{s}_TAU"]) for s in SYNAPSE_TYPES])
        gain_s = np.stack([b[f"{s}_GAIN"] / b[f"{s}_TAU"] for s in SYNAPSE_TYPES])
        p["tau_syn"] = tau_s
        p["syn_gfac"] = gain_s * -np.expm1(-t_pw / tau_s)
        tau_ahp = cfg.c_ahp * ut / (kap * b["AHP_TAU"])
        p["tau_ahp"] = tau_ahp
        p["ahp_jump"] = b["AHP_GAIN"] / b["AHP_TAU"] * -np.expm1(-t_pw / tau_ahp) * b["AHP_W"]
        return p

    # -- running --------------------------------------------------------------
    def _prepare_inputs(self, n_steps, dt, input_spikes, input_synapse, input_weight_bias):
        """Validate one repetition's input spikes; returns (targets, steps) sorted by step."""
        if input_spikes is None:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        try:
            targets, times = input_spikes
        except (TypeError, ValueError):
            raise ValueError("input_spikes must be a pair (targets, times_s)") from None
        targets = np.asarray(targets)
        times = np.asarray(times, dtype=np.float64)
        if targets.ndim != 1 or times.shape != targets.shape:
            raise ValueError(f"input_spikes targets/times must be 1-D of equal length, got {targets.shape}, {times.shape}")
        if targets.size:
            if targets.dtype.kind not in "iu" or targets.min() < 0 or targets.max() >= N_NEURONS:
                raise ValueError(f"input_spikes targets must be neuron indices in 0..{N_NEURONS - 1}")
            duration = n_steps * dt
            bad = ~np.isfinite(times) | (times < 0) | (times >= duration)
            if np.any(bad):
                raise ValueError(f"input spike time {times[bad][0]!r} s is outside the run [0, {duration:g}) s")
        steps = np.floor(times / dt + 1e-9).astype(np.int64)
        order = np.argsort(steps, kind="stable")
        return targets[order].astype(np.int64), steps[order]

    def run(self, duration_s: float, *, input_spikes=None, dc_a=None, dc_schedule=None, record=(),
            record_neurons=None, input_synapse: str = "AMPA", input_weight_bias: str = "W3",
            seed: int | None = None) -> SpikeRecord:
        """Run for ``duration_s`` s from the current state (which is kept for the next run).

        Parameters
        ----------
        input_spikes : (targets (E,) int, times_s (E,) float) or None
            External pulses, delivered through ``input_synapse`` with the
            target core's ``input_weight_bias``.
        dc_a : (1024,) float or None
            Extra DC current (A) per neuron for the whole run.
        dc_schedule : sequence of (t_start_s, (1024,) array) or None
            Piecewise-constant extra DC; each entry holds from its start time
            to the next one (0 before the first).  Exclusive with ``dc_a``.
        record : tuple of names from :data:`kernels.TRACE_VARS`
            State traces to return, shape (n_steps, n_recorded) each.
        record_neurons : int array or None
            Neurons to record (default: all neurons used by the run).
        seed : int or None
            Noise seed (default from the chip seed and the run index).
        """
        return self.run_batch(duration_s, 1, input_spikes=None if input_spikes is None else [input_spikes],
                              dc_a=dc_a, dc_schedule=dc_schedule, record=record, record_neurons=record_neurons,
                              input_synapse=input_synapse, input_weight_bias=input_weight_bias,
                              seeds=None if seed is None else [seed], _keep_state=True)[0]

    def run_batch(self, duration_s: float, n_reps: int, *, input_spikes=None, dc_a=None, dc_schedule=None,
                  record=(), record_neurons=None, input_synapse: str = "AMPA", input_weight_bias: str = "W3",
                  seeds=None, _keep_state: bool = False) -> list[SpikeRecord]:
        """``n_reps`` independent repetitions in one parallel kernel call.

        Every repetition starts from the chip's current state, with its own
        input spikes (``input_spikes`` is a list of ``n_reps`` pairs, or None)
        and its own noise seed (``seeds``: ``n_reps`` ints, default from the
        chip seed and run index).  The chip's state is left unchanged.
        Other arguments as in :meth:`run`.
        """
        cfg = self.config
        if isinstance(duration_s, bool) or not isinstance(duration_s, (int, float)) or not math.isfinite(duration_s) \
                or not (cfg.dt <= duration_s <= 1e5):
            raise ValueError(f"duration_s={duration_s!r} is outside the allowed range {cfg.dt:g}..1e5 s")
        if isinstance(n_reps, bool) or not isinstance(n_reps, (int, np.integer)) or not 1 <= n_reps <= 10000:
            raise ValueError(f"n_reps={n_reps!r} is outside the allowed range 1..10000")
        in_type = _type_index(input_synapse)
        if input_weight_bias not in WEIGHT_BIASES:
            raise ValueError(f"input_weight_bias={input_weight_bias!r} is not one of {WEIGHT_BIASES}")
        for r in record:
            if r not in kernels.TRACE_VARS:
                raise ValueError(f"record entry {r!r} is not one of {kernels.TRACE_VARS}")
        dt = cfg.dt
        n_steps = int(round(duration_s / dt))
        if input_spikes is not None and len(input_spikes) != n_reps:
            raise ValueError(f"input_spikes has {len(input_spikes)} entries, need one per repetition ({n_reps})")
        inputs = [self._prepare_inputs(n_steps, dt, None if input_spikes is None else input_spikes[r],
                                       input_synapse, input_weight_bias) for r in range(n_reps)]
        # DC schedule
        if dc_a is not None and dc_schedule is not None:
            raise ValueError("give dc_a or dc_schedule, not both")
        sched = []
        if dc_a is not None:
            sched = [(0.0, dc_a)]
        elif dc_schedule is not None:
            sched = list(dc_schedule)
        dc_steps, dc_rows = [], []
        last = -1
        for t0, vals in sched:
            vals = np.asarray(vals, dtype=np.float64)
            if vals.shape != (N_NEURONS,) or not np.all(np.isfinite(vals)):
                raise ValueError(f"DC values must be finite arrays of shape ({N_NEURONS},), got {vals.shape}")
            if not (math.isfinite(t0) and 0.0 <= t0 < duration_s):
                raise ValueError(f"dc_schedule start {t0!r} s is outside [0, {duration_s:g}) s")
            st = int(np.floor(t0 / dt + 1e-9))
            if st < last:
                raise ValueError("dc_schedule start times must be non-decreasing")
            last = st
            dc_steps.append(st)
            dc_rows.append(vals)
        if seeds is None:
            seeds = []
            for _ in range(n_reps):
                ss = stream_seed(self.chip_seed, "noise", self._run_index)
                seeds.append(int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1)))
                self._run_index += 1
        else:
            seeds = [int(s) for s in seeds]
            if len(seeds) != n_reps or any(s < 0 for s in seeds):
                raise ValueError(f"seeds must be {n_reps} non-negative integers, got {seeds!r}")

        # fan-in incl. one CAM slot for external input
        in_targets = np.unique(np.concatenate([t for t, _ in inputs])) if n_reps else np.zeros(0, np.int64)
        fan = self._fan_in.copy()
        fan[in_targets] += 1
        if fan.max(initial=0) > MAX_FAN_IN:
            worst = int(np.argmax(fan))
            raise ValueError(f"neuron {worst} would have {int(fan[worst])} inputs with the external input; "
                             f"at most {MAX_FAN_IN}")

        # neurons to simulate: everything connected, driven or recorded, and every neuron not at rest
        # (a decaying synaptic current, adaptation, refractoriness or noise must keep evolving in time)
        p = self.neuron_parameters()
        used = ((self._i_mem != self.config.device.i0_n) | np.any(self._i_syn != 0.0, axis=0)
                | (self._i_ahp != 0.0) | (self._refr != 0.0) | (self._noise != 0.0) | self._pending)
        used[self._pre] = True
        used[self._post] = True
        used[in_targets] = True
        used |= p["i_dc"] > 0
        for v in dc_rows:
            used |= v != 0
        if record_neurons is not None:
            record_neurons = np.asarray(record_neurons, dtype=np.int64).reshape(-1)
            if record_neurons.size and (record_neurons.min() < 0 or record_neurons.max() >= N_NEURONS):
                raise ValueError(f"record_neurons must be indices in 0..{N_NEURONS - 1}")
            used[record_neurons] = True
        active = np.flatnonzero(used)
        m = active.size
        local = np.full(N_NEURONS, -1, np.int64)
        local[active] = np.arange(m)
        rec_global = active if record_neurons is None else record_neurons
        rec_idx = local[rec_global] if record else np.zeros(0, np.int64)

        sel = lambda a: np.ascontiguousarray(a[..., active], dtype=np.float64)  # noqa: E731
        t_ref_steps = np.ceil(p["t_ref"] / dt - 1e-9)
        syn_decay = np.exp(-dt / p["tau_syn"])
        ahp_decay = np.exp(-dt / p["tau_ahp"])
        floor = np.full(N_NEURONS, cfg.device.i0_n)
        i_reset = np.maximum(np.full(N_NEURONS, cfg.i_reset), floor)

        # connections in CSR by presynaptic (local) index
        w = self.synapse_weights()
        lpre, lpost = local[self._pre], local[self._post]
        order = np.argsort(lpre, kind="stable")
        ptr = np.zeros(m + 1, np.int64)
        np.cumsum(np.bincount(lpre, minlength=m), out=ptr[1:])
        post_c = np.ascontiguousarray(lpost[order])
        stype_c = np.ascontiguousarray(self._stype[order])
        w_c = np.ascontiguousarray(w[order], dtype=np.float64)

        # external pulses: weight of the target core's input bias times the input CAM slot's factor
        w_in_nom = np.array([bias_current(*self._codes[(c, input_weight_bias)]) for c in range(N_CORES)])
        ext_t, ext_s, ext_w, ext_off = [], [], [], [0]
        for tg, st in inputs:
            ext_t.append(local[tg])
            ext_s.append(st)
            slot = np.minimum(self._fan_in[tg], MAX_FAN_IN - 1)
            ext_w.append(w_in_nom[tg // NEURONS_PER_CORE] * self._w_factor[tg, slot])
            ext_off.append(ext_off[-1] + tg.size)
        ext_target = np.ascontiguousarray(np.concatenate(ext_t), dtype=np.int64)
        ext_step = np.ascontiguousarray(np.concatenate(ext_s), dtype=np.int64)
        ext_w = np.ascontiguousarray(np.concatenate(ext_w), dtype=np.float64)
        ext_type = np.full(ext_target.size, in_type, np.int64)
        ext_off = np.asarray(ext_off, np.int64)
        dc_step = np.asarray(dc_steps, np.int64)
        dc_vals = (np.ascontiguousarray(np.stack(dc_rows)[:, active]) if dc_rows else np.zeros((0, m)))

        noise_decay = math.exp(-dt / cfg.noise_tau)
        seeds_arr = np.asarray(seeds, dtype=np.uint64)
        pending = np.ascontiguousarray(local[np.flatnonzero(self._pending)], dtype=np.int64)

        def fresh_state():
            return (np.ascontiguousarray(np.tile(self._i_mem[active], (n_reps, 1))),
                    np.ascontiguousarray(np.tile(self._i_syn[:, active], (n_reps, 1, 1))),
                    np.ascontiguousarray(np.tile(self._i_ahp[active], (n_reps, 1))),
                    np.ascontiguousarray(np.tile(self._refr[active], (n_reps, 1))),
                    np.ascontiguousarray(np.tile(self._noise[active], (n_reps, 1))))

        cap = int(max(4096, m * duration_s * 100.0))
        while True:
            i_mem, i_syn, i_ahp, refr, noise = fresh_state()
            traces = np.zeros((n_reps, n_steps if record else 0, 6, rec_idx.size))
            sp_n = np.zeros((n_reps, cap), np.int64)
            sp_s = np.zeros((n_reps, cap), np.int64)
            counts = np.zeros(n_reps, np.int64)
            err = np.full((n_reps, 2), -1, np.int64)
            kernels.run_batch(n_steps, dt, sel(p["tau_mem"]), sel(p["i_tau"]), sel(p["i_g"]), sel(p["i_spkthr"]),
                              sel(t_ref_steps), sel(i_reset), sel(p["i_a_gain"]), sel(p["i_a_th"]),
                              sel(floor), sel(p["i_dc"]),
                              sel(syn_decay), sel(p["syn_gfac"]), sel(p["nmda_thr"]), sel(ahp_decay),
                              sel(p["ahp_jump"]),
                              ptr, post_c, stype_c, w_c,
                              ext_step, ext_target, ext_type, ext_w, ext_off,
                              dc_step, dc_vals,
                              float(cfg.noise_std), noise_decay, seeds_arr,
                              i_mem, i_syn, i_ahp, refr, noise, pending,
                              rec_idx, traces, sp_n, sp_s, counts, err)
            bad = np.flatnonzero(err[:, 0] >= 0)
            if bad.size:
                r = int(bad[0])
                raise FloatingPointError(f"non-finite state in repetition {r} at step {int(err[r, 0])} "
                                         f"(t = {err[r, 0] * dt:.6g} s), neuron {int(active[err[r, 1]])}")
            if counts.max(initial=0) <= cap:
                break
            cap = int(counts.max())
        if _keep_state:
            self._i_mem[active] = i_mem[-1]
            self._i_syn[:, active] = i_syn[-1]
            self._i_ahp[active] = i_ahp[-1]
            self._refr[active] = refr[-1]
            self._noise[active] = noise[-1]
            c = int(counts[-1])
            self._pending[:] = False
            self._pending[active[sp_n[-1, :c][sp_s[-1, :c] == n_steps]]] = True
        out = []
        for r in range(n_reps):
            c = int(counts[r])
            tr = {name: traces[r, :, kernels.TRACE_VARS.index(name), :] for name in record}
            if record:
                tr["neurons"] = rec_global.copy()
            out.append(SpikeRecord(neurons=active[sp_n[r, :c]], times_s=sp_s[r, :c] * dt,
                                   duration_s=n_steps * dt, traces=tr))
            out[-1].seed = seeds[r]
        return out
