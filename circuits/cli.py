"""The one command-line dispatcher shared by ``python -m circuits|ebn|homeostasis``.

Each package keeps its commands in ``<package>/cli_*.py`` modules exposing
``register(subparsers)``; its ``__main__`` only names them.
"""
from __future__ import annotations

import argparse
import importlib

#: Exit status of a command that ran to the end but measured a figure outside its target
#: (1 is what Python returns for any uncaught exception, so it cannot mean "ran").
EXIT_TARGET_MISSED = 3


def given_or(value, quick: bool, quick_default, full_default):
    """An option the user gave wins over ``--quick``; otherwise the quick or the full default."""
    if value is not None:
        return value
    return quick_default if quick else full_default


def build_parser(package: str, description: str, command_modules: tuple[str, ...]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"python -m {package}", description=description)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in command_modules:
        importlib.import_module(f"{package}.{name}").register(sub)
    return parser


def main(package: str, description: str, command_modules: tuple[str, ...], argv: list[str] | None = None) -> int:
    args = build_parser(package, description, command_modules).parse_args(argv)
    return int(args.func(args) or 0)
