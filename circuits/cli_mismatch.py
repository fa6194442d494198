"""``python -m circuits mismatch-check``: SPICE Monte Carlo vs the common mismatch model."""
from __future__ import annotations

import argparse
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("mismatch-check", help="Monte Carlo of nfet/pfet_01v8 in subthreshold vs the "
                       "common mismatch model (writes metrics.json and mismatch.png)",
                       description=__doc__)
    p.add_argument("--out", type=Path, default=Path("runs/mismatch-check"), help="output folder")
    p.add_argument("--instances", type=int, default=64, help="mismatched devices per geometry (default 64)")
    p.add_argument("--seed", type=int, default=1, help="ngspice random seed of the first deck, 0..2147483644 (default 1)")
    p.add_argument("--quick", action="store_true", help="skip timing the full library (its first use unpacks ~130 MB)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    from .cli import EXIT_TARGET_MISSED
    from .mismatch_check import MismatchCheckConfig, run, summary_lines

    config = MismatchCheckConfig(instances=args.instances, seed=args.seed)
    metrics = run(config, args.out, progress=not args.quiet, full_library=not args.quick)
    if not args.quiet:
        print("\n".join(summary_lines(metrics)))
    print(f"results in {args.out.resolve()}")
    return 0 if metrics["all_within_target"] else EXIT_TARGET_MISSED
