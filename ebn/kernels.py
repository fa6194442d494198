"""numba kernels of the Efficient Balanced Network and the discrete learning rule.

Everything here is a pure function of contiguous float64 / int64 arrays
(DESIGN.md: numba kernels on arrays, no Python objects inside).  The Python
side (:mod:`ebn.network`) builds the arrays from a validated config.

Model (Boerlin et al. 2013; Büchel et al. 2021, eq. 1)
-------------------------------------------------------
Membrane of neuron ``n`` (normalised volts, threshold ``T_n``)::

    dV_n/dt = -(V_n - V_rest) / tau_m,n + sum_d F[n, d] c_d(t) + I_f,n(t)
    dI_f,n/dt = -I_f,n / tau_s  + sum_k (u m[n,k] W[n,k] / tau_s) o_k(t)     (n != k)

``W`` is the recurrent matrix in *weight units* (the learning grid), ``u`` the
volts per weight unit and ``m`` the (mismatch) efficacy factors, so a spike of
``k`` moves ``V_n`` by ``u m[n,k] W[n,k]`` in total (the fast synapse of time
constant ``tau_s`` delivers it; ``tau_s = 0`` delivers it at once).  The
diagonal ``W[k,k]`` is the reset and is applied instantaneously to the spiking
neuron.  The filtered spike trains for the readout follow
``dr_k/dt = -r_k / tau_r + o_k(t)``.

Integration (per step ``dt``): exponential Euler for the leak with the input
held over the step, exact integration of the synaptic current,

    V <- V_rest + (V - V_rest) a_m + tau_m (1 - a_m) F c(t) + tau_s (1 - a_s) I_f,
    I_f <- a_s I_f

A synaptic current or readout trace that has decayed below ``FLUSH`` (1e-30)
in magnitude is set to 0: left alone, the trace of a neuron silent for ~7 s
reaches the subnormal range, where each operation takes a slow microcode path
(an N = 500 network ran 2.7x slower after 16 s).

Simultaneous threshold crossings: after the integration step every neuron
with ``V_n > T_n`` is a candidate; they spike one at a time, most
supra-threshold first (largest ``V_n - T_n``), each spike's instantaneous
effects (its own reset and, for ``tau_s = 0``, its recurrent kicks) are applied
before the next candidate is re-examined; no neuron spikes twice in one step
and at most ``max_spikes`` spikes are emitted per step (1 by default, the
one-spike-per-step scheme of Boerlin et al.'s code, where the neurons left
above threshold wait for the next step; ``N`` with ``max_spikes_per_step=None``).  With the 1 ms synapse
the recurrent kicks of a spike start on the next step, so within a step the
order decides which spike the rule sees first.

Discrete learning rule (Büchel et al. 2021, eq. 3), applied on every spike of
``k`` for every postsynaptic neuron ``n``, with ``V_before`` the membrane
potential before ``k``'s spike has any effect on ``n``::

    W[n,k] += omega  if 2 V_before,n + g u m[n,k] W[n,k] < -g u m[n,k] omega / 2 + 2 V_rest
    W[n,k] -= omega  if 2 V_before,n + g u m[n,k] W[n,k] >  g u m[n,k] omega / 2 + 2 V_rest

i.e. eq. 3 with ``Omega_nk`` and ``omega`` expressed as the voltage steps the
synapse actually produces on that chip (``u m[n,k]`` per weight unit), seen by
the rule's comparator with gain ``g`` (the ratio of the mirror that copies the
weighted current into the comparator, ``I_Omega / 2`` in paper Fig. 4; see
:class:`ebn.config.EBNConfig`).  The diagonal ``W[k,k]`` is the reset: when
``learn_reset`` it follows the same rule with ``V_before = V_k`` at the
threshold crossing and gain 1 (the reset is the neuron's own step, not a copied
synaptic current), so its fixed point is ``u m W[k,k] = -2 (T_k - V_rest)``, the
optimal reset ``-(|D_k|^2 + mu)`` of a nominal neuron, and it follows a
mismatched threshold.  A change acts from the next spike of ``k`` on.
"""
from __future__ import annotations

import numpy as np

from circuits.numba_target import njit

#: Decaying states (fast synaptic current, readout trace) below this magnitude are set to 0.
FLUSH = 1e-30
#: Status codes returned by :func:`run_network`.
STATUS_OK = 0
STATUS_NONFINITE = 1


@njit(cache=True)
def discrete_rule(v_before, omega_nk_v, omega_v, v_rest):
    """Weight change (+1, 0 or -1 grid steps) of Büchel et al. 2021, eq. 3.

    Parameters (all in volts, scalars)
    ----------
    v_before : membrane potential of the postsynaptic neuron before the spike arrives
    omega_nk_v : the weight expressed as the voltage step it causes
    omega_v : one grid step expressed as a voltage step (> 0)
    v_rest : resting potential

    Returns ``+1`` if ``2 v_before + Omega < -omega/2 + 2 v_rest`` (INC),
    ``-1`` if ``2 v_before + Omega > omega/2 + 2 v_rest`` (DEC), ``0`` otherwise
    (both boundaries are inside the stop-learning band).
    """
    a = 2.0 * v_before + omega_nk_v
    if a < -0.5 * omega_v + 2.0 * v_rest:
        return 1
    if a > 0.5 * omega_v + 2.0 * v_rest:
        return -1
    return 0


@njit(cache=True)
def run_network(c, F, W, eff, u, omega, gain, learn_reset, thresh, alpha_m, gain_m, v_rest, tau_s, alpha_s,
                alpha_r, max_spikes, v, i_f, r, learn, record, r_rec, spk_step, spk_idx,
                counts, n_updates):
    """Simulate ``T = c.shape[0]`` steps of the EBN; optionally learn in place.

    Parameters
    ----------
    c : (T, Nx) float64
        Feed-forward command signal per step (V/s after ``F``).
    F : (N, Nx) float64
        Feed-forward weights including their mismatch.
    W : (N, N) float64
        Recurrent weights in weight units; updated in place when ``learn``.
    eff : (N, N) float64
        Efficacy factor of each synapse (mismatch; 1 for a nominal chip).
    u : float
        Volts per weight unit.
    gain : float
        Comparator gain of the rule for synapses (n != k).
    learn_reset : bool
        Apply the rule (gain 1) to the diagonal (the reset) as well.
    omega : float
        Grid step of the rule in weight units.
    thresh, alpha_m, gain_m : (N,) float64
        Thresholds (V), membrane decay factors ``exp(-dt / tau_m,n)`` and input
        gains ``tau_m,n (1 - alpha_m)`` (s; exact for input constant over a step).
    v_rest, tau_s, alpha_s, alpha_r : float
        Rest potential (V), fast synaptic time constant (s, 0 = instantaneous),
        its decay factor ``exp(-dt / tau_s)``, readout decay ``exp(-dt / tau_r)``.
    v, i_f, r : (N,) float64
        State (membrane, fast synaptic current, readout trace); updated in place.
    learn, record : bool
        Apply the rule; record ``r`` per step into ``r_rec`` and spikes into
        ``spk_step`` / ``spk_idx`` (capacity ``len(spk_step)``).
    r_rec : (T, N) or (0, N) float64
    spk_step, spk_idx : (capacity,) int64
    counts : (N,) int64, spike counts, incremented in place.
    n_updates : (1,) int64, number of weight changes, incremented in place.

    Returns
    -------
    (status, step, neuron, n_recorded) : status 0 ok, 1 non-finite membrane
    potential at (step, neuron); ``n_recorded`` spikes written to the buffers.
    """
    T = c.shape[0]
    N = W.shape[0]
    nx = c.shape[1]
    cap = spk_step.shape[0]
    n_rec = 0
    spiked = np.zeros(N, dtype=np.bool_)
    inst = tau_s <= 0.0
    syn_gain = tau_s * (1.0 - alpha_s)
    for t in range(T):
        # --- integrate one step (and note whether any neuron is above threshold)
        any_above = False
        for n in range(N):
            drive = 0.0
            for d in range(nx):
                drive += F[n, d] * c[t, d]
            vn = v_rest + (v[n] - v_rest) * alpha_m[n] + gain_m[n] * drive
            if not inst:
                vn += syn_gain * i_f[n]
                fn = i_f[n] * alpha_s
                i_f[n] = fn if abs(fn) >= FLUSH else 0.0
            if not np.isfinite(vn):
                return STATUS_NONFINITE, t, n, n_rec
            v[n] = vn
            rn = r[n] * alpha_r
            r[n] = rn if rn >= FLUSH else 0.0
            spiked[n] = False
            if vn > thresh[n]:
                any_above = True
        # --- resolve threshold crossings in order (most supra-threshold first)
        n_spk = 0
        while any_above and n_spk < max_spikes:
            k = -1
            best = 0.0
            for n in range(N):
                if not spiked[n]:
                    m = v[n] - thresh[n]
                    if m > best:
                        best = m
                        k = n
            if k < 0:
                break
            spiked[k] = True
            n_spk += 1
            counts[k] += 1
            r[k] += 1.0
            if record and n_rec < cap:
                spk_step[n_rec] = t
                spk_idx[n_rec] = k
                n_rec += 1
            for n in range(N):
                g = u * eff[n, k]
                kick = g * W[n, k]
                # the rule sees V_before = v[n]: no effect of k's spike yet
                if learn and (n != k or learn_reset):
                    gn = gain if n != k else 1.0
                    s = discrete_rule(v[n], gn * kick, gn * g * omega, v_rest)
                    if s != 0:
                        W[n, k] += s * omega
                        n_updates[0] += 1
                # this spike is delivered with the weight it met; a change
                # acts from the next spike of k on
                if n == k:
                    v[k] += kick
                elif inst:
                    v[n] += kick
                else:
                    i_f[n] += kick / tau_s
        if record and r_rec.shape[0] > 0:
            for n in range(N):
                r_rec[t, n] = r[n]
    return STATUS_OK, T, -1, n_rec
