"""SPICE Monte Carlo of single sky130 devices vs the common mismatch model.

For each device type and geometry, one ngspice deck holds ``instances``
independently mismatched copies (corner ``tt_mm``: the PDK draws a Pelgrom
threshold shift per instance) sharing one gate bias in subthreshold; one
operating-point run gives every drain current. The measured coefficient of
variation of those currents is compared with the common model's prediction
``CV = sqrt(exp(sigma_ln^2) - 1)``, ``sigma_ln = kappa sigma_VT / U_T``
(:mod:`circuits.mismatch`), with ``kappa`` fitted from a DC gate sweep
of the nominal device at the same bias (``kappa = U_T dln(I)/dV_G``).

The gate bias is placed where the nominal device's local slope factor peaks:
deep enough in subthreshold for the exponential law, above the junction
leakage floor that flattens the pfet's curve at low currents.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .constants import SPICE_TEMPERATURE_K, VDD_V, thermal_voltage
from .jsonio import begin_results, write_json, write_npz
from .mismatch import MismatchModel, sigma_vt
from .spice import check_ngspice_seed

#: Drain-source voltage magnitude of the measurement (saturation, >> 4 U_T).
VDS_V = 0.9
DEVICE_MODELS = {"nfet": "sky130_fd_pr__nfet_01v8", "pfet": "sky130_fd_pr__pfet_01v8"}


@dataclass(frozen=True)
class MismatchCheckConfig:
    """Settings of the check.

    Attributes
    ----------
    instances : int
        Mismatched copies per geometry (2 .. 4096).
    geometries_um : tuple of (W, L)
        Device sizes in µm.
    seed : int
        ngspice random seed (``rndseed``) of the first deck; deck k uses seed + k.
    """

    instances: int = 64
    geometries_um: tuple = ((1.0, 1.0), (4.0, 4.0))
    seed: int = 1

    def __post_init__(self):
        if not isinstance(self.instances, int) or not (2 <= self.instances <= 4096):
            raise ValueError(f"instances={self.instances!r} is outside the allowed range 2..4096")
        check_ngspice_seed("seed", self.seed, decks=2 * len(self.geometries_um))  # an nfet and a pfet deck each
        for w, l in self.geometries_um:
            sigma_vt(w, l, "nfet")  # validates the geometry


def device_deck(device: str, w_um: float, l_um: float, instances: int) -> str:
    """Netlist text: ``instances`` copies of one device sharing gate bias ``vgs``.

    Each copy has its own drain source ``VD<k>`` so its current is a branch
    current of the operating point. Source (and bulk) at ground for the nfet,
    at VDD for the pfet.
    """
    model = DEVICE_MODELS[device]
    lines = [f"* {instances} x {device} W={w_um} L={l_um} for the mismatch check",
             f".param vgs=0.3 vds={VDS_V} vdd={VDD_V}", "VDD vdd 0 {vdd}"]
    if device == "nfet":
        lines.append("VG g 0 {vgs}")
        for k in range(instances):
            lines += [f"VD{k} d{k} 0 {{vds}}", f"XM{k} d{k} g 0 0 {model} W={w_um} L={l_um}"]
    else:
        lines.append("VG g 0 {vdd-vgs}")
        for k in range(instances):
            lines += [f"VD{k} d{k} 0 {{vdd-vds}}", f"XM{k} d{k} g vdd vdd {model} W={w_um} L={l_um}"]
    return "\n".join(lines) + "\n"


def fit_kappa(device: str, w_um: float, l_um: float) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Gate sweep of the nominal device: (kappa at the bias, |V_GS| of the bias, vgs, current).

    ``kappa = U_T dln(I)/d|V_GS|`` over ±20 mV around the point of maximum slope.
    """
    from . import spice

    u_t = thermal_voltage(SPICE_TEMPERATURE_K)
    deck = device_deck(device, w_um, l_um, 1)
    lo, hi = 0.15, 0.9
    if device == "nfet":
        res = spice.run_dc(deck, "VG", lo, hi, 0.005, corner="tt")
        vgs = res.sweep
    else:
        res = spice.run_dc(deck, "VG", VDD_V - hi, VDD_V - lo, 0.005, corner="tt")
        vgs = VDD_V - res.sweep
    current = np.abs(res.i("vd0"))
    order = np.argsort(vgs)
    vgs, current = vgs[order], current[order]
    local = np.gradient(np.log(current), vgs) * u_t
    # smooth over +-20 mV so a single noisy point cannot win
    k = 4
    smooth = np.convolve(local, np.ones(2 * k + 1) / (2 * k + 1), mode="same")
    smooth[:k] = smooth[-k:] = 0
    i = int(np.argmax(smooth))
    sel = slice(max(i - k, 0), i + k + 1)
    kappa = float(np.polyfit(vgs[sel], np.log(current[sel]), 1)[0] * u_t)
    return kappa, float(vgs[i]), vgs, current


def measure(device: str, w_um: float, l_um: float, instances: int, seed: int) -> dict:
    """One row of the check: Monte Carlo currents and the model's prediction."""
    from . import spice

    kappa, vgs, _, _ = fit_kappa(device, w_um, l_um)
    res = spice.run_op(device_deck(device, w_um, l_um, instances), params={"vgs": vgs},
                       corner="tt_mm", seed=seed)
    currents = np.array([abs(res.i(f"vd{k}")[0]) for k in range(instances)])
    nominal = abs(spice.run_op(device_deck(device, w_um, l_um, 1), params={"vgs": vgs},
                               corner="tt").i("vd0")[0])
    model = MismatchModel.from_geometry(w_um, l_um, device, kappa=kappa, u_t=thermal_voltage(SPICE_TEMPERATURE_K))
    measured_cv = float(np.std(currents, ddof=1) / np.mean(currents))
    return {
        "w_um": float(w_um), "l_um": float(l_um), "instances": int(instances),
        "measured_cv": measured_cv, "predicted_cv": float(model.cv),
        "ratio": measured_cv / float(model.cv),
        "kappa_fit": kappa, "vgs_v": vgs, "i_nominal_a": float(nominal),
        "sigma_vt_v": sigma_vt(w_um, l_um, device), "seed": int(seed),
        "currents_a": currents.tolist(),
    }


def deck_load_times(repeats: int = 3, full: bool = True) -> dict:
    """Median wall time (s) of parsing + one operating point with the trimmed deck and the full library."""
    from . import pdk, spice

    deck = device_deck("nfet", 2.0, 2.0, 1)
    spice.run_op(deck, corner="tt")  # start the worker outside the timing
    out = {}
    t = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        spice.run_op(deck, corner="tt")
        t.append(time.perf_counter() - t0)
    out["deck_load_s"] = float(np.median(t))
    if full:
        lib = pdk.full_library()
        text = f'* full library\n.lib "{lib}" tt\n' + "\n".join(deck.splitlines()[1:]) + "\n"
        t = []
        for _ in range(max(1, repeats - 1)):
            t0 = time.perf_counter()
            spice.run_op(text, corner=None)
            t.append(time.perf_counter() - t0)
        out["full_library_load_s"] = float(np.median(t))
    return out


def run(config: MismatchCheckConfig, out_dir: Path, progress: bool = True, full_library: bool = True) -> dict:
    """Run the check, write ``metrics.json``, ``data.npz`` and ``mismatch.png`` into ``out_dir``."""
    from tqdm import tqdm

    from .plotting import plot_mismatch_check

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    jobs = [(d, w, l) for d in ("nfet", "pfet") for (w, l) in config.geometries_um]
    metrics: dict = {"nfet": [], "pfet": [], "seed": config.seed, "instances": config.instances,
                     "target_ratio": [0.75, 1.33]}
    for k, (d, w, l) in enumerate(tqdm(jobs, desc="mismatch check", disable=not progress)):
        metrics[d].append(measure(d, w, l, config.instances, config.seed + k))
    metrics.update(deck_load_times(full=full_library))
    metrics["all_within_target"] = bool(all(0.75 <= r["ratio"] <= 1.33
                                            for d in ("nfet", "pfet") for r in metrics[d]))
    metrics["wall_s"] = time.perf_counter() - t0
    begin_results(out_dir)
    write_npz(out_dir / "data.npz", **{
        f"{d}_w{r['w_um']:g}_l{r['l_um']:g}": np.asarray(r["currents_a"]) for d in ("nfet", "pfet")
        for r in metrics[d]})
    plot_mismatch_check(metrics, out_dir / "mismatch.png")
    slim = {**metrics, **{d: [{k: v for k, v in r.items() if k != "currents_a"} for r in metrics[d]]
                          for d in ("nfet", "pfet")}}
    write_json(out_dir / "metrics.json", slim)
    return slim


def summary_lines(metrics: dict) -> list[str]:
    lines = [f"{'device':6} {'W x L (um)':>11} {'N':>4} {'CV SPICE':>9} {'CV model':>9} {'ratio':>6} {'kappa':>6}"]
    for d in ("nfet", "pfet"):
        for r in metrics[d]:
            lines.append(f"{d:6} {r['w_um']:>5g} x {r['l_um']:<4g} {r['instances']:>4} {r['measured_cv']:>9.4f} "
                         f"{r['predicted_cv']:>9.4f} {r['ratio']:>6.2f} {r['kappa_fit']:>6.3f}")
    lines.append(f"deck load: trimmed {metrics['deck_load_s']:.3f} s"
                 + (f", full library {metrics['full_library_load_s']:.2f} s" if "full_library_load_s" in metrics else ""))
    lines.append("target 0.75 <= ratio <= 1.33: " + ("met" if metrics["all_within_target"] else "MISSED"))
    return lines
