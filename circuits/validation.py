"""The one argument check every config of the package uses.

Errors name the field, the value and the allowed range, as DESIGN.md asks.
"""
from __future__ import annotations

import math
import numbers


def check_range(name: str, value, lo: float, hi: float, *, lo_open: bool = False, integer: bool = False) -> float:
    """Return ``float(value)`` if it is a finite real in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``).

    ``integer=True`` also requires an integral type. Booleans are never numbers here.
    Raises ``ValueError`` naming ``name``, the value and the allowed range.
    """
    if integer:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ValueError(f"{name}={value!r} must be an integer in [{lo:g}, {hi:g}]")
    elif isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name}={value!r} is not a number")
    v = float(value)
    if not (math.isfinite(v) and (v > lo if lo_open else v >= lo) and v <= hi):
        bracket = "(" if lo_open else "["
        raise ValueError(f"{name}={value!r} is outside the allowed range {bracket}{lo:g}, {hi:g}]")
    return v
