"""dt convergence of the chip model on the 200/50 E/I network (target: < 2 % rate change when halving dt)."""
import numpy as np
import pytest

from homeostasis.bench import BenchConfig, bench_dc, make_bench_chip, population_rates


def test_halving_dt_changes_rates_less_than_2_percent():
    cfg = BenchConfig()
    dur, seeds = 3.0, [101, 102, 103, 104]
    rates = {}
    for dt in (1e-4, 5e-5):
        chip = make_bench_chip(cfg, dt=dt)
        recs = chip.run_batch(dur, len(seeds), dc_a=bench_dc(cfg), seeds=seeds)
        r = [population_rates(x.neurons, x.times_s, cfg.n_pyr, cfg.n_pv, 0.2, dur) for x in recs]
        rates[dt] = {k: np.mean([x[k] for x in r]) for k in ("pyr", "pv")}
    for k in ("pyr", "pv"):
        assert rates[1e-4][k] > 5.0  # the network is active
        assert abs(rates[1e-4][k] - rates[5e-5][k]) < 0.02 * rates[5e-5][k], (k, rates)


@pytest.mark.parametrize("repeats", [0, 51, 2.5, True])
def test_bench_config_rejects_bad_repeats(repeats):
    with pytest.raises(ValueError, match="repeats"):
        BenchConfig(repeats=repeats)
