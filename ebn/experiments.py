"""Experiments of the EBN part: Fig. 1 over seeds, granularity sweep, mismatch study.

Each function takes validated configs and seeds, writes every finished run
to ``out/runs/<key>.json`` as it goes and, when called again with the same
arguments, reuses what is there (an interrupted sweep loses nothing).  The
CLI (:mod:`ebn.cli_experiments`) only parses arguments and calls these.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np

from circuits.jsonio import write_json

from . import metrics
from .config import EBNConfig, TrainConfig
from .network import build_network, draw_chip
from .training import _rng, evaluate, train, validation_set

#: Targets of the Fig. 1 reproduction (N = 20, 50 iterations).
TARGET_DISTANCE = 0.10
TARGET_RATE_RATIO = 1.5
TARGET_ERROR_RATIO = 1.1


def _cached(out: Path | None, key: str, fn, ident: dict):
    """``fn()``, stored as ``out/runs/<key>_<hash>.json``; the hash covers ``ident`` (every config
    value the run depends on), so a run with other settings never reuses this one's result."""
    if out is None:
        return fn()
    digest = hashlib.sha1(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:10]
    path = Path(out) / "runs" / f"{key}_{digest}.json"
    if path.exists():
        return json.loads(path.read_text())
    res = fn()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, res)  # NaN is stored as null, as everywhere
    return json.loads(path.read_text())  # the same values a later call will reuse


def _ident(cfg: EBNConfig, tcfg: TrainConfig, **extra) -> dict:
    return {"network": cfg.to_dict(), "training": tcfg.to_dict(), **extra}


def fig1_summary(res) -> dict:
    """Metrics of one :class:`~ebn.training.TrainResult` and whether it meets the targets."""
    m = res.metrics_dict()
    lr, op = m["learned"], m["optimal"]
    rate_ratio = lr["rate_hz"] / op["rate_hz"] if op["rate_hz"] > 0 else math.inf
    err_ratio = lr["decoding_error"] / op["decoding_error"]
    m["ratios"] = {"rate": rate_ratio, "decoding_error": err_ratio}
    m["targets_met"] = {
        "distance": lr["distance"] <= TARGET_DISTANCE,
        "rate": rate_ratio <= TARGET_RATE_RATIO,
        "decoding_error": err_ratio <= TARGET_ERROR_RATIO,
    }
    m["targets_met"]["all"] = all(m["targets_met"].values())
    return m


def seed_table(cfg: EBNConfig, tcfg: TrainConfig, seeds, out: Path | None = None, progress=None) -> list[dict]:
    """Fig. 1 metrics for each seed (cached per seed under ``out/runs``)."""
    rows = []
    for s in seeds:
        def run(s=s):
            m = fig1_summary(train(cfg, tcfg, int(s), validate=False))
            m.pop("curves")
            return m
        rows.append(_cached(out, f"fig1_seed{int(s)}", run, _ident(cfg, tcfg, seed=int(s))))
        if progress is not None:
            progress()
    return rows


def granularity_sweep(cfg: EBNConfig, tcfg: TrainConfig, omegas, seeds, out: Path | None = None,
                      progress=None) -> dict:
    """Final distance, decoding error and rate after training for each granularity ``omega``.

    The initial matrix of each seed is the same Gaussian draw discretised to
    each grid, so only the grid differs between the runs of one seed.
    """
    rows = []
    for om in omegas:
        c = replace(cfg, granularity=float(om))
        for s in seeds:
            def run(c=c, s=s):
                r = train(c, tcfg, int(s), validate=False)
                return {"omega": c.granularity, "seed": int(s), "learned": r.learned.as_dict(),
                        "optimal": r.optimal.as_dict(), "initial": r.initial.as_dict()}
            rows.append(_cached(out, f"gran_om{om:g}_seed{int(s)}", run, _ident(c, tcfg, seed=int(s))))
            if progress is not None:
                progress()
    return {"omegas": [float(o) for o in omegas], "seeds": [int(s) for s in seeds], "runs": rows}


def _median(vals) -> float | None:
    """Median of the finite values (a stored NaN reads back as None), None when there is none."""
    v = [float(x) for x in vals if x is not None and math.isfinite(x)]
    return float(np.median(v)) if v else None


def _ran_away(rate_hz, cfg: EBNConfig) -> bool:
    """:func:`ebn.metrics.runaway` for a network of configuration ``cfg``."""
    return metrics.runaway(rate_hz, cfg.n_neurons, cfg.dt, cfg.max_spikes_per_step)


def summarise_granularity(sweep: dict, cfg: EBNConfig) -> dict:
    """Per omega: medians of the learned distance, decoding error and rate over the runs
    that did not run away (:func:`ebn.metrics.runaway`; None when every run did), and
    the count of those that did.  Marks each run of ``sweep["runs"]`` with ``"runaway"``."""
    out = {}
    for om in sweep["omegas"]:
        runs = [r for r in sweep["runs"] if r["omega"] == om]
        for r in runs:
            r["runaway"] = _ran_away(r["learned"]["rate_hz"], cfg)
        ok = [r for r in runs if not r["runaway"]]
        row = {k: _median([r["learned"][k] for r in ok]) for k in ("distance", "decoding_error", "rate_hz")}
        row.update(runs=len(runs), runaway_runs=len(runs) - len(ok))
        out[f"{om:g}"] = row
    return out


def mismatch_study(cfg: EBNConfig, tcfg: TrainConfig, cvs, n_chips: int, seed: int,
                   out: Path | None = None, progress=None) -> dict:
    """Deployed ``Omega*`` vs learned ``Omega`` on virtual chips with mismatch.

    For each CV and chip ``j`` (chip seed ``seed * 1000 + j``, which also seeds
    the decoder, the initial weights and the signals of that chip):

    (a) *deployed*: ``Omega* = -(D^T D + mu I)`` computed offline for the
        nominal chip, put on the weight grid and run on the mismatched chip;
    (b) *learned*: the random initial matrix trained by the rule on the
        mismatched chip itself.

    Both are read out by a least-squares readout fitted on that chip (the
    readout is always fitted to the hardware's output).
    """
    rows = []
    for cv in cvs:
        for j in range(n_chips):
            chip_seed = int(seed) * 1000 + j

            def run(cv=cv, chip_seed=chip_seed):
                chip = draw_chip(cfg, float(cv), chip_seed)
                r = train(cfg, tcfg, chip_seed, chip=chip, validate=False)
                net = r.net
                vset = validation_set(cfg, tcfg, chip_seed)
                dep = evaluate(net, net.on_grid(net.optimal_weights()), vset, tcfg)
                nominal = build_network(cfg, _rng(chip_seed, "decoder"))
                ref = evaluate(nominal, nominal.optimal_weights(), vset, tcfg, with_distance=False)
                return {"cv": float(cv), "chip_seed": chip_seed, "learned": r.learned.as_dict(),
                        "deployed": dep.as_dict(), "initial": r.initial.as_dict(),
                        "nominal_optimal": ref.as_dict()}
            rows.append(_cached(out, f"mm_cv{cv:g}_chip{chip_seed}", run,
                                _ident(cfg, tcfg, cv=float(cv), chip_seed=chip_seed)))
            if progress is not None:
                progress()
    return {"cvs": [float(c) for c in cvs], "n_chips": int(n_chips), "seed": int(seed), "runs": rows}


def summarise_mismatch(study: dict, cfg: EBNConfig) -> dict:
    """Per CV: quartiles (25, 50, 75 %) of the decoding errors (readout filter
    ``tau_readout`` and ``tau_mem``) and of the rate for learned and deployed, the
    number of chips on which learned decodes better than deployed, and the number
    of learned and deployed networks that ran away (:func:`ebn.metrics.runaway`)."""
    out = {}
    for cv in study["cvs"]:
        runs = [r for r in study["runs"] if r["cv"] == cv]
        d = {}
        for which in ("learned", "deployed"):
            for q in ("decoding_error", "decoding_error_tau_mem", "rate_hz"):
                a = np.array([r[which][q] for r in runs])
                d[f"{which}_{q}"] = [float(np.percentile(a, 25)), float(np.median(a)), float(np.percentile(a, 75))]
        d["learned_better"] = int(sum(r["learned"]["decoding_error"] < r["deployed"]["decoding_error"] for r in runs))
        for which in ("learned", "deployed"):
            d[f"{which}_runaway"] = int(sum(_ran_away(r[which]["rate_hz"], cfg) for r in runs))
        d["learned_better_tau_mem"] = int(sum(r["learned"]["decoding_error_tau_mem"]
                                              < r["deployed"]["decoding_error_tau_mem"] for r in runs))
        d["n"] = len(runs)
        out[f"{cv:g}"] = d
    return out
