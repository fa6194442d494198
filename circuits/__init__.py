"""Device layer and transistor-level verification of the EBN learning circuits.

Submodules
----------
constants   device constants (U_T, kappa, I0, Pelgrom A_VT) — the only copy
mismatch    the common mismatch model (Pelgrom -> log-normal current factors)
pdk         locate / fetch / trim the sky130 ngspice models
spice       the PySpice (shared-mode ngspice) driver; PySpice is imported only there

Importing :mod:`circuits` does not import PySpice.
"""
from .constants import NOMINAL, DeviceConstants, thermal_voltage
from .mismatch import MismatchModel, sigma_vt, stream_seed

__all__ = ["NOMINAL", "DeviceConstants", "thermal_voltage", "MismatchModel", "sigma_vt", "stream_seed"]
