"""The package's numba compile target (circuits.numba_target): 512-bit vectors on AVX-512 hosts change speed only."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

_SCRIPT = r"""
import hashlib, sys
import numpy as np
from circuits.numba_target import VECTOR_TARGET
from homeostasis.bench import BenchConfig, bench_dc, make_bench_chip
cfg = BenchConfig()
chip = make_bench_chip(cfg)
recs = chip.run_batch(0.5, 2, dc_a=bench_dc(cfg), seeds=[3, 4], record=("i_mem", "i_ampa", "i_gaba_a"),
                      record_neurons=[0, 7, 256])
h = hashlib.sha1()
for r in recs:
    h.update(r.neurons.tobytes()); h.update(r.times_s.tobytes())
    for v in ("i_mem", "i_ampa", "i_gaba_a"):
        h.update(r.traces[v].tobytes())
print(VECTOR_TARGET)
print(sum(r.neurons.size for r in recs), h.hexdigest())
"""


def _run(env_extra: dict) -> list[str]:
    env = dict(os.environ)
    env.pop("NUMBA_CPU_FEATURES", None)
    env.pop("NUMBA_CPU_NAME", None)
    env.update(env_extra)
    out = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, timeout=600,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip().splitlines()


def test_full_width_vectors_give_bit_identical_spikes_and_traces():
    """On an AVX-512 host the kernels compile with 512-bit vectors; LLVM's default (256-bit preferred,
    restored by setting NUMBA_CPU_FEATURES to the host's features) gives the same bits."""
    import llvmlite.binding as llvm

    features = llvm.get_host_cpu_features()
    if not features.get("avx512f", False):
        pytest.skip("host has no AVX-512: the package leaves LLVM's default target alone")
    wide = _run({})
    default = _run({"NUMBA_CPU_FEATURES": features.flatten()})
    assert wide[0] == "512-bit vectors (AVX-512)"
    assert default[0] == "set by NUMBA_CPU_NAME / NUMBA_CPU_FEATURES"
    n_spikes = int(wide[1].split()[0])
    assert n_spikes > 1000, wide
    assert wide[1] == default[1]


def test_the_target_is_left_alone_when_numba_compiled_first():
    """If numba's CPU target exists before the package is imported, nothing is changed and the note says so."""
    script = ("from numba import njit\n"
              "njit(lambda x: x + 1)(1)\n"
              "from circuits.numba_target import VECTOR_TARGET\n"
              "from numba.core import config\n"
              "print(VECTOR_TARGET)\nprint(config.CPU_FEATURES)\n")
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CPU_FEATURES", "NUMBA_CPU_NAME")}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("LLVM default (numba's CPU target was created before")
    assert lines[1] == "None"
