"""Cross-homeostatic rule (eq. 2), stochastic rounding (eq. 3) and the coarse/fine update (eq. 4)."""
import math

import numpy as np
import pytest

from homeostasis.rule import (RuleConfig, apply_update, coarse_fine_update, initial_codes,
                              stochastic_round, weight_update)

EE, IE, EI, II = range(4)


def test_signs_for_each_weight_class():
    cfg = RuleConfig()
    # E below target, I below target: strengthen E->E, weaken E->I, weaken I->E, strengthen I->I
    dw = weight_update(10.0, 20.0, cfg)
    assert dw[EE] > 0 and dw[IE] < 0 and dw[EI] < 0 and dw[II] > 0
    # both above target: all signs flip
    dw = weight_update(30.0, 60.0, cfg)
    assert dw[EE] < 0 and dw[IE] > 0 and dw[EI] > 0 and dw[II] < 0
    # at the set-points nothing moves
    assert np.all(weight_update(20.0, 40.0, cfg) == 0.0)
    # magnitudes are eq. 2 exactly
    dw = weight_update(10.0, 20.0, cfg)
    np.testing.assert_allclose(dw, 0.05 * np.array([10 * 20, -10 * 10, -20 * 20, 20 * 10]))


def test_presynaptic_factor_and_clip():
    silent_text = weight_update(0.0, 0.0, RuleConfig())
    assert np.all(silent_text == 0.0)  # paper text: a silent network does not learn
    code = RuleConfig.authors_code()
    dw = weight_update(0.0, 0.0, code)
    np.testing.assert_allclose(dw, [0.005 * 40, -0.005 * 20, -0.005 * 40, 0.005 * 20])
    big = weight_update(200.0, 200.0, code)
    assert np.all(np.abs(big) == 5.0)


def test_frozen_weights_do_not_move():
    cfg = RuleConfig(plastic=(True, True, False, False))
    dw = weight_update(5.0, 5.0, cfg)
    assert dw[EI] == 0 and dw[II] == 0 and dw[EE] != 0
    codes = np.array([[3, 100]] * 4)
    new, steps, _ = apply_update(codes, np.full(4, 300.0), np.random.default_rng(0), cfg)
    assert np.all(new[2:] == codes[2:]) and np.all(steps[2:] == 0)
    # a frozen code outside [F-, F+] stays as it is (eq. 4 would move it to the next coarse value)
    codes = np.array([[3, 100], [3, 100], [3, 10], [4, 252]])
    new, _, sat = apply_update(codes, np.zeros(4), np.random.default_rng(0), cfg)
    assert np.all(new[2:] == codes[2:]) and not sat.any()


def test_stochastic_rounding_unbiased_and_exact_on_integers():
    rng = np.random.default_rng(1)
    for x in (0.3, -2.7, 12.5, 0.01):
        draws = stochastic_round(np.full(200_000, x), rng)
        assert set(np.unique(draws)) <= {math.floor(x), math.ceil(x)}
        # mean of Bernoulli(p) steps: standard error sqrt(p(1-p)/n) <= 0.0012; 5 sigma
        assert abs(draws.mean() - x) < 5 * 0.5 / math.sqrt(draws.size)
    ints = np.arange(-300, 301, dtype=float)
    assert np.array_equal(stochastic_round(ints, rng), ints.astype(np.int64))
    with pytest.raises(ValueError):
        stochastic_round(np.array([np.nan]), rng)


def test_eq4_inside_and_at_both_bounds():
    cfg = RuleConfig()
    assert coarse_fine_update(3, 100, 7, cfg) == (3, 107, False)
    assert coarse_fine_update(3, 100, -80, cfg) == (3, 20, False)  # exactly F- stays
    assert coarse_fine_update(3, 100, 150, cfg) == (3, 250, False)  # exactly F+ stays
    assert coarse_fine_update(3, 25, -6, cfg) == (2, 250, False)  # below F-: C-1, F+
    assert coarse_fine_update(3, 245, 6, cfg) == (4, 20, False)  # above F+: C+1, F-


def test_coarse_end_policy():
    cfg = RuleConfig()
    # coarse 0: fine keeps going down, floored at 0
    assert coarse_fine_update(0, 25, -10, cfg) == (0, 15, False)
    assert coarse_fine_update(0, 5, -10, cfg) == (0, 0, True)
    # coarse 5: fine keeps going up, capped at 255
    assert coarse_fine_update(5, 249, 3, cfg) == (5, 252, False)
    assert coarse_fine_update(5, 250, 10, cfg) == (5, 255, True)
    # from the extended region back inside
    assert coarse_fine_update(0, 10, 15, cfg) == (0, 25, False)
    rng = np.random.default_rng(2)
    c, f = 3, 100
    for _ in range(2000):  # random walk never leaves the DAC range
        c, f, _ = coarse_fine_update(c, f, int(rng.integers(-60, 61)), cfg)
        assert 0 <= c <= 5 and 0 <= f <= 255
    with pytest.raises(ValueError, match="coarse"):
        coarse_fine_update(6, 100, 0, cfg)
    with pytest.raises(ValueError, match="fine"):
        coarse_fine_update(3, 256, 0, cfg)


def test_config_validation():
    with pytest.raises(ValueError, match="alpha"):
        RuleConfig(alpha=-1)
    with pytest.raises(ValueError, match="presyn"):
        RuleConfig(presyn="sqrt")
    with pytest.raises(ValueError, match="f_minus"):
        RuleConfig(f_minus=250, f_plus=20)
    with pytest.raises(ValueError, match="e_hz"):
        weight_update(float("nan"), 1.0, RuleConfig())


def test_initial_codes_ranges():
    rng = np.random.default_rng(3)
    codes = np.array([initial_codes(rng) for _ in range(500)])
    assert set(np.unique(codes[:, :, 0])) == {3, 4, 5}
    assert codes[:, :, 1].min() == 20 and codes[:, :, 1].max() == 200
