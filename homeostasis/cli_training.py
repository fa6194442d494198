"""``python -m homeostasis <train|sweep|regime|paradoxical|no-inhibitory|ensemble|sizes|clusters>``.

Thin wrappers around :mod:`homeostasis.experiments`: parse, validate, call,
print the headline numbers.  ``--quick`` runs a short version (fewer
iterations, repetitions and inits) that finishes in minutes.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from circuits.cli import given_or
from circuits.jsonio import dumps
from circuits.validation import check_range

from . import experiments as ex


#: Seeds are drawn from and passed on as 62-bit integers.
SEED_MAX = 2**62


def _seed(s: str) -> int:
    v = int(s)
    if not 0 <= v <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"{s} is outside the allowed range 0..2**62 ({SEED_MAX})")
    return v


_seed.__name__ = "seed"  # argparse names the type in "invalid <type> value"


def _pos_int(s: str) -> int:
    v = int(s)
    if v < 1:
        raise argparse.ArgumentTypeError(f"{s} must be >= 1")
    return v


_pos_int.__name__ = "positive integer"

#: (full, quick) number of initialisations per chip and of chips of each experiment.
INITS = {"sweep": (20, 4), "regime": (6, 2), "paradoxical": (8, 2), "no-inhibitory": (8, 2), "ensemble": (4, 2),
         "sizes": (3, 1), "clusters": (3, 1)}
CHIPS = {"sweep": (3, 2), "regime": (2, 1), "paradoxical": (2, 1)}


def _inits(args, name: str) -> int:
    return given_or(args.inits, args.quick, INITS[name][1], INITS[name][0])


def _chips(args, name: str) -> int:
    return given_or(args.chips, args.quick, CHIPS[name][1], CHIPS[name][0])


def _common(p: argparse.ArgumentParser, name: str, sweep: bool = False, quick_iterations: int = 60) -> None:
    p.add_argument("--out", type=Path, default=Path("runs") / name, help="output folder (default %(default)s)")
    p.add_argument("--seed", type=_seed, default=0,
                   help="run seed: initial weights, network, kick delays, trial noise, rounding (default 0)")
    p.add_argument("--quick", action="store_true", help="short version (minutes)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--iterations", type=_pos_int, default=None,
                   help=f"training iterations (default 400; quick {quick_iterations})")
    p.add_argument("--reps", type=_pos_int, default=None, help="trials per iteration (default 5; quick 3)")
    p.add_argument("--rule", choices=tuple(ex.RULES), default="text",
                   help="'text': paper text (alpha 0.05, f = rate); 'code': authors' code "
                        "(alpha 0.005, f = max(1, rate), |dw| <= 5); 'clipped': alpha 0.05 with "
                        "f = max(1, rate), |dw| <= 5")
    p.add_argument("--dt", type=float, default=None,
                   help="chip integration step in s, 1e-6..1e-3 (default 1e-4)")
    p.add_argument("--mismatch-cv", type=float, default=0.2,
                   help="chip mismatch CV, 0..3 (default 0.2, the paper's; 0 = nominal chip)")
    if sweep:
        p.add_argument("--workers", type=_pos_int, default=2, help="parallel processes (default 2)")
        p.add_argument("--scheduler", default=None,
                       help="'processes' (the default: a pool of --workers), 'serial', 'local' (a Dask "
                            "LocalCluster) or a Dask scheduler address such as tcp://host:8786")
        p.add_argument("--runs", type=Path, default=None,
                       help="folder of finished trainings to reuse/extend (e.g. a sweep's --out)")


#: A quick ensemble training runs longer than the others: the implant and the return need room.
_ENSEMBLE_QUICK_ITERATIONS = 80


def _it(args, full=400, quick=60):
    return args.iterations or (quick if args.quick else full)


def _reps(args):
    return args.reps or (3 if args.quick else 5)


def _base(args) -> dict:
    return {"n_iterations": _it(args), "n_reps": _reps(args), "rule": args.rule, "dt": args.dt,
            "mismatch_cv": args.mismatch_cv, "quiet": args.quiet}


def _sweep_kw(args) -> dict:
    return {"workers": args.workers, "scheduler": args.scheduler, "runs_dir": args.runs}


def _report(metrics: dict, out: Path, keys) -> int:
    shown = {k: metrics[k] for k in keys if k in metrics}
    print(dumps(shown, indent=1))
    print(f"results in {out}", file=sys.stderr)
    return 0


def cmd_train(args) -> int:
    m = ex.experiment_train(args.out, seed=args.seed, chip_seed=args.chip_seed, **_base(args))
    return _report(m, args.out, ("final_rates_hz", "targets_hz", "converged", "iterations", "self_sustained_trials", "wall_s"))


def cmd_sweep(args) -> int:
    m = ex.experiment_sweep(args.out, inits=_inits(args, "sweep"), chips=_chips(args, "sweep"), seed=args.seed, **_base(args), **_sweep_kw(args))
    return _report(m, args.out, ("inits", "chips", "converged_fraction", "rms_e_hz", "rms_i_hz", "self_sustained", "corr"))


def cmd_regime(args) -> int:
    m = ex.experiment_regime(args.out, inits=_inits(args, "regime"), chips=_chips(args, "regime"),
                             seed=args.seed, **_base(args), **_sweep_kw(args))
    return _report(m, args.out, ("networks", "mean_corr", "mean_cv2", "active_fraction", "active_rate_pct_hz", "sustained_fraction", "asynchronous_irregular"))


def cmd_paradoxical(args) -> int:
    check_range("--dc-na", args.dc_na, 0.0, 1000.0, lo_open=True)  # nA; the experiment takes A
    m = ex.experiment_paradoxical(args.out, inits=_inits(args, "paradoxical"),
                                  chips=_chips(args, "paradoxical"), seed=args.seed,
                                  dc_a=args.dc_na * 1e-9, trials=args.trials, **_base(args), **_sweep_kw(args))
    return _report(m, args.out, ("trials_analysed", "trials_fully_suppressed", "trials_died_without_stimulus",
                                 "trials_not_sustained_before", "stats", "stats_per_network",
                                 "stats_per_neuron", "paradoxical"))


def cmd_no_inhibitory(args) -> int:
    m = ex.experiment_no_inhibitory(args.out, inits=_inits(args, "no-inhibitory"), chip_seed=args.chip_seed,
                                    seed=args.seed, **_base(args), **_sweep_kw(args))
    return _report(m, args.out, ("full", "no_inhibitory"))


def cmd_ensemble(args) -> int:
    n = _it(args, 400, _ENSEMBLE_QUICK_ITERATIONS)
    at = args.at if args.at is not None else (n * 5) // 8
    kw = _base(args)
    kw["n_iterations"] = n
    m = ex.experiment_ensemble(args.out, inits=_inits(args, "ensemble"), seed=args.seed,
                               chip_seed=args.chip_seed, ensemble_at=at, **kw, **_sweep_kw(args))
    return _report(m, args.out, ("shown_seed", "rates_before_hz", "rates_peak_after_implant_hz", "final_rates_hz",
                                 "iterations_to_return", "networks_converged_before_implant", "returned",
                                 "ensemble_selective"))


def cmd_sizes(args) -> int:
    m = ex.experiment_sizes(args.out, inits=_inits(args, "sizes"), chip_seed=args.chip_seed,
                            seed=args.seed, **_base(args), **_sweep_kw(args))
    return _report(m, args.out, ("table",))


def cmd_clusters(args) -> int:
    m = ex.experiment_clusters(args.out, inits=_inits(args, "clusters"), seed=args.seed,
                               chip_seed=args.chip_seed, **_base(args), **_sweep_kw(args))
    return _report(m, args.out, ("final_rates_hz", "converged_per_cluster", "clusters_converged_all_runs",
                                 "runs_all_converged", "runs"))


def register(subparsers) -> None:
    """Add the training experiments to ``python -m homeostasis``."""
    specs = [
        ("train", cmd_train, "one chip-in-the-loop training (Fig. 2a-c)", False),
        ("sweep", cmd_sweep, "many inits on several chips (Fig. 2d,e)", True),
        ("regime", cmd_regime, "correlations and CV2 of converged networks (Fig. 2f)", True),
        ("paradoxical", cmd_paradoxical, "depolarise all PV for 0.2 s (Fig. 3b)", True),
        ("no-inhibitory", cmd_no_inhibitory, "w_ei, w_ii frozen vs full rule (Fig. 4)", True),
        ("ensemble", cmd_ensemble, "implant a 32-neuron ensemble during training (Fig. 5)", True),
        ("sizes", cmd_sizes, "network sizes of Table 1", True),
        ("clusters", cmd_clusters, "five clusters sharing the weights (Fig. 6)", True),
    ]
    for name, fn, help_, sweep in specs:
        p = subparsers.add_parser(name, help=help_, description=help_)
        _common(p, name, sweep, quick_iterations=_ENSEMBLE_QUICK_ITERATIONS if name == "ensemble" else 60)
        if name in ("train", "no-inhibitory", "ensemble", "sizes", "clusters"):
            p.add_argument("--chip-seed", type=_seed, default=0, help="virtual chip (mismatch) seed (default 0)")
        if name in ("sweep", "regime", "paradoxical", "no-inhibitory", "ensemble", "sizes", "clusters"):
            p.add_argument("--inits", type=_pos_int, default=None,
                           help=f"initialisations per chip (default {INITS[name][0]}; quick {INITS[name][1]})")
        if name in ("sweep", "regime", "paradoxical"):
            p.add_argument("--chips", type=_pos_int, default=None,
                           help=f"number of chips, chip seeds 0..M-1 (default {CHIPS[name][0]}; quick {CHIPS[name][1]})")
        if name == "paradoxical":
            p.add_argument("--dc-na", type=float, default=0.1,
                           help="DC into every PV neuron in nA, (0, 1000] (default 0.1)")
            p.add_argument("--trials", type=_pos_int, default=4, help="trials per converged network (default 4)")
        if name == "ensemble":
            p.add_argument("--at", type=_pos_int, default=None,
                           help="implant iteration, 1..iterations-1 (default 5/8 of the iterations: 250; quick 50)")
        p.set_defaults(func=fn)
