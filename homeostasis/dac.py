"""Coarse/fine bias DAC of the DYNAP-SE2 (Maryada et al. 2025, eq. 1 and Table 2).

Every bias current of the chip model -- neuron leak, gain, threshold,
refractory period, synaptic time constants and gains, and the synaptic
weights -- comes from this one DAC::

    I = I_C(C) * F / 256                                   (Maryada et al. 2025, eq. 1)

with the coarse code ``C`` in 0..5, the fine code ``F`` in 0..255 and the
nominal coarse currents ``I_C`` of Table 2 (0.07, 0.55, 4.45, 35, 280, 2250 nA;
roughly x8 per coarse step).  Currents are in amperes.

Example
-------
>>> bias_current(3, 40)          # 35 nA * 40 / 256
5.46875e-09
>>> code_for_current(5.46875e-09)
(3, 40)
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Nominal coarse currents I_C (A) for coarse codes 0..5 (paper Table 2).
I_COARSE_A = (0.07e-9, 0.55e-9, 4.45e-9, 35.0e-9, 280.0e-9, 2250.0e-9)
#: Number of coarse codes and the largest fine code.
N_COARSE = len(I_COARSE_A)
FINE_MAX = 255
#: Fine divisor of eq. 1.
FINE_STEPS = 256

_I_COARSE = np.asarray(I_COARSE_A, dtype=np.float64)


def _check_int(name: str, value, lo: int, hi: int) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
        raise ValueError(f"{name}={value!r} must be an integer in {lo}..{hi}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError(f"{name}={value!r} must be an integer in {lo}..{hi}")
    bad = (arr < lo) | (arr > hi)
    if np.any(bad):
        first = arr[bad].flat[0] if arr.ndim else value
        raise ValueError(f"{name}={first!r} is outside the allowed range {lo}..{hi}")
    return arr.astype(np.int64)


def bias_current(coarse, fine):
    """Bias current (A) of a DAC code, ``I_C(coarse) * fine / 256`` (paper eq. 1).

    Parameters
    ----------
    coarse : int or int array
        Coarse code, 0..5.
    fine : int or int array (broadcast against ``coarse``)
        Fine code, 0..255.

    Returns
    -------
    float (scalar input) or float64 array of the broadcast shape.

    Raises
    ------
    ValueError
        If a code is not an integer or is out of range (names the field and value).
    """
    if type(coarse) is int and type(fine) is int and 0 <= coarse < N_COARSE and 0 <= fine <= FINE_MAX:
        # plain in-range ints (the chip's stored codes): the same arithmetic without array checks,
        # which dominated the per-run set-up of the chip model
        return I_COARSE_A[coarse] * fine / FINE_STEPS
    c = _check_int("coarse", coarse, 0, N_COARSE - 1)
    f = _check_int("fine", fine, 0, FINE_MAX)
    out = _I_COARSE[c] * f / FINE_STEPS
    if np.ndim(out) == 0:
        return float(out)
    return out


def code_for_current(current_a: float, *, coarse: int | None = None) -> tuple[int, int]:
    """The DAC code whose current is closest to ``current_a`` (A).

    Without ``coarse`` the smallest coarse range that holds the current with a
    fine code <= 255 is used (best resolution); with ``coarse`` given the fine
    code is chosen in that range.  Raises ValueError if the current is
    negative, non-finite or above the largest DAC current.
    """
    i = float(current_a)
    i_max = I_COARSE_A[-1] * FINE_MAX / FINE_STEPS
    if not math.isfinite(i) or i < 0.0 or i > i_max:
        raise ValueError(f"current_a={current_a!r} is outside the allowed range 0..{i_max:g} A")
    if coarse is not None:
        c = int(_check_int("coarse", coarse, 0, N_COARSE - 1))
        f = int(round(i / I_COARSE_A[c] * FINE_STEPS))
        if f > FINE_MAX:
            raise ValueError(f"current_a={current_a!r} needs fine={f}, outside 0..{FINE_MAX} for coarse={c}")
        return c, f
    for c, ic in enumerate(I_COARSE_A):
        f = int(round(i / ic * FINE_STEPS))
        if f <= FINE_MAX:
            return c, f
    raise AssertionError("unreachable: current checked against the DAC maximum")


@dataclass(frozen=True)
class BiasCode:
    """A validated (coarse, fine) DAC code."""

    coarse: int
    fine: int

    def __post_init__(self) -> None:
        _check_int("coarse", self.coarse, 0, N_COARSE - 1)
        _check_int("fine", self.fine, 0, FINE_MAX)
        object.__setattr__(self, "coarse", int(self.coarse))
        object.__setattr__(self, "fine", int(self.fine))

    @property
    def current_a(self) -> float:
        """Nominal current of this code (A), paper eq. 1."""
        return bias_current(self.coarse, self.fine)

    def as_tuple(self) -> tuple[int, int]:
        return (self.coarse, self.fine)
