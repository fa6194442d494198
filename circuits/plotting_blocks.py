"""Circuit-vs-model plots of the spike extender, DPI synapse and Traff comparator.

One function per figure; each takes the results of :func:`circuits.blocks.verify`
(with their ``_waves`` sections), never re-runs a simulation, and writes one PNG
(matplotlib, Agg backend).
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .twins import SpikeExtenderTwin  # noqa: E402


def plot_spike_extender(section: dict, path: Path) -> Path:
    """Waveforms (timing node and output, SPICE vs twin) and width vs I_pw (SPICE points, twin line)."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    twin = SpikeExtenderTwin(section["c_pw_f"], section["v_sw_v"])
    ax = axes[0]
    for run, i_pw in zip(section["_waves"]["runs"], section["i_pw_a"]):
        t = run["t"]
        scale = 1.0 / twin.width(i_pw)
        ax.plot((t - run["t1"]) * scale, run["out"], lw=1.2, label=f"SPICE out, I_pw={i_pw * 1e9:g} nA")
        ax.plot((t - run["t1"]) * scale, run["c"], lw=0.8, ls=":", color=ax.lines[-1].get_color())
    tt = np.linspace(-0.2, 1.5, 400)
    ax.plot(tt, np.where((tt >= 0) & (tt < 1), twin.vdd, 0.0), "k--", lw=1, label="twin")
    ax.axhline(section["v_sw_v"], color="grey", lw=0.5)
    ax.set_xlabel("(t - t_spike) / t_pw,model")
    ax.set_ylabel("V")
    ax.set_title("output (solid) and timing node (dotted)")
    ax.legend(fontsize=7)
    ax = axes[1]
    i = np.array(section["i_pw_a"])
    ii = np.logspace(np.log10(i.min()) - 0.2, np.log10(i.max()) + 0.2, 100)
    ax.loglog(ii, twin.width(ii), "k-", label="twin C V_sw / I_pw")
    ax.loglog(i, section["width_spice_s"], "o", label="SPICE")
    ax.set_xlabel("I_pw (A)")
    ax.set_ylabel("pulse width (s)")
    ax.set_title(f"max rel. error {section['max_rel_err'] * 100:.1f} %")
    ax.legend()
    ax = axes[2]
    bb = section["_waves"]["back_to_back"]
    ax.plot(bb["t"] * 1e6, bb["out"], label="SPICE out")
    ax.plot(bb["t"] * 1e6, bb["c"], ":", label="SPICE timing node")
    ax.plot(bb["t"] * 1e6, twin.output(bb["t"], [bb["t1"], bb["t2"]], section["back_to_back"]["i_pw_a"]),
            "k--", lw=1, label="twin (retriggerable)")
    for ts in (bb["t1"], bb["t2"]):
        ax.axvline(ts * 1e6, color="r", lw=0.5)
    ax.set_xlabel("t (µs)")
    ax.set_title("two spikes closer than t_pw: one merged pulse")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_dpi_synapse(section: dict, path: Path) -> Path:
    """Decays (SPICE), tau vs I_tau (SPICE vs C U_T/(kappa I_tau)), steady-state gain, 100 Hz train overlay."""
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    ax = axes[0, 0]
    for run, it in zip(section["_waves"]["tau_runs"], section["i_tau_a"]):
        sel = run["t"] >= run["t_off"]
        ax.semilogy((run["t"][sel] - run["t_off"]) / run["tau_model"], run["i"][sel], label=f"I_tau={it:.0e} A")
    x = np.linspace(0, 4, 50)
    ax.semilogy(x, 1e-9 * np.exp(-x), "k--", lw=1, label="exp(-t/tau_model) (slope)")
    ax.set_xlabel("(t - t_off) / tau_model")
    ax.set_ylabel("I_syn (A)")
    ax.set_ylim(1e-11, 1e-8)
    ax.legend(fontsize=7)
    ax.set_title("decay after the pulse (SPICE)")
    ax = axes[0, 1]
    it = np.array(section["i_tau_a"])
    ax.loglog(it, section["tau_model_s"], "k-", label="twin C U_T / (kappa I_tau)")
    ax.loglog(it, section["tau_spice_s"], "o", label="SPICE")
    ax.set_xlabel("I_tau (A)")
    ax.set_ylabel("tau (s)")
    ax.set_title(f"tau: max rel. error {section['tau_max_rel_err'] * 100:.1f} % (kappa={section['kappa']:.3f})")
    ax.legend()
    ax = axes[1, 0]
    g = section["gain"]
    ax.loglog(g["i_linear_a"], g["i_ss_spice_a"], "o", label="SPICE")
    lim = np.array([min(g["i_linear_a"]) / 2, max(g["i_linear_a"]) * 2])
    ax.loglog(lim, lim, "k-", label="I_gain I_w / I_tau")
    ax.loglog(g["i_linear_a"], g["i_full_a"], "k+", label="I_gain I_w / I_tau - I_gain")
    ax.set_xlabel("I_gain I_w / I_tau (A)")
    ax.set_ylabel("steady-state I_syn (A)")
    ax.set_title(f"gain: max rel. error {section['gain_max_rel_err'] * 100:.1f} %")
    ax.legend()
    ax = axes[1, 1]
    tr = section["_waves"]["train"]
    ax.plot(tr["t"] * 1e3, tr["i_spice"] * 1e9, label="SPICE")
    ax.plot(tr["t"] * 1e3, tr["i_model"] * 1e9, "--", label="twin")
    ax.set_xlabel("t (ms)")
    ax.set_ylabel("I_syn (nA)")
    ax.set_title(f"{tr['rate_hz']:g} Hz train of {tr['pulse_s'] * 1e3:g} ms pulses: NRMSE {tr['nrmse'] * 100:.1f} %")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_traff_comparator(section: dict, path: Path) -> Path:
    """Output waveforms at each reference (12 alternating decisions) and delay vs |dI|."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    ax = axes[0]
    for key, run in section["_waves"].items():
        ax.plot(run["t"] / run["tseg"], run["out"], lw=1, label=f"I_ref={float(key) * 1e9:g} nA")
    ax.set_xlabel("t / t_segment (segment k asks: odd k high, even k low)")
    ax.set_ylabel("out (V)")
    ax.set_title("decisions; |dI| falls from 10 % to 0.03 % of I_ref in pairs")
    ax.legend(fontsize=8)
    ax = axes[1]
    for key, decs in section["decisions"].items():
        di = np.array([abs(d["di_a"]) for d in decs])
        dl = np.array([d["delay_s"] for d in decs])
        up = np.array([d["want_high"] for d in decs])
        p = ax.loglog(di[up], dl[up], "^-", label=f"{float(key) * 1e9:g} nA, out rising")
        ax.loglog(di[~up], dl[~up], "v--", color=p[0].get_color(), label=f"{float(key) * 1e9:g} nA, out falling")
    ax.axhline(10e-6, color="grey", lw=0.5)
    ax.axvline(0.1e-9, color="grey", lw=0.5)
    ax.set_xlabel("|dI| (A)")
    ax.set_ylabel("decision delay (s)")
    ax.set_title("twin: ideal comparator + measured delay")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_mismatch(section: dict, path: Path) -> Path:
    """Monte Carlo histograms of each block's key figure with the predicted spread."""
    keys = [k for k in ("spike_extender", "dpi_synapse_tau", "dpi_synapse_gain", "traff_comparator") if k in section]
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.8))
    for ax, key in zip(np.atleast_1d(axes), keys):
        m = section[key]
        v = np.array(m["values"])
        if key == "traff_comparator":
            x, xlabel, pred = v * 1e9, "offset (nA)", m["sigma_predicted"] * 1e9
            mu = x.mean()
        else:
            x, xlabel = v / v.mean(), "value / mean"
            pred, mu = m["sigma_predicted"], 1.0
        ax.hist(x, bins=12, density=True, alpha=0.6, label="SPICE tt_mm")
        xx = np.linspace(x.min() - 2 * pred, x.max() + 2 * pred, 200)
        ax.plot(xx, np.exp(-0.5 * ((xx - mu) / pred) ** 2) / (pred * np.sqrt(2 * np.pi)), "k-",
                label="twin + mismatch model")
        ax.set_xlabel(xlabel)
        ax.set_title(f"{key}\nsigma meas/pred = {m['ratio']:.2f}", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
