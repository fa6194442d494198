"""``python -m circuits verify``: transistor-level benches of the spike extender, DPI synapse
and Traff comparator vs their behavioural twins, with Monte Carlo.

Writes ``DIR/metrics.json``, ``DIR/data.npz`` and one PNG per block
(``spike_extender.png``, ``dpi_synapse.png``, ``traff_comparator.png``,
``mismatch.png``). ``--regenerate-golden`` rewrites the golden waveforms of
the regression tests (``tests/circuits/golden/blocks_golden.npz``) on purpose
and exits.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("verify", help="run the spike-extender, DPI and Traff benches against their twins "
                       "(writes metrics.json and plots)", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("runs/verify"), help="output folder (default runs/verify)")
    p.add_argument("--seed", type=int, default=1, help="Monte Carlo seed (ngspice rndseed and mismatch draws; default 1)")
    p.add_argument("--quick", action="store_true", help="fewer sweep points and a shorter train (< 2 min)")
    p.add_argument("--no-monte-carlo", action="store_true", help="skip the three tt_mm decks")
    p.add_argument("--regenerate-golden", action="store_true",
                   help="rewrite tests/circuits/golden/blocks_golden.npz from the current netlists and exit")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no summary")
    p.set_defaults(func=_main)


def summary_lines(m: dict) -> list[str]:
    se, dp, tc = m["spike_extender"], m["dpi_synapse"], m["traff_comparator"]
    lines = [
        f"spike extender: width max rel err {se['max_rel_err'] * 100:.1f} % over I_pw "
        f"{min(se['i_pw_a']):g}..{max(se['i_pw_a']):g} A; rail to rail {se['rail_to_rail']}; back-to-back: "
        f"{se['back_to_back']['n_output_pulses']} pulse(s), width err {se['back_to_back']['rel_err'] * 100:.1f} %",
        f"DPI: tau max rel err {dp['tau_max_rel_err'] * 100:.1f} %, gain max rel err "
        f"{dp['gain_max_rel_err'] * 100:.1f} %, 100 Hz train NRMSE {dp['train_nrmse'] * 100:.1f} %",
        "Traff: resolution " + ", ".join(f"{k}: {v:.3g} A" if v else f"{k}: none"
                                         for k, v in tc["resolution_a"].items())
        + "; delay " + ", ".join(f"{k}: {v:.3g} s" for k, v in tc["delay_s"].items())
        + f"; all decisions correct {tc['all_decisions_correct']}",
    ]
    for k, v in m.get("mismatch", {}).items():
        if isinstance(v, dict):
            lines.append(f"Monte Carlo {k}: sigma measured {v['sigma_measured']:.3g}, predicted "
                         f"{v['sigma_predicted']:.3g} (ratio {v['ratio']:.2f})")
    lines.append(f"wall time {m['wall_s']:.1f} s")
    return lines


def _flatten_waves(m: dict) -> dict:
    import numpy as np

    data = {}
    se = m["spike_extender"]["_waves"]
    for i_pw, run in zip(m["spike_extender"]["i_pw_a"], se["runs"]):
        data[f"spike_extender/ipw_{i_pw:g}/t"], data[f"spike_extender/ipw_{i_pw:g}/out"] = run["t"], run["out"]
    dp = m["dpi_synapse"]["_waves"]
    for i_tau, run in zip(m["dpi_synapse"]["i_tau_a"], dp["tau_runs"]):
        data[f"dpi_synapse/itau_{i_tau:g}/t"], data[f"dpi_synapse/itau_{i_tau:g}/i_syn"] = run["t"], run["i"]
    tr = dp["train"]
    data["dpi_synapse/train/t"], data["dpi_synapse/train/i_spice"] = tr["t"], tr["i_spice"]
    data["dpi_synapse/train/i_model"] = tr["i_model"]
    for key, run in m["traff_comparator"]["_waves"].items():
        data[f"traff_comparator/iref_{key}/t"], data[f"traff_comparator/iref_{key}/out"] = run["t"], run["out"]
    return {k: np.asarray(v) for k, v in data.items()}


def _main(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from . import blocks
    from .jsonio import begin_results, write_json, write_npz
    from .plotting_blocks import plot_dpi_synapse, plot_mismatch, plot_spike_extender, plot_traff_comparator

    if args.regenerate_golden:
        path = blocks.write_golden()
        print(f"golden waveforms written to {path}")
        return 0
    config = blocks.VerifyConfig.quick(seed=args.seed) if args.quick else blocks.VerifyConfig(seed=args.seed)
    if args.no_monte_carlo:
        from dataclasses import replace
        config = replace(config, monte_carlo=False)
    with tqdm(total=config.n_steps(), desc="verify", disable=args.quiet, file=sys.stderr) as bar:
        metrics = blocks.verify(config, progress=bar)
    begin_results(args.out, () if "mismatch" in metrics else ("mismatch.png",))
    write_npz(args.out / "data.npz", **_flatten_waves(metrics))
    plot_spike_extender(metrics["spike_extender"], args.out / "spike_extender.png")
    plot_dpi_synapse(metrics["dpi_synapse"], args.out / "dpi_synapse.png")
    plot_traff_comparator(metrics["traff_comparator"], args.out / "traff_comparator.png")
    if "mismatch" in metrics:
        plot_mismatch(metrics["mismatch"], args.out / "mismatch.png")
    clean = blocks.strip_waves(metrics)
    clean["quick"] = bool(args.quick)
    write_json(args.out / "metrics.json", clean)
    if not args.quiet:
        print("\n".join(summary_lines(clean)))
    print(f"results in {args.out.resolve()}")
    return 0


