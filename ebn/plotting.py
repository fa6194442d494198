"""Figures of the EBN experiments (matplotlib Agg, one function per figure, PNG).

Each function takes results (never re-runs a simulation) and a path.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_fig1(res, path: Path) -> None:
    """Paper Fig. 1: columns initial / optimal / learned; rows input vs reconstruction,
    raster, recurrent matrix (weight units).  ``res`` is a :class:`~ebn.training.TrainResult`."""
    cols = [("A: initial", res.initial, res.W_initial), ("B: optimal", res.optimal, res.net.optimal_weights()),
            ("C: learned", res.learned, res.W_learned)]
    fig, axes = plt.subplots(3, 3, figsize=(13, 10), gridspec_kw={"height_ratios": [1, 1, 1.3]})
    dt = res.net.cfg.dt
    Wo = res.net.optimal_weights()
    vmax = float(np.max(np.abs(Wo[~np.eye(Wo.shape[0], dtype=bool)])))
    for j, (title, ev, W) in enumerate(cols):
        ax = axes[0, j]
        t = np.arange(ev.example_x.shape[0]) * dt
        for d in range(ev.example_x.shape[1]):
            ax.plot(t, ev.example_x[:, d], color=f"C{d}", lw=1.0, label=f"x{d + 1}")
            ax.plot(t, ev.example_xhat[:, d], color=f"C{d}", lw=0.7, ls="--", alpha=0.8)
        ax.set_title(f"{title}\nerror {ev.decoding_error:.2f}, {ev.rate_hz:.1f} Hz")
        ax.set_xlabel("time (s)")
        if j == 0:
            ax.set_ylabel("x (solid), readout (dashed)")
        ax = axes[1, j]
        ts, ids = ev.example_spikes
        ax.plot(ts, ids, "|", color="k", ms=4)
        ax.set_ylim(-0.5, res.net.cfg.n_neurons - 0.5)
        ax.set_xlim(0, t[-1])
        ax.set_xlabel("time (s)")
        if j == 0:
            ax.set_ylabel("neuron")
        ax = axes[2, j]
        Wp = np.array(W, dtype=float)
        np.fill_diagonal(Wp, np.nan)
        im = ax.imshow(Wp, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        sub = "" if ev.distance is None else f" (distance {ev.distance:.3f})"
        ax.set_title(f"Omega, weight units{sub}")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_learning_curves(curves: dict, optimal: dict, path: Path) -> None:
    """Distance to Omega*, decoding errors (readout tau_readout and tau_mem) and rate vs
    iteration; the optimal network's values dashed."""
    it = np.asarray(curves["iteration"])
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    axes[0].plot(it, curves["distance"], "o-", ms=3)
    axes[0].set_ylabel("distance to Omega*")
    axes[0].set_yscale("log")
    axes[1].plot(it, curves["decoding_error"], "o-", ms=3, color="C0", label="readout tau_readout")
    axes[1].axhline(optimal["decoding_error"], color="C0", ls="--", label="optimal")
    if "decoding_error_tau_mem" in curves:
        axes[1].plot(it, curves["decoding_error_tau_mem"], "o-", ms=3, color="C1", label="readout tau_mem")
        axes[1].axhline(optimal["decoding_error_tau_mem"], color="C1", ls="--", label="optimal")
    axes[1].set_ylabel("decoding error")
    axes[1].set_yscale("log")
    axes[1].legend()
    axes[2].plot(it, curves["rate_hz"], "o-", ms=3)
    axes[2].axhline(optimal["rate_hz"], color="k", ls="--")
    axes[2].set_ylabel("rate per neuron (Hz)")
    axes[2].set_yscale("log")
    for ax in axes:
        ax.set_xlabel("iteration")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_granularity(sweep: dict, path: Path) -> None:
    """Final distance and decoding error (median and range over seeds) vs omega."""
    om = np.array(sweep["omegas"])
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, key, lab in ((axes[0], "distance", "distance to Omega*"), (axes[1], "decoding_error", "decoding error")):
        def finite(v):
            return v is not None and np.isfinite(v)
        vals = [[r["learned"][key] for r in sweep["runs"] if r["omega"] == o and not r.get("runaway")
                 and finite(r["learned"][key])] for o in om]
        keep = np.array([len(v) > 0 for v in vals])
        if keep.any():
            med = np.array([np.median(v) for v, k in zip(vals, keep) if k])
            lo = np.array([np.min(v) for v, k in zip(vals, keep) if k])
            hi = np.array([np.max(v) for v, k in zip(vals, keep) if k])
            ax.errorbar(om[keep], med, yerr=[med - lo, hi - med], fmt="o-", capsize=3, label="learned")
        away = [(r["omega"], r["learned"][key]) for r in sweep["runs"] if r.get("runaway") and finite(r["learned"][key])]
        if away:
            ax.plot(*zip(*away), "x", color="tab:red", label="ran away (rate at the step bound)")
        if key == "decoding_error":
            opt = [np.median([r["optimal"][key] for r in sweep["runs"] if r["omega"] == o]) for o in om]
            ax.plot(om, opt, "k--", label="optimal (continuous)")
        ax.legend(fontsize=8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("granularity omega (weight units)")
        ax.set_ylabel(lab)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_mismatch(study: dict, path: Path) -> None:
    """Decoding error and rate vs mismatch CV: deployed Omega* vs learned, every chip shown."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    cvs = np.array(study["cvs"]) * 100
    tr = study.get("config", {}).get("tau_readout", 0.01) * 1e3
    tm = study.get("config", {}).get("tau_mem", 0.05) * 1e3
    for ax, key, lab in ((axes[0], "decoding_error", f"decoding error (readout {tr:g} ms)"),
                         (axes[1], "decoding_error_tau_mem", f"decoding error (readout {tm:g} ms)"),
                         (axes[2], "rate_hz", "rate per neuron (Hz)")):
        for which, col, off in (("deployed", "C3", -0.4), ("learned", "C0", 0.4)):
            meds = []
            for cv in study["cvs"]:
                v = [r[which][key] for r in study["runs"] if r["cv"] == cv]
                ax.plot(np.full(len(v), cv * 100 + off), v, ".", color=col, alpha=0.5)
                meds.append(np.median(v))
            ax.plot(cvs, meds, "o-", color=col, label=f"{which} (median)")
        ax.set_xlabel("mismatch CV (%)")
        ax.set_ylabel(lab)
        ax.set_yscale("log")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_bench(bench: dict, path: Path) -> None:
    """Simulated seconds per wall second vs N (training on / off) and the NumPy comparison."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    ns = sorted(int(n) for n in bench["sim_s_per_wall_s"])
    for key, lab in (("sim_s_per_wall_s", "learning off"), ("sim_s_per_wall_s_learning", "learning on")):
        axes[0].plot(ns, [bench[key][str(n)] for n in ns], "o-", label=lab)
    axes[0].axhline(1.0, color="k", ls=":", lw=0.8)
    axes[0].set_xscale("log")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("neurons N")
    axes[0].set_ylabel("simulated s / wall s")
    axes[0].legend()
    nb = bench["numpy_comparison"]
    axes[1].bar(["numpy", "numba"], [nb["numpy_wall_s"], nb["numba_wall_s"]], color=["C3", "C0"])
    axes[1].set_yscale("log")
    axes[1].set_ylabel(f"wall s for {nb['simulated_s']:g} s, N={nb['n_neurons']}, learning on")
    axes[1].set_title(f"speed-up {bench['speedup_vs_numpy']:.0f}x")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
