"""Figures of the cross-homeostatic training experiments (Maryada et al. 2025, Figs. 2-6, Table 1).

One function per figure; each takes results (arrays / dicts), never runs a
simulation, and writes one PNG (matplotlib, Agg backend).
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import NullFormatter  # noqa: E402
import numpy as np  # noqa: E402

from .rule import WEIGHTS  # noqa: E402

E_COLOR, I_COLOR = "tab:red", "tab:blue"
W_COLORS = {"ee": "tab:red", "ie": "tab:orange", "ei": "tab:blue", "ii": "tab:purple", "mem": "tab:green"}


def _save(fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _rate_axis(ax):
    """Rates span 0..~800 Hz during training: symmetric-log axis, linear below 10 Hz, from 0."""
    ax.set_yscale("symlog", linthresh=10, linscale=0.6)
    ax.set_ylim(bottom=0)


def _targets(ax, tgt):
    ax.axhline(tgt["pyr"], color="0.5", ls="--", lw=1)
    ax.axhline(tgt["pv"], color="0.5", ls="--", lw=1)


def plot_training(arrays: dict, targets_hz: dict, path) -> Path:
    """Fig. 2a,b: Pyr/PV rates and the four nominal weight currents (eq. 1) vs iteration."""
    r = arrays["rates_hz"][:, 0]
    cur = arrays["currents_a"]
    fig, (a, b) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    it = np.arange(r.shape[0])
    a.plot(it, r[:, 0], color=E_COLOR, label="Pyr (E)")
    a.plot(it, r[:, 1], color=I_COLOR, label="PV (I)")
    _targets(a, targets_hz)
    a.set_ylabel("in-burst rate (Hz)")
    _rate_axis(a)
    a.legend(loc="upper right")
    a.set_title("a  rates during training")
    for k, w in enumerate(WEIGHTS):
        b.plot(np.arange(cur.shape[0]), cur[:, k] * 1e9, color=W_COLORS[w], label=f"w_{w}")
    b.set_yscale("log")
    b.set_ylabel("weight current (nA)")
    b.set_xlabel("iteration")
    b.legend(loc="upper right", ncol=4)
    b.set_title("b  weights (nominal, eq. 1)")
    return _save(fig, path)


def plot_raster(neurons, times_s, exc, inh, path) -> Path:
    """Fig. 2c: raster of one trial (Pyr red below, PV blue above)."""
    neurons, times_s = np.asarray(neurons), np.asarray(times_s)
    row = np.full(int(max(neurons.max(initial=0), exc.max(initial=0), inh.max(initial=0))) + 1, -1)
    row[exc] = np.arange(exc.size)
    row[inh] = exc.size + np.arange(inh.size)
    fig, ax = plt.subplots(figsize=(7, 4))
    ke = np.isin(neurons, exc)
    ki = np.isin(neurons, inh)
    ax.scatter(times_s[ke], row[neurons[ke]], s=1, color=E_COLOR, label="Pyr")
    ax.scatter(times_s[ki], row[neurons[ki]], s=1, color=I_COLOR, label="PV")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("neuron")
    ax.set_ylim(-1, exc.size + inh.size)
    ax.set_title("c  converged network (last trial)")
    return _save(fig, path)


def plot_rate_space(init_rates, final_rates, chip_ids, targets_hz, path) -> Path:
    """Fig. 2d: initial (open) and final (filled) (E, I) rates of every run, per chip."""
    fig, ax = plt.subplots(figsize=(5.5, 5))
    cmap = plt.get_cmap("tab10")
    for j, c in enumerate(np.unique(chip_ids)):
        k = chip_ids == c
        ax.scatter(init_rates[k, 0], init_rates[k, 1], facecolor="none", edgecolor=cmap(j), s=18)
        ax.scatter(final_rates[k, 0], final_rates[k, 1], color=cmap(j), s=18, label=f"chip {c}")
        for a, b in zip(init_rates[k], final_rates[k]):
            ax.plot([a[0], b[0]], [a[1], b[1]], color=cmap(j), lw=0.3, alpha=0.5)
    ax.axvline(targets_hz["pyr"], color="0.5", ls="--")
    ax.axhline(targets_hz["pv"], color="0.5", ls="--")
    ax.set_xscale("symlog", linthresh=10, linscale=0.6)
    ax.set_xlim(left=0)
    _rate_axis(ax)
    ax.set_xlabel("E rate (Hz)")
    ax.set_ylabel("I rate (Hz)")
    ax.legend()
    ax.set_title("d  initial (open) and final (filled) rates")
    return _save(fig, path)


def plot_weight_scatter(currents, chip_ids, path, converged=None, sustained=None) -> Path:
    """Fig. 2e: final w_ee vs w_ei and w_ie vs w_ii (nA), one colour per chip.

    ``converged`` (bool, per run): runs that did not converge are drawn as
    crosses; the correlations in ``metrics.json`` use the converged ones.
    ``sustained`` (bool, per run): converged runs whose activity does not
    outlive the kick are drawn hollow, so where on the line of solutions the
    decaying echoes lie can be seen.
    """
    fig, axs = plt.subplots(1, 2, figsize=(9, 4))
    cmap = plt.get_cmap("tab10")
    conv = np.ones(len(chip_ids), dtype=bool) if converged is None else np.asarray(converged, dtype=bool)
    sus = conv.copy() if sustained is None else np.asarray(sustained, dtype=bool) & conv
    groups = (("self-sustained" if sustained is not None else "", sus, {"s": 14}),
              ("converged, not self-sustained", conv & ~sus, {"s": 18, "facecolors": "none"}),
              ("not converged", ~conv, {"s": 30, "marker": "x"}))
    for j, c in enumerate(np.unique(chip_ids)):
        for name, sel, style in groups:
            k = (chip_ids == c) & sel
            if not k.any():
                continue
            label = f"chip {c}, {name}" if name else f"chip {c}"
            col = {"edgecolors": cmap(j)} if style.get("facecolors") == "none" else {"color": cmap(j)}
            axs[0].scatter(currents[k, 0] * 1e9, currents[k, 2] * 1e9, label=label, **col, **style)
            axs[1].scatter(currents[k, 1] * 1e9, currents[k, 3] * 1e9, **col, **style)
    for ax, (x, y) in zip(axs, (("w_ee", "w_ei"), ("w_ie", "w_ii"))):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels of a short decade overlap
        ax.set_xlabel(f"{x} (nA)")
        ax.set_ylabel(f"{y} (nA)")
    axs[0].legend(fontsize=7)
    fig.suptitle("e  final weights")
    return _save(fig, path)


def plot_regime(corr: dict, cv2: dict, path, cv2_rate: dict | None = None) -> Path:
    """Fig. 2f: distributions of pairwise correlations and CV^2 for Pyr and PV.

    With ``cv2_rate`` ({pop: rates (Hz) of the neurons behind ``cv2[pop]``}), a
    third panel plots each neuron's CV^2 against its rate (Poisson: 1).
    """
    n_ax = 3 if cv2_rate else 2
    fig, axs = plt.subplots(1, n_ax, figsize=(4.5 * n_ax, 3.8))
    for key, col in (("pyr", E_COLOR), ("pv", I_COLOR)):
        for ax, d in ((axs[0], corr), (axs[1], cv2)):
            v = np.asarray(d[key], dtype=float)
            v = v[np.isfinite(v)]
            if v.size:
                ax.hist(v, bins=30, color=col, alpha=0.5, label=f"{key} mean {v.mean():.3f}")
                ax.axvline(v.mean(), color=col)
        if cv2_rate:
            r, c = np.asarray(cv2_rate[key], dtype=float), np.asarray(cv2[key], dtype=float)
            if r.size:
                axs[2].scatter(r, c, s=3, color=col, alpha=0.3, label=key, rasterized=True)
    axs[0].set_xlabel("pairwise correlation (5 ms bins)")
    axs[1].set_xlabel("CV$^2$ of ISI")
    for ax in axs[:2]:
        ax.legend()
        ax.set_ylabel("count")
    if cv2_rate:
        axs[2].axhline(1.0, color="0.5", ls="--", lw=1, label="Poisson")
        axs[2].set_xscale("log")
        axs[2].set_xlabel("neuron rate (Hz)")
        axs[2].set_ylabel("CV$^2$ of ISI")
        axs[2].legend()
    fig.suptitle("f  firing regime of converged networks")
    return _save(fig, path)


def plot_paradoxical(bins, psth, stim, path) -> Path:
    """Fig. 3b: mean +- sd population rate across trials; stimulus window shaded."""
    fig, ax = plt.subplots(figsize=(7, 4))
    centers = 0.5 * (bins[1:] + bins[:-1])
    if psth.size:
        for j, (lab, col) in enumerate((("Pyr", E_COLOR), ("PV", I_COLOR))):
            m, s = psth[:, j].mean(axis=0), psth[:, j].std(axis=0)
            ax.plot(centers, m, color=col, label=lab)
            ax.fill_between(centers, m - s, m + s, color=col, alpha=0.2)
    ax.axvspan(*stim, color="0.85", label="PV stimulus", zorder=0)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("rate (Hz)")
    ax.set_title(f"paradoxical effect (n = {psth.shape[0]} trials)")
    ax.legend()
    return _save(fig, path)


def plot_no_inhibitory(rates: dict, targets_hz: dict, path) -> Path:
    """Fig. 4: rates vs iteration with frozen inhibitory weights vs the full rule."""
    fig, axs = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, key in zip(axs, ("no_inhibitory", "full")):
        r = rates[key]
        for run in r:
            ax.plot(run[:, 0], color=E_COLOR, lw=0.6, alpha=0.7)
            ax.plot(run[:, 1], color=I_COLOR, lw=0.6, alpha=0.7)
        _targets(ax, targets_hz)
        _rate_axis(ax)
        ax.set_xlabel("iteration")
        ax.set_title({"no_inhibitory": "w_ei, w_ii frozen", "full": "full rule"}[key] + f" (n = {r.shape[0]})")
    axs[0].set_ylabel("rate (Hz)")
    return _save(fig, path)


def plot_ensemble(arrays: dict, targets_hz: dict, at: int, path, last_rates_hz: dict | None = None) -> Path:
    """Fig. 5b,d: rates and weights (incl. the ensemble weight) around the implant; on the right,
    the last trial's raster with the ensemble's Pyr on top (its selectivity after training), titled
    with ``last_rates_hz`` ({"ensemble": Hz, "other_pyr": Hz}) when given."""
    r = arrays["rates_hz"][:, 0]
    cur = arrays["currents_a"]
    ens = np.asarray(arrays.get("ensemble", np.zeros(0, np.int64)))
    fig = plt.figure(figsize=(11, 6) if ens.size else (7, 6))
    gs = fig.add_gridspec(2, 2 if ens.size else 1, width_ratios=(2, 1) if ens.size else None)
    a = fig.add_subplot(gs[0, 0])
    b = fig.add_subplot(gs[1, 0], sharex=a)
    if ens.size:
        _ensemble_raster(fig.add_subplot(gs[:, 1]), arrays, ens, last_rates_hz)
    a.plot(r[:, 0], color=E_COLOR, label="Pyr")
    a.plot(r[:, 1], color=I_COLOR, label="PV")
    _targets(a, targets_hz)
    a.axvline(at, color="k", ls=":", label="ensemble implanted")
    _rate_axis(a)
    a.set_ylabel("rate (Hz)")
    a.legend()
    for k, w in enumerate((*WEIGHTS, "mem")):
        v = cur[:, k]
        it = np.arange(v.size)
        keep = v > 0
        b.plot(it[keep], v[keep] * 1e9, color=W_COLORS[w], label=f"w_{w}", ls=":" if w == "mem" else "-")
    b.axvline(at, color="k", ls=":")
    b.set_yscale("log")
    b.set_ylabel("weight current (nA)")
    b.set_xlabel("iteration")
    b.legend(ncol=5)
    return _save(fig, path)


def _ensemble_raster(ax, arrays: dict, ens: np.ndarray, last_rates_hz: dict | None) -> None:
    """Raster of the last trial: ensemble Pyr (top rows, green), the other Pyr, PV; their rates in the title."""
    n, t = np.asarray(arrays["last_neurons"]), np.asarray(arrays["last_times_s"])
    exc, inh = np.asarray(arrays["exc"]), np.asarray(arrays["inh"])
    rest = np.setdiff1d(exc, ens)
    order = np.concatenate([inh, rest, ens])       # PV at the bottom, the ensemble on top
    row = np.full(int(max(order.max(), n.max(initial=0))) + 1, -1)
    row[order] = np.arange(order.size)
    for pop, color, label in ((inh, I_COLOR, "PV"), (rest, E_COLOR, "Pyr"), (ens, W_COLORS["mem"], "ensemble")):
        k = np.isin(n, pop)
        ax.scatter(t[k], row[n[k]], s=1, color=color, label=label)
    if last_rates_hz:
        ax.set_title(f"last trial: ensemble {last_rates_hz['ensemble']:.1f} Hz, "
                     f"other Pyr {last_rates_hz['other_pyr']:.1f} Hz", fontsize=10)
    else:
        ax.set_title("last trial", fontsize=10)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("neuron (PV, Pyr, ensemble)")
    ax.set_ylim(-1, order.size)
    ax.legend(loc="upper right", markerscale=6, fontsize=8)


def plot_sizes(curves: dict, targets: dict, path) -> Path:
    """Table 1: rates vs iteration for each network size."""
    fig, axs = plt.subplots(1, len(curves), figsize=(4 * len(curves), 3.6), sharey=True)
    axs = np.atleast_1d(axs)
    for ax, (key, r) in zip(axs, curves.items()):
        for run in r:
            ax.plot(run[:, 0], color=E_COLOR, lw=0.6)
            ax.plot(run[:, 1], color=I_COLOR, lw=0.6)
        ax.axhline(targets[key][0], color="0.5", ls="--")
        ax.axhline(targets[key][1], color="0.5", ls="--")
        ax.set_title(key)
        _rate_axis(ax)
        ax.set_xlabel("iteration")
    axs[0].set_ylabel("rate (Hz)")
    return _save(fig, path)


def plot_clusters(rates, targets_hz: dict, path) -> Path:
    """Fig. 6b: Pyr and PV rates of every cluster vs iteration."""
    fig, axs = plt.subplots(2, 1, figsize=(7, 5.5), sharex=True)
    cmap = plt.get_cmap("tab10")
    for c in range(rates.shape[1]):
        axs[0].plot(rates[:, c, 0], color=cmap(c), lw=0.8, label=f"cluster {c}")
        axs[1].plot(rates[:, c, 1], color=cmap(c), lw=0.8)
    axs[0].axhline(targets_hz["pyr"], color="0.5", ls="--")
    axs[1].axhline(targets_hz["pv"], color="0.5", ls="--")
    axs[0].set_ylabel("Pyr rate (Hz)")
    axs[1].set_ylabel("PV rate (Hz)")
    axs[1].set_xlabel("iteration")
    for ax in axs:
        _rate_axis(ax)
    axs[0].legend(ncol=5, fontsize=7)
    return _save(fig, path)
