"""DPI synapses of the chip model (Bartolozzi & Indiveri 2007)."""
import numpy as np
import pytest

from homeostasis.chip import ChipConfig, DynapSE2Chip
from homeostasis.dac import bias_current
from homeostasis.interface import SYNAPSE_TYPES
from homeostasis.neuron_types import PYR

TRACE = {"AMPA": "i_ampa", "NMDA": "i_nmda", "GABA_A": "i_gaba_a", "GABA_B": "i_gaba_b"}


def _chip():
    chip = DynapSE2Chip(0, ChipConfig(mismatch_cv=0.0, noise_std=0.0))
    chip.apply_neuron_type(0, PYR)
    chip.set_bias(0, "W3", 4, 100)
    return chip


@pytest.mark.parametrize("syn", SYNAPSE_TYPES)
def test_tau_and_gain_from_biases(syn):
    chip = _chip()
    cfg = chip.config
    dt = cfg.dt
    n = 11
    rec = chip.run(0.1, input_spikes=(np.array([n]), np.array([0.0105])), input_synapse=syn,
                   record=(TRACE[syn],), record_neurons=[n])
    tr = rec.traces[TRACE[syn]][:, 0]
    i_tau = bias_current(*chip.get_bias(0, f"{syn}_TAU"))
    i_gain = bias_current(*chip.get_bias(0, f"{syn}_GAIN"))
    i_w = bias_current(4, 100)
    tau = cfg.c_syn * cfg.device.u_t / (cfg.device.kappa_n * i_tau)     # tau = C U_T / (kappa I_tau)
    t_pw = cfg.q_pw / bias_current(*chip.get_bias(0, "PULSE_PW"))
    jump = i_gain * i_w / i_tau * -np.expm1(-t_pw / tau)                # one pulse of width t_pw
    k = int(np.floor(0.0105 / dt))
    assert np.all(tr[:k] == 0.0)
    assert tr[k] == pytest.approx(jump, rel=1e-9)
    # decay time constant from the trace (log-linear fit over 3 tau or the window)
    t = np.arange(tr.size) * dt
    sel = (t > t[k]) & (t < t[k] + min(3 * tau, 0.08))
    slope = np.polyfit(t[sel], np.log(tr[sel]), 1)[0]
    assert -1.0 / slope == pytest.approx(tau, rel=1e-6)


def test_pulses_in_one_step_add():
    chip = _chip()
    n = 12
    one = chip.run(0.01, input_spikes=(np.array([n]), np.array([0.002])), record=("i_ampa",), record_neurons=[n])
    chip.drain()
    two = chip.run(0.01, input_spikes=(np.array([n, n]), np.array([0.002, 0.00201])), record=("i_ampa",),
                   record_neurons=[n])
    assert two.traces["i_ampa"].max() == pytest.approx(2 * one.traces["i_ampa"].max(), rel=1e-12)


def _membrane_after(syn, dc, weight=(5, 200), n_pulses=20):
    chip = _chip()
    chip.set_bias(0, "W3", *weight)
    n = 13
    d = np.zeros(1024)
    d[n] = dc
    times = 0.2 + 0.002 * np.arange(n_pulses)
    rec = chip.run(0.3, dc_a=d, input_spikes=(np.full(n_pulses, n), times), input_synapse=syn,
                   record=("i_mem",), record_neurons=[n])
    i = rec.traces["i_mem"][:, 0]
    return i[1990], i[2400]  # before the pulses (steady state under dc), during the train


def test_synapse_types_act_as_specified():
    dc = 75e-12  # subthreshold steady state I = (I_g/I_tau)(dc - I_tau) ~ 0.4 nA
    base, ampa = _membrane_after("AMPA", dc, weight=(3, 60))
    _, gaba_b = _membrane_after("GABA_B", dc)
    _, gaba_a = _membrane_after("GABA_A", dc)
    assert ampa > 1.5 * base          # excitatory
    assert gaba_b < 0.5 * base        # subtractive inhibition
    assert gaba_a < 0.5 * base        # shunting inhibition
    # NMDA is gated by the membrane: the same train moves a depolarised neuron more than one at rest
    rest0, rest1 = _membrane_after("NMDA", 0.0, weight=(3, 60))
    dep0, dep1 = _membrane_after("NMDA", dc, weight=(3, 60))
    assert (dep1 - dep0) > 5 * (rest1 - rest0)


def test_decaying_current_evolves_and_flushes_to_zero():
    # a neuron with a decaying synaptic current keeps evolving in a run that does not otherwise use it,
    # and the current is set to 0 before it would reach the (slow) subnormal range
    chip = _chip()
    cfg = chip.config
    n = 14
    chip.run(0.002, input_spikes=(np.array([n]), np.array([0.001])))
    i0 = chip.state()["i_syn"][0, n]
    assert i0 > 1e-12
    tau = cfg.c_syn * cfg.device.u_t / (cfg.device.kappa_n * bias_current(*chip.get_bias(0, "AMPA_TAU")))
    chip.run(0.5)
    assert chip.state()["i_syn"][0, n] == pytest.approx(i0 * np.exp(-0.5 / tau), rel=1e-6)
    # exact decay would leave ~1e-315 A (subnormal) after this long
    chip.run(tau * np.log(i0 / 1e-315) - 0.5)
    assert chip.state()["i_syn"][0, n] == 0.0
