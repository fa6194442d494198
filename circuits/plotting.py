"""Figures of the device layer (one function per figure, from results only)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .mismatch import sigma_ln_from_cv  # noqa: E402


def plot_mismatch_check(metrics: dict, path: Path) -> Path:
    """Histograms of Monte Carlo drain currents (normalised to their median) vs the model's log-normal.

    ``metrics`` is the dict of :func:`circuits.mismatch_check.run` (with ``currents_a``).
    """
    rows = [(d, r) for d in ("nfet", "pfet") for r in metrics[d]]
    ncol = max(len(metrics["nfet"]), len(metrics["pfet"]))
    fig, axes = plt.subplots(2, ncol, figsize=(4.2 * ncol, 6.4), squeeze=False)
    for ax in axes.ravel():
        ax.set_visible(False)
    counters = {"nfet": 0, "pfet": 0}
    for d, r in rows:
        ax = axes[0 if d == "nfet" else 1, counters[d]]
        counters[d] += 1
        ax.set_visible(True)
        x = np.log(np.asarray(r["currents_a"]) / np.median(r["currents_a"]))
        s_pred = sigma_ln_from_cv(r["predicted_cv"])
        ax.hist(x * 100, bins=16, density=True, color="#8fb3d9", edgecolor="white", label="SPICE tt_mm")
        grid = np.linspace(min(x.min(), -3.5 * s_pred), max(x.max(), 3.5 * s_pred), 200)
        pdf = np.exp(-0.5 * (grid / s_pred) ** 2) / (s_pred * np.sqrt(2 * np.pi))
        ax.plot(grid * 100, pdf / 100, color="#c0392b", lw=2, label="common model")
        ax.set_title(f"{d} W={r['w_um']:g} L={r['l_um']:g} µm, N={r['instances']}\n"
                     f"CV SPICE {100 * r['measured_cv']:.2f} % · model {100 * r['predicted_cv']:.2f} % "
                     f"(×{r['ratio']:.2f})", fontsize=9)
        ax.set_xlabel("ln(I / median I)  [%]")
        ax.set_ylabel("density")
        ax.legend(fontsize=8, frameon=False)
    fig.suptitle("Subthreshold current mismatch: sky130 Monte Carlo vs the common Pelgrom/log-normal model")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
