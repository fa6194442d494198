"""Behavioural twins of the spike extender, DPI synapse and Traff comparator (no SPICE).

Checks the twins against the closed forms of Büchel et al. 2021, Sec. III and the mismatch
predictions against the log-normal algebra of the common mismatch model.
"""
import math

import numpy as np
import pytest

from circuits.mismatch import MismatchModel, sigma_vt
from circuits.twins import (DPISynapseTwin, SpikeExtenderTwin, TraffComparatorTwin, comparator_offset_spread,
                            dpi_spread, extender_width_spread, pulse_train)

U_T = 0.025865


def test_extender_width_is_c_vsw_over_i():
    tw = SpikeExtenderTwin(1e-12, 0.7)
    assert tw.width(10e-9) == pytest.approx(1e-12 * 0.7 / 10e-9, rel=1e-12)
    w = tw.width(np.array([1e-9, 1e-7]))
    assert w[0] / w[1] == pytest.approx(100.0)


def test_extender_output_is_retriggerable():
    tw = SpikeExtenderTwin(1e-12, 0.7)
    w = tw.width(10e-9)
    t = np.linspace(0, 3 * w, 3001)
    out = tw.output(t, [0.1 * w, 0.6 * w], 10e-9)
    high = t[out > 0.9]
    # one merged pulse from the first spike to t_pw after the second
    assert high[0] == pytest.approx(0.1 * w, abs=2 * (t[1] - t[0]))
    assert high[-1] == pytest.approx(1.6 * w, abs=2 * (t[1] - t[0]))
    assert np.all(np.diff(high) < 1.5 * (t[1] - t[0]))


@pytest.mark.parametrize("kw", [dict(c_pw=0.0, v_sw=0.7), dict(c_pw=1e-12, v_sw=-1.0), dict(c_pw=float("nan"), v_sw=0.7)])
def test_extender_rejects_bad_parameters(kw):
    with pytest.raises(ValueError, match="SpikeExtenderTwin"):
        SpikeExtenderTwin(**kw)


def test_dpi_tau_formula():
    tw = DPISynapseTwin(5e-12, 0.68, U_T, 20e-12, 1e-9, 1e-9)
    assert tw.tau == pytest.approx(5e-12 * U_T / (0.68 * 20e-12), rel=1e-12)


def test_dpi_reaches_the_steady_state_of_spec_eq():
    tw = DPISynapseTwin(1e-12, 0.68, U_T, 20e-12, 100e-12, 2e-9)
    t = np.linspace(0, 20 * tw.tau, 4001)
    i = tw.simulate(t, np.ones_like(t, bool), i_start=1e-12)
    assert i[-1] == pytest.approx(tw.i_gain * tw.i_w / tw.i_tau - tw.i_gain, rel=1e-4)


def test_dpi_decay_is_exponential_with_tau():
    tw = DPISynapseTwin(1e-12, 0.68, U_T, 20e-12, 100e-12, 2e-9)
    t = np.linspace(0, 3 * tw.tau, 301)
    i = tw.simulate(t, np.zeros_like(t, bool), i_start=1e-9)
    np.testing.assert_allclose(i, 1e-9 * np.exp(-t / tw.tau), rtol=1e-9)


def test_dpi_linear_regime_pulse_increment():
    # I_syn >> I_gain: dI = (I_inf_lin - I) (1 - exp(-t_pw/tau)) for one pulse (Bartolozzi & Indiveri 2007)
    tw = DPISynapseTwin(5e-12, 0.68, U_T, 20e-12, 1e-12, 1e-9)
    t_pw = 0.2 * tw.tau
    t = np.linspace(0, t_pw, 2001)
    i0 = 5e-9
    i = tw.simulate(t, np.ones_like(t, bool), i_start=i0)
    expect = i0 + (tw.i_steady - i0) * (1 - math.exp(-t_pw / tw.tau))
    # the residual I_gain/I_syn term is 1e-12/5e-9: the linear form holds to 1e-3
    assert i[-1] == pytest.approx(expect, rel=2e-3)


def test_dpi_simulate_validates_input():
    tw = DPISynapseTwin(5e-12, 0.68, U_T, 20e-12, 1e-9, 1e-9)
    with pytest.raises(ValueError):
        tw.simulate(np.array([0.0, 1.0, 0.5]), np.ones(3, bool), 1e-12)
    with pytest.raises(ValueError, match="i_w"):
        DPISynapseTwin(5e-12, 0.68, U_T, 20e-12, 1e-9, -1.0)
    with pytest.raises(ValueError, match="steady state"):
        DPISynapseTwin(5e-12, 0.68, U_T, 20e-12, 1e-9, 10e-12).simulate(np.linspace(0, 1, 5), np.ones(5, bool), 1e-12)


def test_pulse_train():
    t = np.arange(0, 0.05, 1e-4)
    on = pulse_train(t, 0.005, 1e-3, 0.01)
    assert on.sum() == pytest.approx(5 * 10, abs=5)
    assert not on[t < 0.005].any()


def test_traff_twin_decision_and_delay():
    tw = TraffComparatorTwin(offset=0.05e-9, delay=2e-6)
    assert tw.decide(0.1e-9) and not tw.decide(0.01e-9) and not tw.decide(-1e-9)
    t = np.linspace(0, 20e-6, 2001)
    out = tw.output(t, np.where(t > 5e-6, 1e-9, -1e-9))
    assert t[np.argmax(out > 0.9)] == pytest.approx(7e-6, abs=0.05e-6)
    with pytest.raises(ValueError):
        TraffComparatorTwin(delay=-1.0)


def test_comparator_offset_prediction_matches_lognormal_algebra():
    # x = I_ref (f1 f2 / (f3 f4) - 1): sigma ~ I_ref sqrt(2 s_p^2 + 2 s_n^2) for small sigmas
    i_ref = 10e-9
    s_p = MismatchModel.from_geometry(4, 4, "pfet", kappa=0.5, u_t=U_T).sigma_ln
    s_n = MismatchModel.from_geometry(4, 4, "nfet", kappa=0.65, u_t=U_T).sigma_ln
    pred = comparator_offset_spread(i_ref, 0.65, 0.5, U_T, n=40000, seed=3)
    # Monte Carlo of 40000 draws: relative standard error 1/sqrt(2n) = 0.35 %; 3 % leaves room
    # for the second-order log-normal terms (sigma_total ~ 4 %)
    assert pred == pytest.approx(i_ref * math.sqrt(2 * s_p**2 + 2 * s_n**2), rel=0.03)


def test_extender_spread_is_dominated_by_the_mirror():
    tw = SpikeExtenderTwin(1e-12, 0.7)
    s_m = MismatchModel.from_geometry(2, 4, "pfet", kappa=0.45, u_t=U_T).sigma_ln
    s_vsw = 0.5 * math.hypot(sigma_vt(0.5, 1, "nfet"), sigma_vt(1, 1, "pfet")) / 0.7
    pred = extender_width_spread(tw, 10e-9, 0.45, U_T, n=40000, seed=2)
    assert pred == pytest.approx(math.hypot(math.sqrt(2) * s_m, s_vsw), rel=0.05)


def test_dpi_tau_spread_is_the_itau_mirror():
    tw = DPISynapseTwin(1e-12, 0.68, U_T, 20e-12, 100e-12, 200e-12)
    s = MismatchModel.from_geometry(2, 2, "nfet", kappa=0.68, u_t=U_T).sigma_ln
    pred = dpi_spread(tw, 0.6, n=40000, seed=5)
    assert pred["tau"] == pytest.approx(math.sqrt(2) * s, rel=0.05)
    assert pred["gain"] > pred["tau"]  # more devices set the gain


def test_pulse_levels_read_the_worst_sample_of_each_level():
    """rail_to_rail must see a sagging high level and a raised low level: the levels are the
    worst samples over the whole (edge-trimmed) pulse and the whole low level, not the best."""
    from circuits.blocks import pulse_levels

    t = np.linspace(0.0, 10e-6, 10001)
    out = np.where((t >= 2e-6) & (t < 7e-6), 1.8, 0.0)
    assert pulse_levels(t, out, 2e-6, 1.8) == (1.8, 0.0)
    sag = out.copy()
    sag[(t > 4e-6) & (t < 4.2e-6)] = 1.0                     # mid-pulse sag
    assert pulse_levels(t, sag, 2e-6, 1.8)[0] == 1.0
    raised = out.copy()
    raised[t < 2e-6] = 0.5                                   # low level at 0.5 V ...
    raised[100] = 0.0                                        # ... with one sample near 0
    assert pulse_levels(t, raised, 2e-6, 1.8)[1] == 0.5
    late = out.copy()
    late[t > 8e-6] = 0.3                                     # low level after the pulse
    assert pulse_levels(t, late, 2e-6, 1.8)[1] == 0.3


def test_dpi_synapse_header_lists_the_device_sizes_of_the_netlist():
    """The 'Devices' table of dpi_synapse.cir's header agrees with the instances' W/L."""
    import re

    from circuits.spice import NETLIST_DIR

    text = (NETLIST_DIR / "dpi_synapse.cir").read_text()
    table = re.findall(r"^\*\s+(M\w+(?:,\s*M\w+)*)\s+[np]fet\s+([\d.]+)/([\d.]+)", text, flags=re.M)
    assert len(table) >= 6
    for names, w, l in table:
        for name in re.split(r",\s*", names):
            m = re.search(rf"^X{name}\s.*\bW=([\d.]+)\s+L=([\d.]+)", text, flags=re.M)
            assert m, name
            assert (float(m.group(1)), float(m.group(2))) == (float(w), float(l)), name
