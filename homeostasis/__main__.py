"""``python -m homeostasis``: DYNAP-SE2 chip model and cross-homeostatic training experiments (Maryada et al. 2025).

Commands live in ``homeostasis/cli_*.py`` modules; see :mod:`circuits.cli`.
"""
import sys

from circuits import cli

COMMAND_MODULES = ("cli_chip", "cli_training")
DESCRIPTION = 'DYNAP-SE2 chip model and cross-homeostatic training experiments (Maryada et al. 2025).'


def build_parser():
    return cli.build_parser("homeostasis", DESCRIPTION, COMMAND_MODULES)


def main(argv=None) -> int:
    return cli.main("homeostasis", DESCRIPTION, COMMAND_MODULES, argv)


if __name__ == "__main__":
    sys.exit(cli.run("homeostasis", DESCRIPTION, COMMAND_MODULES))
