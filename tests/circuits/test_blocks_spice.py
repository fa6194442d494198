"""ngspice regression tests of the spike extender, DPI synapse and Traff comparator.

Real transients of the benches in ``netlists/benches/`` (sky130 tt corner, the
Monte Carlo decks in tt_mm) against the behavioural twins (Büchel et al. 2021, Sec. III) with the
target tolerances: pulse width within 15 %, tau within 15 %, steady
state within 25 % of I_gain I_w / I_tau, 100 Hz train NRMSE < 10 %, comparator
resolution <= 0.1 nA and delay <= 10 µs at 10 nA, Monte Carlo sigma within a
factor 1.5 of the twin + common mismatch model. Golden waveforms
(``tests/circuits/golden/blocks_golden.npz``) catch behaviour changes that
leave the headline figures intact; regenerate them on purpose with
``python -m circuits verify --regenerate-golden``.
"""
import math

import numpy as np
import pytest

pytestmark = pytest.mark.spice

from circuits import blocks  # noqa: E402
from circuits.characterise import characterise  # noqa: E402


@pytest.fixture(scope="module")
def char():
    return characterise()


@pytest.fixture(scope="module")
def golden_runs(char):
    return blocks.golden_runs(char)


def test_characterisation_is_physical_and_cached(char):
    # sky130 nfet_01v8 ~88 mV/decade -> kappa ~0.68; pfets lie in 0.5..0.8
    assert 0.60 <= char.kappa_n <= 0.75
    assert 0.50 <= char.kappa_p <= 0.80
    # an inverter trips between V_Tn (~0.4 V) and VDD - |V_Tp| (~0.9 V)
    assert 0.4 <= char.v_sw_extender <= 0.9
    # moderate inversion lowers the effective slope below kappa
    assert char.kappa_eff("pfet", 10e-9, 4, 4) < char.kappa_p
    assert characterise() == char  # second call: same values, from the cache


def test_spike_extender_width_over_two_decades(char):
    m = blocks.spike_extender_sweep([3e-9, 300e-9], char)
    assert max(m["i_pw_a"]) / min(m["i_pw_a"]) >= 100
    assert m["width_spice_s"][0] > 1e-4 and m["width_spice_s"][1] < 1e-5  # µs .. ms
    assert m["max_rel_err"] < 0.15, m["rel_err"]
    assert m["rail_to_rail"], (m["v_low_max_v"], m["v_high_min_v"])
    bb = m["back_to_back"]
    assert bb["n_output_pulses"] == 1  # retriggerable: the pulses merge
    assert bb["rel_err"] < 0.15


def test_dpi_tau_over_two_decades(char):
    for i_tau in (30e-12, 3e-9):
        r = blocks.dpi_tau_run(i_tau, char)
        assert r["tau_spice"] == pytest.approx(r["tau_model"], rel=0.15), i_tau


#: Tolerance of the DPI steady state against the equation's I_gain I_w/I_tau - I_gain. It is set by
#: what the check must detect, not by the circuit's output: (i) the missing -I_gain term, which is
#: 1/(ratio - 1) of I_ss (50 %, 11 %, 3.4 % at ratios 3, 10, 30), at the two lower points, and
#: (ii) a 10 % error in any one bias copy (I_w, I_tau, the pfet return mirror, I_gain), which moves
#: I_ss by 10 % (I_gain) or 10 % ratio/(ratio - 1) >= 10 % (the others). The numerical error is far
#: below it: the pulse lasts >= 8 equation time constants past the growth from the floor (settling
#: error < 0.1 %), and the result does not change when C_syn (and so the pulse) is 4x larger.
DPI_STEADY_REL_TOL = 0.10


@pytest.mark.parametrize("ratio", [
    # measured (tt, I_tau = 20 pA, I_gain = 100 pA): I_ss 0.229 nA vs 0.200 nA, +14.7 %, the same
    # with C_syn 1 pF or 4 pF (a static deviation of the circuit at I_syn ~ 2 I_gain, not settling)
    pytest.param(3.0, marks=pytest.mark.xfail(strict=True, reason=(
        "dpi_synapse.cir at I_w/I_tau = 3: SPICE I_ss = 0.229 nA vs I_gain I_w/I_tau - I_gain = 0.200 nA "
        "(+14.7 %, > 10 %); the circuit, not the equation, is off near I_syn ~ I_gain"))),
    10.0,   # measured +0.9 %
    30.0,   # measured -7.3 % (I_syn = 2.7 nA, inside the netlist's ~5 nA subthreshold limit)
])
def test_dpi_steady_state_gain(char, ratio):
    """Steady state at the end of a long pulse vs the DPI equation's I_gain I_w/I_tau - I_gain
    (not the linear I_gain I_w/I_tau), with I_syn inside the netlist's subthreshold range."""
    g = blocks.dpi_gain_run(20e-12, 100e-12, ratio * 20e-12, char)
    assert g["i_full"] <= 5e-9
    assert g["i_ss_spice"] == pytest.approx(g["i_full"], rel=DPI_STEADY_REL_TOL), (ratio, g)


def test_dpi_100hz_train_follows_the_twin(golden_runs):
    tr = golden_runs["dpi_synapse"]
    assert tr["rate_hz"] == 100.0
    assert tr["nrmse"] < 0.10
    # the train actually charges the synapse (not a trivially flat trace)
    assert tr["i_spice"].max() > 20 * tr["i_spice"][0]


def test_traff_resolution_and_delay_at_10nA(golden_runs):
    run = golden_runs["traff_comparator"]
    decs = run["decisions"]
    assert all(d["correct"] for d in decs if abs(d["di_a"]) >= 0.1e-9 * (1 - 1e-9))
    at_01 = [d["delay_s"] for d in decs if math.isclose(abs(d["di_a"]), 0.1e-9, rel_tol=1e-6)]
    assert len(at_01) == 2 and max(at_01) <= 10e-6
    resolved = [abs(d["di_a"]) for d in decs if d["correct"]]
    assert min(resolved) <= 0.1e-9


@pytest.mark.parametrize("i_ref", [1e-9, 1e-7])
def test_traff_decides_one_percent_steps(i_ref):
    run = blocks.traff_run(i_ref)
    assert all(d["correct"] for d in run["decisions"] if abs(d["di_a"]) >= 0.01 * i_ref * (1 - 1e-9))


def test_golden_waveforms_unchanged(golden_runs):
    ref = np.load(blocks.GOLDEN_PATH)
    for name, grid in blocks.GOLDEN_GRID.items():
        np.testing.assert_array_equal(ref[f"grid_{name}"], grid)
    problems = blocks.compare_golden(blocks.golden_waveforms(golden_runs), ref)
    assert not problems, problems


def test_golden_comparison_detects_a_change(golden_runs):
    new = blocks.golden_waveforms(golden_runs)
    ref = dict(np.load(blocks.GOLDEN_PATH))
    changed = dict(new, dpi_synapse_isyn=new["dpi_synapse_isyn"] * 1.05)
    assert "dpi_synapse_isyn" in blocks.compare_golden(changed, ref)
    shifted = dict(new, traff_comparator_out=np.roll(new["traff_comparator_out"], 5))
    assert "traff_comparator_out" in blocks.compare_golden(shifted, ref)


def _within_factor(m, factor=1.5):
    ratio = m["sigma_measured"] / m["sigma_predicted"]
    return 1 / factor <= ratio <= factor


def test_monte_carlo_dpi(char):
    # 32 instances: the sample sigma has a relative standard error of 1/sqrt(62) = 13 %,
    # so the factor-1.5 target sits > 3 standard errors away for a correct prediction
    m = blocks.mc_dpi(char, seed=11)
    assert _within_factor(m["tau"]), m["tau"]["sigma_measured"]
    assert _within_factor(m["gain"]), m["gain"]["sigma_measured"]


def test_monte_carlo_spike_extender(char):
    m = blocks.mc_spike_extender(char, seed=12)
    assert _within_factor(m), (m["sigma_measured"], m["sigma_predicted"])


@pytest.mark.slow
def test_monte_carlo_traff_offset(char):
    m = blocks.mc_traff(char, seed=13)
    assert _within_factor(m), (m["sigma_measured"], m["sigma_predicted"])


def test_verify_config_keeps_the_dpi_steady_state_subthreshold():
    """The steady-state ratios of the verification stay where I_gain (ratio - 1) <= 5 nA."""
    assert all(100e-12 * (r - 1) <= 5e-9 for r in blocks.VerifyConfig().gain_ratios)
    assert all(100e-12 * (r - 1) <= 5e-9 for r in blocks.VerifyConfig.quick().gain_ratios)
    with pytest.raises(ValueError, match="gain_ratios"):
        blocks.VerifyConfig(gain_ratios=(10.0, 100.0))


def test_dpi_mc_mirror_slope_factor_at_the_steady_state_current(char):
    """mc_dpi's pfet return mirror: at the steady state the gain spread is read at, MB's share
    I_w I_g/(I_g + I_ss) balances the leak, so the mirror carries I_tau = 20 pA, not I_w = 200 pA;
    its slope factor must be the one at I_tau (0.708 vs 0.649 at I_w, review s4.py)."""
    from circuits.twins import DPISynapseTwin

    twin = DPISynapseTwin(1e-12, char.kappa_n, char.u_t, 20e-12, 100e-12, 200e-12)
    i_mirror, kappa = blocks.dpi_mirror_kappa(char, twin)
    assert i_mirror == pytest.approx(20e-12, rel=1e-9)
    assert kappa == char.kappa_eff("pfet", 20e-12, 2, 2)
    assert abs(kappa - char.kappa_eff("pfet", 200e-12, 2, 2)) > 0.02
