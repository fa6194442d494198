"""Pyr / PV neuron types and the Fig. 1c,d experiment (quick version)."""
import numpy as np
import pytest

from homeostasis.neuron_types import PV, PYR, NeuronType
from homeostasis.neurons_experiment import NeuronsConfig, quick_config, run_neurons


def test_authors_bias_settings():
    assert PYR.biases["LEAK"] == (2, 4) and PV.biases["LEAK"] == (2, 10)
    assert PYR.biases["GAIN"] == (3, 40) and PV.biases["GAIN"] == (3, 60)
    assert PYR.biases["REFR"] == (2, 45) and PV.biases["REFR"] == (2, 85)
    assert PYR.biases["SPKTHR"] == (3, 40) and PV.biases["SPKTHR"] == (3, 60)
    with pytest.raises(ValueError, match="bias name"):
        NeuronType("x", {"LEAKY": (1, 1)})
    with pytest.raises(ValueError, match="fine"):
        NeuronType("x", {"LEAK": (1, 300)})


def test_fig1_quick_pv_vs_pyr():
    res = run_neurons(quick_config(0), quiet=True)
    pyr, pv = res["fi"]["pyr"], res["fi"]["pv"]
    # paper: PV has a higher threshold, a higher gain and a shorter refractory period
    assert pv["rheobase_mean_a"] > 1.5 * pyr["rheobase_mean_a"]
    assert pv["gain_high_hz_per_na"] > pyr["gain_high_hz_per_na"]
    assert pv["t_ref_mean_s"] < pyr["t_ref_mean_s"]
    # FI curves rise monotonically on average and are 0 without input
    for f in (pyr, pv):
        m = np.asarray(f["rate_mean_hz"])
        assert m[0] == 0.0 and np.all(np.diff(m) >= -1.0)
    # Fig. 1c: the two lower levels stay subthreshold, the two upper ones spike
    for name in ("pyr", "pv"):
        for sample in res["traces"][name]:
            n_spk = [len(lv["spike_times_s"]) for lv in sample["levels"]]
            assert n_spk[0] == 0 and n_spk[1] == 0 and n_spk[2] > 0 and n_spk[3] > n_spk[2], n_spk


def test_config_validation():
    with pytest.raises(ValueError, match="fi_duration_s"):
        NeuronsConfig(fi_duration_s=0.0)
    with pytest.raises(ValueError, match="sample_neurons"):
        NeuronsConfig(sample_neurons=(0, 300))


def test_documented_time_constants_of_the_two_types():
    """The values the module docstring states (nominal chip): a change of a capacitance, a charge or a
    code shows here, where the unit tests that derive both sides from ChipConfig would stay green."""
    from homeostasis.chip import ChipConfig, DynapSE2Chip

    chip = DynapSE2Chip(0, ChipConfig(mismatch_cv=0.0))
    chip.apply_neuron_type(0, PYR)
    chip.apply_neuron_type(1, PV)
    p = chip.neuron_parameters()
    pyr, pv = 0, 256
    assert p["tau_mem"][[pyr, pv]] == pytest.approx([13.3e-3, 5.31e-3], rel=0.01)
    assert p["t_ref"][[pyr, pv]] == pytest.approx([1.92e-3, 1.02e-3], rel=0.01)
    assert p["tau_syn"][0, pyr] == pytest.approx(7.08e-3, rel=0.01)    # AMPA
    assert p["tau_syn"][2, pyr] == pytest.approx(6.64e-3, rel=0.01)    # GABA_A at (2, 32)
    assert p["t_pw"][pyr] == pytest.approx(10e-6, rel=0.01)
