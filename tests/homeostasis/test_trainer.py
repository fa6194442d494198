"""Trainer mechanics against a tiny stand-in chip (the real experiments run on the numba chip model).

``FakeChip`` implements :class:`homeostasis.interface.ChipInterface` with a
monotone rate map that has the sign structure the cross-homeostatic rule
relies on (Maryada et al. 2025, Methods; Soldado-Magraner et al. 2022): PV rate rises with ln(w_ee/w_ei), Pyr rate falls with
ln(w_ie/w_ii); spikes are Poisson at those rates.  It lets the tests check
the protocol (kick, repetitions, rates, rounding, coarse/fine codes,
recording, seeding, clusters, ensemble) in milliseconds.
"""
import math

import numpy as np
import pytest

from homeostasis.dac import bias_current
from homeostasis.interface import ChipInterface, SpikeRecord
from homeostasis.network import NetworkConfig, build_network
from homeostasis.rule import RuleConfig
from homeostasis.trainer import KickConfig, TrainConfig, make_kick, train

X0 = math.log(1.0)
Y0 = math.log(1.0)


class FakeChip:
    def __init__(self, gain_i=30.0, gain_e=15.0):
        self.bias = {}
        self.gain_i, self.gain_e = gain_i, gain_e
        self.drained = 0
        self.conn = None
        self.runs = 0
        self.inputs = None

    def set_bias(self, core, name, coarse, fine):
        self.bias[(core, name)] = (int(coarse), int(fine))

    def get_bias(self, core, name):
        return self.bias[(core, name)]

    def set_connections(self, pre, post, synapse_type, weight_bias):
        self.conn = (np.asarray(pre), np.asarray(post), list(weight_bias))

    def drain(self):
        self.drained += 1

    def _w(self, core, name):
        return bias_current(*self.bias[(core, name)])

    def rates(self):
        names = NetworkConfig().weight_bias_names
        x = math.log(self._w(0, names[0]) / self._w(0, names[2]))
        y = math.log(self._w(1, names[1]) / self._w(1, names[3]))
        i_rate = min(max(40.0 + self.gain_i * (x - X0), 0.0), 200.0)
        e_rate = min(max(20.0 - self.gain_e * (y - Y0), 0.0), 200.0)
        return e_rate, i_rate

    def run(self, duration_s, *, input_spikes=None, dc_a=None, record=(), input_synapse="AMPA",
            input_weight_bias="W3", seed=0):
        self.runs += 1
        self.inputs = (input_synapse, input_weight_bias)
        rng = np.random.default_rng(seed)
        e_rate, i_rate = self.rates()
        pre, post, _ = self.conn
        exc = np.unique(post[post < 256])
        inh = np.unique(post[post >= 256])
        ns, ts = [], []
        for pop, r in ((exc, e_rate), (inh, i_rate)):
            k = rng.poisson(r * duration_s * pop.size)
            ns.append(rng.choice(pop, size=k))
            ts.append(rng.uniform(0, duration_s, size=k))
        n, t = np.concatenate(ns), np.concatenate(ts)
        o = np.argsort(t)
        return SpikeRecord(n[o], t[o], duration_s)


def small_net(seed=0, **kw):
    return build_network(NetworkConfig(n_exc=40, n_inh=10, p=0.1, **kw), seed=seed)


def test_fake_chip_is_a_chip():
    assert isinstance(FakeChip(), ChipInterface)


def test_kick_protocol():
    rng = np.random.default_rng(0)
    pyr = np.arange(200)
    tgt, t = make_kick(rng, pyr, KickConfig())
    assert np.unique(tgt).size == 160 and tgt.size == 640
    assert t.min() >= 0 and t.max() < 0.040 and np.all(np.diff(t) >= 0)
    for n in np.unique(tgt)[:10]:
        tn = np.sort(t[tgt == n])
        np.testing.assert_allclose(np.diff(tn), 0.010)
    with pytest.raises(ValueError, match="kick ends"):
        TrainConfig(t_ignore_s=0.03)


def test_short_training_from_bad_start_moves_rates_to_targets():
    net = small_net()
    cfg = TrainConfig(n_iterations=60, n_reps=3, final_window=10)
    # w_ee weak / w_ei strong -> PV far below 40 Hz; w_ie strong -> Pyr low
    init = np.array([[3, 100], [3, 200], [3, 200], [3, 120]])
    chip = FakeChip()
    res = train(chip, net, cfg, seed=7, init_codes=init)
    e0, i0 = res.rates_hz[0, 0]
    ef, i_f = res.final_rates()[0]
    assert abs(i0 - 40) > 15 and abs(e0 - 20) > 5
    assert abs(ef - 20) < 0.3 * abs(e0 - 20) and abs(i_f - 40) < 0.3 * abs(i0 - 40)
    # records are consistent: currents from codes (eq. 1), codes within DAC range
    assert res.codes.shape == (61, 5, 2) and res.rates_reps_hz.shape == (60, 1, 3, 2)
    np.testing.assert_allclose(res.currents_a[:, :4], bias_current(res.codes[:, :4, 0], res.codes[:, :4, 1]))
    assert np.all((res.codes[:, :4, 0] >= 0) & (res.codes[:, :4, 0] <= 5))
    # the recorded final code is what the chip holds
    assert chip.get_bias(0, net.config.weight_bias_names[0]) == tuple(res.codes[-1, 0])
    # every trial started drained
    assert chip.drained >= 60 * 3
    # same seed -> identical run; other seed -> different noise
    res2 = train(FakeChip(), net, cfg, seed=7, init_codes=init)
    np.testing.assert_array_equal(res.rates_hz, res2.rates_hz)
    np.testing.assert_array_equal(res.codes, res2.codes)
    res3 = train(FakeChip(), net, cfg, seed=8, init_codes=init)
    assert not np.array_equal(res.rates_reps_hz, res3.rates_reps_hz)


def test_paper_text_rule_is_stuck_when_silent():
    """eq. 2 with f(r) = r: a silent network gets dw = 0 forever; max(1, r) escapes."""
    net = small_net()
    init = np.array([[3, 40], [5, 200], [5, 200], [3, 40]])  # E silent and I silent
    chip = FakeChip(gain_i=1000.0, gain_e=1000.0)
    cfg = TrainConfig(n_iterations=5, n_reps=1, final_window=1)
    res = train(chip, net, cfg, seed=1, init_codes=init)
    assert np.all(res.rates_hz == 0) and np.all(res.steps == 0)
    cfg2 = TrainConfig(n_iterations=5, n_reps=1, final_window=1, rule=RuleConfig.authors_code())
    res2 = train(FakeChip(), net, cfg2, seed=1, init_codes=init)
    assert np.any(res2.steps != 0)


def test_clusters_use_mean_update_and_ensemble_implant():
    net = build_network(NetworkConfig(n_exc=20, n_inh=6, p=0.35, n_clusters=3), seed=2)
    cfg = TrainConfig(n_iterations=6, n_reps=2, final_window=2, ensemble_at=3, ensemble_size=8)
    res = train(FakeChip(), net, cfg, seed=3)
    assert res.rates_hz.shape == (6, 3, 2)
    # all clusters see the same weights in the fake, so the mean dw equals eq. 2 of the mean-ish rates
    from homeostasis.rule import weight_update
    manual = np.mean([weight_update(*res.rates_hz[0, c], cfg.rule) for c in range(3)], axis=0)
    np.testing.assert_allclose(res.dw[0], manual)
    # ensemble: no mem weight before iteration 3, then current = w_ee + 8.8 nA (DAC-rounded)
    assert np.all(res.currents_a[:3, 4] == 0)
    assert np.all(res.currents_a[3:, 4] > res.currents_a[3:, 0])
    np.testing.assert_allclose(res.currents_a[3:, 4] - res.currents_a[3:, 0], 8.8e-9,
                               rtol=0, atol=res.currents_a[3:, 4].max() / 256 + 1e-15)
    assert res.network.ensemble.size == 8


def test_validation():
    with pytest.raises(ValueError, match="n_reps"):
        TrainConfig(n_reps=0)
    with pytest.raises(ValueError, match="seed"):
        train(FakeChip(), small_net(), TrainConfig(n_iterations=1, final_window=1), seed=-1)
    with pytest.raises(ValueError, match="fine"):
        train(FakeChip(), small_net(), TrainConfig(n_iterations=1, final_window=1), seed=0,
              init_codes=np.array([[3, 300]] * 4))


def test_kick_enters_through_the_configured_synapse_and_bias():
    net = small_net(weight_bias_names=("W0", "W0", "W1", "W1", "W3"))
    kick = KickConfig(synapse="NMDA", weight_bias="W2", weight_code=(4, 77))
    chip = FakeChip()
    train(chip, net, TrainConfig(n_iterations=1, n_reps=1, final_window=1, kick=kick), seed=0)
    assert chip.inputs == ("NMDA", "W2") and chip.bias[(0, "W2")] == (4, 77)
    # the kick's bias may not be one of the Pyr core's weight classes
    with pytest.raises(ValueError, match="kick.weight_bias='W1'"):
        train(FakeChip(), small_net(), TrainConfig(n_iterations=1, final_window=1,
                                                   kick=KickConfig(weight_bias="W1")), seed=0)
    with pytest.raises(ValueError, match="kick.weight_bias='X'"):
        KickConfig(weight_bias="X")


def test_kick_bias_name_does_not_change_the_chip_model_training():
    """The numba chip reads the kick's weight from the configured bias: W2 with the ensemble on W3 trains
    exactly as the default W3 (mismatch is per CAM slot, not per bias name)."""
    from homeostasis.chip import DynapSE2Chip
    from homeostasis.neuron_types import PV, PYR

    def one(names, kick_bias):
        chip = DynapSE2Chip(1)
        chip.apply_neuron_type(0, PYR)
        chip.apply_neuron_type(1, PV)
        net = build_network(NetworkConfig(weight_bias_names=names), seed=0)
        cfg = TrainConfig(n_iterations=2, n_reps=2, final_window=1, kick=KickConfig(weight_bias=kick_bias))
        return train(chip, net, cfg, seed=4, init_codes=np.array([[4, 60], [4, 60], [3, 120], [3, 120]]))

    a = one(("W0", "W0", "W1", "W1", "W2"), "W3")
    b = one(("W0", "W0", "W1", "W1", "W3"), "W2")
    assert a.rates_hz[0, 0, 0] > 1.0  # the kick drives the network
    np.testing.assert_array_equal(a.rates_reps_hz, b.rates_reps_hz)


def test_ensemble_settings_fail_before_training():
    chip = FakeChip()
    cfg = TrainConfig(n_iterations=10, n_reps=1, final_window=1, ensemble_at=8, ensemble_p=0.05)
    with pytest.raises(ValueError, match="p_within=0.05"):
        train(chip, small_net(), cfg, seed=0)
    assert chip.runs == 0
