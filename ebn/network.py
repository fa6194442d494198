"""Builder and simulation driver of the Efficient Balanced Network.

Flow (DESIGN.md): config -> :func:`build_network` (seeded numpy arrays) ->
:func:`simulate` (the numba kernel :func:`ebn.kernels.run_network`) ->
:class:`SimResult` (spikes, filtered spike trains) -> :mod:`ebn.metrics`.

EBN theory (Boerlin et al. 2013; Büchel et al. 2021 eq. 1): decoder ``D``
(Nx x N, unit columns), feed-forward ``F = D^T``, optimal recurrent
``Omega* = -(D^T D + mu I)`` whose diagonal is the reset, threshold
``(|D_n|^2 + mu) / 2``.

Mismatch (the common model :mod:`circuits.mismatch`) is applied as a
separate transform: :func:`draw_chip` draws frozen log-normal factors for the
thresholds, the leaks (``tau_m,n = tau_m / factor``), every feed-forward
synaptic efficacy and every recurrent synaptic efficacy (the diagonal is the
reset's efficacy), each from its own named stream of the chip seed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from circuits.mismatch import MismatchModel, stream_seed

from .config import EBNConfig
from .kernels import STATUS_NONFINITE, STATUS_OK, run_network


@dataclass(frozen=True)
class Chip:
    """Frozen mismatch factors of one virtual chip (all median 1, dimensionless).

    Attributes
    ----------
    thresh : (N,)  threshold factors
    leak : (N,)  leak-conductance factors (membrane tau divided by them)
    ff : (N, Nx)  feed-forward efficacy factors
    rec : (N, N)  recurrent efficacy factors (diagonal: reset)
    cv : float  coefficient of variation of the model that drew them
    seed : int | None  chip seed (None for the nominal chip)
    """

    thresh: np.ndarray
    leak: np.ndarray
    ff: np.ndarray
    rec: np.ndarray
    cv: float
    seed: int | None


def nominal_chip(cfg: EBNConfig) -> Chip:
    """A chip without mismatch (every factor exactly 1)."""
    n, nx = cfg.n_neurons, cfg.n_dims
    return Chip(np.ones(n), np.ones(n), np.ones((n, nx)), np.ones((n, n)), 0.0, None)


def draw_chip(cfg: EBNConfig, cv: float, chip_seed: int) -> Chip:
    """Virtual chip with mismatch of coefficient of variation ``cv`` (0 .. 3).

    ``cv = 0`` uses :meth:`MismatchModel.none`; otherwise
    :meth:`MismatchModel.from_cv`.  Streams: ``stream_seed(chip_seed, "ebn", name)``
    for name in thresh, leak, ff, rec.
    """
    model = MismatchModel.none() if cv == 0 else MismatchModel.from_cv(cv)
    n, nx = cfg.n_neurons, cfg.n_dims

    def d(name, shape):
        return model.draw(shape, seed=stream_seed(chip_seed, "ebn", name))

    return Chip(d("thresh", (n,)), d("leak", (n,)), d("ff", (n, nx)), d("rec", (n, n)),
                float(cv), int(chip_seed))


@dataclass(frozen=True)
class Network:
    """Arrays of one network instance (decoder, thresholds, chip).

    Attributes
    ----------
    cfg : EBNConfig
    D : (Nx, N) decoder with unit-norm columns
    chip : Chip
    """

    cfg: EBNConfig
    D: np.ndarray
    chip: Chip

    @property
    def thresholds(self) -> np.ndarray:
        """Effective thresholds (V above the resting potential ``v_rest``), ``(|D_n|^2 + mu)/2`` times the
        chip factor, shape (N,); a neuron spikes when ``V_n > v_rest + T_n``."""
        return (np.sum(self.D**2, axis=0) + self.cfg.mu) / 2 * self.chip.thresh

    @property
    def tau_mem(self) -> np.ndarray:
        """Effective membrane time constants (s), shape (N,)."""
        return self.cfg.tau_mem / self.chip.leak

    @property
    def F(self) -> np.ndarray:
        """Effective feed-forward weights ``D^T`` times efficacy factors, shape (N, Nx)."""
        return np.ascontiguousarray(self.D.T * self.chip.ff)

    def optimal_weights(self) -> np.ndarray:
        """``Omega* = -(D^T D + mu I)`` in weight units (continuous), shape (N, N)."""
        n = self.cfg.n_neurons
        return -(self.D.T @ self.D + self.cfg.mu * np.eye(n)) / self.cfg.weight_unit_v

    def on_grid(self, W: np.ndarray) -> np.ndarray:
        """Round a weight matrix (weight units) to the nearest grid value ``k omega``."""
        om = self.cfg.granularity
        return np.round(np.asarray(W, dtype=np.float64) / om) * om

    def initial_weights(self, rng: np.random.Generator) -> np.ndarray:
        """Random initial matrix on the grid (weight units), shape (N, N).

        Off-diagonal: normal of std ``init_weight_std``, discretised to the grid
        (the authors' initialisation).  Diagonal: the optimal reset, the grid
        value nearest to ``Omega*_nn = -(|D_n|^2 + mu) / u = -2 T_n / u`` (a
        spike moves the neuron's potential from its threshold ``T_n`` to ``-T_n``).
        """
        cfg = self.cfg
        n = cfg.n_neurons
        W = self.on_grid(rng.standard_normal((n, n)) * cfg.init_weight_std)
        np.fill_diagonal(W, self.on_grid(np.diag(self.optimal_weights())))
        return W


def random_decoder(rng: np.random.Generator, n_dims: int, n_neurons: int) -> np.ndarray:
    """Random decoder ``D`` (Nx x N): Gaussian entries, columns normalised to unit length."""
    D = rng.standard_normal((n_dims, n_neurons))
    return D / np.linalg.norm(D, axis=0, keepdims=True)


def build_network(cfg: EBNConfig, rng: np.random.Generator, chip: Chip | None = None) -> Network:
    """Network with a random decoder drawn from ``rng`` on ``chip`` (nominal if None)."""
    D = random_decoder(rng, cfg.n_dims, cfg.n_neurons)
    chip = nominal_chip(cfg) if chip is None else chip
    if chip.thresh.shape != (cfg.n_neurons,) or chip.rec.shape != (cfg.n_neurons,) * 2:
        raise ValueError(f"chip of {chip.thresh.shape[0]} neurons does not fit n_neurons={cfg.n_neurons}")
    return Network(cfg, D, chip)


@dataclass
class SimResult:
    """Output of one simulation.

    Attributes
    ----------
    counts : (N,) int64 spike counts
    spike_steps, spike_ids : (S,) int64 recorded spikes (empty unless recorded)
    r : (T, N) float64 filtered spike trains (tau_readout), or shape (0, N)
    n_updates : int number of weight changes made by the rule
    duration : float simulated time (s)
    """

    counts: np.ndarray
    spike_steps: np.ndarray
    spike_ids: np.ndarray
    r: np.ndarray
    n_updates: int
    duration: float


def _check_signal(name: str, a: np.ndarray, n_dims: int) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != n_dims or a.shape[0] < 1:
        raise ValueError(f"{name} has shape {a.shape}; expected (T >= 1, {n_dims})")
    if not np.all(np.isfinite(a)):
        bad = np.argwhere(~np.isfinite(a))[0]
        raise ValueError(f"{name} has a non-finite value at step {bad[0]}, component {bad[1]}")
    return a


#: Initial size of the recorded spike buffers: this many spikes per step, at least the minimum.
_SPIKES_PER_STEP_GUESS = 16
_MIN_SPIKE_BUFFER = 1 << 16


def simulate(net: Network, W: np.ndarray, c: np.ndarray, *, learn: bool = False,
             record: bool = False, state: tuple | None = None) -> SimResult:
    """Run the network on command ``c`` (T x Nx, V/s) with recurrent weights ``W``.

    ``W`` (N x N, weight units, float64, C-contiguous) is updated in place when
    ``learn``.  The state starts at rest (V = V_rest, no synaptic current,
    empty readout) unless ``state = (v, i_f, r)`` arrays are given (updated in
    place).  ``record`` stores the spikes and the filtered spike trains.

    Raises ``FloatingPointError`` naming the step and neuron if a membrane
    potential becomes non-finite.
    """
    cfg = net.cfg
    n = cfg.n_neurons
    c = _check_signal("command signal", c, cfg.n_dims)
    if not (isinstance(W, np.ndarray) and W.dtype == np.float64 and W.shape == (n, n)
            and W.flags.c_contiguous):
        raise ValueError(f"W must be a C-contiguous float64 array of shape ({n}, {n})")
    if not np.all(np.isfinite(W)):
        raise ValueError("W has non-finite entries")
    T = c.shape[0]
    if state is None:
        v = np.full(n, cfg.v_rest)
        i_f = np.zeros(n)
        r = np.zeros(n)
    else:
        v, i_f, r = state
    # the spike buffers start small (the worst case, T N spikes, takes 16 bytes per neuron-step); a run
    # that overflows them is repeated from the same start with the worst-case size
    cap = min(T * n, max(_MIN_SPIKE_BUFFER, _SPIKES_PER_STEP_GUESS * T)) if record else 0
    start = (v.copy(), i_f.copy(), r.copy(), W.copy() if learn else None) if record and cap < T * n else None
    tau_m = net.tau_mem
    alpha_m = np.exp(-cfg.dt / tau_m)
    gain_m = tau_m * (1.0 - alpha_m)
    alpha_s = float(np.exp(-cfg.dt / cfg.tau_syn)) if cfg.tau_syn > 0 else 0.0
    alpha_r = float(np.exp(-cfg.dt / cfg.tau_readout))
    r_rec = np.zeros((T, n) if record else (0, n))
    max_spikes = n if cfg.max_spikes_per_step is None else cfg.max_spikes_per_step
    while True:
        spk_step = np.zeros(cap, dtype=np.int64)
        spk_idx = np.zeros(cap, dtype=np.int64)
        counts = np.zeros(n, dtype=np.int64)
        n_upd = np.zeros(1, dtype=np.int64)
        status, step, neuron, n_rec = run_network(
            c, net.F, W, np.ascontiguousarray(net.chip.rec), float(cfg.weight_unit_v),
            float(cfg.granularity), float(cfg.gain), bool(cfg.learn_reset),
            np.ascontiguousarray(net.thresholds + cfg.v_rest), alpha_m, gain_m,
            float(cfg.v_rest), float(cfg.tau_syn), alpha_s, alpha_r, int(max_spikes),
            v, i_f, r, bool(learn),
            bool(record), r_rec, spk_step, spk_idx, counts, n_upd)
        if start is None or status != STATUS_OK or counts.sum() <= cap:
            break
        v[:], i_f[:], r[:] = start[0], start[1], start[2]
        if learn:
            W[:] = start[3]
        cap, start = T * n, None
    if status == STATUS_NONFINITE:
        raise FloatingPointError(
            f"non-finite membrane potential at step {step} (t = {step * cfg.dt:.6g} s), neuron {neuron}")
    return SimResult(counts, spk_step[:n_rec].copy(), spk_idx[:n_rec].copy(), r_rec, int(n_upd[0]),
                     T * cfg.dt)
