"""The common mismatch model: Pelgrom scaling, log-normal statistics, seeding, validation."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits.constants import A_VT_V_UM, NOMINAL, thermal_voltage
from circuits.mismatch import (MismatchModel, cv_from_sigma_ln, sigma_ln_from_cv, sigma_vt,
                               sky130_geometry_factor, stream_seed)


def test_thermal_voltage_at_300k():
    assert thermal_voltage(300.0) == pytest.approx(0.025852, rel=1e-4)


def test_pelgrom_scaling_without_pdk_factor():
    # sigma_VT = A_VT / sqrt(W L): W = L = 2 um nfet -> 1.678 mV (Pelgrom et al. 1989)
    assert sigma_vt(2, 2, "nfet", pdk_geometry=False) == pytest.approx(3.356e-3 / 2, rel=1e-12)
    assert sigma_vt(8, 2, "pfet", pdk_geometry=False) == pytest.approx(5.856e-3 / 4, rel=1e-12)


def test_pdk_factor_limits():
    # (0.064/L + 0.992)(0.245/W + 0.965)(0.056/(WL) + 0.999) -> 0.992*0.965*0.999 for large devices
    assert sky130_geometry_factor(1e3, 1e3, "nfet") == pytest.approx(0.992 * 0.965 * 0.999, abs=1e-3)
    assert sky130_geometry_factor(1, 1, "nfet") == pytest.approx(1.348, abs=0.002)
    assert sky130_geometry_factor(1, 1, "pfet") == 1.0


def test_spec_example_sigma_ln():
    # W = L = 2 um nfet -> sigma_ln = kappa sigma_VT / U_T ~ 4.4 % (Pelgrom term alone)
    m = MismatchModel(NOMINAL.kappa_n * sigma_vt(2, 2, pdk_geometry=False) / NOMINAL.u_t)
    assert m.sigma_ln == pytest.approx(0.0454, abs=0.001)


@given(cv=st.floats(0.01, 2.0))
def test_cv_round_trip(cv):
    assert cv_from_sigma_ln(sigma_ln_from_cv(cv)) == pytest.approx(cv, rel=1e-9)


@settings(max_examples=20, deadline=None)
@given(cv=st.floats(0.02, 0.6), seed=st.integers(0, 2**31))
def test_drawn_cv_matches_model(cv, seed):
    n = 200_000
    f = MismatchModel.from_cv(cv).draw(n, seed=seed)
    measured = f.std() / f.mean()
    # standard error of a sample CV of a log-normal is below ~ CV*sqrt((1+2CV^2)/(2n)) * 2; 6 sigma
    tol = 6 * cv * math.sqrt((1 + 2 * cv**2) / (2 * n)) * 2
    assert abs(measured - cv) < tol
    # median 1: exactly half of the factors lie below 1 up to sampling error
    assert abs(np.mean(f < 1.0) - 0.5) < 6 * 0.5 / math.sqrt(n)


def test_log_factors_are_normal_with_sigma_ln():
    m = MismatchModel.from_geometry(1.0, 1.0, "pfet")
    z = np.log(m.draw(100_000, seed=5))
    assert z.std() == pytest.approx(m.sigma_ln, rel=0.02)
    assert abs(z.mean()) < 5 * m.sigma_ln / math.sqrt(z.size)


def test_geometry_model_uses_kappa_and_ut():
    m = MismatchModel.from_geometry(4, 4, "nfet", kappa=0.68, u_t=0.02585)
    assert m.sigma_ln == pytest.approx(0.68 * sigma_vt(4, 4) / 0.02585, rel=1e-12)
    # sigma_ln scales as 1/sqrt(area) for large devices
    big = MismatchModel.from_geometry(40, 40, "nfet")
    bigger = MismatchModel.from_geometry(80, 80, "nfet")
    assert big.sigma_ln / bigger.sigma_ln == pytest.approx(2.0, rel=0.01)
    assert A_VT_V_UM["pfet"] > A_VT_V_UM["nfet"]


def test_frozen_draws_and_independent_streams():
    m = MismatchModel.from_cv(0.2)
    a = m.draw((3, 4), seed=stream_seed(7, "neuron", "i_tau"))
    b = m.draw((3, 4), seed=stream_seed(7, "neuron", "i_tau"))
    c = m.draw((3, 4), seed=stream_seed(7, "neuron", "i_gain"))
    d = m.draw((3, 4), seed=stream_seed(8, "neuron", "i_tau"))
    assert np.array_equal(a, b)
    assert not np.allclose(a, c) and not np.allclose(a, d)
    assert a.shape == (3, 4) and a.dtype == np.float64


def test_nominal_model_gives_ones():
    assert np.all(MismatchModel.none().draw(10, seed=1) == 1.0)
    assert MismatchModel.none().cv == 0.0


def test_delta_vt_consistent_with_factor():
    m = MismatchModel.from_geometry(1, 1)
    f = m.draw(50, seed=3)
    dvt = m.delta_vt(50, seed=3, kappa=0.7, u_t=0.025)
    assert np.allclose(np.exp(-0.7 * dvt / 0.025), f)


def test_combined_adds_log_variances():
    a, b = MismatchModel(0.3), MismatchModel(0.4)
    assert a.combined(b).sigma_ln == pytest.approx(0.5)


@pytest.mark.parametrize("kwargs, field", [
    (dict(w_um=0, l_um=1), "w_um"), (dict(w_um=1, l_um=-2), "l_um"),
    (dict(w_um=float("nan"), l_um=1), "w_um"), (dict(w_um=1, l_um=1e6), "l_um"),
    (dict(w_um="big", l_um=1), "w_um"),
])
def test_invalid_geometry_raises_with_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        MismatchModel.from_geometry(**kwargs)


@pytest.mark.parametrize("cv", [0.0, -0.1, float("nan"), float("inf"), 5.0])
def test_invalid_cv_raises(cv):
    with pytest.raises(ValueError, match="cv"):
        MismatchModel.from_cv(cv)


def test_invalid_device_and_seed():
    with pytest.raises(ValueError, match="device"):
        sigma_vt(1, 1, "bjt")
    with pytest.raises(ValueError, match="seed"):
        stream_seed(-1)
    with pytest.raises(ValueError, match="exactly one"):
        MismatchModel.from_cv(0.1).draw(3)


def test_characterisation_hands_its_values_to_the_models_as_device_constants():
    from circuits.characterise import Characterisation
    from circuits.constants import SPICE_TEMPERATURE_K, DeviceConstants

    ch = Characterisation(u_t=thermal_voltage(SPICE_TEMPERATURE_K), kappa_n=0.68, i0_n=2e-15, kappa_p=0.63,
                          i0_p=4e-16, v_sw_extender=0.8)
    dc = ch.constants()
    assert isinstance(dc, DeviceConstants)
    assert (dc.u_t, dc.kappa_n, dc.kappa_p, dc.i0_n, dc.i0_p) == (ch.u_t, 0.68, 0.63, 2e-15, 4e-16)
    # the SPICE decks run 0.15 K above the behavioural models' nominal temperature
    assert thermal_voltage(SPICE_TEMPERATURE_K) > NOMINAL.u_t
    with pytest.raises(ValueError, match="kappa_n"):
        Characterisation(u_t=0.0259, kappa_n=1.5, i0_n=2e-15, kappa_p=0.63, i0_p=4e-16, v_sw_extender=0.8)
