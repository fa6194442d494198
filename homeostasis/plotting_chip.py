"""Figures of the chip model: Fig. 1c,d (neurons), dt convergence, peer cross-check, benchmark.

One function per figure; each takes the results dict of its experiment (no
simulation here) and writes a PNG (matplotlib, Agg backend).
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

COLORS = {"pyr": "tab:blue", "pv": "tab:red"}
LABELS = {"pyr": "Pyr", "pv": "PV"}


def _save(fig, path) -> Path:
    """Lay out, write as PNG and close (every figure of this module)."""
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_membrane_traces(results: dict, path) -> Path:
    """Fig. 1c: V_mem = (U_T/kappa) ln(I_mem/I0) of two sample neurons per type under four DC levels."""
    types = list(results["traces"])
    fig, axes = plt.subplots(4, 2 * len(types), figsize=(4 * len(types) * 2 / 1.3, 8), sharex=True)
    dt = results["trace_dt_s"]
    for ti, name in enumerate(types):
        for si, sample in enumerate(results["traces"][name]):
            col = 2 * ti + si
            for li, lev in enumerate(reversed(sample["levels"])):
                ax = axes[li, col]
                v = np.asarray(lev["v_mem_v"]) * 1e3
                t = (np.arange(v.size) + 1) * dt
                ax.plot(t, v, color=COLORS.get(name, "k"), lw=0.8)
                for ts in lev["spike_times_s"]:
                    ax.axvline(ts, color="0.6", lw=0.6, zorder=0)
                ax.set_title(f"{LABELS.get(name, name)} #{sample['neuron']}: {lev['dc_a'] * 1e12:.1f} pA", fontsize=8)
                ax.tick_params(labelsize=7)
                if col == 0:
                    ax.set_ylabel("V_mem (mV)", fontsize=8)
            axes[-1, col].set_xlabel("time (s)", fontsize=8)
    fig.suptitle("Membrane under DC injection (top two: spiking, bottom two: subthreshold)", fontsize=10)
    return _save(fig, path)


def plot_fi_curves(results: dict, path) -> Path:
    """Fig. 1d: FI curves, mean +- std and 10-90 % band over the core, inset at low rates."""
    fig, ax = plt.subplots(figsize=(6, 4.5))
    inset = ax.inset_axes([0.08, 0.52, 0.38, 0.42])
    for name, f in results["fi"].items():
        dc = np.asarray(f["dc_a"]) * 1e9
        m = np.asarray(f["rate_mean_hz"])
        lo, hi = np.asarray(f["rate_p10_hz"]), np.asarray(f["rate_p90_hz"])
        for a in (ax, inset):
            a.plot(dc, m, "o-", ms=3, color=COLORS.get(name, "k"), label=LABELS.get(name, name))
            a.fill_between(dc, lo, hi, color=COLORS.get(name, "k"), alpha=0.25, lw=0)
    ax.set_xlabel("DC input (nA)")
    ax.set_ylabel("firing rate (Hz)")
    ax.legend(loc="lower right")
    ax.set_title("FI curves over the core (mean, 10-90 % band)")
    inset.set_xlim(0, 0.45)
    inset.set_ylim(0, 40)
    inset.tick_params(labelsize=7)
    return _save(fig, path)


def plot_dt_convergence(results: dict, path) -> Path:
    """Population rates of the E/I network against the integration step."""
    fig, ax = plt.subplots(figsize=(5, 3.8))
    dts = np.asarray(results["dt_s"]) * 1e3
    for name in ("pyr", "pv"):
        r = np.asarray(results["rates_hz"][name])
        e = np.asarray(results["rates_sem_hz"][name])
        ax.errorbar(dts, r, yerr=e, fmt="o-", color=COLORS[name], label=LABELS[name], capsize=3)
    ax.set_xscale("log")
    ax.set_xticks(dts)
    ax.set_xticklabels([f"{d:g}" for d in dts])
    ax.minorticks_off()
    ax.set_xlabel("dt (ms)")
    ax.set_ylabel("mean rate (Hz)")
    ch = results.get("rel_change_halving_0p1ms", {})
    extra = (f"\nhalving 0.1 ms: Pyr {100 * ch['pyr']:.2f} %, PV {100 * ch['pv']:.2f} %" if ch else "")
    ax.set_title("E/I network rates vs integration step" + extra, fontsize=10)
    ax.legend()
    return _save(fig, path)


def plot_peer_fi(results: dict, path) -> Path:
    """FI curve of one DPI neuron: this model vs the Brian2 implementation of the same equation."""
    fig, ax = plt.subplots(figsize=(5, 3.8))
    dc = np.asarray(results["fi"]["dc_a"]) * 1e12
    ax.plot(dc, results["fi"]["model_hz"], "o-", label="chip model (numba)")
    ax.plot(dc, results["fi"]["peer_hz"], "x--", label="Brian2 (same equations)")
    ax.set_xlabel("DC input (pA)")
    ax.set_ylabel("rate (Hz)")
    ax.set_title("Single DPI neuron FI: model vs peer")
    ax.legend()
    return _save(fig, path)


def plot_peer_synapse(results: dict, path) -> Path:
    """DPI synapse and membrane response to a pulse train: model vs peer."""
    s = results["synapse"]
    t = np.asarray(s["t_s"]) * 1e3
    fig, axes = plt.subplots(2, 1, figsize=(6, 5), sharex=True)
    axes[0].plot(t, np.asarray(s["model_i_syn_a"]) * 1e12, label="chip model")
    axes[0].plot(t, np.asarray(s["peer_i_syn_a"]) * 1e12, "--", label="Brian2")
    axes[0].set_ylabel("I_AMPA (pA)")
    axes[0].legend()
    axes[1].plot(t, np.asarray(s["model_i_mem_a"]) * 1e12, label="chip model")
    axes[1].plot(t, np.asarray(s["peer_i_mem_a"]) * 1e12, "--", label="Brian2")
    axes[1].set_ylabel("I_mem (pA)")
    axes[1].set_xlabel("time (ms)")
    return _save(fig, path)
