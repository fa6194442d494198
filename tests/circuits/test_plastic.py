"""Plastic synapse: counter, behavioural model and SPICE (Büchel et al. 2021, Figs. 5 and 6).

Fast tests run the weight-register (counter) bench, the behavioural model (the block
twins + the discrete rule in current mode) and a short transistor-level run
of the first pulses. The full 0.5 s transistor-level experiments are marked
``slow`` (a few minutes each); they assert the experiments' targets on SPICE.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

from circuits import plastic
from circuits.mismatch import MismatchModel
from circuits.plastic_model import (DEC, INC, SL, W_MAX, W_MIN, ExperimentConfig, MismatchDraw,
                                    PlasticSynapseParams)

spice = pytest.importorskip("circuits.spice")

PARAMS = PlasticSynapseParams()


def _nonsl(phases):
    return [p for p in phases if p != "SL"]


@pytest.fixture(scope="module")
def model():
    return plastic.build_model(PARAMS)


# --------------------------------------------------------------------------- counter (weight register)
@pytest.mark.spice
def test_counter_counts_one_lsb_per_pulse_and_saturates():
    """updown_counter.cir: +1 per pulse while INC, -1 while DEC, never below -32, |w| bits."""
    r = spice.run_tran("benches/plastic_counter_tb.cir", 1e-4, 0.5, max_step=1e-4, corner=None)
    t = r.time
    w = plastic.weight_from_bits(np.array([r.v(f"q{i}") for i in range(6)]))
    mag = sum((r.v(f"m{i}") > 0.9).astype(int) << i for i in range(5)) + (r.v("s") > 0.9)
    # pulses end at 2, 7, ..., 97 ms during INC: 20 pulses from w0 = -3
    assert w[np.searchsorted(t, 0.0995)] == -3 + 20
    steps = np.diff(w)
    assert set(np.unique(steps)) <= {-1, 0, 1}
    assert w.min() == W_MIN and w[-1] == W_MIN          # saturates, does not wrap to +31
    # sign-magnitude conversion, incl. |-32| = 32, between clock edges
    k = np.searchsorted(t, np.arange(0.0035, 0.5, 0.005))
    assert np.array_equal(mag[k], np.abs(w[k]))


@pytest.mark.spice
@pytest.mark.parametrize("inc_on, inc_off, steps", [
    # the bench's pulses are high from 1.001 ms to 2.001 ms (falling edge 1 us) every 5 ms
    (2.0025e-3, 2.0045e-3, 0),   # INC glitches 0.5 us after each pulse's falling edge: ignored
    (1.95e-3, 2.0e-3, 0),        # INC over, 1 us before the falling edge: ignored
    (1.95e-3, 2.01e-3, 9),       # INC present at the falling edge: one count per pulse
])
def test_counter_takes_the_decision_held_at_the_end_of_the_pulse(inc_on, inc_off, steps):
    """The register counts with the decision present at the pulse's falling edge, whatever the
    decision does right after it (the case XSPICE's adc_bridge lost in rejected time steps)."""
    from circuits.spice import NETLIST_DIR

    path = NETLIST_DIR / "benches/plastic_counter_tb.cir"
    text = path.read_text().replace(".include ../", f".include {NETLIST_DIR}/")
    text = re.sub(r"^VINC .*$", f"VINC inc 0 PULSE(0 1.8 {inc_on!r} 10n 10n {inc_off - inc_on!r} 5m)", text, flags=re.M)
    text = re.sub(r"^VDEC .*$", "VDEC dec 0 0", text, flags=re.M)
    r = spice.run_tran(text, 1e-5, 0.047, max_step=1e-4, corner=None, params={"w0": -3})
    w = plastic.weight_from_bits(np.array([r.v(f"q{i}") for i in range(6)]))
    assert set(np.unique(np.diff(w))) <= {0, 1}
    assert w[-1] - w[0] == steps


# --------------------------------------------------------------------------- model
def test_config_validation():
    with pytest.raises(ValueError, match="experiment"):
        ExperimentConfig(experiment=3)
    with pytest.raises(ValueError, match="rate_hz"):
        ExperimentConfig(rate_hz=1000)
    with pytest.raises(ValueError, match="w0"):
        ExperimentConfig(w0=40)
    with pytest.raises(ValueError, match="i_sl"):
        PlasticSynapseParams(i_sl=10e-9)


def test_mismatch_draw_is_frozen_and_follows_the_common_model():
    a = MismatchDraw.draw(3, 0.68, 0.63, 0.0259)
    b = MismatchDraw.draw(3, 0.68, 0.63, 0.0259)
    assert a.factors == b.factors
    # a W = 2, L = 2 nfet: sigma_ln of the common model (Pelgrom with the sky130 geometry factor), ~5 %;
    # 3000 draws give its std to ~1.3 %, finer than the geometry factor (12.8 % here)
    f = np.log([MismatchDraw.draw(s, 0.68, 0.63, 0.0259).f("syn_MW") for s in range(3000)])
    want = MismatchModel.from_geometry(2, 2, "nfet", kappa=0.68, u_t=0.0259).sigma_ln
    assert abs(np.std(f) / want - 1) < 0.04
    assert abs(want / (0.68 * 3.356e-3 / 2 / 0.0259) - 1) > 0.1  # the geometry factor is in
    # a parameterised width enters the draw: the DAC copy's spread follows wp_dac
    wide = PlasticSynapseParams(wp_dac=144.0)
    f144 = np.log([MismatchDraw.draw(s, 0.68, 0.63, 0.0259, wide).f("dac_MPO") for s in range(3000)])
    want144 = MismatchModel.from_geometry(144, 8, "pfet", kappa=0.63, u_t=0.0259).sigma_ln
    want36 = MismatchModel.from_geometry(36, 8, "pfet", kappa=0.63, u_t=0.0259).sigma_ln
    assert abs(np.std(f144) / want144 - 1) < 0.04 and want36 / want144 > 1.8


def _ideal_model(mismatch):
    """The model on the ideal DPI neuron (gain i_g / (i_tau att), offset -i_g), no SPICE."""
    from types import SimpleNamespace

    from circuits.plastic_model import NeuronDC, PlasticSynapseModel

    p = PARAMS
    char = SimpleNamespace(kappa_n=0.68, kappa_p=0.63, u_t=0.0259, v_sw_extender=0.9)
    neuron = NeuronDC(gain=p.i_g / (p.i_tau * p.att), offset=-p.i_g, i_reset=1e-9)
    return PlasticSynapseModel(p, char, neuron, mismatch)


@pytest.mark.parametrize("factors", [
    {"neu_MB": 1.1},                                     # only MB: I_g' must grow by 1.1
    {"neu_MG": 1.1},                                     # only MG: I_g' must shrink by 1.1
    {"neu_MIN": 0.97, "neu_MTAIL": 1.02, "neu_MTD": 1.04, "neu_MTAU": 0.95, "neu_MG": 0.98,
     "neu_MB": 1.06, "neu_MA": 0.96, "neu_MPD": 1.03, "neu_MPO": 0.99, "neu_MOUT": 1.05},
])
def test_model_neuron_mismatch_follows_the_dpi_algebra(factors):
    """The neuron's mismatch factors, derived device by device (dpi_neuron.cir; drain current
    f_X I0 exp(kappa V_G/U_T) for device X), independently of the model's code:
    MG's diode gives exp(kappa V_g/U_T) = i_g/(I0 f_MG), so MB carries I_gB = i_g f_MB/f_MG;
    the tail I_t = (I_in/att) f_MTAIL/f_MIN splits as I_t I_gB/(I_gB + I_A) with I_A = I_mem f_MA/f_MOUT;
    mirrored by f_MPO/f_MPD it balances I_tau' = i_tau f_MTAU/f_MTD in steady state, so
        I_mem = I_g' (I_t f_MPO/f_MPD / I_tau' - 1),   I_g' = i_g (f_MB/f_MG)(f_MOUT/f_MA).
    The model (ideal neuron characterisation) must give the same I_g' and the same DC line."""
    f = lambda k: factors.get(k, 1.0)  # noqa: E731
    p = PARAMS
    m = _ideal_model(MismatchDraw(dict(factors)))
    i_g_dev = p.i_g * f("neu_MB") / f("neu_MG") * f("neu_MOUT") / f("neu_MA")
    assert m.i_g == pytest.approx(i_g_dev, rel=1e-12)
    for i_in in (2e-9, 4.6e-9, 8e-9):
        i_t = i_in / p.att * f("neu_MTAIL") / f("neu_MIN") * f("neu_MPO") / f("neu_MPD")
        i_tau = p.i_tau * f("neu_MTAU") / f("neu_MTD")
        assert m.gain * i_in + m.offset == pytest.approx(i_g_dev * (i_t / i_tau - 1.0), rel=1e-12)


def test_model_fixed_synapse_of_experiment2_has_its_own_devices():
    """plastic_exp2_tb.cir's fixed excitatory synapse is a separate dpi_synapse (XEXC) with its
    own mirror (XMXD/XMXO): its mismatch is its own draw (exc_*), the plastic synapse's (syn_*)
    does not move it, and its factors act on experiment 2 only."""
    d = MismatchDraw.draw(5, 0.68, 0.63, 0.0259)
    for k in ("MTD", "MTAU", "MWD", "MW", "MPD", "MPO", "MGD", "MSYN", "MA", "MB"):
        assert d.f(f"exc_{k}") != 1.0 and d.f(f"exc_{k}") != d.f(f"syn_{k}")
    assert d.f("exc_MXO") != d.f("st_MSE")
    # the plastic synapse's factors leave the fixed synapse's twin at its design values
    only_syn = _ideal_model(MismatchDraw({"syn_MW": 1.3, "syn_MSYN": 0.8, "syn_MTAU": 1.2}))
    nominal = _ideal_model(None)
    for a, b in ((only_syn.synapse_twin(1e-9, "exc"), nominal.synapse_twin(1e-9, "exc")),):
        assert (a.i_w, a.i_gain, a.i_tau) == (b.i_w, b.i_gain, b.i_tau)
    assert only_syn.synapse_twin(1e-9).i_w == pytest.approx(1.3e-9)
    # the fixed synapse's own factors: a 20 % stronger exc mirror drives the neuron harder in
    # experiment 2 and leaves experiment 1 untouched
    exc = _ideal_model(MismatchDraw({"exc_MXO": 1.2, "exc_MW": 1.1}))
    for experiment in (1, 2):
        cfg = ExperimentConfig(experiment=experiment, rate_hz=200.0, duration_s=0.05)
        i_nom = nominal.run(cfg).i_mem
        i_exc = exc.run(cfg).i_mem
        if experiment == 1:
            assert np.array_equal(i_nom, i_exc)
        else:
            assert np.max(i_exc - i_nom) > 0.05 * np.max(i_nom)


@pytest.mark.parametrize("rate", [100.0, 200.0])
def test_model_experiment1_settles_in_band(model, rate):
    cfg = ExperimentConfig(experiment=1, rate_hz=rate)
    tr, om = plastic.run_model(cfg, PARAMS, model=model)
    m = plastic.measure(tr, cfg, PARAMS, om)
    assert m["settled_in_band"], m
    assert _nonsl(m["phases"])[:2] == ["INC", "DEC"]
    # the rule moves the weight by exactly one LSB per pulse, within range
    assert set(np.unique(np.diff(tr.weight))) <= {-1, 0, 1}
    assert W_MIN <= tr.weight.min() and tr.weight.max() <= W_MAX
    # overshoot above I_rest before settling (paper Fig. 5)
    assert m["peak_i_mem_a"] > PARAMS.i_rest + PARAMS.i_sl


@pytest.mark.parametrize("rate, duration", [(100.0, 0.8), (200.0, 0.5)])
def test_model_experiment2_balances_with_negative_weight(model, rate, duration):
    # at 100 Hz each LSB acts half as often: the long DEC run needs ~0.4 s
    cfg = ExperimentConfig(experiment=2, rate_hz=rate, duration_s=duration)
    tr, om = plastic.run_model(cfg, PARAMS, model=model)
    m = plastic.measure(tr, cfg, PARAMS, om)
    assert m["settled_in_band"], m
    assert _nonsl(m["phases"])[:2] == ["INC", "DEC"]
    assert m["final_weight"] < 0
    # the plastic weight balances the fixed excitatory input on top of what experiment 1
    # needs against the resting drive: more inhibition than experiment 1 at the same rate
    cfg1 = ExperimentConfig(experiment=1, rate_hz=rate, duration_s=duration)
    tr1, om1 = plastic.run_model(cfg1, PARAMS, model=model)
    assert m["final_weight"] < plastic.measure(tr1, cfg1, PARAMS, om1)["final_weight"]


def test_model_rule_matches_the_inequalities(model):
    """decide() of the nominal model is the current-mode rule of Büchel et al. 2021, Sec. III with the circuit's I_Omega/2."""
    p = PARAMS
    table = model.omega_half_table()
    for w in (-20, -1, 0, 5):
        half = table[w - W_MIN]
        assert model.decide(p.i_rest - p.i_sl - half - 0.05e-9, w) == INC
        assert model.decide(p.i_rest + p.i_sl - half + 0.05e-9, w) == DEC
        assert model.decide(p.i_rest - half, w) == SL


def test_measured_dac_transfer_is_monotonic_and_near_design(model):
    """The DAC and its I_Omega/2 replicas, measured per code on sky130: zero at w = 0, growing
    with |w|, the sign of w on I_Omega/2, within a factor 1..2.2 of the design equations
    (drain-voltage effects and pA-level currents make every copy larger), and replica /
    weight current near the designed w_omega / wp_dac."""
    w = np.arange(W_MIN, W_MAX + 1)
    i_w = np.array([model.dac_current(int(k)) for k in w])
    half = model.omega_half_table()
    assert i_w[w == 0] == 0 and half[w == 0] == 0
    for sign in (1, -1):
        sel = np.sign(w) == sign
        order = np.argsort(np.abs(w[sel]))
        assert np.all(np.diff(i_w[sel][order]) > 0)
        assert np.all(np.diff(np.abs(half[sel][order])) > 0)
    assert np.all(np.sign(half) == np.sign(w))
    nz = w != 0
    k_w = i_w[nz] / (np.abs(w[nz]) * PARAMS.iunit)
    k_om = np.abs(half[nz]) / (np.abs(w[nz]) * PARAMS.i_omega_half_lsb)
    assert np.all((k_w > 1.0) & (k_w < 2.2)) and np.all((k_om > 1.0) & (k_om < 2.2))
    big = np.abs(w[nz]) >= 8
    assert np.allclose(np.abs(half[nz][big]) / i_w[nz][big], PARAMS.w_omega / PARAMS.wp_dac, rtol=0.3)


# --------------------------------------------------------------------------- SPICE
@pytest.mark.spice
def test_spice_first_pulses_increment_the_weight(model):
    """Transistor level, first 6 pulses: neuron starts at I_reset, the rule says INC, +1 LSB per pulse."""
    cfg = ExperimentConfig(experiment=1, rate_hz=200.0, duration_s=0.03)
    tr = plastic.run_spice(cfg, PARAMS, max_step=5e-4)
    mtr, _ = plastic.run_model(cfg, PARAMS, model=model)
    assert tr.i_mem[0] == pytest.approx(model.i_reset, rel=0.05)
    assert list(tr.phase) == [INC] * len(tr.phase)
    assert tr.weight[-1] == len(tr.pulse_t)
    # membrane recovery from I_reset: SPICE and model within 10 % at the last onset
    assert tr.i_before[-1] == pytest.approx(mtr.i_before[-1], rel=0.10)


@pytest.mark.spice
@pytest.mark.slow
@pytest.mark.parametrize("experiment", [1, 2])
def test_spice_experiment_matches_model(model, experiment):
    cfg = ExperimentConfig(experiment=experiment, rate_hz=200.0, duration_s=0.5)
    tr = plastic.run_spice(cfg, PARAMS)  # the command's solver setting
    mtr, om = plastic.run_model(cfg, PARAMS, model=model)
    ms, mm = plastic.measure(tr, cfg, PARAMS, om), plastic.measure(mtr, cfg, PARAMS, om)
    assert ms["settled_in_band"], ms
    # the register steps by one LSB, only right after the end of a pulse (~1 ms after its onset)
    k = np.nonzero(np.diff(tr.weight))[0] + 1
    assert np.all(np.abs(np.diff(tr.weight)) <= 1)
    since_onset = tr.t[k] - tr.pulse_t[np.searchsorted(tr.pulse_t, tr.t[k]) - 1]
    assert np.all((since_onset > 0.9e-3) & (since_onset < 1.3e-3)), since_onset
    assert _nonsl(ms["phases"])[:2] == ["INC", "DEC"]
    assert abs(ms["final_weight"] - mm["final_weight"]) <= 2
    if experiment == 2:
        assert ms["final_weight"] < 0


@pytest.mark.spice
# I_mem ~ 7.3 nA (INC), 9.0 nA (SL), 9.8 nA (DEC) with the full cascode sensing stack
@pytest.mark.parametrize("v_reset", [0.3875, 0.3959, 0.3994])
def test_spice_static_rule_thresholds(v_reset):
    """Operating point with the membrane held at v_reset (w = 0, no pulse): the two
    comparators give the rule's decision for the I_mem they sense, INC below
    I_rest - I_SL and DEC above I_rest + I_SL (points >= 0.25 nA from a threshold)."""
    from circuits.spice import NETLIST_DIR

    path = NETLIST_DIR / "benches/plastic_exp1_tb.cir"
    text = path.read_text().replace(".include ../", f".include {NETLIST_DIR}/")
    r = spice.run_op(text, params={"v_reset": v_reset, "t_first": 1.0})
    i_mem = float(r["i(v.xp.vimem)"][0])
    inc, dec = r.v("inc")[0] > 0.9, r.v("dec")[0] > 0.9
    lo, hi = PARAMS.i_rest - PARAMS.i_sl, PARAMS.i_rest + PARAMS.i_sl
    assert min(abs(i_mem - lo), abs(i_mem - hi)) >= 0.25e-9, i_mem
    assert inc == (i_mem < lo) and dec == (i_mem > hi), (i_mem, inc, dec)


@pytest.mark.spice
def test_monte_carlo_deck_passes_every_design_value():
    """mc_deck hands every PlasticSynapseParams field to each instance: with a non-default
    v_reset the deck's operating point (reset switch closed at t = 0, membrane held at v_reset)
    gives the I_reset the model's neuron characterisation measures for that v_reset. Both hold
    the same MOUT gate at v_reset; only MOUT's drain load differs (sensing diode vs the
    characterisation bench), an Early effect far below 1 % at L = 8 um, while the default
    v_reset = 0.30 V would give exp(kappa 0.05 V / U_T) ~ 3.7 times less current."""
    from circuits.plastic_model import characterise_neuron

    p = PlasticSynapseParams(v_reset=0.35)
    deck = plastic.mc_deck(1, ExperimentConfig(), p)
    for k in p.netlist_params():
        assert re.search(rf"\b{k}={{{k}}}", deck), k
    r = spice.run_op(deck)
    assert float(r["i(v.xp0.vimem)"][0]) == pytest.approx(characterise_neuron(p).i_reset, rel=0.01)


#: ngspice's default relative tolerance (circuits.spice sets no .option): the operating point's
#: Newton iteration stops once currents change by less than RELTOL of their value.
NGSPICE_RELTOL = 1e-3


def _rule_edge(text: str, which: str, lo: float = 0.37, hi: float = 0.41, steps: int = 12) -> tuple[float, float]:
    """I_mem (A) at the INC or DEC edge of the rule, by bisection of the held membrane voltage
    v_reset (w = 0, no pulse): returns the edge's I_mem and the search's resolution (the I_mem
    bracket that remains, A)."""
    def at(v):
        r = spice.run_op(text, params={"v_reset": v, "t_first": 1.0, "w0": 0})
        return float(r["i(v.xp.vimem)"][0]), r.v("inc")[0] > 0.9, r.v("dec")[0] > 0.9

    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        _, inc, dec = at(mid)
        below = inc if which == "inc" else not dec   # still on the low side of the edge
        lo, hi = (mid, hi) if below else (lo, mid)
    i_lo, i_hi = at(lo)[0], at(hi)[0]
    return 0.5 * (i_lo + i_hi), i_hi - i_lo


@pytest.mark.spice
@pytest.mark.xfail(strict=True, reason=(
    "SPICE rule edges at w = 0 (tt): INC 8.687 nA, DEC 9.287 nA vs the design band I_rest -+ I_SL = "
    "8.700 / 9.300 nA: both 13 pA low, beyond the search's resolution (~11 pA). Before the full "
    "cascode mirrors of plastic_synapse.cir they were 8.587 / 9.210 nA (-113 / -90 pA). Of the "
    "remaining 13 pA, 6.5 pA is the I_Omega/2 replica path that still drains 6.5 pA from each "
    "comparator node at w = 0 (the model takes 0); the rest is not located."))
def test_spice_rule_edges_are_the_design_band():
    """The I_mem at which the SPICE rule switches INC -> SL and SL -> DEC (w = 0, membrane held,
    no pulse), found by bisection on the operating point, is the design band I_rest -+ I_SL that
    PlasticSynapseModel.decide and plastic.measure use. Tolerance = numerical resolution only: the
    bracket the bisection leaves (~2 pA after 12 halvings of 40 mV) plus ngspice's convergence
    tolerance on the sensed currents (RELTOL x I_mem ~ 9 pA)."""
    from circuits.spice import NETLIST_DIR

    text = (NETLIST_DIR / "benches/plastic_exp1_tb.cir").read_text().replace(".include ../", f".include {NETLIST_DIR}/")
    for which, design in (("inc", PARAMS.i_rest - PARAMS.i_sl), ("dec", PARAMS.i_rest + PARAMS.i_sl)):
        edge, bracket = _rule_edge(text, which)
        tol = bracket + NGSPICE_RELTOL * design
        assert abs(edge - design) <= tol, (which, edge, design, tol)
