"""``python -m circuits plastic-synapse``: the paper's experiments 1 and 2 on the sky130 plastic synapse."""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "plastic-synapse",
        help="EBN plastic synapse: experiment 1 or 2 in SPICE and in the behavioural model (+ Monte Carlo)",
        description="Run experiment 1 (one plastic synapse, Büchel et al. 2021 Fig. 5) or 2 (plus a fixed "
                    "excitatory synapse, Fig. 6) on the sky130 netlist and on the behavioural model; write "
                    "plots and DIR/metrics.json.")
    p.add_argument("--experiment", type=int, choices=(1, 2), default=1,
                   help="1: one plastic synapse (Fig. 5); 2: plus a fixed excitatory synapse (Fig. 6) (default 1)")
    p.add_argument("--rate-hz", type=float, default=200.0, help="input rate (Hz), 20..300 (default 200)")
    p.add_argument("--duration", type=float, default=None, help="simulated time (s), default 0.5 (quick 0.3)")
    p.add_argument("--mc", type=int, default=0, help="Monte Carlo instances of experiment 1 (tt_mm), 0..200 (default 0 = none)")
    p.add_argument("--mc-model-draws", type=int, default=None,
                   help="virtual chips of the model in the MC, 2..100000 (default 200; quick 20)")
    p.add_argument("--no-spice", action="store_true", help="behavioural model only (also in the Monte Carlo)")
    p.add_argument("--mc-timeout", type=float, default=300.0,
                   help="wall limit per Monte Carlo instance (s), 10..36000 (default 300); an instance over it "
                        "counts as not settled")
    p.add_argument("--workers", type=int, default=2,
                   help="parallel ngspice processes of the Monte Carlo (one deck per instance), 1..64 (default 2)")
    p.add_argument("--max-step", type=float, default=2e-4, help="SPICE maximum internal step (s), 1e-9..1e-2 (default 2e-4)")
    p.add_argument("--seed", type=int, default=1, help="seed of the Monte Carlo (ngspice and model; default 1)")
    p.add_argument("--quick", action="store_true",
                   help="0.3 s runs, 20 model chips in the MC (options given explicitly still apply)")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--out", type=Path, default=Path("runs/plastic-synapse"))
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from . import plastic
    from .cli import given_or
    from .jsonio import begin_results, write_json, write_npz
    from .plastic_model import ExperimentConfig, PlasticSynapseParams
    from .plotting_plastic import plot_experiment, plot_monte_carlo
    from .spice import check_ngspice_seed

    duration = given_or(args.duration, args.quick, 0.3, 0.5)
    draws = given_or(args.mc_model_draws, args.quick, 20, 200)
    if not 2 <= draws <= 100000:  # a spread needs two chips
        raise ValueError(f"--mc-model-draws={draws!r} is outside the allowed range [2, 100000]")
    if args.mc < 0 or args.mc > 200:
        raise ValueError(f"--mc={args.mc!r} is outside the allowed range [0, 200]")
    if not 10.0 <= args.mc_timeout <= 36000.0:
        raise ValueError(f"--mc-timeout={args.mc_timeout!r} is outside the allowed range [10, 36000]")
    if args.workers < 1 or args.workers > 64:
        raise ValueError(f"--workers={args.workers!r} is outside the allowed range [1, 64]")
    if args.mc and args.experiment != 1:
        raise ValueError("--mc runs experiment 1: use --experiment 1")
    check_ngspice_seed("--seed", args.seed, decks=200)  # Monte Carlo instance k uses seed + k (--mc <= 200)
    if not (math.isfinite(args.max_step) and 1e-9 <= args.max_step <= 1e-2):
        raise ValueError(f"--max-step={args.max_step!r} is outside the allowed range [1e-09, 0.01] (s)")
    cfg = ExperimentConfig(experiment=args.experiment, rate_hz=args.rate_hz, duration_s=duration)
    params = PlasticSynapseParams()
    out = args.out
    # this run's figures only: the other experiment's and, without --mc, the Monte Carlo's go
    begin_results(out, (f"experiment{3 - cfg.experiment}.png", *(() if args.mc else ("monte_carlo.png",))))
    steps = ["model"] + ([] if args.no_spice else ["spice"]) + (["monte carlo"] if args.mc else [])
    bar = tqdm(total=len(steps), disable=args.quiet, file=sys.stderr, desc="plastic-synapse")
    t0 = time.time()
    metrics: dict = {"experiment": cfg.experiment, "rate_hz": cfg.rate_hz, "duration_s": cfg.duration_s,
                     "i_rest_a": params.i_rest, "i_sl_a": params.i_sl, "seed": args.seed,
                     "params": params.netlist_params()}
    tm = time.time()
    behavioural = plastic.build_model(params)
    model, om = plastic.run_model(cfg, params, model=behavioural)
    metrics["model"] = plastic.measure(model, cfg, params, om)
    metrics["model"]["wall_s"] = time.time() - tm
    metrics["i_omega_lsb_a"] = behavioural.i_omega_lsb()
    bar.update()
    spice = None
    if not args.no_spice:
        ts = time.time()
        spice = plastic.run_spice(cfg, params, max_step=args.max_step)
        metrics["spice"] = plastic.measure(spice, cfg, params, om)
        metrics["spice"]["wall_s"] = time.time() - ts
        metrics["final_weight_diff_lsb"] = abs(metrics["spice"]["final_weight"] - metrics["model"]["final_weight"])
        bar.update()
    if args.mc:
        tmc = time.time()
        mc = plastic.run_monte_carlo(args.mc, cfg, params, seed=args.seed, model_draws=draws,
                                     spice=not args.no_spice, max_step=args.max_step,
                                     workers=args.workers, timeout_s=args.mc_timeout)
        mc["wall_s"] = time.time() - tmc
        metrics["mc"] = {k: v for k, v in mc.items() if k not in ("model_final_weights",)}
        plot_monte_carlo(mc, out / "monte_carlo.png")
        bar.update()
    bar.close()
    plot_experiment(spice, model, metrics, out / f"experiment{cfg.experiment}.png",
                    title=f"Experiment {cfg.experiment} at {cfg.rate_hz:g} Hz")
    arrays = {"model_t": model.t, "model_i_mem": model.i_mem, "model_weight": model.weight}
    if spice is not None:
        arrays.update(spice_t=spice.t, spice_i_mem=spice.i_mem, spice_weight=spice.weight)
    write_npz(out / "data.npz", **arrays)
    metrics["wall_s"] = time.time() - t0
    write_json(out / "metrics.json", metrics)
    if not args.quiet:
        print(json.dumps({k: metrics[k] for k in ("spice", "model", "final_weight_diff_lsb", "mc") if k in metrics},
                         indent=1, default=str)[:3000])
    return 0
