"""Pyr and PV neuron types of Maryada et al. (2025), as core bias settings of the chip model.

The authors' DYNAP-SE2 settings (Maryada et al. 2025, Methods; (coarse, fine) codes of the bias DAC,
paper eq. 1) are the starting point:

=========  ========  ========
bias       Pyr       PV
=========  ========  ========
LEAK       (2, 4)    (2, 10)
GAIN       (3, 40)   (3, 60)
REFR       (2, 45)   (2, 85)
SPKTHR     (3, 40)   (3, 60)
=========  ========  ========

With the model's constants (:class:`homeostasis.chip.ChipConfig`) these give
tau_mem = C_mem U_T / (kappa I_LEAK) = 13.3 ms (Pyr) / 5.3 ms (PV) and
t_ref = Q_ref / I_REFR = 1.9 ms / 1.0 ms: PV has the higher rheobase
(larger leak, higher gain and threshold currents) and the shorter refractory
period (fast spiking).  The AMPA and NMDA biases are the authors' settings.

One synapse bias is adjusted: GABA_A tau (2, 16) -> (2, 32).  The model has one
synaptic capacitance for every DPI type, as the DYNAP-SE2 layout does (about
25 pF each for AMPA and the shunting GABA_A in Rockpool's DynapSim).  With that
capacitance, the authors' codes make somatic inhibition twice as slow as
excitation: tau_AMPA = 7.1 ms, tau_GABA_A = 13.2 ms.  Inhibition that lags
excitation drives this model into synchronous all-or-none bursts.  At (2, 32),
tau_GABA_A is 6.6 ms, about tau_AMPA.  On the full reproduction's sweep
(``python -m circuits reproduce --full``: chips 0-2, 20 initialisations each,
400 iterations, authors' code rule), the authors' codes -> this setting:

* converged networks: 43 -> 53 of 60 (the paper: all);
* converged networks that sustain their activity: 9 of 43 -> 26 of 53;
* mean pairwise correlation, Pyr / PV: 0.130 / 0.221 -> 0.043 / 0.076
  (the paper's 0.037 / 0.069);
* mean CV^2 of the ISIs, Pyr / PV: 0.24 / 0.23 -> 0.14 / 0.11 (the paper's
  0.95: the firing stays too regular either way).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .dac import BiasCode

_SYNAPSES = {
    "AMPA_TAU": (2, 30), "AMPA_GAIN": (2, 35),
    "NMDA_TAU": (1, 60), "NMDA_GAIN": (1, 130),
    # authors' (2, 16) doubled: tau_GABA_A ~ tau_AMPA (see the module docstring)
    "GABA_A_TAU": (2, 32), "GABA_A_GAIN": (1, 90),
}


@dataclass(frozen=True)
class NeuronType:
    """A named set of core biases ``{bias name: (coarse, fine)}`` (validated DAC codes)."""

    name: str
    biases: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        from .chip import BIAS_NAMES  # late import: chip imports nothing from here
        for k, v in self.biases.items():
            if k not in BIAS_NAMES:
                raise ValueError(f"NeuronType {self.name!r}: bias name {k!r} is not one of {BIAS_NAMES}")
            BiasCode(*v)


#: Pyramidal (excitatory, regular spiking) core setting.
PYR = NeuronType("Pyr", {"LEAK": (2, 4), "GAIN": (3, 40), "REFR": (2, 45), "SPKTHR": (3, 40), **_SYNAPSES})
#: Parvalbumin-positive (inhibitory, fast spiking) core setting.
PV = NeuronType("PV", {"LEAK": (2, 10), "GAIN": (3, 60), "REFR": (2, 85), "SPKTHR": (3, 60), **_SYNAPSES})

NEURON_TYPES = {"pyr": PYR, "pv": PV}
