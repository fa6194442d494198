"""``python -m ebn train | granularity | mismatch | bench``: argument parsing only.

The experiment logic lives in :mod:`ebn.training`, :mod:`ebn.experiments`
and :mod:`ebn.bench`; figures in :mod:`ebn.plotting`.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from circuits.cli import given_or
from circuits.jsonio import begin_results, write_json, write_npz

from .config import EBNConfig, TrainConfig


def _common(p: argparse.ArgumentParser, name: str, default_out: bool = True) -> None:
    if default_out:
        p.add_argument("--out", type=Path, default=Path("runs") / f"ebn-{name}",
                       help=f"output folder (default runs/ebn-{name})")
    else:
        p.add_argument("--out", type=Path, default=None, help="output folder (optional)")
    p.add_argument("--seed", type=int, default=0, help="run seed (non-negative integer, default 0)")
    p.add_argument("--quick", action="store_true", help="short version (fewer iterations / seeds)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _floats(text: str) -> list[float]:
    try:
        vals = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers") from None
    if len(set(vals)) != len(vals):  # a repeated value would count one cached run twice in the statistics
        raise argparse.ArgumentTypeError(f"{text!r} repeats a value")
    return vals


_floats.__name__ = "list of numbers"


def _write_json(path: Path, obj) -> None:
    write_json(path, obj)


def _check_seed(seed: int) -> None:
    if seed < 0:
        raise ValueError(f"--seed={seed} must be a non-negative integer")


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="paper Fig. 1: train a random EBN with the discrete rule",
                              description="Train a random EBN with the discrete rule (Büchel et al. 2021, "
                                          "Fig. 1); writes fig1.png, learning_curves.png, metrics.json, data.npz.")
    _common(p, "train")
    p.add_argument("--neurons", type=int, default=20, help="N, 2..5000 (default 20)")
    p.add_argument("--iterations", type=int, default=None,
                   help="training iterations of 1 s (default 50; quick 10)")
    p.add_argument("--granularity", type=float, default=2.0, help="omega in weight units (default 2)")
    p.add_argument("--table", type=int, default=0, metavar="K",
                   help="also train seeds seed..seed+K-1 and write the Fig. 1 metrics table (seed_table.json; "
                        "default 0 = none)")
    p.set_defaults(func=cmd_train)

    p = subparsers.add_parser("granularity", help="final distance / decoding error vs omega",
                              description="Sweep the rule's granularity omega and plot the learned network's "
                                          "distance to Omega* and decoding error.")
    _common(p, "granularity")
    p.add_argument("--omegas", type=_floats, default=None,
                   help="comma-separated omegas in weight units (default 0.5,1,2,4,8,16,32; quick 1,...,32)")
    p.add_argument("--seeds", type=int, default=None, help="seeds per omega (default 3; quick 1)")
    p.set_defaults(func=cmd_granularity)

    p = subparsers.add_parser("mismatch", help="deployed Omega* vs learned Omega on mismatched chips",
                              description="Compare Omega* deployed on mismatched virtual chips with Omega "
                                          "learned on them (thresholds, leaks and all synaptic efficacies "
                                          "mismatched with the common model).")
    _common(p, "mismatch")
    p.add_argument("--cvs", type=_floats, default=None,
                   help="comma-separated CVs (default 0,0.05,0.1,0.2,0.3; quick 0,0.1,0.3)")
    p.add_argument("--chips", type=int, default=None, help="virtual chips per CV (default 5; quick 2)")
    p.set_defaults(func=cmd_mismatch)

    p = subparsers.add_parser("bench", help="speed benchmark (simulated s per wall s, NumPy comparison)",
                              description="Benchmark the numba simulator; prints the figures and, with "
                                          "--out, writes metrics.json and bench.png.")
    _common(p, "bench", default_out=False)
    p.set_defaults(func=cmd_bench)


def _bar(total: int, quiet: bool, desc: str):
    return tqdm(total=total, disable=quiet, file=sys.stderr, desc=desc)


def cmd_train(args) -> int:
    from . import experiments, plotting
    from .training import train
    _check_seed(args.seed)
    cfg = EBNConfig(n_neurons=args.neurons, granularity=args.granularity)
    tcfg = TrainConfig(n_iterations=given_or(args.iterations, args.quick, 10, 50))
    if args.table < 0:
        raise ValueError(f"--table={args.table} must be >= 0")
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    with _bar(tcfg.n_iterations, args.quiet, "train") as bar:
        res = train(cfg, tcfg, args.seed, progress=lambda i: bar.update(1))
    m = experiments.fig1_summary(res)
    m["config"] = cfg.to_dict()
    m["train_config"] = tcfg.to_dict()
    begin_results(out, ("seed_table.json", "seed_table.md"))  # a table is this run's or none
    write_npz(out / "data.npz", D=res.net.D, W_initial=res.W_initial, W_learned=res.W_learned,
              W_optimal=res.net.optimal_weights(), **{f"curve_{k}": np.asarray(v) for k, v in res.curves.items()})
    plotting.plot_fig1(res, out / "fig1.png")
    plotting.plot_learning_curves(res.curves, m["optimal"], out / "learning_curves.png")
    _write_json(out / "metrics.json", m)  # last: its presence means the files beside it are this run's
    if not args.quiet:
        print(_fig1_line(m))
    if args.table:
        seeds = range(args.seed, args.seed + args.table)
        with _bar(args.table, args.quiet, "seeds") as bar:
            rows = experiments.seed_table(cfg, tcfg, seeds, out, progress=lambda: bar.update(1))
        n_ok = sum(r["targets_met"]["all"] for r in rows)
        _write_json(out / "seed_table.json", {"rows": rows, "seeds_meeting_all_targets": n_ok})
        (out / "seed_table.md").write_text(_table_md(rows))
        print(_table_md(rows))
    return 0


def _f(x, spec: str) -> str:
    """``x`` formatted with ``spec``, or 'n/a' for a value that is undefined (NaN, infinite, or
    None: stored runs keep NaN as null)."""
    return format(x, spec) if isinstance(x, (int, float)) and math.isfinite(x) else "n/a"


def _fig1_line(m: dict) -> str:
    i, l, o = m["initial"], m["learned"], m["optimal"]
    return (f"seed {m['seed']}: distance {_f(i['distance'], '.3f')} -> {_f(l['distance'], '.3f')} "
            f"(s={_f(l['scale'], '.2f')}); "
            f"rate {i['rate_hz']:.1f} -> {l['rate_hz']:.1f} Hz (optimal {o['rate_hz']:.1f}); "
            f"decoding error {_f(i['decoding_error'], '.3f')} -> {_f(l['decoding_error'], '.3f')} (optimal "
            f"{_f(o['decoding_error'], '.3f')}); sparsity {l['sparsity']:.3f} (optimal {o['sparsity']:.3f}); "
            f"targets met: {m['targets_met']['all']}")


def _table_md(rows: list[dict]) -> str:
    lines = ["| seed | distance (init -> learned) | scale s | rate Hz (learned / optimal, ratio) | "
             "decoding error (learned / optimal, ratio) | sparsity (learned / optimal) | all targets |",
             "|---|---|---|---|---|---|---|"]
    for m in rows:
        i, l, o, r = m["initial"], m["learned"], m["optimal"], m["ratios"]
        lines.append(f"| {m['seed']} | {_f(i['distance'], '.3f')} -> {_f(l['distance'], '.3f')} | "
                     f"{_f(l['scale'], '.2f')} | "
                     f"{l['rate_hz']:.2f} / {o['rate_hz']:.2f} ({_f(r['rate'], '.2f')}) | "
                     f"{_f(l['decoding_error'], '.3f')} / {_f(o['decoding_error'], '.3f')} "
                     f"({_f(r['decoding_error'], '.2f')}) | "
                     f"{l['sparsity']:.3f} / {o['sparsity']:.3f} | {'yes' if m['targets_met']['all'] else 'no'} |")
    n_ok = sum(m["targets_met"]["all"] for m in rows)
    lines.append(f"\n{n_ok} of {len(rows)} seeds meet all three targets "
                 f"(distance <= 0.10, rate <= 1.5 x optimal, decoding error <= 1.1 x optimal).")
    return "\n".join(lines) + "\n"


def cmd_granularity(args) -> int:
    from . import experiments, metrics, plotting
    _check_seed(args.seed)
    n_seeds = given_or(args.seeds, args.quick, 1, 3)
    if n_seeds < 1:
        raise ValueError(f"--seeds={n_seeds} must be >= 1")
    omegas = given_or(args.omegas, args.quick, [1.0, 2.0, 4.0, 8.0, 16.0, 32.0], [0.5, 1, 2, 4, 8, 16, 32])
    if not omegas:
        raise ValueError("--omegas is empty")
    for om in omegas:
        EBNConfig(granularity=om)  # validates every omega before any run
    cfg = EBNConfig()
    tcfg = TrainConfig(n_iterations=20 if args.quick else 50)
    seeds = list(range(args.seed, args.seed + n_seeds))
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with _bar(len(omegas) * len(seeds), args.quiet, "granularity") as bar:
        sweep = experiments.granularity_sweep(cfg, tcfg, omegas, seeds, out, progress=lambda: bar.update(1))
    sweep["seed"] = args.seed
    sweep["wall_s"] = time.perf_counter() - t0
    sweep["config"] = cfg.to_dict()
    sweep["train_config"] = tcfg.to_dict()
    summary = experiments.summarise_granularity(sweep, cfg)
    sweep["median_by_omega"] = summary
    sweep["runaway_runs"] = sum(s["runaway_runs"] for s in summary.values())
    sweep["runaway_note"] = (f"a run has run away when its learned rate is >= {metrics.RUNAWAY_FRACTION:g} x the "
                             f"simulator's bound of {metrics.rate_bound_hz(cfg.n_neurons, cfg.dt, cfg.max_spikes_per_step):g} Hz "
                             "(one spike per neuron and step, max_spikes_per_step per network); medians leave them out")
    begin_results(out)
    plotting.plot_granularity(sweep, out / "granularity.png")
    _write_json(out / "metrics.json", sweep)
    if not args.quiet:
        for om, s in summary.items():
            kept = s["runs"] - s["runaway_runs"]
            away = f"; {s['runaway_runs']} of {s['runs']} ran away" if s["runaway_runs"] else ""
            if kept:
                print(f"omega {om:>5}: distance {_f(s['distance'], '.3f')}, decoding error "
                      f"{_f(s['decoding_error'], '.3f')}, rate {_f(s['rate_hz'], '.2f')} Hz "
                      f"(medians over {kept} seeds{away})")
            else:
                print(f"omega {om:>5}: every run ran away ({s['runs']} of {s['runs']})")
    return 0


def cmd_mismatch(args) -> int:
    from . import experiments, plotting
    _check_seed(args.seed)
    chips = given_or(args.chips, args.quick, 2, 5)
    if chips < 1:
        raise ValueError(f"--chips={chips} must be >= 1")
    cvs = given_or(args.cvs, args.quick, [0.0, 0.1, 0.3], [0.0, 0.05, 0.1, 0.2, 0.3])
    if not cvs:
        raise ValueError("--cvs is empty")
    for cv in cvs:
        if not (0.0 <= cv <= 3.0):
            raise ValueError(f"cv={cv} is outside the allowed range [0, 3]")
    cfg = EBNConfig()
    tcfg = TrainConfig(n_iterations=20 if args.quick else 50)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with _bar(len(cvs) * chips, args.quiet, "mismatch") as bar:
        study = experiments.mismatch_study(cfg, tcfg, cvs, chips, args.seed, out, progress=lambda: bar.update(1))
    study["config"] = cfg.to_dict()
    study["summary"] = experiments.summarise_mismatch(study, cfg)
    study["wall_s"] = time.perf_counter() - t0
    study["train_config"] = tcfg.to_dict()
    begin_results(out)
    plotting.plot_mismatch(study, out / "mismatch.png")
    _write_json(out / "metrics.json", study)
    if not args.quiet:
        for cv, s in study["summary"].items():
            print(f"CV {float(cv) * 100:4.0f} %: decoding error learned {s['learned_decoding_error'][1]:.3f} "
                  f"vs deployed {s['deployed_decoding_error'][1]:.3f}; rate learned "
                  f"{s['learned_rate_hz'][1]:.2f} vs deployed {s['deployed_rate_hz'][1]:.2f} Hz (medians); "
                  f"learned better on {s['learned_better']}/{s['n']} chips "
                  f"({s['learned_better_tau_mem']}/{s['n']} with the {cfg.tau_mem * 1e3:g} ms readout)")
    return 0


def cmd_bench(args) -> int:
    from . import plotting
    from .bench import run_bench
    _check_seed(args.seed)
    with _bar(6, args.quiet, "bench") as bar:
        res = run_bench(args.seed, numpy_duration=0.2 if args.quick else 1.0, progress=lambda: bar.update(1))
    print(f"JIT (first call): {res['jit_s']:.2f} s (cache hits {res['cache_hits']}, misses {res['cache_misses']})")
    for n in res["sim_s_per_wall_s"]:
        print(f"N={n:>5}: {res['sim_s_per_wall_s'][n]:9.1f} simulated s / wall s (learning off), "
              f"{res['sim_s_per_wall_s_learning'][n]:9.1f} (learning on)")
    print(f"50-iteration N=20 training: {res['train_n20_50it_wall_s']:.3f} s wall "
          f"(learning loop {res['train_n20_50it_learning_loop_wall_s']:.3f} s)")
    nc = res["numpy_comparison"]
    print(f"NumPy vs numba, N=20, {nc['simulated_s']:g} s with learning: {nc['numpy_wall_s']:.3f} s vs "
          f"{nc['numba_wall_s']:.4f} s -> speed-up {res['speedup_vs_numpy']:.0f}x (identical: {nc['identical']})")
    if args.out is not None:
        begin_results(args.out)
        plotting.plot_bench(res, args.out / "bench.png")
        _write_json(args.out / "metrics.json", res)
    return 0
