"""The discrete rule (Büchel et al. 2021, eq. 3) on hand-built V_before values."""
import numpy as np
import pytest

from ebn.kernels import discrete_rule, run_network

# Exactly representable numbers so that both boundaries are hit exactly:
# omega = 0.5 V, V_rest = 0.25 V -> band for 2 V_before + Omega: [0.25, 0.75].
OM, VR = 0.5, 0.25
EPS = 2.0**-20


@pytest.mark.parametrize("v_before, omega_nk, expected", [
    (0.0, 0.25 - EPS, +1),      # just below the lower bound -> INC
    (0.0, 0.25, 0),             # exactly on the lower bound -> unchanged
    (-0.5, 0.0, +1),            # far below -> INC
    (0.25, 0.0, 0),             # at rest with zero weight -> inside the band
    (0.25, 0.25, 0),            # exactly on the upper bound -> unchanged
    (0.25, 0.25 + EPS, -1),     # just above the upper bound -> DEC
    (1.0, 0.0, -1),             # far above -> DEC
])
def test_three_cases_and_both_boundaries(v_before, omega_nk, expected):
    assert discrete_rule(v_before, omega_nk, OM, VR) == expected


def test_rule_is_the_loss_comparison_of_eq2():
    """Eq. 3 is the comparison L(Omega +- omega) < L(Omega) of eq. 2 with V_after = V_before + Omega."""
    rng = np.random.default_rng(3)
    for _ in range(2000):
        vb, om_nk, om, vr = rng.normal(size=4)
        om = abs(om) + 1e-3

        def loss(o):
            return 0.5 * (2 * vb + o - 2 * vr) ** 2
        expect = 1 if loss(om_nk + om) < loss(om_nk) else (-1 if loss(om_nk - om) < loss(om_nk) else 0)
        assert discrete_rule(vb, om_nk, om, vr) == expect


def _one_step(v_post, w_post_from_pre, gain=1.0, u=0.25, omega=2.0, v_rest=0.25, learn_reset=True,
              v_spiking=2.0, w_reset=-4.0):
    """Neuron 0 (V = v_spiking > T = 1) spikes once; neuron 1 holds V_before = v_post."""
    n = 2
    W = np.array([[w_reset, 0.0], [w_post_from_pre, -4.0]])
    run_network(np.zeros((1, 1)), np.zeros((n, 1)), W, np.ones((n, n)), u, omega, gain, learn_reset,
                np.array([1.0, 10.0]), np.ones(n), np.zeros(n), v_rest, 1e-3, 0.9, 0.9, 1,
                np.array([v_spiking, v_post]), np.zeros(n), np.zeros(n), True, False, np.zeros((0, n)),
                np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(n, np.int64), np.zeros(1, np.int64))
    return W


@pytest.mark.parametrize("v_post, w, expected", [
    # u = 0.25 V/unit, omega = 2 units = 0.5 V, V_rest = 0.25: same band as above
    (0.0, 1.0, 1.0),          # 2*0 + 0.25 = 0.25: lower boundary -> unchanged
    (0.0, 1.0 - EPS, 3.0 - EPS),  # just below -> +omega
    (0.25, 1.0, 1.0),         # 0.5 + 0.25 = 0.75: upper boundary -> unchanged
    (0.25, 1.0 + EPS, -1.0 + EPS),  # just above -> -omega
])
def test_kernel_applies_the_rule_with_v_before(v_post, w, expected):
    W = _one_step(v_post, w, learn_reset=False)
    assert W[1, 0] == expected
    assert W[0, 0] == -4.0  # reset learning off: the diagonal stays
    assert W[0, 1] == 0.0   # neuron 1 did not spike: its column is untouched


@pytest.mark.parametrize("v_spiking, w_reset, expected", [
    # the reset follows eq. 3 with gain 1 and V_before = V_k at the crossing (V_rest = 0.25):
    # band for 2 V_k + u W_kk: [0.25, 0.75] (u = 0.25, omega = 2, V_rest = 0.25)
    (2.0, -4.0, -6.0),    # 4 - 1 = 3 > 0.75: DEC (deeper reset)
    (1.25, -7.0, -7.0),   # 2.5 - 1.75 = 0.75: upper boundary, unchanged (gain 3 would give INC)
    (1.25, -9.0, -9.0),   # 2.5 - 2.25 = 0.25: lower boundary, unchanged
    (1.25, -10.0, -8.0),  # 2.5 - 2.5 = 0 < 0.25: INC
])
def test_reset_follows_the_rule_with_unit_gain(v_spiking, w_reset, expected):
    W = _one_step(0.25, 0.0, gain=3.0, v_spiking=v_spiking, w_reset=w_reset)
    assert W[0, 0] == expected


def test_kernel_rule_gain_scales_weight_and_band():
    # gain 2: the comparator sees 2 u W = 0.5 W and the band 2 V_rest +- 2 u omega / 2 = [0, 1]
    W = _one_step(-0.25, 0.5, gain=2.0)
    assert W[1, 0] == 0.5 + 2.0  # -0.5 + 0.25 = -0.25 < -0.5 + 0.5 = 0 -> INC
    W = _one_step(0.125, 0.5, gain=2.0)
    assert W[1, 0] == 0.5       # 0.25 + 0.25 = 0.5 inside [0, 1]
