"""numba's compile target (circuits.numba_target): 512-bit vectors change speed only, and only where asked."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_RUN_NETWORK = r"""
import hashlib
from circuits import numba_target
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
print(numba_target.describe())
print(sum(r.neurons.size for r in recs), h.hexdigest())
"""


def _subprocess(script: str, **env_extra) -> subprocess.CompletedProcess:
    """``python -c script`` from the repository root, without the caller's numba target settings."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("NUMBA_CPU_FEATURES", "NUMBA_CPU_NAME", "EIBALANCE_NUMBA_TARGET")}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600,
                          cwd=_ROOT)


def _python(script: str, **env_extra) -> list[str]:
    out = _subprocess(script, **env_extra)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip().splitlines()


def _wide_host() -> bool:
    import llvmlite.binding as llvm

    from circuits.numba_target import MEASURED_CPUS

    return llvm.get_host_cpu_name() in MEASURED_CPUS and llvm.get_host_cpu_features().get("avx512f", False)


def test_full_width_vectors_give_bit_identical_spikes_and_traces():
    """With EIBALANCE_NUMBA_TARGET=wide on a measured AVX-512 CPU the kernels compile with 512-bit
    vectors (read back from numba's code generator); a library import's LLVM default gives the same bits."""
    if not _wide_host():
        pytest.skip("not a CPU where the package asks for 512-bit vectors: both runs would be LLVM's default")
    wide = _python(_RUN_NETWORK, EIBALANCE_NUMBA_TARGET="wide")
    default = _python(_RUN_NETWORK)
    assert wide[0] == "512-bit vectors (AVX-512); 512-bit vectors requested"
    assert default[0] == "LLVM's default vector width; EIBALANCE_NUMBA_TARGET is not 'wide'"
    assert int(wide[1].split()[0]) > 1000, wide
    assert wide[1] == default[1]


def test_a_library_import_leaves_numba_alone_and_the_command_line_asks_for_wide():
    lib = _python("import homeostasis.kernels\nfrom numba.core import config\nfrom circuits import numba_target\n"
                  "print(config.CPU_FEATURES)\nprint(numba_target.describe())\n")
    assert lib == ["None", "LLVM's default vector width; EIBALANCE_NUMBA_TARGET is not 'wide'"]
    cli = _python("import os\nfrom circuits import cli\n"
                  "try:\n    cli.run('homeostasis', 'x', ('cli_chip',), ['--help'])\nexcept SystemExit:\n    pass\n"
                  "import homeostasis.kernels\nfrom circuits import numba_target\n"
                  "print(os.environ['EIBALANCE_NUMBA_TARGET'])\nprint(numba_target.describe())\n")
    assert cli[-2] == "wide"
    if _wide_host():
        assert cli[-1] == "512-bit vectors (AVX-512); 512-bit vectors requested"
    else:
        assert cli[-1].startswith("LLVM's default vector width; ")


def test_the_target_is_left_alone_when_numba_compiled_first():
    """If numba's CPU target exists before the package chooses, nothing is changed and the note says so."""
    out = _python("from numba import njit\nnjit(lambda x: x + 1)(1)\n"
                  "from circuits import numba_target\nfrom numba.core import config\n"
                  "print(config.CPU_FEATURES)\nprint(numba_target.describe())\n", EIBALANCE_NUMBA_TARGET="wide")
    assert out == ["None", "LLVM's default vector width; "
                   "numba's CPU target was created before the package chose one"]


def test_a_bad_target_name_is_refused_with_the_variable_named():
    out = _subprocess("import circuits.numba_target", EIBALANCE_NUMBA_TARGET="fast")
    assert out.returncode != 0
    assert "EIBALANCE_NUMBA_TARGET='fast' is not one of 'wide', 'default'" in out.stderr
