"""Bias DAC (Maryada et al. 2025, eq. 1 and Table 2)."""
import numpy as np
import pytest

from homeostasis.dac import FINE_MAX, I_COARSE_A, BiasCode, bias_current, code_for_current


def test_table2_values():
    # eq. 1 at fine = 256 would give I_C itself; check every coarse at two fine codes
    for c, ic in enumerate((0.07e-9, 0.55e-9, 4.45e-9, 35e-9, 280e-9, 2250e-9)):
        assert bias_current(c, 128) == pytest.approx(ic / 2, rel=1e-12)
        assert bias_current(c, 0) == 0.0
    assert bias_current(3, 40) == pytest.approx(35e-9 * 40 / 256, rel=1e-12)


def test_paper_initial_range():
    # paper: C in {3,4,5}, F in [20, 200] -> currents 2.7 nA .. 1757 nA
    assert bias_current(3, 20) == pytest.approx(2.73e-9, rel=1e-2)
    assert bias_current(5, 200) == pytest.approx(1757.8e-9, rel=1e-3)


def test_vectorised_and_monotone_within_coarse():
    f = np.arange(256)
    for c in range(6):
        i = bias_current(np.full(256, c), f)
        assert np.all(np.diff(i) > 0)
        assert i[-1] == pytest.approx(I_COARSE_A[c] * 255 / 256)


@pytest.mark.parametrize("coarse,fine", [(-1, 10), (6, 10), (2, -1), (2, 256), (2.5, 3), (True, 3)])
def test_out_of_range_raises(coarse, fine):
    with pytest.raises(ValueError, match="coarse|fine"):
        bias_current(coarse, fine)
    with pytest.raises(ValueError):
        BiasCode(coarse, fine)


def test_code_roundtrip():
    for c in range(6):
        for f in (17, 100, 255):
            cc, ff = code_for_current(bias_current(c, f))
            # best-resolution range: the same current, possibly in a lower coarse range
            assert bias_current(cc, ff) == pytest.approx(bias_current(c, f), rel=0.5 / max(ff, 1) + 1e-3)
    assert code_for_current(bias_current(3, 200), coarse=3) == (3, 200)
    with pytest.raises(ValueError, match="current_a"):
        code_for_current(1e-3)
    with pytest.raises(ValueError, match="fine"):
        code_for_current(bias_current(4, 200), coarse=2)
    assert FINE_MAX == 255
