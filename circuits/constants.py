"""Device constants shared by every model in the package (one copy only).

Subthreshold MOSFET (bulk-referred n-type; Mead 1989, Liu et al. 2002):

    I = I0 * exp(kappa * V_G / U_T) * (exp(-V_S / U_T) - exp(-V_D / U_T))

``U_T = k T / q`` is the thermal voltage (25.85 mV at 300 K), ``kappa`` the
subthreshold slope factor (0.7 nominal; sky130 nfet_01v8 gives ~0.68 from its
~88 mV/decade slope) and ``I0`` the leakage scale current.

Pelgrom threshold-mismatch coefficients ``A_VT`` (V·µm) are those of the sky130
models (``sw_mm_vth0_*`` parameters, active in the ``*_mm`` corners with
``MC_MM_SWITCH=1``).

Behavioural models import these names.  The circuit characterisation step
(:mod:`circuits.characterise`) measures the PDK's own values (kappa, I0, the
slope-factor tables, at :data:`SPICE_TEMPERATURE_K`); the circuit twins use
those, and :meth:`circuits.characterise.Characterisation.constants` returns them
as a :class:`DeviceConstants`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .validation import check_range

BOLTZMANN_J_PER_K = 1.380649e-23
ELEMENTARY_CHARGE_C = 1.602176634e-19

#: Temperature of the behavioural models' nominal constants (K); 300 K gives U_T = 25.85 mV.
T_NOMINAL_K = 300.0

#: Temperature of every SPICE deck (K): ngspice's default, 27 °C (U_T = 25.87 mV).
SPICE_TEMPERATURE_K = 300.15

#: Pelgrom threshold-mismatch coefficients of sky130, V·µm.
A_VT_V_UM = {"nfet": 3.356e-3, "pfet": 5.856e-3}

#: Nominal subthreshold slope factor used by behavioural models.
KAPPA_NOMINAL = 0.7

#: Nominal leakage scale current (A) of the DYNAP-SE2-style models
#: (Rockpool DynapSim / teili default I0 = 0.5 pA).
I0_NOMINAL_A = 0.5e-12

#: Supply voltage of the sky130 1.8 V devices (V).
VDD_V = 1.8


def thermal_voltage(temperature_k: float = T_NOMINAL_K) -> float:
    """Thermal voltage ``U_T = k T / q`` in volts.

    Parameters
    ----------
    temperature_k : float
        Absolute temperature in kelvin, 1 K .. 1000 K.
    """
    t = float(temperature_k)
    if not math.isfinite(t) or not (1.0 <= t <= 1000.0):
        raise ValueError(f"temperature_k={temperature_k!r} is outside the allowed range 1..1000 K")
    return BOLTZMANN_J_PER_K * t / ELEMENTARY_CHARGE_C


#: Thermal voltage at the nominal temperature (V).
U_T_NOMINAL = thermal_voltage(T_NOMINAL_K)


@dataclass(frozen=True)
class DeviceConstants:
    """The device constants a behavioural model needs.

    Attributes
    ----------
    u_t : float
        Thermal voltage (V).
    kappa_n, kappa_p : float
        Subthreshold slope factors of n- and p-type devices (dimensionless).
    i0_n, i0_p : float
        Leakage scale currents (A) of n- and p-type devices.
    """

    u_t: float = U_T_NOMINAL
    kappa_n: float = KAPPA_NOMINAL
    kappa_p: float = KAPPA_NOMINAL
    i0_n: float = I0_NOMINAL_A
    i0_p: float = I0_NOMINAL_A

    def __post_init__(self) -> None:
        for name, lo, hi in (
            ("u_t", 1e-3, 0.1),
            ("kappa_n", 0.3, 1.0),
            ("kappa_p", 0.3, 1.0),
            ("i0_n", 1e-22, 1e-6),
            ("i0_p", 1e-22, 1e-6),
        ):
            check_range(f"DeviceConstants.{name}", getattr(self, name), lo, hi)

    def kappa(self, device: str) -> float:
        """Slope factor of ``device`` ('nfet' or 'pfet')."""
        return {"nfet": self.kappa_n, "pfet": self.kappa_p}[_check_device(device)]


def _check_device(device: str) -> str:
    if device not in A_VT_V_UM:
        raise ValueError(f"device={device!r} is not one of {sorted(A_VT_V_UM)}")
    return device


#: The nominal constants, used wherever no PDK characterisation is supplied.
NOMINAL = DeviceConstants()
