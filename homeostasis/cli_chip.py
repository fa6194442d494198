"""``python -m homeostasis neurons|peers|bench``: the chip model's own commands."""
from __future__ import annotations

import argparse
from pathlib import Path

from circuits.jsonio import begin_results, write_json, write_npz


def _common(p: argparse.ArgumentParser, default_out: str, seed_help: str = "chip (mismatch) seed, >= 0") -> None:
    p.add_argument("--out", type=Path, default=Path(default_out), help=f"results folder (default {default_out})")
    p.add_argument("--seed", type=int, default=0, help=seed_help)
    p.add_argument("--quick", action="store_true", help="short version")
    p.add_argument("--quiet", action="store_true", help="no progress output")


def _write_json(path: Path, obj) -> None:
    write_json(path, obj, indent=1)


def cmd_neurons(args) -> int:
    import numpy as np

    from .neurons_experiment import NeuronsConfig, quick_config, run_neurons, summary_lines
    from .plotting_chip import plot_fi_curves, plot_membrane_traces

    if args.seed < 0:
        raise ValueError(f"--seed={args.seed} must be >= 0")
    cfg = quick_config(args.seed) if args.quick else NeuronsConfig(chip_seed=args.seed)
    res = run_neurons(cfg, quiet=args.quiet)
    out = args.out
    rates = res.pop("_rates")
    begin_results(out)
    write_npz(out / "data.npz", **{f"rates_{k}": v for k, v in rates.items()}, dc_a=np.asarray(cfg.fi_currents_a))
    plot_membrane_traces(res, out / "fig1c_membrane_traces.png")
    plot_fi_curves(res, out / "fig1d_fi_curves.png")
    # last: its presence means the files beside it are this run's
    _write_json(out / "metrics.json", {"seed": args.seed, **{k: v for k, v in res.items() if k != "traces"},
                                       "trace_levels": {t: [{"neuron": s["neuron"], "dc_a": [lv["dc_a"] for lv in s["levels"]],
                                                             "n_spikes": [len(lv["spike_times_s"]) for lv in s["levels"]]}
                                                            for s in res["traces"][t]] for t in res["traces"]}})
    if not args.quiet:
        print("\n".join(summary_lines(res)))
        print(f"wrote {out}/metrics.json, data.npz, fig1c_membrane_traces.png, fig1d_fi_curves.png")
    return 0


def cmd_peers(args) -> int:
    from .peers import PeersConfig, run_peers, summary_lines
    from .plotting_chip import plot_peer_fi, plot_peer_synapse

    res = run_peers(PeersConfig(quick=args.quick), quiet=args.quiet)
    out = args.out
    begin_results(out)
    plot_peer_fi(res, out / "peer_fi.png")
    plot_peer_synapse(res, out / "peer_synapse.png")
    _write_json(out / "metrics.json", {"seed": args.seed, "chip": "nominal: no mismatch, no noise (the seed is "
                                       "not used: both sides must see identical parameters)", **res})
    if not args.quiet:
        print("\n".join(summary_lines(res)))
    return 0


def cmd_bench(args) -> int:
    from .bench import BenchConfig, run_bench, summary_lines
    from .plotting_chip import plot_dt_convergence

    cfg = BenchConfig(chip_seed=args.seed, net_seed=args.seed, quick=args.quick, brian2=not args.no_brian2,
                      dt_convergence=not args.no_dt, repeats=args.repeats)
    res = run_bench(cfg, quiet=args.quiet)
    if not args.quiet or args.out is None:
        print("\n".join(summary_lines(res)))
    if args.out is not None:
        begin_results(args.out, () if "dt_convergence" in res else ("dt_convergence.png",))
        if "dt_convergence" in res:
            plot_dt_convergence(res["dt_convergence"], args.out / "dt_convergence.png")
        _write_json(args.out / "metrics.json", res)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("neurons", help="Pyr/PV membrane traces and FI curves (paper Fig. 1c,d)",
                              description="Pyr/PV membrane traces under DC and FI curves over a core (Fig. 1c,d).")
    _common(p, "runs/neurons")
    p.set_defaults(func=cmd_neurons)

    p = subparsers.add_parser("peers", help="cross-check a DPI neuron and synapse against Brian2",
                              description="Single DPI neuron FI curve and DPI synapse response, this model vs "
                                          "the same equations in Brian2 (needs the 'peers' extra).")
    _common(p, "runs/peers", seed_help="accepted for a uniform interface; unused (the peers compare the nominal chip)")
    p.set_defaults(func=cmd_peers)

    p = subparsers.add_parser("bench", help="speed of the 200/50 E/I network vs Brian2, dt convergence",
                              description="Simulated seconds per wall second of the 200/50 E/I network "
                                          "(p = 0.1) on one core, side by side with Brian2; dt convergence.")
    p.add_argument("--out", type=Path, default=None, help="results folder (metrics.json); none: print only")
    p.add_argument("--seed", type=int, default=0, help="chip and network seed, >= 0 (default 0)")
    p.add_argument("--quick", action="store_true", help="short version (2 s instead of 10 s)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--no-brian2", action="store_true", help="skip the Brian2 side")
    p.add_argument("--no-dt", action="store_true", help="skip the dt-convergence runs")
    p.add_argument("--repeats", type=int, default=5,
                   help="timed runs of each simulator, interleaved; medians are reported (1..50, default 5)")
    p.set_defaults(func=cmd_bench)
