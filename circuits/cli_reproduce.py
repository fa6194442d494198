"""``python -m circuits reproduce``: every experiment of both papers, one report."""
from __future__ import annotations

import argparse
from pathlib import Path


def register(sub) -> None:
    from .reproduce import STAGES

    p = sub.add_parser("reproduce", help="run every stage (circuits, EBN, DYNAP-SE2) and write "
                       "DIR/index.html + DIR/metrics.json", description=__doc__)
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default runs/reproduction, with --full runs/reproduction-full: the two "
                        "modes train different runs under the same names, so they need their own folders)")
    p.add_argument("--full", action="store_true", help="paper-sized protocols instead of the quick ones")
    p.add_argument("--seed", type=int, default=1, help="seed passed to every stage, 0..2147482647 (default 1)")
    p.add_argument("--only", nargs="+", metavar="STAGE", choices=[s.name for s in STAGES],
                   help="run only these stages")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    from .reproduce import run

    if args.out is None:
        args.out = Path("runs/reproduction-full" if args.full else "runs/reproduction")
    merged = run(args.out, full=args.full, seed=args.seed, only=args.only, quiet=args.quiet)
    met = sum(c["met"] for c in merged["claims"])
    print(f"claims met: {met}/{len(merged['claims'])}; failed stages: {merged['failed_stages'] or 'none'}")
    print(f"report: {(Path(args.out) / 'index.html').resolve()}")
    return 1 if merged["failed_stages"] else 0
