"""The one command-line dispatcher shared by ``python -m circuits|ebn|homeostasis``.

Each package keeps its commands in ``<package>/cli_*.py`` modules exposing
``register(subparsers)``; its ``__main__`` only names them.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

#: Exit status of a command that ran to the end but measured a figure outside its target
#: (1 is what Python returns for any uncaught exception, so it cannot mean "ran").
EXIT_TARGET_MISSED = 3
#: Exit status of a command stopped by a bad value found after parsing (argparse's own is 2 too).
EXIT_BAD_INPUT = 2
#: Exit status after Ctrl-C (128 + SIGINT), as a shell reports it.
EXIT_INTERRUPTED = 130
#: Set this environment variable to see the traceback behind a one-line error.
TRACEBACK_ENV = "EIBALANCE_TRACEBACK"


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
    """Parse ``argv`` and run the command (its exceptions propagate; :func:`run` is the command line's)."""
    args = build_parser(package, description, command_modules).parse_args(argv)
    return int(args.func(args) or 0)


def run(package: str, description: str, command_modules: tuple[str, ...], argv: list[str] | None = None) -> int:
    """:func:`main` for the command line: a bad value or an unusable path is one line on stderr
    (exit 2), Ctrl-C one line saying what is kept (exit 130), instead of a traceback.

    Programs calling :func:`main` get the exceptions themselves.  Setting
    ``EIBALANCE_TRACEBACK=1`` re-raises, for the traceback behind a message.
    The command line also asks for numba's full-width vector target
    (``EIBALANCE_NUMBA_TARGET=wide`` unless set; see :mod:`circuits.numba_target`),
    which a library import leaves alone.
    """
    prog = f"python -m {package}"
    # the command line owns its process (and its workers, which inherit the variable): numba may
    # compile for the CPU's full vector width there (circuits.numba_target explains why only there)
    os.environ.setdefault("EIBALANCE_NUMBA_TARGET", "wide")
    try:
        from circuits import numba_target
        numba_target.configure()
        return main(package, description, command_modules, argv)
    except KeyboardInterrupt:
        if os.environ.get(TRACEBACK_ENV):
            raise
        print(f"{prog}: interrupted. Files already written are kept and complete: stored runs of a sweep or "
              "reproduction are reused when the same command is run again.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, OSError) as e:
        if os.environ.get(TRACEBACK_ENV):
            raise
        print(f"{prog}: error: {e}\n(set {TRACEBACK_ENV}=1 to see where it was raised)", file=sys.stderr)
        return EXIT_BAD_INPUT
