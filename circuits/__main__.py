"""``python -m circuits``: circuit verification commands (sky130 / ngspice) and the full reproduction.

Commands live in ``circuits/cli_*.py`` modules; see :mod:`circuits.cli`.
"""
import sys

from circuits import cli

COMMAND_MODULES = ("cli_mismatch", "cli_blocks", "cli_plastic", "cli_reproduce")
DESCRIPTION = 'circuit verification commands (sky130 / ngspice) and the full reproduction.'


def build_parser():
    return cli.build_parser("circuits", DESCRIPTION, COMMAND_MODULES)


def main(argv=None) -> int:
    return cli.main("circuits", DESCRIPTION, COMMAND_MODULES, argv)


if __name__ == "__main__":
    sys.exit(cli.run("circuits", DESCRIPTION, COMMAND_MODULES))
