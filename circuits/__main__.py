"""``python -m circuits``: circuit verification commands.

Each command lives in its own ``circuits/cli_*.py`` module exposing
``register(subparsers)``; this file only dispatches.
"""
from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = ("cli_mismatch", "cli_blocks", "cli_plastic", "cli_reproduce")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m circuits", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"circuits.{name}")
        except ModuleNotFoundError as err:
            if err.name == f"circuits.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
