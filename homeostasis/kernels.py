"""numba kernels of the DYNAP-SE2 behavioural model: DPI neurons and DPI synapses.

Neuron (current-mode DPI adaptive-exponential I&F; the DPI neuron
equation of Chicca et al. 2014, Sec. on the adaptive exponential I&F circuit,
as in teili and Rockpool's DynapSim; Maryada et al. 2025 write no neuron
equation)::

    tau (1 + I_g/I) dI/dt = (I_g/I_tau) (I_in - I_sh - I_tau) + (I_a/I_tau)(I + I_g) - I (1 + I_sh/I_tau)

with ``I`` the membrane current (A), ``tau = C_mem U_T / (kappa I_tau)``,
``I_g`` the gain (threshold) current, ``I_sh = I_ahp + I_gaba_a`` the shunting
currents (adaptation and GABA_A, which act like a larger leak, as the AHP term
of Chicca et al.'s equation), ``I_in = I_ampa + I_nmda g(I) - I_gaba_b + I_dc + I_noise``
(GABA_B subtracts), ``g(I) = I / (I + I_nmda_thr)`` the NMDA voltage gate in
current mode (a Boltzmann gate with slope U_T/kappa in voltage), and the
positive feedback ``I_a = I_a,gain x^2 / (1 + x^2)``, ``x = I / I_a,th``: a
sigmoid in log-current (i.e. in membrane voltage) that grows as a power of
``I`` below the knee ``I_a,th`` and saturates at ``I_a,gain`` (teili and
Rockpool use a logistic function of ``I``; this rational form has the same
fixed-point structure and needs no exponential, so the neuron loop vectorises).

Rewritten, the equation is ``dI/dt = m(I) I (P - Q I)`` with
``m = 1 / (tau (I + I_g))``, ``P = (I_g/I_tau)(I_in - I_sh - I_tau + I_a)`` and
``Q = 1 + (I_sh - I_a)/I_tau``.

**Integration scheme.**  Per step, ``m``, ``P`` and ``Q`` are frozen at the
start of the step and the resulting logistic equation is integrated exactly::

    I(t + dt) = I E / (1 + I Q m dt (E - 1)/r),   r = m P dt,  E = exp(r)

It is evaluated as ``I' = I|P| / (e^{-|r|}|P| + I Q (1 - e^{-|r|}))`` for
``r >= 0`` and ``I' = I e^{-|r|}|P| / (|P| + I Q (1 - e^{-|r|}))`` for ``r < 0``
with one branch-free evaluation of ``1 - e^{-|r|}`` (:func:`_one_minus_exp_neg`; compiled
with LLVM fast-math reassociation and FMA contraction, which change only last-bit rounding;
coefficients, ``1 - e^{-|r|}`` and the step are three vectorised passes over the neurons),
``|r|`` capped at 32 (beyond, the step lands on the fixed point ``P/Q`` to
within e^-32).  This is exact for the deep-subthreshold regime ``I << I_g`` (where ``m`` is
constant and the equation is linear in ``ln I``: a capacitor charged by
``I_in - I_tau``), exact for constant inputs in the no-feedback linear regime
up to the frozen ``m``, unconditionally stable for ``Q >= 0``, and reproduces
the finite-time blow-up (spike upstroke) when feedback dominates (``Q < 0``).
The membrane current never falls below the leakage floor ``I0``.  A spike is
emitted when ``I >= I_spkthr``; the membrane is then held at ``I_reset`` for
the refractory period ``t_ref`` (rounded up to whole steps: each ISI gains up to
one step, which at dt = 0.1 ms moves single-neuron rates by at most 1.4 % over
5-100 Hz against a 2 µs step, and by 3-7 % at 350-480 Hz).

Synapses (DPI, Bartolozzi & Indiveri 2007) in their linear
regime ``I_syn >> I_gain``: between pulses ``tau_s dI_syn/dt = -I_syn`` (exact
exponential decay, ``tau_s = C_syn U_T/(kappa I_tau,s)``); during an input
pulse of width ``t_pw`` carrying weight current ``I_w`` it relaxes towards
``I_gain I_w / I_tau``.  Pulses are much shorter than a step; the pulse of a
presynaptic spike is placed at the end of the step after the spike (one step
of synaptic delay), where the update is exact::

    I_syn(t + dt) = I_syn(t) e^{-dt/tau_s} + (I_gain I_w / I_tau)(1 - e^{-t_pw/tau_s})

(the decay of ``I_syn`` during the pulse is part of the step's decay; pulses
arriving in the same step add, as currents into one DPI).  This linear form is
the one Rockpool's DynapSim uses; the full DPI (teili) scales each jump by
``I_syn / (I_syn + I_gain)`` and decays towards ``-I_gain``, which matters when
``I_syn`` is not much larger than ``I_gain``.  In the trained E/I networks it
often is not (benchmark network: I_AMPA / I_gain at the 10th / 50th / 90th
percentile of time 0.22 / 0.48 / 1.02), so there the model's synapses are
stronger and faster-rising than a transistor-level DPI at small currents.  The adaptation current ``I_ahp`` is a DPI driven by the neuron's own
spikes.  Synaptic and adaptation currents that have decayed below 1e-30 A are
set to 0 (:data:`_I_FLUSH`), which keeps long silences out of the slow
subnormal range.

Noise: an Ornstein-Uhlenbeck input current per neuron (std ``noise_std`` A,
time constant ``noise_tau`` s), updated exactly; the innovations are uniform
with unit variance, from per-neuron xorshift32 generators whose states are
spread from the repetition's explicit seed by splitmix64.

All arrays are float64/int64 and contiguous; the batched kernel runs
independent repetitions with ``prange``.
"""
from __future__ import annotations

import numpy as np

from circuits.numba_target import njit, prange

#: Index of each synapse type in the state arrays (same order as interface.SYNAPSE_TYPES).
AMPA, NMDA, GABA_A, GABA_B = 0, 1, 2, 3
#: Names of the recorded state variables, in the order of the trace array's axis 1.
TRACE_VARS = ("i_mem", "i_ampa", "i_nmda", "i_gaba_a", "i_gaba_b", "i_ahp")

_SQRT3 = np.sqrt(3.0)
#: Synaptic and adaptation currents (A) that decay below this are set to 0.  A current left
#: to decay for seconds would otherwise reach the subnormal range (below 2.2e-308), where
#: every operation on it takes a slow microcode path (a silent network ran 5x slower after
#: ~4 s of silence); 1e-30 A is 17 orders of magnitude below the leakage current I0.
_I_FLUSH = 1e-30
#: LLVM fast-math flags of the membrane step: reassociation, contraction into FMAs and
#: reciprocal multiplication (last-bit rounding only; ~6 % faster).  No ``nnan``/``ninf``:
#: the scheme relies on IEEE infinities and the caller's NaN check.
_FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}


@njit(cache=True, inline="always", fastmath=_FASTMATH)
def _one_minus_exp_neg(a):
    """``1 - exp(-a)`` for ``0 <= a <= 32``, branch-free so the neuron loop vectorises.

    Degree-8 Taylor series at ``y = a/32`` (Estrin form; relative error
    < 3e-6 at y = 1, ~y^8/9! below) followed by five doublings
    ``1 - exp(-2y) = u (2 - u)`` with ``u = 1 - exp(-y)`` (exact identity, relative
    error non-increasing).  No cancellation as ``a -> 0``; ``exp(-a)`` is then
    ``1 - u`` (absolute error ~1e-16, all the step formula needs).
    """
    y = a * (1.0 / 32.0)
    y2 = y * y
    y4 = y2 * y2
    u = y * ((1.0 - y * 0.5) + y2 * (1.0 / 6.0 - y * (1.0 / 24.0))
             + y4 * ((1.0 / 120.0 - y * (1.0 / 720.0)) + y2 * (1.0 / 5040.0 - y * (1.0 / 40320.0))))
    u = u * (2.0 - u)
    u = u * (2.0 - u)
    u = u * (2.0 - u)
    u = u * (2.0 - u)
    u = u * (2.0 - u)
    return u


# rows of the packed per-neuron parameter array
_P_NMDA_THR, _P_INV_ATH, _P_A_GAIN, _P_G_TAU, _P_I_TAU, _P_INV_TAU, _P_DT_TAU, _P_I_G, _P_FLOOR, _P_RESET, \
    _P_SPKTHR, _P_TREF, _P_AHP_DEC, _P_AHP_JUMP = range(14)
_P_SYN_DEC = 14  # rows 14..17: synaptic decay per step, AMPA, NMDA, GABA_A, GABA_B
_P_SYN_GF = 18   # rows 18..21: synaptic jump per unit weight current
_N_P = 22
# rows of the state array
_S_IM, _S_AMPA, _S_NMDA, _S_GABA, _S_GABB, _S_AHP, _S_NZ, _S_REFR, _S_DC = range(9)
# rows of the membrane step's scratch array: 1 - e^{-|r|}, r, P, I Q, spike flag (1.0 / 0.0)
_O_OM, _O_R, _O_P, _O_IQ, _O_FIRE = range(5)
_N_OUT = 5


@njit(cache=True, inline="always", fastmath=_FASTMATH)
def _logistic_coefficients(out, i, im, ish, iin, ia, h, g_tau, i_tau, inv_tau):
    """First pass of the exact logistic step for neuron ``i``: ``r``, ``P`` and ``I Q`` into ``out``."""
    p = g_tau * (iin - ish - i_tau + ia)
    q = 1.0 + (ish - ia) * inv_tau
    out[_O_R, i] = h * p
    out[_O_P, i] = p
    out[_O_IQ, i] = im * q


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH)
def _logistic_finish(P, S, out, m_n):
    """Second and third passes of the exact logistic step, the third with threshold, reset and refractoriness.

    Pass 2 computes ``1 - e^{-|r|}``; pass 3 computes ``I(t + dt)`` and, in
    the same branch-free loop: a neuron that is not refractory and reaches
    ``I_spkthr`` spikes (``S[_S_IM]`` = ``I_reset``, held for ``t_ref`` steps,
    ``out[_O_FIRE]`` = 1); a refractory neuron is held at ``I_reset`` and
    counts one step down; every other neuron takes ``I(t + dt)``.  Returns
    ``(spikes, sum of the spiking neurons' indices, non-refractory neurons whose
    new current is NaN)``: with at most one spike in a step (the usual case) the
    caller needs no scan of the flags.

    Three short passes over the neurons instead of one long loop body: each
    pass's dependency chain is short, so the out-of-order core overlaps many
    neurons (the membrane step alone ~30 % faster than one loop; same arithmetic
    up to last-bit rounding).  Threshold and reset in pass 3 instead of a
    branching loop per neuron make the 200/50 benchmark ~15 % faster, with
    identical spikes.
    """
    for i in range(m_n):
        r = out[_O_R, i]
        ar = r if r >= 0.0 else -r
        ar = ar if ar < 32.0 else 32.0
        out[_O_OM, i] = _one_minus_exp_neg(ar)
    n_fire = 0
    i_sum = 0
    n_nan = 0
    for i in range(m_n):
        om = out[_O_OM, i]
        r = out[_O_R, i]
        p = out[_O_P, i]
        ap = p if p >= 0.0 else -p
        ap = ap if ap > 1e-300 else 1e-300
        z = 1.0 - om
        # r >= 0: I' = I|P| / (z|P| + I Q (1-z));  r < 0: I' = I z |P| / (|P| + I Q (1-z))
        a_ = 1.0 if r >= 0.0 else z
        b_ = z if r >= 0.0 else 1.0
        den = b_ * ap + out[_O_IQ, i] * om
        new = S[_S_IM, i] * a_ * ap / den
        new = new if den > 0.0 else 1e300   # den <= 0: finite-time upstroke within the step
        new = new if p == p else p          # a NaN coefficient (the clamps above would hide it) stays NaN
        floor = P[_P_FLOOR, i]
        # a NaN stays NaN (the caller stops the run there and names step and neuron), never the floor
        new = floor if new <= floor else new
        refr = S[_S_REFR, i]
        free = refr < 0.5
        fire = (new >= P[_P_SPKTHR, i]) & free
        S[_S_IM, i] = new if (free & ~fire) else P[_P_RESET, i]
        S[_S_REFR, i] = P[_P_TREF, i] if fire else (0.0 if free else refr - 1.0)
        out[_O_FIRE, i] = 1.0 if fire else 0.0
        n_fire += fire
        i_sum += i if fire else 0
        n_nan += (not (new == new)) & free
    return n_fire, i_sum, n_nan


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH)
def _membrane_step(P, S, out, m_n):
    """One step of the membrane of all ``m_n`` neurons, threshold, reset and refractoriness included.

    Updates ``S[_S_IM]`` and ``S[_S_REFR]`` in place; ``out`` is a
    ``(_N_OUT, m_n)`` scratch array (the step's coefficients, and the spike
    flags in ``out[_O_FIRE]``).  Returns what :func:`_logistic_finish` returns.

    A separate (not inlined) function so LLVM vectorises the loop on its own
    (SIMD over neurons); see the module docstring for the scheme.
    """
    for i in range(m_n):
        im = S[_S_IM, i]
        ish = S[_S_AHP, i] + S[_S_GABA, i]
        thr = im + P[_P_NMDA_THR, i]
        xa = im * P[_P_INV_ATH, i]
        xa2 = xa * xa
        hill = 1.0 + xa2
        img = im + P[_P_I_G, i]
        inv = 1.0 / (thr * hill * img)      # one division for gate, feedback and m
        gate = im * hill * img * inv        # NMDA gate I/(I + I_nmda_thr)
        ia = P[_P_A_GAIN, i] * xa2 * thr * img * inv   # I_a,gain x^2/(1 + x^2)
        h = P[_P_DT_TAU, i] * thr * hill * inv          # m dt = dt / (tau (I + I_g))
        iin = S[_S_AMPA, i] + S[_S_NMDA, i] * gate - S[_S_GABB, i] + S[_S_DC, i] + S[_S_NZ, i]
        _logistic_coefficients(out, i, im, ish, iin, ia, h, P[_P_G_TAU, i], P[_P_I_TAU, i], P[_P_INV_TAU, i])
    return _logistic_finish(P, S, out, m_n)


@njit(cache=True, error_model="numpy", fastmath=_FASTMATH)
def _membrane_step_ampa_gaba_a(P, S, out, m_n):
    """:func:`_membrane_step` for runs whose NMDA and GABA_B currents are identically zero.

    With ``I_nmda = I_gaba_b = 0`` the NMDA gate and the GABA_B term drop out
    and the shared division loses a factor: the same equation and scheme,
    with fewer loads and operations per neuron (the cross-homeostasis networks
    use only AMPA and GABA_A).
    """
    for i in range(m_n):
        im = S[_S_IM, i]
        ish = S[_S_AHP, i] + S[_S_GABA, i]
        xa = im * P[_P_INV_ATH, i]
        xa2 = xa * xa
        hill = 1.0 + xa2
        img = im + P[_P_I_G, i]
        inv = 1.0 / (hill * img)                 # one division for feedback and m
        ia = P[_P_A_GAIN, i] * xa2 * img * inv    # I_a,gain x^2/(1 + x^2)
        h = P[_P_DT_TAU, i] * hill * inv          # m dt = dt / (tau (I + I_g))
        iin = S[_S_AMPA, i] + S[_S_DC, i] + S[_S_NZ, i]
        _logistic_coefficients(out, i, im, ish, iin, ia, h, P[_P_G_TAU, i], P[_P_I_TAU, i], P[_P_INV_TAU, i])
    return _logistic_finish(P, S, out, m_n)


@njit(cache=True, error_model="numpy")
def _run_one(rep, n_steps, dt,
             tau_mem, i_tau, i_g, i_spkthr, t_ref, i_reset, i_a_gain, i_a_th, i_floor, i_dc,
             syn_decay, syn_gfac, nmda_thr, ahp_decay, ahp_jump,
             ptr, post, stype, wsyn,
             ext_step, ext_target, ext_type, ext_w, ext_lo, ext_hi,
             dc_step, dc_vals,
             noise_std, noise_decay, seed,
             i_mem_s, i_syn_s, i_ahp_s, refr_s, noise_s, pending,
             rec_idx, traces,
             sp_neuron, sp_step, counts, err):
    m_n = i_mem_s.shape[1]
    cap = sp_neuron.shape[1]
    # packed parameters (one base pointer keeps the vectoriser's alias checks few)
    P = np.empty((_N_P, m_n))
    for i in range(m_n):
        P[_P_NMDA_THR, i] = nmda_thr[i]
        P[_P_INV_ATH, i] = 1.0 / i_a_th[i]
        P[_P_A_GAIN, i] = i_a_gain[i]
        P[_P_G_TAU, i] = i_g[i] / i_tau[i]
        P[_P_I_TAU, i] = i_tau[i]
        P[_P_INV_TAU, i] = 1.0 / i_tau[i]
        P[_P_DT_TAU, i] = dt / tau_mem[i]
        P[_P_I_G, i] = i_g[i]
        P[_P_FLOOR, i] = i_floor[i]
        P[_P_RESET, i] = i_reset[i]
        P[_P_SPKTHR, i] = i_spkthr[i]
        P[_P_TREF, i] = t_ref[i]
        P[_P_AHP_DEC, i] = ahp_decay[i]
        P[_P_AHP_JUMP, i] = ahp_jump[i]
        for s in range(4):
            P[_P_SYN_DEC + s, i] = syn_decay[s, i]
            P[_P_SYN_GF + s, i] = syn_gfac[s, i]
    S = np.empty((9, m_n))
    for i in range(m_n):
        S[_S_IM, i] = i_mem_s[rep, i]
        for s in range(4):
            S[_S_AMPA + s, i] = i_syn_s[rep, s, i]
        S[_S_AHP, i] = i_ahp_s[rep, i]
        S[_S_NZ, i] = noise_s[rep, i]
        S[_S_REFR, i] = refr_s[rep, i]
        S[_S_DC, i] = i_dc[i]
    out = np.empty((_N_OUT, m_n))
    acc = np.zeros((4, m_n))
    # which synapse types / adaptation can be non-zero during this run
    use_syn = np.zeros(4, dtype=np.bool_)
    for k in range(stype.shape[0]):
        use_syn[stype[k]] = True
    for k in range(ext_lo, ext_hi):
        use_syn[ext_type[k]] = True
    use_ahp = False
    for i in range(m_n):
        for s in range(4):
            if S[_S_AMPA + s, i] != 0.0:
                use_syn[s] = True
        if S[_S_AHP, i] != 0.0 or P[_P_AHP_JUMP, i] != 0.0:
            use_ahp = True
    plain = not use_syn[NMDA] and not use_syn[GABA_B]
    # xorshift32 state per neuron, spread from the repetition seed with splitmix64
    rs = np.empty(m_n, dtype=np.uint32)
    x64 = np.uint64(seed)
    for i in range(m_n):
        x64 = x64 + np.uint64(0x9E3779B97F4A7C15)
        zz = x64
        zz = (zz ^ (zz >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        zz = (zz ^ (zz >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        zz = zz ^ (zz >> np.uint64(31))
        v = np.uint32(zz & np.uint64(0xFFFFFFFF))
        rs[i] = v if v != 0 else np.uint32(1)
    # uniform innovations of unit variance: sqrt(12) * (u - 1/2)
    amp = noise_std * np.sqrt(1.0 - noise_decay * noise_decay) * 2.0 * _SQRT3
    noise_scale = amp / 4294967296.0
    use_noise = noise_std > 0.0
    spk = np.empty(m_n, dtype=np.int64)
    # spikes of the previous run's last step, still to be delivered
    n_spk = pending.shape[0]
    for s in range(n_spk):
        spk[s] = pending[s]
    n_rec = rec_idx.shape[0]
    ep = ext_lo
    dp = 0
    n_dc = dc_step.shape[0]
    count = 0
    for step in range(n_steps):
        while dp < n_dc and dc_step[dp] <= step:
            for i in range(m_n):
                S[_S_DC, i] = i_dc[i] + dc_vals[dp, i]
            dp += 1
        # deliver last step's spikes through the CAM (connections sorted by pre)
        for s in range(n_spk):
            j = spk[s]
            for k in range(ptr[j], ptr[j + 1]):
                acc[stype[k], post[k]] += wsyn[k]
        while ep < ext_hi and ext_step[ep] == step:
            acc[ext_type[ep], ext_target[ep]] += ext_w[ep]
            ep += 1
        # synapses and adaptation: exact decay plus the pulse jump (types that can never be
        # non-zero in this run are skipped)
        for s in range(4):
            if use_syn[s]:
                for i in range(m_n):
                    i_s = S[_S_AMPA + s, i] * P[_P_SYN_DEC + s, i] + P[_P_SYN_GF + s, i] * acc[s, i]
                    S[_S_AMPA + s, i] = i_s if i_s >= _I_FLUSH else 0.0
                    acc[s, i] = 0.0
        if use_ahp:
            for i in range(m_n):
                i_s = S[_S_AHP, i] * P[_P_AHP_DEC, i]
                S[_S_AHP, i] = i_s if i_s >= _I_FLUSH else 0.0
        if use_noise:
            for i in range(m_n):
                x = rs[i]
                x ^= np.uint32(x << np.uint32(13))
                x ^= np.uint32(x >> np.uint32(17))
                x ^= np.uint32(x << np.uint32(5))
                rs[i] = x
                # the state read as a signed 32-bit integer is uniform on [-2^31, 2^31)
                S[_S_NZ, i] = S[_S_NZ, i] * noise_decay + noise_scale * np.float64(np.int32(x))
        # membrane: exact logistic step with frozen coefficients, threshold, reset, refractory
        # (branch-free, vectorised)
        if plain:
            n_fire, i_sum, n_nan = _membrane_step_ampa_gaba_a(P, S, out, m_n)
        else:
            n_fire, i_sum, n_nan = _membrane_step(P, S, out, m_n)
        # a NaN stops the run (the caller names step and neuron); then the spikes' bookkeeping and
        # adaptation jump
        if n_nan > 0:
            for i in range(m_n):
                if not (S[_S_IM, i] == S[_S_IM, i]):
                    err[rep, 0] = step
                    err[rep, 1] = i
                    counts[rep] = count
                    return
        n_spk = 0
        if n_fire == 1:
            spk[0] = i_sum
            n_spk = 1
        elif n_fire > 1:
            for i in range(m_n):
                if out[_O_FIRE, i] != 0.0:
                    spk[n_spk] = i
                    n_spk += 1
        for s in range(n_spk):
            i = spk[s]
            if count < cap:
                sp_neuron[rep, count] = i
                sp_step[rep, count] = step + 1
            count += 1
            S[_S_AHP, i] += P[_P_AHP_JUMP, i]
        if n_rec > 0:
            for q_ in range(n_rec):
                i = rec_idx[q_]
                traces[rep, step, 0, q_] = S[_S_IM, i]
                traces[rep, step, 1, q_] = S[_S_AMPA, i]
                traces[rep, step, 2, q_] = S[_S_NMDA, i]
                traces[rep, step, 3, q_] = S[_S_GABA, i]
                traces[rep, step, 4, q_] = S[_S_GABB, i]
                traces[rep, step, 5, q_] = S[_S_AHP, i]
    for i in range(m_n):
        ok = True
        for k in range(8):
            ok = ok and abs(S[k, i]) < np.inf
        if not ok:
            err[rep, 0] = n_steps
            err[rep, 1] = i
        i_mem_s[rep, i] = S[_S_IM, i]
        for s in range(4):
            i_syn_s[rep, s, i] = S[_S_AMPA + s, i]
        i_ahp_s[rep, i] = S[_S_AHP, i]
        refr_s[rep, i] = S[_S_REFR, i]
        noise_s[rep, i] = S[_S_NZ, i]
    counts[rep] = count


@njit(cache=True, parallel=True, error_model="numpy")
def run_batch(n_steps, dt,
              tau_mem, i_tau, i_g, i_spkthr, t_ref, i_reset, i_a_gain, i_a_th, i_floor, i_dc,
              syn_decay, syn_gfac, nmda_thr, ahp_decay, ahp_jump,
              ptr, post, stype, wsyn,
              ext_step, ext_target, ext_type, ext_w, ext_off,
              dc_step, dc_vals,
              noise_std, noise_decay, seeds,
              i_mem, i_syn, i_ahp, refr, noise, pending,
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
    ``pending (P,)`` neurons (local indices) that spiked in the last step of the
    previous run, delivered in the first step of this one (a spike is delivered
    in the step after the one in which it is emitted, and spikes are stamped at
    the end of their step, ``(step + 1) dt``: a run of ``n_steps`` stamps its
    spikes in ``(0, n_steps dt]``, and the spikes stamped at its end are the next run's ``pending``);
    ``traces (R, n_steps, 6, n_rec)`` when ``rec_idx`` is non-empty;
    spikes into ``sp_neuron/sp_step (R, cap)`` with the total count per
    repetition in ``counts (R,)`` (a count above ``cap`` means the buffer was
    too small); ``err (R, 2)`` receives (step, neuron) of a non-finite value.
    """
    n_rep = i_mem.shape[0]
    for rep in prange(n_rep):
        _run_one(rep, n_steps, dt,
                 tau_mem, i_tau, i_g, i_spkthr, t_ref, i_reset, i_a_gain, i_a_th, i_floor, i_dc,
                 syn_decay, syn_gfac, nmda_thr, ahp_decay, ahp_jump,
                 ptr, post, stype, wsyn,
                 ext_step, ext_target, ext_type, ext_w, ext_off[rep], ext_off[rep + 1],
                 dc_step, dc_vals,
                 noise_std, noise_decay, seeds[rep],
                 i_mem, i_syn, i_ahp, refr, noise, pending,
                 rec_idx, traces,
                 sp_neuron, sp_step, counts, err)
