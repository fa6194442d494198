"""numba kernels of the DYNAP-SE2 behavioural model: DPI neurons and DPI synapses.

Neuron (current-mode DPI adaptive-exponential I&F; SPEC §4, Chicca et al. 2014,
eq. 5 of the DPI neuron; the same equation as teili's and Rockpool's)::

    tau (1 + I_g/I) dI/dt = (I_g/I_tau) (I_in - I_sh - I_tau) + (I_a/I_tau)(I + I_g) - I (1 + I_sh/I_tau)

with ``I`` the membrane current (A), ``tau = C_mem U_T / (kappa I_tau)``,
``I_g`` the gain (threshold) current, ``I_sh = I_ahp + I_gaba_a`` the shunting
currents (adaptation and GABA_A, which act like a larger leak, as the AHP term
of the SPEC equation), ``I_in = I_ampa + I_nmda g(I) - I_gaba_b + I_dc + I_noise``
(GABA_B subtracts), ``g(I) = I / (I + I_nmda_thr)`` the NMDA voltage gate in
current mode (a Boltzmann gate with slope U_T/kappa in voltage), and the
positive feedback ``I_a = I_a,gain / (1 + exp(-(I - I_a,th)/I_a,norm))``
(sigmoid, as in teili/Rockpool).

Rewritten, the equation is ``dI/dt = m(I) I (P - Q I)`` with
``m = 1 / (tau (I + I_g))``, ``P = (I_g/I_tau)(I_in - I_sh - I_tau + I_a)`` and
``Q = 1 + (I_sh - I_a)/I_tau``.

**Integration scheme.**  Per step, ``m``, ``P`` and ``Q`` are frozen at the
start of the step and the resulting logistic equation is integrated exactly::

    I(t + dt) = I E / (1 + I Q m dt (E - 1)/r),   r = m P dt,  E = exp(r)

(evaluated as ``1 / (exp(-r)/I + Q m dt (1 - exp(-r))/r)`` for ``r > 0``).

This is exact for the deep-subthreshold regime ``I << I_g`` (where ``m`` is
constant and the equation is linear in ``ln I``: a capacitor charged by
``I_in - I_tau``), exact for constant inputs in the no-feedback linear regime
up to the frozen ``m``, unconditionally stable for ``Q >= 0``, and reproduces
the finite-time blow-up (spike upstroke) when feedback dominates (``Q < 0``).
The membrane current never falls below the leakage floor ``I0``.  A spike is
emitted when ``I >= I_spkthr``; the membrane is then held at ``I_reset`` for
the refractory period ``t_ref`` (rounded up to whole steps).

Synapses (DPI, Bartolozzi & Indiveri 2007, eq. 6; SPEC §2) in their linear
regime ``I_syn >> I_gain``: between pulses ``tau_s dI_syn/dt = -I_syn`` (exact
exponential decay, ``tau_s = C_syn U_T/(kappa I_tau,s)``); an input pulse of
width ``t_pw`` carrying weight current ``I_w`` moves ``I_syn`` towards
``I_gain I_w / I_tau`` by the fraction ``1 - exp(-t_pw/tau_s)``.  Pulses are
much shorter than a step, so they are applied at the start of the step after
the presynaptic spike (pulses arriving in the same step add, as currents into
one DPI).  The adaptation current ``I_ahp`` is a DPI driven by the neuron's own
spikes.

Noise: an Ornstein-Uhlenbeck input current per neuron (std ``noise_std`` A,
time constant ``noise_tau`` s), updated exactly; the innovations are uniform
with unit variance from a per-repetition xorshift64* generator seeded
explicitly.

All arrays are float64/int64 and contiguous; the batched kernel runs
independent repetitions with ``prange``.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

#: Index of each synapse type in the state arrays (same order as interface.SYNAPSE_TYPES).
AMPA, NMDA, GABA_A, GABA_B = 0, 1, 2, 3
#: Names of the recorded state variables, in the order of the trace array's axis 1.
TRACE_VARS = ("i_mem", "i_ampa", "i_nmda", "i_gaba_a", "i_gaba_b", "i_ahp")

_SQRT3 = np.sqrt(3.0)


@njit(cache=True, inline="always")
def _xorshift_uniform(state):
    """One xorshift64* step: returns (new_state, u) with u uniform in [0, 1)."""
    x = state[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    state[0] = x
    y = x * np.uint64(2685821657736338717)
    return (y >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def _run_one(rep, n_steps, dt,
             tau_mem, i_tau, i_g, i_spkthr, t_ref, i_reset, i_a_gain, i_a_th, i_a_norm, i_floor, i_dc,
             syn_decay, syn_gfac, nmda_thr, ahp_decay, ahp_jump,
             ptr, post, stype, wsyn,
             ext_step, ext_target, ext_type, ext_w, ext_lo, ext_hi,
             dc_step, dc_vals,
             noise_std, noise_decay, seed,
             i_mem, i_syn, i_ahp, refr, noise,
             rec_idx, traces,
             sp_neuron, sp_step, counts, err):
    m_n = i_mem.shape[1]
    cap = sp_neuron.shape[1]
    acc = np.zeros((4, m_n))
    spk = np.empty(m_n, dtype=np.int64)
    n_spk = 0
    dc = np.zeros(m_n)
    for i in range(m_n):
        dc[i] = i_dc[i]
    rng = np.empty(1, dtype=np.uint64)
    rng[0] = np.uint64(seed) | np.uint64(1)
    noise_in = noise_std * np.sqrt(1.0 - noise_decay * noise_decay) * _SQRT3
    use_noise = noise_std > 0.0
    n_rec = rec_idx.shape[0]
    ep = ext_lo
    dp = 0
    n_dc = dc_step.shape[0]
    count = 0
    for step in range(n_steps):
        # piecewise-constant DC schedule
        while dp < n_dc and dc_step[dp] <= step:
            for i in range(m_n):
                dc[i] = i_dc[i] + dc_vals[dp, i]
            dp += 1
        # deliver spikes of the previous step through the CAM (connection list by pre)
        for s in range(n_spk):
            j = spk[s]
            for k in range(ptr[j], ptr[j + 1]):
                acc[stype[k], post[k]] += wsyn[k]
        # external input pulses of this step
        while ep < ext_hi and ext_step[ep] == step:
            acc[ext_type[ep], ext_target[ep]] += ext_w[ep]
            ep += 1
        n_spk = 0
        for i in range(m_n):
            # synapses: exact decay, then the pulse jump
            for s in range(4):
                a = acc[s, i]
                x = i_syn[rep, s, i] * syn_decay[s, i]
                if a != 0.0:
                    x += syn_gfac[s, i] * a
                    acc[s, i] = 0.0
                i_syn[rep, s, i] = x
            i_ahp[rep, i] *= ahp_decay[i]
            if use_noise:
                u = _xorshift_uniform(rng)
                noise[rep, i] = noise[rep, i] * noise_decay + noise_in * (2.0 * u - 1.0)
            im = i_mem[rep, i]
            if refr[rep, i] > 0.5:
                refr[rep, i] -= 1.0
                i_mem[rep, i] = i_reset[i]
                continue
            ish = i_ahp[rep, i] + i_syn[rep, GABA_A, i]
            iin = (i_syn[rep, AMPA, i] + i_syn[rep, NMDA, i] * im / (im + nmda_thr[i])
                   - i_syn[rep, GABA_B, i] + dc[i] + noise[rep, i])
            ia = i_a_gain[i] / (1.0 + np.exp(-(im - i_a_th[i]) / i_a_norm[i]))
            itau = i_tau[i]
            ig = i_g[i]
            p = ig / itau * (iin - ish - itau + ia)
            q = 1.0 + (ish - ia) / itau
            h = dt / (tau_mem[i] * (im + ig))
            r = h * p
            if r >= 0.0:
                em = np.exp(-r)
                phi = (1.0 - em) / r if r > 1e-8 else 1.0 - 0.5 * r
                den = em / im + q * h * phi
                new = 1.0 / den if den > 0.0 else np.inf  # den <= 0: upstroke within the step
            else:
                e = np.exp(r)
                phi = (e - 1.0) / r if r < -1e-8 else 1.0 + 0.5 * r
                den = 1.0 + im * q * h * phi
                new = im * e / den if den > 0.0 else np.inf
            if new < i_floor[i]:
                new = i_floor[i]
            if new >= i_spkthr[i]:
                spk[n_spk] = i
                n_spk += 1
                if count < cap:
                    sp_neuron[rep, count] = i
                    sp_step[rep, count] = step + 1
                count += 1
                new = i_reset[i]
                refr[rep, i] = t_ref[i]
                i_ahp[rep, i] += ahp_jump[i]
            elif not (new == new):
                err[rep, 0] = step
                err[rep, 1] = i
                counts[rep] = count
                return
            i_mem[rep, i] = new
        if n_rec > 0:
            for q_ in range(n_rec):
                i = rec_idx[q_]
                traces[rep, step, 0, q_] = i_mem[rep, i]
                traces[rep, step, 1, q_] = i_syn[rep, AMPA, i]
                traces[rep, step, 2, q_] = i_syn[rep, NMDA, i]
                traces[rep, step, 3, q_] = i_syn[rep, GABA_A, i]
                traces[rep, step, 4, q_] = i_syn[rep, GABA_B, i]
                traces[rep, step, 5, q_] = i_ahp[rep, i]
    # check the synaptic/noise state once at the end (they are sums of finite terms)
    for i in range(m_n):
        ok = i_ahp[rep, i] == i_ahp[rep, i] and abs(noise[rep, i]) < np.inf
        for s in range(4):
            ok = ok and abs(i_syn[rep, s, i]) < np.inf
        if not ok:
            err[rep, 0] = n_steps
            err[rep, 1] = i
    counts[rep] = count


@njit(cache=True, parallel=True)
def run_batch(n_steps, dt,
              tau_mem, i_tau, i_g, i_spkthr, t_ref, i_reset, i_a_gain, i_a_th, i_a_norm, i_floor, i_dc,
              syn_decay, syn_gfac, nmda_thr, ahp_decay, ahp_jump,
              ptr, post, stype, wsyn,
              ext_step, ext_target, ext_type, ext_w, ext_off,
              dc_step, dc_vals,
              noise_std, noise_decay, seeds,
              i_mem, i_syn, i_ahp, refr, noise,
              rec_idx, traces,
              sp_neuron, sp_step, counts, err):
    """Simulate ``R`` independent repetitions of the same chip for ``n_steps`` steps of ``dt`` s.

    Shapes: neuron parameter arrays ``(M,)`` over the simulated neurons
    (currents in A, ``tau_mem`` in s, ``t_ref`` in steps); ``syn_decay`` /
    ``syn_gfac`` ``(4, M)``; connections in CSR by presynaptic neuron
    (``ptr (M+1,)``, ``post/stype/wsyn (K,)``, weights in A); external pulses
    sorted by step within each repetition, repetition ``r`` owning entries
    ``ext_off[r]:ext_off[r+1]``; DC schedule ``dc_step (D,)``, ``dc_vals (D, M)``
    (A, added to ``i_dc`` from that step on); state ``i_mem (R, M)``,
    ``i_syn (R, 4, M)``, ``i_ahp/refr/noise (R, M)`` updated in place;
    ``traces (R, n_steps, 6, n_rec)`` when ``rec_idx`` is non-empty;
    spikes into ``sp_neuron/sp_step (R, cap)`` with the total count per
    repetition in ``counts (R,)`` (a count above ``cap`` means the buffer was
    too small); ``err (R, 2)`` receives (step, neuron) of a non-finite value.
    """
    n_rep = i_mem.shape[0]
    for rep in prange(n_rep):
        _run_one(rep, n_steps, dt,
                 tau_mem, i_tau, i_g, i_spkthr, t_ref, i_reset, i_a_gain, i_a_th, i_a_norm, i_floor, i_dc,
                 syn_decay, syn_gfac, nmda_thr, ahp_decay, ahp_jump,
                 ptr, post, stype, wsyn,
                 ext_step, ext_target, ext_type, ext_w, ext_off[rep], ext_off[rep + 1],
                 dc_step, dc_vals,
                 noise_std, noise_decay, seeds[rep],
                 i_mem, i_syn, i_ahp, refr, noise,
                 rec_idx, traces,
                 sp_neuron, sp_step, counts, err)
