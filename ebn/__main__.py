"""``python -m ebn``: Efficient Balanced Network experiments (Büchel et al. 2021).

Commands live in ``ebn/cli_*.py`` modules; see :mod:`circuits.cli`.
"""
import sys

from circuits import cli

COMMAND_MODULES = ("cli_experiments",)
DESCRIPTION = 'Efficient Balanced Network experiments (Büchel et al. 2021).'


def build_parser():
    return cli.build_parser("ebn", DESCRIPTION, COMMAND_MODULES)


def main(argv=None) -> int:
    return cli.main("ebn", DESCRIPTION, COMMAND_MODULES, argv)


if __name__ == "__main__":
    sys.exit(cli.run("ebn", DESCRIPTION, COMMAND_MODULES))
