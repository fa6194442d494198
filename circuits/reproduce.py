"""Reproduce every experiment of both papers: ``python -m circuits reproduce --out DIR [--full]``.

Each stage runs one package's own command line in a subprocess
(``python -m circuits ...``, ``python -m ebn ...``, ``python -m homeostasis ...``)
into ``DIR/<stage>/`` and this module reads the stage's ``metrics.json``
afterwards. No package is imported here, so the dependency rule of the layout
(``ebn -> circuits``, ``homeostasis -> circuits``, never the reverse) holds; it
lives in ``circuits`` because that is the package every installation has.

Outputs: ``DIR/metrics.json`` (every stage's metrics, status and wall time, and
the claim table), ``DIR/index.html`` (static; every figure beside the paper's
claim and the measured figure, marked met or missed), each stage's folder with
its plots and ``log.txt``. A failing stage is shown with its error; the others
still run; the exit status is non-zero if any stage failed.
"""
from __future__ import annotations

import codecs
import html
import itertools
import json
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .cli import EXIT_TARGET_MISSED
from .jsonio import atomic_write, write_json

# --------------------------------------------------------------------------- claims


@dataclass(frozen=True)
class Claim:
    """One figure of a paper (or a target of this package) and how to read the measured value.

    ``measure(metrics) -> float | str | bool | None`` extracts the value from the
    stage's metrics; ``check(value) -> bool`` says whether it meets the target.
    """

    text: str
    paper: str
    target: str
    measure: Callable[[dict], object]
    check: Callable[[object], bool]
    fmt: str = "{:.3g}"


def _get(d: dict, *path, default=None):
    for key in path:
        if isinstance(d, dict) and key in d:
            d = d[key]
        elif isinstance(d, list) and isinstance(key, int) and -len(d) <= key < len(d):
            d = d[key]
        else:
            return default
    return d


def _num(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _coarse_over_best(m):
    """Median distance at the coarsest omega over the best median distance of the sweep, both over the
    runs that did not run away; None when the coarsest omega has no such run."""
    med = m["median_by_omega"]
    keys = sorted(med, key=float)
    dist = [med[k]["distance"] for k in keys if _num(med[k]["distance"])]
    if not dist or not _num(med[keys[-1]]["distance"]) or min(dist) <= 0:
        return None
    return med[keys[-1]]["distance"] / min(dist)


def _k_of_n(rows, k_key: str, n_key: str):
    """Sum of ``k_key`` over the rows against the sum of ``n_key``, as 'k of n'; None before they were counted."""
    rows = list(rows)
    if not rows or any(k_key not in r for r in rows):
        return None
    return f"{sum(r[k_key] for r in rows)} of {sum(r[n_key] for r in rows)}"


def _runaway_runs(m):
    """Learned networks of the granularity sweep at the simulator's spike-per-step bound, as 'k of n'."""
    return _k_of_n(m.get("median_by_omega", {}).values(), "runaway_runs", "runs")


def _learned_runaway(m):
    """Learned networks of the mismatch study at the spike-per-step bound, as 'k of n'."""
    return _k_of_n(m.get("summary", {}).values(), "learned_runaway", "n")


def _none_of(v) -> bool:
    """A 'k of n' count with k = 0."""
    return isinstance(v, str) and v.split(" of ")[0] == "0"


def _learned_better_fraction(m, cv_min):
    """Fraction of chips with CV >= cv_min where the learned network decodes better than deployed Omega*."""
    better = n = 0
    for cv, row in m["summary"].items():
        if float(cv) >= cv_min - 1e-12:
            better += row["learned_better"]
            n += row["n"]
    return better / n if n else None


@dataclass(frozen=True)
class Stage:
    """One command of the reproduction."""

    name: str
    title: str
    quick: tuple[str, ...]
    full: tuple[str, ...]
    claims: tuple[Claim, ...] = field(default_factory=tuple)


def _corr_shown(m, key):
    """Smallest correlation over the chips if every chip's p < 0.05, else the reason as text (a miss)."""
    undefined = [c for c, v in m["corr"].items() if not (_num(v[key][0]) and _num(v[key][1]))]
    if undefined:  # fewer than 3 converged runs on a chip, or constant weights: no correlation
        return f"undefined on chip {', '.join(undefined)} (converged runs: " + \
            ", ".join(str(m["corr"][c].get("n", "?")) for c in undefined) + ")"
    rows = list(m["corr"].values())
    r = min(v[key][0] for v in rows)
    worst_p = max(v[key][1] for v in rows)
    return r if worst_p < 0.05 else f"{r:.2f} (largest p {worst_p:.2g})"


def _phases_without_slow(phases) -> list:
    """The run-length phases with the slow (SL) runs dropped and the runs they split merged again."""
    return [p for p, _ in itertools.groupby(p for p in phases if p != "SL")]


def _le(limit):
    return lambda v: _num(v) and v <= limit


def _ge(limit):
    return lambda v: _num(v) and v >= limit


def _between(lo, hi):
    return lambda v: _num(v) and lo <= v <= hi


def _is_true(v) -> bool:
    return v is True


def _worst_ratio(m):
    """The measured/predicted CV ratio farthest from 1 (in log) over all rows."""
    ratios = [r["ratio"] for d in ("nfet", "pfet") for r in m.get(d, [])]
    return max(ratios, key=lambda x: abs(math.log(x))) if ratios else None


#: The cross-homeostatic rule setting of the training stages: the authors' code
#: (alpha 0.005, presynaptic factor max(1, rate), updates clipped to 5 fine
#: steps). The paper text's setting (alpha 0.05, factor = rate) meets the
#: in-burst targets on this chip model only with weak weights whose activity is a
#: decaying echo of the kick (chip 0, seeds 1-10: 10 of 10 converged, RMS
#: 1.28 / 1.08 Hz, none self-sustained, no weight correlation);
#: ``python -m homeostasis sweep --rule text`` shows it.  The "clipped" setting
#: (the text's alpha 0.05 with the code's factor and clip) did better on chip 0
#: alone (seeds 1-20: 19 of 20 converged, RMS 0.57 / 1.54 Hz; this setting 17 of
#: 20) but not over the full sweep's three chips (50 of 60 converged, RMS 2.95 /
#: 4.69 Hz, 12 of the 50 self-sustained; this setting: 53 of 60, 4.71 / 5.39 Hz,
#: 26 of 53): its larger steps spread the final rates wider about the targets
#: (7 of its 10 misses end within 2.2 criterion widths, 6 of them with PV at
#: 44-49 Hz; the sweep's ``not_converged`` key) and let w_ee
#: drift along the line of solutions down to the weak-excitation end, where the
#: in-burst targets are met by a decaying echo.
_RULE = ("--rule", "code")
#: The regime and paradoxical stages analyse the sweep stage's networks (the same
#: trainings, read from its folder, or trained there if the sweep has not run).
_SWEEP_NETWORKS_QUICK = ("--inits", "4", "--chips", "2", "--runs", "{out}/sweep")
_SWEEP_NETWORKS_FULL = ("--inits", "20", "--chips", "3", "--runs", "{out}/sweep")

STAGES: tuple[Stage, ...] = (
    Stage("mismatch", "Device mismatch: sky130 Monte Carlo vs the common model",
          ("circuits", "mismatch-check", "--quick"), ("circuits", "mismatch-check"),
          (Claim("worst measured/predicted CV over nfet/pfet at 1 and 4 µm", "sky130 tt_mm: 4.2–5.0 % MC vs 4.4 % model",
                 "0.75–1.33",
                 _worst_ratio, _between(0.75, 1.33), "{:.2f}"),
           Claim("trimmed deck load time (s)", "~0.25 s trimmed vs ~6 s for the full library", "< 1 s",
                 lambda m: m.get("deck_load_s"), _le(1.0), "{:.3f}"))),
    Stage("verify", "Circuit blocks on sky130: spike extender, DPI synapse, Traff comparator",
          ("circuits", "verify", "--quick"), ("circuits", "verify"),
          (Claim("spike-extender pulse width vs twin, worst over the I_pw sweep", "t_pw = C V_sw / I_pw (µs..ms)",
                 "≤ 15 %", lambda m: m["spike_extender"]["max_rel_err"], _le(0.15), "{:.1%}"),
           Claim("spike-extender output rail to rail", "inverter output", "true",
                 lambda m: m["spike_extender"]["rail_to_rail"], _is_true, "{}"),
           Claim("DPI tau vs C U_T/(kappa I_tau), worst over ≥ 2 decades", "tau = C U_T/(kappa I_tau)", "≤ 15 %",
                 lambda m: m["dpi_synapse"]["tau_max_rel_err"], _le(0.15), "{:.1%}"),
           Claim("DPI steady state vs I_gain I_w / I_tau − I_gain, worst at I_w / I_tau = 3, 10, 30",
                 "DPI equation (I_syn ≤ 5 nA)", "≤ 25 %",
                 lambda m: m["dpi_synapse"]["gain_max_rel_err"], _le(0.25), "{:.1%}"),
           Claim("DPI response to a 100 Hz train vs twin (NRMSE)", "twin trajectory", "< 10 %",
                 lambda m: m["dpi_synapse"]["train_nrmse"], _le(0.10), "{:.1%}"),
           Claim("Traff resolution at 10 nA (A)", "must resolve I_SL ≈ 0.3 nA", "≤ 1e-10",
                 lambda m: m["traff_comparator"]["resolution_a"]["1e-8"], _le(1e-10), "{:.2g}"),
           Claim("Traff decision delay at 10 nA (s)", "pulses last ~1 ms", "≤ 1e-5",
                 lambda m: m["traff_comparator"]["delay_s"]["1e-8"], _le(1e-5), "{:.2g}"),
           Claim("Traff all decisions correct", "", "true",
                 lambda m: m["traff_comparator"]["all_decisions_correct"], _is_true, "{}"),
           Claim("Monte Carlo: worst measured/predicted sigma over the blocks", "common mismatch model",
                 "within ×1.5", lambda m: max((b["ratio"] for b in m["mismatch"].values() if isinstance(b, dict)),
                                              key=lambda r: abs(math.log(r))),
                 _between(1 / 1.5, 1.5), "{:.2f}"))),
    Stage("ebn-train", "EBN trained with the discrete rule (Büchel et al. Fig. 1)",
          ("ebn", "train", "--quick"), ("ebn", "train", "--table", "10"),
          (Claim("initial distance to Omega*", "1.00", "≈ 1", lambda m: m["initial"]["distance"], _ge(0.9)),
           Claim("learned distance to Omega*", "0.067", "≤ 0.10", lambda m: m["learned"]["distance"], _le(0.10)),
           Claim("learned rate / optimal network's rate", "7.9 / 5.7 Hz = 1.39", "≤ 1.5",
                 lambda m: m["learned"]["rate_hz"] / m["optimal"]["rate_hz"], _le(1.5), "{:.2f}"),
           Claim("learned decoding error / optimal's", "0.21 / 0.27 = 0.78", "≤ 1.1",
                 lambda m: m["learned"]["decoding_error"] / m["optimal"]["decoding_error"], _le(1.1), "{:.2f}"),
           Claim("learned rate / initial rate", "7.9 / 63.4 Hz = 0.12", "< 1",
                 lambda m: m["learned"]["rate_hz"] / m["initial"]["rate_hz"], _le(0.9999999), "{:.2f}"),
           Claim("learned decoding error / initial (10 ms readout)", "0.21 / 0.42 = 0.50", "< 1",
                 lambda m: m["learned"]["decoding_error"] / m["initial"]["decoding_error"], _le(0.9999999),
                 "{:.2f}"))),
    Stage("ebn-granularity", "EBN: coarser weight steps converge to non-optimal weights",
          ("ebn", "granularity", "--quick"), ("ebn", "granularity"),
          (Claim("distance at the coarsest omega / at the best omega (runs that did not run away)",
                 "coarser → non-optimal (paper Sec. II-B)", "> 1", lambda m: _coarse_over_best(m), _ge(1.0000001),
                 "{:.2f}"),
           Claim("learned networks that ran away (rate at the spike-per-step bound)", "all converge",
                 "none", _runaway_runs, _none_of))),
    Stage("ebn-mismatch", "EBN on mismatched virtual chips: learned vs deployed Omega*",
          ("ebn", "mismatch", "--quick"), ("ebn", "mismatch"),
          (Claim("chips where learned decodes better than deployed, CV ≥ 10 %", "the rule compensates mismatch",
                 "all", lambda m: _learned_better_fraction(m, 0.1), _ge(1.0), "{:.0%}"),
           Claim("learned networks that ran away (rate at the spike-per-step bound)", "",
                 "none", _learned_runaway, _none_of))),
    Stage("chip-neurons", "DYNAP-SE2 model: Pyr and PV neurons (Maryada et al. Fig. 1c,d)",
          ("homeostasis", "neurons", "--quick"), ("homeostasis", "neurons"),
          (Claim("PV rheobase / Pyr rheobase", "PV: higher threshold", "> 1",
                 lambda m: m["fi"]["pv"]["rheobase_mean_a"] / m["fi"]["pyr"]["rheobase_mean_a"], _ge(1.0000001),
                 "{:.2f}"),
           Claim("PV refractory period / Pyr's", "PV: shorter refractory period", "< 1",
                 lambda m: m["fi"]["pv"]["t_ref_mean_s"] / m["fi"]["pyr"]["t_ref_mean_s"], _le(0.9999999),
                 "{:.2f}"),
           Claim("PV FI gain above 1 nA / Pyr's", "PV: higher gain", "> 1",
                 lambda m: m["fi"]["pv"]["gain_high_hz_per_na"] / m["fi"]["pyr"]["gain_high_hz_per_na"],
                 _ge(1.0000001), "{:.2f}"))),
    Stage("chip-peers", "DYNAP-SE2 model vs the same equations in Brian2",
          ("homeostasis", "peers", "--quick"), ("homeostasis", "peers"),
          (Claim("FI rate error vs Brian2 over 5–100 Hz", "same equations", "< 10 %",
                 lambda m: m["fi_max_rel_err_5_100hz"], _le(0.10), "{:.2%}"),
           Claim("synaptic current NRMSE vs Brian2", "same equations", "< 5 %",
                 lambda m: m["synapse"]["nrmse_i_syn"], _le(0.05), "{:.2%}"))),
    *[Stage(f"plastic-exp{k}", f"Plastic synapse on sky130, experiment {k} (Büchel et al. Fig. {4 + k})",
            ("circuits", "plastic-synapse", "--experiment", str(k), "--quick"),
            ("circuits", "plastic-synapse", "--experiment", str(k), "--mc", "20" if k == 1 else "0"),
            (Claim("SPICE: I_mem settles inside [I_lower, I_upper]", "settles in band", "true",
                   lambda m: m["spice"]["settled_in_band"], _is_true, "{}"),
             Claim("model: I_mem settles inside the band", "settles in band", "true",
                   lambda m: m["model"]["settled_in_band"], _is_true, "{}"),
             Claim("SPICE vs model final weight (LSB)", "", "≤ 2", lambda m: m["final_weight_diff_lsb"], _le(2),
                   "{:.0f}"),
             Claim("phase sequence starts INC → DEC (SPICE)", "INC run, overshoot, DEC run", "INC, DEC",
                   lambda m: "→".join(_phases_without_slow(m["spice"]["phases"])[:2]),
                   lambda v: v == "INC→DEC", "{}"),
             Claim("SPICE peak I_mem / I_upper (the overshoot)", "peak 11.8 nA" if k == 1 else "peak 16.8 nA",
                   "> 1", lambda m: m["spice"]["peak_i_mem_a"] / m["spice"]["i_upper_a"], _ge(1.0000001),
                   "×{:.2f}"),
             *((Claim("SPICE final weight", "about −26", "< 0", lambda m: m["spice"]["final_weight"],
                      lambda v: _num(v) and v < 0, "{:.0f}"),) if k == 2 else ())))
      for k in (1, 2)],
    Stage("train", "Cross-homeostatic training of one network (Maryada et al. Fig. 2a–c)",
          ("homeostasis", "train", "--quick", *_RULE), ("homeostasis", "train", *_RULE),
          (Claim("final Pyr rate (Hz), mean of the last 20 iterations", "20 Hz target", "20 ± 2",
                 lambda m: m["final_rates_hz"]["pyr"], _between(18, 22), "{:.1f}"),
           Claim("final PV rate (Hz)", "40 Hz target", "40 ± 4", lambda m: m["final_rates_hz"]["pv"],
                 _between(36, 44), "{:.1f}"))),
    Stage("sweep", "Many initialisations on several virtual chips (Fig. 2d,e)",
          ("homeostasis", "sweep", "--quick", *_RULE), ("homeostasis", "sweep", *_RULE),
          (Claim("fraction converged", "100 % (n = 57, 2 chips)", "≥ 95 %", lambda m: m["converged_fraction"],
                 _ge(0.95), "{:.0%}"),
           Claim("RMS error from target, Pyr (Hz)", "1.02 Hz", "≤ 1.02", lambda m: m["rms_e_hz"], _le(1.02), "{:.2f}"),
           Claim("RMS error from target, PV (Hz)", "6.32 Hz", "≤ 6.32", lambda m: m["rms_i_hz"], _le(6.32), "{:.2f}"),
           Claim("smallest corr(w_ee, w_ei) over chips", "0.81 / 0.88", "> 0 (p < 0.05)",
                 lambda m: _corr_shown(m, "wee_wei"), _ge(1e-9), "{:.2f}"),
           Claim("smallest corr(w_ie, w_ii) over chips", "0.63 / 0.75", "> 0 (p < 0.05)",
                 lambda m: _corr_shown(m, "wie_wii"), _ge(1e-9), "{:.2f}"),
           Claim("converged networks that are self-sustained", "all (activity outlives the kick)", "≥ 95 %",
                 lambda m: m["self_sustained"]["fraction"], _ge(0.95), "{:.0%}"))),
    Stage("regime", "Asynchronous-irregular regime of converged networks (Fig. 2f)",
          ("homeostasis", "regime", "--quick", *_RULE, *_SWEEP_NETWORKS_QUICK),
          ("homeostasis", "regime", *_RULE, *_SWEEP_NETWORKS_FULL),
          (Claim("mean pairwise correlation, Pyr (5 ms bins)", "0.037", "< 0.1",
                 lambda m: m["mean_corr"]["pyr"], _le(0.1), "{:.3f}"),
           Claim("mean pairwise correlation, PV", "0.069", "< 0.1", lambda m: m["mean_corr"]["pv"], _le(0.1), "{:.3f}"),
           Claim("mean CV² of ISIs, Pyr", "0.949", "≈ 1 (> 0.8)", lambda m: m["mean_cv2"]["pyr"], _ge(0.8), "{:.2f}"),
           Claim("mean CV² of ISIs, PV", "0.945", "≈ 1 (> 0.8)", lambda m: m["mean_cv2"]["pv"], _ge(0.8), "{:.2f}"))),
    Stage("paradoxical", "Paradoxical effect: depolarising all PV (Fig. 3b)",
          ("homeostasis", "paradoxical", "--quick", *_RULE, *_SWEEP_NETWORKS_QUICK),
          ("homeostasis", "paradoxical", *_RULE, *_SWEEP_NETWORKS_FULL),
          (*(Claim(f"{pop} rate: during < {ref} (p, paired t-test over trials)", f"p < 1e-{k}", f"< 1e-{k}",
                   lambda m, pop=pop, ref=ref: m["stats"][pop.lower()][f"log10_p_during_lt_{ref}"], _le(-k),
                   "1e{:.0f}")
             for pop, k in (("PV", 18), ("Pyr", 20)) for ref in ("before", "after")),
           *(Claim(f"{pop} rate: after vs before (p, two-sided)", "no significant difference (recovery)",
                   "> 0.05", lambda m, pop=pop: m["stats"][pop.lower()]["p_after_vs_before"], _ge(0.05), "{:.2g}")
             for pop in ("PV", "Pyr")),
           Claim("trials analysed", "14", "≥ 14", lambda m: m["trials_analysed"], _ge(14), "{:.0f}"))),
    Stage("no-inhibitory", "Without inhibitory plasticity (Fig. 4)",
          # quick: 5 inits, the fewest whose paired one-sided Wilcoxon can reach p < 0.05 (1/32)
          ("homeostasis", "no-inhibitory", "--quick", "--inits", "5", *_RULE), ("homeostasis", "no-inhibitory", *_RULE),
          tuple(Claim(f"frozen w_ei, w_ii: {pop} error larger than with the full rule, same inits "
                      "(p, one-sided Wilcoxon)", paper, "< 0.05",
                      lambda m, pop=pop: m["paired_test"][pop.lower()]["p"], _le(0.05), "{:.2g}")
                for pop, paper in (("Pyr", "RMS 6.39 Hz vs 1.02 Hz"), ("PV", "RMS 35.11 Hz vs 6.32 Hz")))),
    Stage("ensemble", "A memory ensemble survives cross-homeostasis (Fig. 5)",
          ("homeostasis", "ensemble", "--quick", *_RULE), ("homeostasis", "ensemble", *_RULE),
          (Claim("trainings converged before the implant (of 4; quick: 2)", "the figure's premise", "≥ 1",
                 lambda m: m["networks_converged_before_implant"]["networks"], _ge(1), "{:.0f}"),
           Claim("of those, rates back on target at the end", "return to the set-points", "all",
                 lambda m: m["returned_fraction"], _ge(1.0), "{:.0%}"),
           Claim("trainings whose ensemble Pyr fire above the other Pyr in the last trial",
                 "the ensemble retains its selectivity (its weight w_ee + 8.8 nA stays above w_ee by construction)",
                 "all", lambda m: m["ensemble_selective_fraction"], _ge(1.0), "{:.0%}"))),
    Stage("sizes", "Network sizes of Table 1", ("homeostasis", "sizes", "--quick", *_RULE), ("homeostasis", "sizes", *_RULE),
          (Claim("worst converged fraction over the four sizes", "all converge", "100 %",
                 lambda m: min(v["converged_fraction"] for v in m["table"].values()), _ge(1.0), "{:.0%}"),)),
    Stage("clusters", "Five clusters sharing four weights (Fig. 6)",
          ("homeostasis", "clusters", "--quick", *_RULE), ("homeostasis", "clusters", *_RULE),
          (Claim("clusters converged, over all trainings (3 seeds; quick: 1)", "5 / 5", "100 %",
                 lambda m: m["clusters_converged_all_runs"]["clusters"] / m["clusters_converged_all_runs"]["of"],
                 _ge(1.0), "{:.0%}"),)),
)


# --------------------------------------------------------------------------- running
def _run_stage(stage: Stage, out: Path, full: bool, seed: int, quiet: bool) -> dict:
    folder = out / stage.name
    folder.mkdir(parents=True, exist_ok=True)
    # a previous run's results must not stand in for this one's (finished sweep runs under runs/ stay:
    # they are the stage's resumable work; a stored run with other arguments under the same name is refused)
    for stale in (folder / "metrics.json", folder / "data.npz", *folder.glob("*.png"), *folder.glob("seed_table.*")):
        stale.unlink(missing_ok=True)
    pkg, *args = stage.full if full else stage.quick
    args = [a.replace("{out}", str(out)) for a in args]  # a stage may read another stage's results
    cmd = [sys.executable, "-m", pkg, *args, "--out", str(folder), "--seed", str(seed)]
    if quiet:
        cmd.append("--quiet")
    t0 = time.perf_counter()
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    with open(folder / "log.txt", "w", encoding="utf-8") as log:
        log.write("$ " + " ".join(cmd) + "\n")
        log.flush()
        # a stage's error keeps its traceback in the log (the command line alone would print one line)
        env = dict(os.environ, EIBALANCE_TRACEBACK="1")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.PIPE,
                                cwd=str(Path(__file__).resolve().parent.parent), env=env)
        lines = _LogLines(log)
        try:
            # stderr goes both to the terminal (progress, as it comes) and to log.txt (the error a failed stage shows)
            for chunk in iter(lambda: proc.stderr.read1(65536), b""):
                lines.feed(chunk)
                if not quiet:
                    sys.stderr.buffer.write(chunk)
                    sys.stderr.flush()
            proc.wait()
        finally:
            if proc.poll() is None:  # interrupted here: the child got the same Ctrl-C; do not leave it behind
                proc.kill()
                proc.wait()
            lines.close()
    wall = time.perf_counter() - t0
    metrics_file = folder / "metrics.json"
    metrics = None
    error = None
    if metrics_file.exists():
        try:
            metrics = json.loads(metrics_file.read_text())
        except json.JSONDecodeError as err:
            error = f"metrics.json is not valid JSON: {err}"
    if proc.returncode not in (0, EXIT_TARGET_MISSED) or metrics is None:
        tail = (folder / "log.txt").read_text(encoding="utf-8", errors="replace")[-3000:]
        what = "no metrics.json" if metrics is None else "the command did not finish"
        error = error or f"exit status {proc.returncode}; {what}" + ("\n" + tail if tail else "")
    # EXIT_TARGET_MISSED: the command ran but reported a missed target; the claims show which
    status = "ok" if error is None else "failed"
    return {"status": status, "returncode": proc.returncode, "wall_s": wall, "command": " ".join(cmd),
            "started": started,
            "metrics": metrics, "error": error,
            "figures": sorted(str(p.relative_to(out)) for p in folder.rglob("*.png"))}


class _LogLines:
    """Writes terminal text to a log line by line as it comes, each line as it last showed: of a line
    redrawn with carriage returns (a progress bar), its final state."""

    def __init__(self, fh):
        self.fh, self.partial = fh, ""
        # bytes in, text out: a character split between two reads is decoded whole
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    @staticmethod
    def _shown(line: str) -> str:
        line = line[:-1] if line.endswith("\r") else line  # a \r\n line ending
        return line.rsplit("\r", 1)[-1]

    def feed(self, data: bytes) -> None:
        *done, self.partial = (self.partial + self.decoder.decode(data)).split("\n")
        if done:
            self.fh.write("".join(self._shown(x) + "\n" for x in done))
            self.fh.flush()

    def close(self) -> None:
        self.partial += self.decoder.decode(b"", final=True)
        if self.partial:
            self.fh.write(self._shown(self.partial) + "\n")
        self.partial = ""
        self.fh.flush()


def _evaluate(stage: Stage, result: dict) -> list[dict]:
    rows = []
    for c in stage.claims:
        value, met, shown = None, False, "n/a"
        if result.get("metrics") is not None:
            try:
                value = c.measure(result["metrics"])
                met = bool(c.check(value))
                shown = c.fmt.format(value) if _num(value) else str(value)
            except Exception as err:  # a missing key is a missed claim, shown as such
                shown = f"n/a ({err.__class__.__name__})"
        rows.append({"stage": stage.name, "claim": c.text, "paper": c.paper, "target": c.target,
                     "measured": shown, "met": met})
    return rows


def _previous(out: Path, mode: str, seed: int) -> dict | None:
    """The report already in ``out``, if any; one of another mode or seed is refused before anything is touched."""
    f = out / "metrics.json"
    if not f.exists():
        return None
    try:
        prev = json.loads(f.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{f} is not valid JSON ({err}); remove it or choose another --out") from None
    if prev.get("mode") != mode or prev.get("seed") != seed:
        raise ValueError(f"{out} holds a {prev.get('mode')} reproduction with seed {prev.get('seed')}, this is a "
                         f"{mode} one with seed {seed}: their stages share file names, so choose another --out "
                         "(quick and --full default to runs/reproduction and runs/reproduction-full)")
    return prev


def _report(seed: int, mode: str, results: dict) -> dict:
    """The report of ``results`` ({stage name: result}), stages and claims in the order of :data:`STAGES`."""
    merged: dict = {"seed": seed, "mode": mode, "stages": {}, "claims": []}
    for stage in STAGES:
        if stage.name in results:
            merged["stages"][stage.name] = results[stage.name]
            merged["claims"].extend(_evaluate(stage, results[stage.name]))
    merged["failed_stages"] = [n for n, r in merged["stages"].items() if r["status"] != "ok"]
    return merged


def run(out: Path, full: bool = False, seed: int = 1, only: list[str] | None = None, quiet: bool = False) -> dict:
    """Run the stages (all, or those named in ``only``) and write metrics.json and index.html.

    A folder that already holds a report of the same mode and seed keeps the
    results of the stages not rerun (``only``), and the claims of every stage
    are evaluated again; a report of another mode or seed is refused.  The
    report is rewritten after each stage; a stage that is running or was
    interrupted is shown as such.
    """
    from tqdm import tqdm

    stages = [s for s in STAGES if not only or s.name in only]
    unknown = sorted(set(only or []) - {s.name for s in STAGES})
    if unknown:
        raise ValueError(f"unknown stage(s) {unknown}; stages are {[s.name for s in STAGES]}")
    from .spice import check_ngspice_seed
    check_ngspice_seed("--seed", seed, decks=1001)  # the SPICE stages give deck k seed + k (k < 200; margin)
    mode = "full" if full else "quick"
    out = Path(out).resolve()  # the stages run from the repository root
    prev = _previous(out, mode, seed)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    results = {n: r for n, r in (prev or {}).get("stages", {}).items()
               if n in {s.name for s in STAGES} and r.get("status") in ("ok", "failed")}

    def publish(final: bool = False) -> dict:
        merged = _report(seed, mode, results)
        if final:
            merged["wall_s"] = time.perf_counter() - t0
        write_json(out / "metrics.json", merged)
        write_index(merged, out)
        return merged

    bar = tqdm(stages, desc="reproduction", disable=quiet, file=sys.stderr)
    for stage in bar:
        bar.set_postfix_str(stage.name)
        results[stage.name] = {"status": "running", "command": "", "metrics": None,
                               "error": "running (or stopped before it finished)", "figures": []}
        publish()
        try:
            results[stage.name] = _run_stage(stage, out, full, seed, quiet)
        except KeyboardInterrupt:
            results[stage.name]["status"] = "interrupted"
            results[stage.name]["error"] = "interrupted; run the stage again"
            publish()
            raise
        publish()
    return publish(final=True)


# --------------------------------------------------------------------------- report
_CSS = """
body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em} h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;width:100%;margin:.8em 0} td,th{border:1px solid #ddd;padding:.35em .6em;
font-size:.92em;text-align:left;vertical-align:top} th{background:#f4f4f4}
.met{background:#e5f5e8;color:#17612b;font-weight:600} .missed{background:#fbe6e6;color:#8c1d1d;font-weight:600}
.failed{background:#fbe6e6;padding:.6em;border-left:4px solid #c0392b;white-space:pre-wrap;font-family:monospace;
font-size:.85em} .figs img{max-width:100%;border:1px solid #ddd;margin:.5em 0} code{background:#f4f4f4;padding:0 .2em}
"""


def write_index(merged: dict, out: Path) -> Path:
    """Static ``index.html`` (opens from disk): claims table and every stage's figures."""
    e = html.escape
    n_met = sum(c["met"] for c in merged["claims"])
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>eibalance reproduction</title>"
             f"<style>{_CSS}</style></head><body>",
             "<h1>eibalance — reproduction report</h1>",
             f"<p>Mode <b>{e(merged['mode'])}</b>, seed {merged['seed']}, "
             f"wall time {merged.get('wall_s', 0):.0f} s. Claims met: <b>{n_met} / {len(merged['claims'])}</b>. "
             f"Failed stages: <b>{e(', '.join(merged.get('failed_stages', [])) or 'none')}</b>. "
             "All metrics: <a href='metrics.json'>metrics.json</a>.</p>",
             "<h2>Claims</h2><table><tr><th>stage</th><th>figure</th><th>paper / reference</th>"
             "<th>target</th><th>measured</th><th></th></tr>"]
    for c in merged["claims"]:
        cls = "met" if c["met"] else "missed"
        parts.append(f"<tr><td><a href='#{e(c['stage'])}'>{e(c['stage'])}</a></td><td>{e(c['claim'])}</td>"
                     f"<td>{e(c['paper'])}</td><td>{e(c['target'])}</td><td>{e(c['measured'])}</td>"
                     f"<td class='{cls}'>{'met' if c['met'] else 'missed'}</td></tr>")
    parts.append("</table>")
    titles = {s.name: s.title for s in STAGES}
    for name, r in merged["stages"].items():
        parts.append(f"<h2 id='{e(name)}'>{e(titles.get(name, name))}</h2>")
        wall = f"{r['wall_s']:.1f} s" if r.get("wall_s") is not None else r["status"]
        if r.get("started"):
            wall += f", started {r['started']}"
        parts.append(f"<p><code>{e(r['command'])}</code> — {e(wall)} — "
                     f"<a href='{e(name)}/log.txt'>log</a>"
                     + (f" — <a href='{e(name)}/metrics.json'>metrics.json</a>" if r.get("metrics") is not None else "")
                     + "</p>")
        if r["status"] != "ok":
            what = "stage failed" if r["status"] == "failed" else f"stage {r['status']}"
            parts.append(f"<div class='failed'>{e(what)}: {e(str(r['error']))}</div>")
        rows = [c for c in merged["claims"] if c["stage"] == name]
        if rows:
            parts.append("<table><tr><th>figure</th><th>paper</th><th>target</th><th>measured</th><th></th></tr>")
            for c in rows:
                cls = "met" if c["met"] else "missed"
                parts.append(f"<tr><td>{e(c['claim'])}</td><td>{e(c['paper'])}</td><td>{e(c['target'])}</td>"
                             f"<td>{e(c['measured'])}</td><td class='{cls}'>{'met' if c['met'] else 'missed'}</td></tr>")
            parts.append("</table>")
        parts.append("<div class='figs'>")
        for fig in r.get("figures", []):
            parts.append(f"<figure><img src='{e(fig)}' alt='{e(fig)}'><figcaption>{e(fig)}</figcaption></figure>")
        parts.append("</div>")
    parts.append("</body></html>")
    path = Path(out) / "index.html"
    atomic_write(path, lambda tmp: Path(tmp).write_text("\n".join(parts)))
    return path
