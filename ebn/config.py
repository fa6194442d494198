"""Frozen, validated configurations of the EBN network and of its training.

Units: SI (s, Hz).  Membrane potentials are in the normalised volts of EBN
theory, where a neuron with decoder column ``D_n`` has threshold
``(|D_n|^2 + mu) / 2`` (Boerlin et al. 2013, eq. 7) and the signal ``x`` is
in the same units as ``V = D^T (x - x_hat)``.

Weight units.  The recurrent matrix lives on a grid of step ``granularity``
(``omega``) in *weight units*; one weight unit moves the postsynaptic membrane
by ``weight_unit_v`` volts.  The default ``weight_unit_v = 0.01 V`` is 1/100 of
a unit decoder's squared norm: an optimal entry ``-D_n^T D_k`` in [-1, 1] V
spans +-100 weight units, which the default ``omega = 2`` grid resolves in 100
levels, and the optimal reset ``-(1 + mu) = -2 V`` is -200 units.  (The
authors' parametrisation, ``tau_syn / tau_mem = 0.02 V`` per unit, gives the
same picture at half the resolution; it learned slightly worse in the
Fig. 1 metrics.)  The learned matrix is compared with ``Omega*`` through
the scale-invariant distance of :func:`ebn.metrics.weight_distance`, whose
scale ``s`` is reported with it.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

from circuits.validation import check_range as _check


@dataclass(frozen=True)
class EBNConfig:
    """Network parameters (reference values: Büchel et al. 2021, Sec. II, and the authors' script).

    Attributes
    ----------
    n_neurons : int
        N, number of LIF neurons (1 .. 5000; a recorded 1 s signal at dt = 0.1 ms keeps
        ``T x N`` readout values, 0.4 GB at N = 5000, and an evaluation keeps several).
    n_dims : int
        Nx, dimension of the encoded signal (1 .. 100).
    dt : float
        Time step (s), 1 µs .. 1 ms; at most ``tau_mem / 10``.
    tau_mem : float
        Membrane time constant (s), 1 ms .. 10 s.
    tau_syn : float
        Fast recurrent synapse time constant (s), 0 (instantaneous) .. 100 ms.
    tau_readout : float
        Time constant of the filtered spike trains used by the readout (s).
    granularity : float
        omega, the rule's weight step in weight units (0 < omega <= 1000).
    weight_unit_v : float
        Volts of membrane step per weight unit (0 < u <= 10).
    v_rest : float
        Resting potential (V): the membrane relaxes to it, a neuron spikes ``T_n`` above
        it, and it is the centre of the rule's tolerance band.
    mu : float
        Quadratic spike cost of Boerlin et al. (2013): raises the threshold to
        ``(|D|^2 + mu) / 2`` and the optimal reset to ``-(|D|^2 + mu)``; >= 0.
        Default 1 = the authors' ``mu lambda_d^2 = 1e-4 * (100 /s)^2``.  Without
        a cost the optimal network is marginal (opposite decoders ping-pong)
        and a learned grid network falls into runaway bursts.
    init_weight_std : float
        Standard deviation (weight units) of the random initial off-diagonal
        weights, discretised to the grid (>= 0); 30 as in the authors' script.
    max_spikes_per_step : int or None
        Cap on the spikes the whole network may emit per time step (1 .. 20000),
        resolved most supra-threshold first.  Default 1: the single-spike-per-step
        scheme of Boerlin et al.'s code and the authors' script.  None: no
        network-wide cap, every neuron spikes at most once per step, resolved in
        order.  Without the cap, neurons with nearly equal decoders all fire in the
        step before the 1 ms inhibition arrives, and on coarse grids learning then
        runs away: over seeds 1-3 with 50 iterations, omega = 16 and 32 reached
        5000-9500 Hz in 6 of 6 runs without the cap (every neuron in every step),
        and 1 of 6 with it.  With the cap a neuron fires at most
        ``1 / (N dt)`` (500 Hz for N = 20 at 0.1 ms); :func:`ebn.metrics.rate_bound_hz`.
    rule_gain : float
        Gain ``g`` with which the rule's comparator sees the weighted step
        (eq. 3 is evaluated on ``2 V_before + g u Omega`` with the band
        ``+- g u omega / 2``), i.e. the ratio of the mirror that copies the
        weighted current into the comparator (``I_Omega / 2`` in paper Fig. 4).
        ``g = 1`` is eq. 3 with the physical step: its fixed point is the
        cost-free network ``-(2 T) D^T D``, ~1.9 x the optimum off the diagonal
        (measured scale s = 1.83-1.89), which fires less and decodes 19-31 %
        worse than the optimal network.  In the optimal network the regression
        of ``-2 V_before`` on ``u Omega*_nk`` over spikes gives g ~ 2.0-2.3, but
        with g = 2 learning does not settle there (s ~ 0.5, 2-3 x the optimal
        rate).  The authors' script had an effective ratio of 2.5 (its rule read
        ``w / 20`` while its synapse delivered ``w / 50``).  Default 1.6, chosen
        by 10-seed scans of the Fig. 1 run (seeds 0-9, 4 + 4 validation signals).
        With the other defaults of this class, g = 1.5 / 1.6 / 1.7 meet all three
        targets on 9 / 9 / 4 of those seeds (g = 1.7 exceeds the rate target; on its
        one failing seed g = 1.5 misses the distance and decoding targets, g = 1.6
        the distance).  On seeds kept out of that choice
        (``python -m ebn train --seed 100 --table 10``) g = 1.6 meets them on 10 of 10.
    learn_reset : bool
        Let the rule adapt the reset (the diagonal) too, with gain 1: its fixed
        point ``-2 T_k`` (the neuron spikes at ``V_rest + T_k``) is the optimal reset of a nominal neuron and
        follows the threshold of a mismatched one (without it, threshold or
        reset mismatch of CV 20 % sends learning into runaway bursts).
    """

    n_neurons: int = 20
    n_dims: int = 2
    dt: float = 1e-4
    tau_mem: float = 50e-3
    tau_syn: float = 1e-3
    tau_readout: float = 10e-3
    granularity: float = 2.0
    weight_unit_v: float = 0.01
    v_rest: float = 0.0
    mu: float = 1.0
    init_weight_std: float = 30.0
    max_spikes_per_step: int | None = 1
    rule_gain: float = 1.6
    learn_reset: bool = True

    @property
    def gain(self) -> float:
        """Gain with which the rule's comparator sees a weight (see ``rule_gain``)."""
        return float(self.rule_gain)

    def __post_init__(self) -> None:
        _check("n_neurons", self.n_neurons, 1, 5000, integer=True)
        _check("n_dims", self.n_dims, 1, 100, integer=True)
        _check("dt", self.dt, 1e-6, 1e-3)
        _check("tau_mem", self.tau_mem, 1e-3, 10.0)
        _check("tau_syn", self.tau_syn, 0.0, 0.1)
        _check("tau_readout", self.tau_readout, 1e-4, 10.0)
        _check("granularity", self.granularity, 0.0, 1000.0, lo_open=True)
        _check("weight_unit_v", self.weight_unit_v, 0.0, 10.0, lo_open=True)
        _check("v_rest", self.v_rest, -10.0, 10.0)
        _check("mu", self.mu, 0.0, 100.0)
        _check("init_weight_std", self.init_weight_std, 0.0, 1e4)
        _check("rule_gain", self.rule_gain, 0.0, 100.0, lo_open=True)
        if not isinstance(self.learn_reset, bool):
            raise ValueError(f"learn_reset={self.learn_reset!r} must be True or False")
        if self.max_spikes_per_step is not None:
            _check("max_spikes_per_step", self.max_spikes_per_step, 1, 20000, integer=True)
        if self.dt > self.tau_mem / 10:
            raise ValueError(f"dt={self.dt!r} must be at most tau_mem/10 = {self.tau_mem / 10:g} s")
        if 0.0 < self.tau_syn < self.dt:
            raise ValueError(f"tau_syn={self.tau_syn!r} must be 0 (instantaneous) or >= dt = {self.dt:g} s")

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class TrainConfig:
    """Training schedule and input statistics.

    Attributes
    ----------
    n_iterations : int
        Training iterations, each on a fresh signal (0 .. 100000).
    duration : float
        Length of each training / validation signal (s), 10 ms .. 1000 s.
    signal_sigma : float
        Standard deviation (s) of the normalised Gaussian that smooths the
        white noise (reference 30 ms); 1 ms .. 10 s.
    signal_std : float
        Standard deviation of each signal component (V), > 0.
    n_fit : int
        Validation signals used to fit the least-squares readout (>= 1).
    n_test : int
        Held-out validation signals on which the decoding error is measured (>= 1).
    validate_every : int
        Iterations between validation points (>= 1); iteration 0 and the last
        one are always validated.
    transient : float
        Initial part of each validation signal excluded from the metrics (s).
    """

    n_iterations: int = 50
    duration: float = 1.0
    signal_sigma: float = 30e-3
    signal_std: float = 3.0
    n_fit: int = 4
    n_test: int = 4
    validate_every: int = 1
    transient: float = 0.05

    def __post_init__(self) -> None:
        _check("n_iterations", self.n_iterations, 0, 100000, integer=True)
        _check("duration", self.duration, 0.01, 1000.0)
        _check("signal_sigma", self.signal_sigma, 1e-3, 10.0)
        _check("signal_std", self.signal_std, 0.0, 1e6, lo_open=True)
        _check("n_fit", self.n_fit, 1, 1000, integer=True)
        _check("n_test", self.n_test, 1, 1000, integer=True)
        _check("validate_every", self.validate_every, 1, 100000, integer=True)
        _check("transient", self.transient, 0.0, 100.0)
        if self.transient >= self.duration:
            raise ValueError(f"transient={self.transient!r} must be shorter than duration={self.duration!r}")

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}
