"""Figures of the plastic-synapse experiments, in the style of Büchel et al. 2021, Figs. 5 and 6.

One function per figure; each takes finished results (never re-runs a
simulation) and writes a PNG with the Agg backend.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .plastic_model import DEC, INC  # noqa: E402

_PHASE_COLOURS = {INC: "#f4b6b6", DEC: "#b6c8f4", 0: "#e6e6e6"}


def _shade(ax, trace, t_end):
    """Background shaded by the phase of each pulse period (INC red, DEC blue, SL grey)."""
    starts = trace.pulse_t
    ends = np.append(starts[1:], t_end)
    for a, b, p in zip(starts, ends, trace.phase):
        ax.axvspan(a * 1e3, b * 1e3, color=_PHASE_COLOURS[int(p)], lw=0, alpha=0.6)


def plot_experiment(spice, model, metrics: dict, path: str | Path, title: str = "") -> Path:
    """I_mem (SPICE and model) with I_lower/I_upper/I_rest, the weight staircase, and a zoom panel.

    ``spice`` / ``model``: :class:`circuits.plastic.Trace` (``spice`` may be None);
    ``metrics``: the experiment's metrics dict (bands from its "spice" or "model" entry).
    """
    path = Path(path)
    ref = spice if spice is not None else model
    band = metrics["spice"] if spice is not None else metrics["model"]
    t_end = float(ref.t[-1])
    fig = plt.figure(figsize=(12, 8))
    gs = fig.add_gridspec(2, 2, width_ratios=[3, 1.3], height_ratios=[2, 1.2])
    ax_i = fig.add_subplot(gs[0, 0])
    ax_w = fig.add_subplot(gs[1, 0], sharex=ax_i)
    ax_z = fig.add_subplot(gs[:, 1])
    for ax in (ax_i, ax_w):
        _shade(ax, ref, t_end)
    if spice is not None:
        ax_i.plot(spice.t * 1e3, spice.i_mem * 1e9, color="tab:blue", lw=1.0, label="I_mem SPICE")
    ax_i.plot(model.t * 1e3, model.i_mem * 1e9, color="k", lw=1.0, ls="--", label="I_mem model")
    ax_i.axhline(band["i_upper_a"] * 1e9, color="tab:red", lw=0.8, ls=":", label="I_upper")
    ax_i.axhline(band["i_lower_a"] * 1e9, color="tab:green", lw=0.8, ls=":", label="I_lower")
    ax_i.axhline(metrics.get("i_rest_a", 9e-9) * 1e9, color="0.3", lw=0.8, label="I_rest")
    ax_i.set_ylabel("I_mem (nA)")
    ax_i.legend(loc="lower right", fontsize=8, ncol=2)
    ax_i.set_title(title or f"Experiment {metrics.get('experiment', '')}")
    if spice is not None:
        ax_w.step(spice.t * 1e3, spice.weight, where="post", color="tab:red", lw=1.2, label="weight SPICE")
    ax_w.step(model.t * 1e3, model.weight, where="post", color="k", lw=1.0, ls="--", label="weight model")
    ax_w.set_ylabel("weight (LSB)")
    ax_w.set_xlabel("time (ms)")
    ax_w.axhline(0, color="0.5", lw=0.5)
    ax_w.legend(loc="best", fontsize=8)
    # zoom around the first crossing of I_rest
    k = np.nonzero(ref.i_mem > metrics.get("i_rest_a", 9e-9))[0]
    tc = float(ref.t[k[0]]) if k.size else 0.25 * t_end
    lo, hi = max(0.0, tc - 0.02), min(t_end, tc + 0.03)
    _shade(ax_z, ref, t_end)
    for tr, st, c in ((spice, "-", "tab:blue"), (model, "--", "k")):
        if tr is None:
            continue
        sel = (tr.t >= lo) & (tr.t <= hi)
        ax_z.plot(tr.t[sel] * 1e3, tr.i_mem[sel] * 1e9, st, color=c, lw=1.0)
        ax_z.plot(tr.pulse_t[(tr.pulse_t >= lo) & (tr.pulse_t <= hi)] * 1e3,
                  tr.i_before[(tr.pulse_t >= lo) & (tr.pulse_t <= hi)] * 1e9, "o", ms=3, color=c,
                  mfc="none")
    ax_z.axhline(band["i_upper_a"] * 1e9, color="tab:red", lw=0.8, ls=":")
    ax_z.axhline(band["i_lower_a"] * 1e9, color="tab:green", lw=0.8, ls=":")
    ax_z.set_xlim(lo * 1e3, hi * 1e3)
    ax_z.set_title("zoom: first crossing of I_rest\n(circles: I_before at pulse onset)", fontsize=9)
    ax_z.set_xlabel("time (ms)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_monte_carlo(mc: dict, path: str | Path) -> Path:
    """Histogram of final weights: SPICE instances (tt_mm) vs the behavioural model's virtual chips."""
    path = Path(path)
    fig, ax = plt.subplots(figsize=(7, 4))
    mw = np.asarray(mc["model_final_weights"], float)
    done = [m for m in mc.get("spice_instances", []) if not m.get("timed_out")]
    lo = int(min(mw.min(), min((m["final_weight"] for m in done), default=mw.min())))
    hi = int(max(mw.max(), max((m["final_weight"] for m in done), default=mw.max())))
    bins = np.arange(lo - 0.5, hi + 1.5)
    ax.hist(mw, bins=bins, density=True, alpha=0.5, color="0.4", label=f"model ({len(mw)} chips)")
    if done:
        sw = [m["final_weight"] for m in done]
        late = mc.get("timed_out", 0)
        ax.hist(sw, bins=bins, density=True, histtype="step", lw=2, color="tab:red",
                label=f"SPICE tt_mm ({len(sw)}{f' + {late} timed out' if late else ''}), "
                      f"settled {mc['settled_fraction']:.0%}")
    ax.plot([], [], " ", label=f"model settled {mc['settled_fraction_model']:.0%}, std {mc['final_weight_std_model']:.2f}")
    ax.set_xlabel("final weight (LSB)")
    ax.set_ylabel("density")
    ax.legend(fontsize=8)
    ax.set_title("Experiment 1 Monte Carlo: final weight")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
