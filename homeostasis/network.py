"""E/I network builder for the cross-homeostatic experiments (Maryada et al. 2025, Methods "Network emulation").

The network: ``n_exc`` Pyr neurons on one core and ``n_inh`` PV neurons on
another (neuron parameters are per-core biases on the DYNAP-SE2, so each type
gets its own core).  Every ordered pair of distinct neurons (within and
between populations) is connected independently with probability ``p``.
Excitatory connections are AMPA, inhibitory ones GABA_A (somatic, shunting).
All connections of one class share one weight bias: ``w_ee`` Pyr->Pyr,
``w_ie`` Pyr->PV, ``w_ei`` PV->Pyr, ``w_ii`` PV->PV (order of
:data:`homeostasis.rule.WEIGHTS`).  On the chip a weight is a bias of the
*postsynaptic* core, so each class maps to (core, bias name).

Variants used by the experiments:

* **clusters** (Fig. 6): ``n_clusters`` disjoint E/I networks, each with
  ``n_exc``/``n_inh`` neurons, no connections between clusters, all sharing
  the four weights (all Pyr on one core, all PV on the other).
* **ensemble** (Fig. 5): :func:`add_ensemble` raises the connection
  probability inside a group of Pyr neurons (32, p = 0.5) by adding
  connections, and moves all connections inside the group onto a fifth
  weight bias ``w_mem`` (paper: "the weight w_ee for 32 neurons is increased").

All draws come from ``numpy.random.default_rng(stream_seed(seed, "network", ...))``.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from circuits.mismatch import stream_seed

from .interface import SYNAPSE_TYPES, WEIGHT_BIASES
from .rule import WEIGHTS

AMPA = SYNAPSE_TYPES.index("AMPA")
GABA_A = SYNAPSE_TYPES.index("GABA_A")
#: Index of the ensemble ("memory") weight class, after the four of WEIGHTS.
MEM = 4
WEIGHT_CLASSES = (*WEIGHTS, "mem")
NEURONS_PER_CORE = 256
MAX_FAN_IN = 64


@dataclass(frozen=True)
class NetworkConfig:
    """Sizes and connectivity of the E/I network.

    Attributes
    ----------
    n_exc, n_inh : int
        Pyr and PV neurons per cluster (paper 200 / 50).
    p : float
        Connection probability of every ordered pair within a cluster (0.1).
    n_clusters : int
        Number of disjoint E/I clusters (1; Fig. 6 uses 5 of 50/15 at p = 0.35).
    exc_core, inh_core : int
        Chip cores holding the Pyr and PV neurons (0 and 1).
    weight_bias_names : tuple of 5 str
        Bias names (on the postsynaptic core) of the weight classes ee, ie, ei, ii, mem.
    """

    n_exc: int = 200
    n_inh: int = 50
    p: float = 0.1
    n_clusters: int = 1
    exc_core: int = 0
    inh_core: int = 1
    weight_bias_names: tuple = ("W0", "W0", "W1", "W1", "W2")

    def __post_init__(self) -> None:
        for name in ("n_exc", "n_inh", "n_clusters"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name}={v!r} must be a positive integer")
        if self.n_exc * self.n_clusters > NEURONS_PER_CORE:
            raise ValueError(f"n_exc*n_clusters={self.n_exc * self.n_clusters} exceeds the "
                             f"{NEURONS_PER_CORE} neurons of a core")
        if self.n_inh * self.n_clusters > NEURONS_PER_CORE:
            raise ValueError(f"n_inh*n_clusters={self.n_inh * self.n_clusters} exceeds the "
                             f"{NEURONS_PER_CORE} neurons of a core")
        if not (0.0 < float(self.p) <= 1.0):
            raise ValueError(f"p={self.p!r} is outside the allowed range (0, 1]")
        for name in ("exc_core", "inh_core"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or not 0 <= v <= 3:
                raise ValueError(f"{name}={v!r} must be a core index in 0..3")
        if self.exc_core == self.inh_core:
            raise ValueError(f"exc_core and inh_core are both {self.exc_core}; they must differ")
        if len(self.weight_bias_names) != len(WEIGHT_CLASSES):
            raise ValueError(f"weight_bias_names={self.weight_bias_names!r} needs "
                             f"{len(WEIGHT_CLASSES)} names for {WEIGHT_CLASSES}")
        for k, name in enumerate(self.weight_bias_names):
            if name not in WEIGHT_BIASES:
                raise ValueError(f"weight_bias_names[{k}] ({WEIGHT_CLASSES[k]})={name!r} is not one of {WEIGHT_BIASES}")
        # classes whose synapses sit on the same core need their own bias, or they would share one weight
        for core_classes in (("ee", "ei", "mem"), ("ie", "ii")):
            names = [self.weight_bias_names[WEIGHT_CLASSES.index(c)] for c in core_classes]
            if len(set(names)) != len(names):
                raise ValueError(f"weight_bias_names gives {dict(zip(core_classes, names))}: weight classes "
                                 f"on the same core must use different biases")


@dataclass
class Network:
    """A built E/I network.

    Attributes
    ----------
    config : NetworkConfig
    exc, inh : int64 arrays
        Global neuron indices (core * 256 + neuron) of all Pyr / all PV.
    clusters : list of (exc, inh) int64 array pairs
        Global indices of each cluster's populations.
    pre, post : int64 arrays (n_conn,)
        Global indices of each connection's source and target.
    syn_type : int64 array (n_conn,)
        Index into :data:`homeostasis.interface.SYNAPSE_TYPES` (AMPA or GABA_A).
    weight_class : int64 array (n_conn,)
        Index into :data:`WEIGHT_CLASSES` (0..3: ee, ie, ei, ii; 4: mem).
    ensemble : int64 array
        Global indices of the implanted ensemble (empty if none).
    """

    config: NetworkConfig
    exc: np.ndarray
    inh: np.ndarray
    clusters: list
    pre: np.ndarray
    post: np.ndarray
    syn_type: np.ndarray
    weight_class: np.ndarray
    ensemble: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def n_connections(self) -> int:
        return int(self.pre.size)

    def weight_target(self, k: int) -> tuple[int, str]:
        """(core, bias name) holding weight class ``k`` (index into :data:`WEIGHT_CLASSES`)."""
        cfg = self.config
        post_core = cfg.inh_core if WEIGHT_CLASSES[k] in ("ie", "ii") else cfg.exc_core
        return post_core, cfg.weight_bias_names[k]

    def weight_bias(self) -> list[str]:
        """Bias name of each connection (the ``weight_bias`` argument of ``ChipInterface.set_connections``)."""
        names = self.config.weight_bias_names
        return [names[k] for k in self.weight_class]

    def fan_in(self) -> np.ndarray:
        """Number of incoming connections of every neuron, indexed by global index (length 1024)."""
        return np.bincount(self.post, minlength=4 * NEURONS_PER_CORE)

    def apply_to(self, chip) -> None:
        """Configure ``chip`` (a :class:`homeostasis.interface.ChipInterface`) with these connections."""
        chip.set_connections(self.pre, self.post, self.syn_type, self.weight_bias())


def _check_fan_in(net: Network) -> None:
    fan = net.fan_in()
    worst = int(np.argmax(fan))
    if fan[worst] > MAX_FAN_IN:
        raise ValueError(f"neuron {worst} (core {worst // NEURONS_PER_CORE}, neuron "
                         f"{worst % NEURONS_PER_CORE}) needs {int(fan[worst])} inputs; the chip "
                         f"allows {MAX_FAN_IN}")


def _pairs(rng: np.random.Generator, src: np.ndarray, dst: np.ndarray, p: float) -> tuple[np.ndarray, np.ndarray]:
    """Each ordered pair (s, d), s != d, connected with probability p."""
    mask = rng.random((src.size, dst.size)) < p
    s, d = np.nonzero(mask)
    s, d = src[s], dst[d]
    keep = s != d
    return s[keep], d[keep]


def build_network(cfg: NetworkConfig, seed: int) -> Network:
    """Draw the E/I network(s) of ``cfg`` from ``seed``.

    Each of the four blocks (E->E, E->I, I->E, I->I) of each cluster is drawn
    with independent Bernoulli(p) per ordered pair of distinct neurons.
    Raises ``ValueError`` if a neuron would exceed the chip's 64 inputs.
    """
    exc_all = cfg.exc_core * NEURONS_PER_CORE + np.arange(cfg.n_exc * cfg.n_clusters, dtype=np.int64)
    inh_all = cfg.inh_core * NEURONS_PER_CORE + np.arange(cfg.n_inh * cfg.n_clusters, dtype=np.int64)
    pre, post, cls = [], [], []
    clusters = []
    for c in range(cfg.n_clusters):
        rng = np.random.default_rng(stream_seed(seed, "network", c))
        e = exc_all[c * cfg.n_exc:(c + 1) * cfg.n_exc]
        i = inh_all[c * cfg.n_inh:(c + 1) * cfg.n_inh]
        clusters.append((e, i))
        for k, (src, dst) in enumerate(((e, e), (e, i), (i, e), (i, i))):
            s, d = _pairs(rng, src, dst, float(cfg.p))
            pre.append(s)
            post.append(d)
            cls.append(np.full(s.size, k, dtype=np.int64))
    pre = np.concatenate(pre)
    post = np.concatenate(post)
    cls = np.concatenate(cls)
    syn = np.where(np.isin(cls, (2, 3)), GABA_A, AMPA).astype(np.int64)
    net = Network(cfg, exc_all, inh_all, clusters, pre, post, syn, cls)
    _check_fan_in(net)
    return net


def add_ensemble(net: Network, seed: int, size: int = 32, p_within: float = 0.5) -> Network:
    """Implant a Pyr ensemble (Fig. 5): within-ensemble connection probability ``p_within``.

    ``size`` Pyr neurons of the first cluster are drawn from ``seed``.  Each
    ordered pair inside the ensemble that is not yet connected gets a
    connection with probability ``(p_within - p) / (1 - p)``, so the pair
    probability becomes ``p_within``; every E->E connection inside the
    ensemble (old and new) moves to the ``mem`` weight class.  Returns a new
    :class:`Network`; the original is unchanged.
    """
    e = net.clusters[0][0]
    if not (isinstance(size, (int, np.integer)) and 2 <= size <= e.size):
        raise ValueError(f"size={size!r} must be an integer in [2, {e.size}]")
    p0 = float(net.config.p)
    if not (p0 <= p_within <= 1.0):
        raise ValueError(f"p_within={p_within!r} is outside the allowed range [{p0:g}, 1]")
    rng = np.random.default_rng(stream_seed(seed, "ensemble"))
    ens = np.sort(rng.choice(e, size=size, replace=False))
    inside = np.isin(net.pre, ens) & np.isin(net.post, ens) & (net.weight_class == 0)
    existing = set(zip(net.pre[inside].tolist(), net.post[inside].tolist()))
    p_add = (p_within - p0) / (1.0 - p0) if p0 < 1.0 else 0.0
    add_pre, add_post = [], []
    for a in ens:
        for b in ens:
            if a != b and (a, b) not in existing and rng.random() < p_add:
                add_pre.append(a)
                add_post.append(b)
    cls = net.weight_class.copy()
    cls[inside] = MEM
    n_add = len(add_pre)
    new = replace(
        net,
        pre=np.concatenate([net.pre, np.asarray(add_pre, dtype=np.int64)]),
        post=np.concatenate([net.post, np.asarray(add_post, dtype=np.int64)]),
        syn_type=np.concatenate([net.syn_type, np.full(n_add, AMPA, dtype=np.int64)]),
        weight_class=np.concatenate([cls, np.full(n_add, MEM, dtype=np.int64)]),
        ensemble=ens,
    )
    _check_fan_in(new)
    return new
