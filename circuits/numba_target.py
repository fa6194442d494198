"""The compile target of every numba kernel of the package: full-width SIMD on CPUs with AVX-512.

LLVM tunes Intel server cores from Skylake-SP on to *prefer* 256-bit vectors
(its ``prefer-256-bit`` tuning flag, set against the clock drop of the first
AVX-512 parts), so numba compiles the neuron loops with 4 doubles per
instruction even where the core has 8.  The DYNAP-SE2 kernels are short,
arithmetic-bound element-wise loops over the neurons; with 512-bit vectors the
benchmark network (``python -m homeostasis bench``) runs about 18 % faster on
an Emerald Rapids Xeon (medians of five alternating processes: 173 against
210 ms per 10 simulated seconds), and its spike trains and traces are
bit-identical (the loops are element-wise: no sum changes its order; a test
checks this).  The other kernels use no fast-math flags, so no compiler
transformation may change their rounding at any vector width.

Every module that defines numba kernels imports :func:`njit` and :data:`prange`
from here, so the target is set before numba creates its CPU target context
(which happens at the first ``@njit`` decoration in a process and fixes the
features for the rest of it).  Nothing is changed when

* the CPU has no AVX-512F, or numba's AVX is disabled (``NUMBA_ENABLE_AVX=0``);
* ``NUMBA_CPU_NAME`` or ``NUMBA_CPU_FEATURES`` is set: the user's choice wins
  (``NUMBA_CPU_FEATURES`` set to the host's features restores LLVM's default);
* another library created numba's CPU target before this package was imported.

:data:`VECTOR_TARGET` says which case applies; the benchmark prints it.
"""
from __future__ import annotations

import os

from numba import njit, prange
from numba.core import config
from numba.core.registry import cpu_target

__all__ = ["njit", "prange", "VECTOR_TARGET"]


def _configure() -> str:
    """Lift LLVM's 256-bit preference on AVX-512 hosts; return a description of the target in effect."""
    if os.environ.get("NUMBA_CPU_NAME") or os.environ.get("NUMBA_CPU_FEATURES"):
        return "set by NUMBA_CPU_NAME / NUMBA_CPU_FEATURES"
    if config.CPU_FEATURES is not None:
        return "LLVM default (numba's CPU features were already set)"
    if "_toplevel_target_context" in vars(cpu_target):
        return "LLVM default (numba's CPU target was created before this package was imported)"
    import llvmlite.binding as llvm

    try:
        features = llvm.get_host_cpu_features()
    except RuntimeError:
        return "LLVM default (host CPU features unknown)"
    if not config.ENABLE_AVX or not features.get("avx512f", False):
        return "LLVM default (no AVX-512)"
    config.CPU_FEATURES = features.flatten() + ",-prefer-256-bit"
    return "512-bit vectors (AVX-512)"


#: Which compile target the package's kernels got in this process (see the module docstring).
VECTOR_TARGET = _configure()
