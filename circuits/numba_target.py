"""The compile target of the package's numba kernels: full-width SIMD on measured AVX-512 CPUs.

LLVM tunes Intel server cores from Skylake-SP on to *prefer* 256-bit vectors
(its ``prefer-256-bit`` tuning flag, set against the clock drop of the first
AVX-512 parts), so numba compiles the neuron loops with 4 doubles per
instruction even where the core has 8.  The DYNAP-SE2 kernels are short,
arithmetic-bound element-wise loops over the neurons; with 512-bit vectors the
benchmark network (``python -m homeostasis bench``) runs about 18 % faster on
an Emerald Rapids Xeon (medians of five alternating processes: 173 against
210 ms per 10 simulated seconds), and its spike trains and traces are
bit-identical (the loops are element-wise: no sum changes its order; a test
checks this).  The package's other kernels use no fast-math flags, so no
compiler transformation may change their rounding at any vector width.

**Scope: the whole process.**  numba fixes one target for every function it
compiles in a process, the user's and other libraries' included, and a
fast-math loop that sums floats may round differently at another width.  So
importing the package as a library leaves numba alone; the wide target is
used when ``EIBALANCE_NUMBA_TARGET=wide`` is set, which the package's command
lines (``python -m circuits|ebn|homeostasis``, through :func:`circuits.cli.run`)
do for their own process and its workers.  ``EIBALANCE_NUMBA_TARGET=default``
turns it off there.  Even when asked for, nothing is changed when

* the CPU is not one where the gain was measured (:data:`MEASURED_CPUS`; on
  Skylake-SP and Cascade Lake, 512-bit arithmetic lowers the core clock), or
  has no AVX-512F, or numba's AVX is disabled;
* ``NUMBA_CPU_NAME`` or ``NUMBA_CPU_FEATURES`` is set (environment or
  ``.numba_config.yaml``): the user's choice wins;
* numba's CPU target was created before (by any ``@njit`` decoration in the
  process): it fixes the features for the rest of the process.

Every module that defines numba kernels imports :func:`njit` and :data:`prange`
from here, so the choice is made before the package's first decoration.
:func:`describe` reads back the features numba's code generator really uses.
"""
from __future__ import annotations

import os

from numba import njit, prange
from numba.core import config
from numba.core.registry import cpu_target

__all__ = ["njit", "prange", "ENV", "MEASURED_CPUS", "configure", "describe"]

#: Environment variable selecting the target: ``wide`` (512-bit vectors where measured) or ``default``.
ENV = "EIBALANCE_NUMBA_TARGET"
#: LLVM CPU names on which 512-bit vectors were measured faster with identical results.
MEASURED_CPUS = frozenset({"sapphirerapids", "emeraldrapids"})
_NO_256_PREFERENCE = "-prefer-256-bit"

_reason = ""
_requested: str | None = None


def _target_created() -> bool:
    # numba's CPUTarget keeps its context in a cached_property, i.e. in the instance dict once built
    return "_toplevel_target_context" in vars(cpu_target)


def _choose() -> str:
    global _requested
    mode = os.environ.get(ENV, "default")
    if mode not in ("wide", "default"):
        raise ValueError(f"{ENV}={mode!r} is not one of 'wide', 'default'")
    if mode == "default":
        return f"{ENV} is not 'wide'"
    config.reload_config()   # picks up NUMBA_* variables and .numba_config.yaml set since numba's import
    if config.CPU_NAME is not None or config.CPU_FEATURES not in (None, _requested):
        return "NUMBA_CPU_NAME / NUMBA_CPU_FEATURES set by the user"
    if _target_created():
        return "numba's CPU target was created before the package chose one"
    import llvmlite.binding as llvm

    name = llvm.get_host_cpu_name()
    if name not in MEASURED_CPUS:
        return f"CPU {name!r} is not one where 512-bit vectors were measured"
    try:
        features = llvm.get_host_cpu_features()
    except RuntimeError:
        return "host CPU features unknown"
    if not config.ENABLE_AVX or not features.get("avx512f", False):
        return "no AVX-512F"
    _requested = features.flatten() + "," + _NO_256_PREFERENCE
    config.CPU_FEATURES = _requested
    return "512-bit vectors requested"


def configure() -> str:
    """Apply :data:`ENV` now (idempotent; effective only before numba's CPU target exists); return the reason."""
    global _reason
    if not (_target_created() and _reason):
        _reason = _choose()
    return _reason


def describe() -> str:
    """The vector target numba's code generator uses in this process (creates numba's CPU target if needed)."""
    features = cpu_target.target_context.codegen().magic_tuple()[2].split(",")
    wide = _NO_256_PREFERENCE in features and "+avx512f" in features
    what = "512-bit vectors (AVX-512)" if wide else "LLVM's default vector width"
    return f"{what}; {_reason}" if _reason else what


configure()
