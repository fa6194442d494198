"""Chip model: interface, biases, 64-input CAM limit, frozen mismatch, run/drain."""
import numpy as np
import pytest

from circuits.mismatch import MismatchModel
from homeostasis.chip import MAX_FAN_IN, ChipConfig, DynapSE2Chip
from homeostasis.interface import ChipInterface, SpikeRecord
from homeostasis.neuron_types import PV, PYR


def test_implements_interface():
    assert isinstance(DynapSE2Chip(0), ChipInterface)


def test_bias_set_get_and_errors():
    chip = DynapSE2Chip(0)
    chip.set_bias(2, "W1", 4, 77)
    assert chip.get_bias(2, "W1") == (4, 77)
    assert chip.nominal_current(2, "W1") == pytest.approx(280e-9 * 77 / 256)
    with pytest.raises(ValueError, match="core"):
        chip.set_bias(4, "W1", 1, 1)
    with pytest.raises(ValueError, match="fine"):
        chip.set_bias(0, "W1", 1, 300)
    with pytest.raises(ValueError, match="bias name"):
        chip.set_bias(0, "W9", 1, 1)


def test_fan_in_limit_names_neuron():
    chip = DynapSE2Chip(0)
    post = np.full(MAX_FAN_IN, 300)
    chip.set_connections(np.arange(MAX_FAN_IN), post, "AMPA", "W0")  # exactly 64: fine
    with pytest.raises(ValueError, match=r"neuron 300 .* 65 inputs"):
        chip.set_connections(np.arange(MAX_FAN_IN + 1), np.full(MAX_FAN_IN + 1, 300), "AMPA", "W0")
    # the external input takes a CAM slot too
    with pytest.raises(ValueError, match="neuron 300 would have 65"):
        chip.run(0.01, input_spikes=(np.array([300]), np.array([0.0])))


def test_frozen_mismatch_reproducible_and_cv():
    a, b, c = DynapSE2Chip(5), DynapSE2Chip(5), DynapSE2Chip(6)
    la, lb, lc = (x.bias_currents("LEAK") for x in (a, b, c))
    np.testing.assert_array_equal(la, lb)
    assert not np.allclose(la, lc, rtol=1e-3, atol=0)
    # CV of 1024 log-normal factors: sampling sd of the CV ~ CV/sqrt(2n) ~ 0.5 %; allow 4 sd
    f = la / a.nominal_current(0, "LEAK")
    assert np.std(f) / np.mean(f) == pytest.approx(0.2, abs=0.02)
    pre, post = np.arange(100), np.arange(100, 200)
    for x in (a, b, c):
        x.set_bias(0, "W0", 4, 50)
        x.set_connections(pre, post, "AMPA", "W0")
    np.testing.assert_array_equal(a.synapse_weights(), b.synapse_weights())
    assert not np.allclose(a.synapse_weights(), c.synapse_weights(), rtol=1e-3, atol=0)
    nominal = DynapSE2Chip(5, ChipConfig(mismatch_cv=0.0))
    assert np.all(nominal.bias_currents("LEAK") == nominal.nominal_current(0, "LEAK"))
    assert MismatchModel.from_cv(0.2).cv == pytest.approx(0.2)


def test_run_spikes_out_reproducible_and_drain():
    chip = DynapSE2Chip(1)
    chip.apply_neuron_type(0, PYR)
    chip.apply_neuron_type(1, PV)
    dc = np.zeros(1024)
    dc[:10] = 1e-9
    rec = chip.run(0.2, dc_a=dc, seed=3)
    assert isinstance(rec, SpikeRecord)
    assert rec.neurons.size > 0 and set(np.unique(rec.neurons)) <= set(range(10))
    assert np.all(np.diff(rec.times_s) >= 0) and rec.times_s.max() < 0.2 + 1e-12
    chip.drain()
    rec2 = chip.run(0.2, dc_a=dc, seed=3)
    np.testing.assert_array_equal(rec.neurons, rec2.neurons)
    np.testing.assert_array_equal(rec.times_s, rec2.times_s)
    # batch: same seeds -> same as single runs from the same (drained) state
    chip.drain()
    recs = chip.run_batch(0.2, 3, dc_a=dc, seeds=[3, 3, 4])
    np.testing.assert_array_equal(recs[0].times_s, rec.times_s)
    np.testing.assert_array_equal(recs[1].times_s, rec.times_s)
    assert not np.array_equal(recs[2].times_s, rec.times_s) or recs[2].neurons.size != rec.neurons.size


def test_bad_run_arguments():
    chip = DynapSE2Chip(0)
    with pytest.raises(ValueError, match="duration_s"):
        chip.run(-1.0)
    with pytest.raises(ValueError, match="input spike time"):
        chip.run(0.1, input_spikes=(np.array([1]), np.array([0.2])))
    with pytest.raises(ValueError, match="record"):
        chip.run(0.1, record=("v_mem",))
    with pytest.raises(ValueError, match="ChipConfig.dt"):
        ChipConfig(dt=0.5)


def test_dc_schedule_window():
    chip = DynapSE2Chip(2)
    chip.apply_neuron_type(0, PYR)
    on = np.zeros(1024)
    on[:5] = 2e-9
    rec = chip.run(0.4, dc_schedule=[(0.1, on), (0.25, np.zeros(1024))], seed=1)
    assert rec.neurons.size > 5
    # spikes only while the DC is on (the membrane starts at rest; the last spike is at most one step late)
    assert rec.times_s.min() >= 0.1 and rec.times_s.max() <= 0.25 + chip.config.dt
    with pytest.raises(ValueError, match="dc_a or dc_schedule"):
        chip.run(0.1, dc_a=on, dc_schedule=[(0.0, on)])
    with pytest.raises(ValueError, match="dc_schedule start"):
        chip.run(0.1, dc_schedule=[(0.2, on)])


@pytest.mark.parametrize("noise_std", [0.0, 2e-12])
def test_a_run_split_in_two_equals_one_run(noise_std):
    """run() continues from the state it leaves, spikes of the last step still in flight included."""
    from homeostasis.bench import BenchConfig, bench_dc, build_ei_network
    from homeostasis.dac import code_for_current
    from homeostasis.neuron_types import PV, PYR

    def chip():
        c = DynapSE2Chip(0, ChipConfig(noise_std=noise_std))
        c.apply_neuron_type(0, PYR)
        c.apply_neuron_type(1, PV)
        c.set_connections(*build_ei_network(200, 50, 0.1, 0))
        c.set_bias(0, "W0", *code_for_current(2e-9))
        c.set_bias(1, "W0", *code_for_current(2e-9))
        c.set_bias(0, "W1", *code_for_current(1e-9))
        c.set_bias(1, "W1", *code_for_current(1e-9))
        return c

    dc = bench_dc(BenchConfig())
    whole = chip().run(0.4, dc_a=dc, seed=5)
    split = chip()
    a = split.run(0.1002, dc_a=dc, seed=5)
    ends_in_flight = bool(split.state()["pending"].any())
    # the noise of the second part comes from its own seed, so only the noise-free case compares spike by spike
    b = split.run(0.2998, dc_a=dc, seed=5 if noise_std == 0 else 6)
    assert a.times_s.max() <= 0.1002 + 1e-12 and b.times_s.min() > 0
    if noise_std == 0:
        assert ends_in_flight  # this split point cuts between a spike and its delivery
        n = np.concatenate([a.neurons, b.neurons])
        t = np.concatenate([a.times_s, b.times_s + 1002 * 1e-4])
        assert np.array_equal(n, whole.neurons) and np.allclose(t, whole.times_s, rtol=0, atol=1e-9)
    split.drain()
    assert not split.state()["pending"].any()


def test_noise_current_has_its_std_and_correlation_time():
    """The OU input noise: stationary std noise_std, autocorrelation exp(-t/noise_tau) (1024 neurons)."""
    cfg = ChipConfig(mismatch_cv=0.0)
    chip = DynapSE2Chip(0, cfg)
    every = np.arange(1024)
    chip.run(20 * cfg.noise_tau, record_neurons=every, seed=3)   # from 0 to the stationary state
    a = chip.state()["noise"]
    assert np.std(a) == pytest.approx(cfg.noise_std, rel=0.09)   # 4 standard errors of a std over 1024
    chip.run(cfg.noise_tau, record_neurons=every, seed=4)
    b = chip.state()["noise"]
    assert np.corrcoef(a, b)[0, 1] == pytest.approx(np.exp(-1.0), abs=0.1)
