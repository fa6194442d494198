"""The chip interface a chip-in-the-loop trainer talks to.

The numba behavioural model (:mod:`homeostasis.chip`) implements it; a backend
for real DYNAP-SE2 hardware could implement it later without touching the
trainer. Units are SI: seconds, amperes; biases are (coarse, fine) DAC codes
(paper eq. 1, :mod:`homeostasis.dac`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

#: Synapse (dendrite) types of the DYNAP-SE2.
SYNAPSE_TYPES = ("AMPA", "NMDA", "GABA_A", "GABA_B")
#: The four weight biases of each core; a connection's weight is one of them (times its mismatch).
WEIGHT_BIASES = ("W0", "W1", "W2", "W3")


@dataclass
class SpikeRecord:
    """Spikes emitted during one run.

    Attributes
    ----------
    neurons : ndarray of int64, shape (n_spikes,)
        Global neuron index (core * 256 + neuron) of each spike.
    times_s : ndarray of float64, shape (n_spikes,)
        Spike times in seconds from the start of the run, non-decreasing, in
        ``(0, duration_s]``: the end of the integration step in which the
        threshold was crossed.
    duration_s : float
        Length of the run (s).
    traces : dict[str, ndarray]
        Optional recorded state traces, name -> array of shape (n_steps, n_recorded).
    """

    neurons: np.ndarray
    times_s: np.ndarray
    duration_s: float
    traces: dict = field(default_factory=dict)


@runtime_checkable
class ChipInterface(Protocol):
    """What the trainer needs from a chip (model or hardware)."""

    def set_bias(self, core: int, name: str, coarse: int, fine: int) -> None:
        """Set the shared bias ``name`` of ``core`` to the DAC code (coarse 0..5, fine 0..255)."""

    def get_bias(self, core: int, name: str) -> tuple[int, int]:
        """The (coarse, fine) code of bias ``name`` of ``core``."""

    def set_connections(self, pre: np.ndarray, post: np.ndarray, synapse_type: np.ndarray,
                        weight_bias: list[str] | np.ndarray) -> None:
        """Replace all recurrent connections.

        ``pre``/``post`` are global neuron indices (int arrays of equal length),
        ``synapse_type`` an index into :data:`SYNAPSE_TYPES`, ``weight_bias``
        the name of the core bias that sets each connection's weight.
        Raises ``ValueError`` naming the neuron if one exceeds 64 inputs.
        """

    def run(self, duration_s: float, *, input_spikes: tuple[np.ndarray, np.ndarray] | None = None,
            dc_a: np.ndarray | None = None, record: tuple[str, ...] = (), input_synapse: str = "AMPA",
            input_weight_bias: str = "W3") -> SpikeRecord:
        """Run for ``duration_s`` from the current state, with optional external spikes and DC.

        ``input_spikes`` are (targets, times_s); they enter through the synapse type
        ``input_synapse`` with the weight of the target core's bias ``input_weight_bias``.
        ``dc_a`` is a DC current (A) per neuron.
        """

    def drain(self) -> None:
        """Reset all neuron and synapse state to rest (residual currents drained)."""
