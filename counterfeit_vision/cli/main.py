"""Command line: ``counterfeit-vision scan | index | brand | titles | feedback | train | sellers | testbuy``.

Exit codes: 0 when the command ran (rows with bad input carry their own ``error``),
2 for a user's mistake (a broken catalogue, index or model file, a bad option or a
missing file), printed as one line without a traceback, before any work.

Building the parser imports nothing heavy (``--help`` is instant): each command
imports the library parts it needs when it runs.
"""

from __future__ import annotations

import argparse
import logging
import sys

from counterfeit_vision._version import __version__
from counterfeit_vision.cli import catalog as catalog_commands
from counterfeit_vision.cli import feedback as feedback_commands
from counterfeit_vision.cli import package as package_commands
from counterfeit_vision.cli import rescan as rescan_commands
from counterfeit_vision.cli import review as review_commands
from counterfeit_vision.cli import scan as scan_commands
from counterfeit_vision.cli import sellers as sellers_commands
from counterfeit_vision.cli import titles as titles_commands
from counterfeit_vision.errors import UserError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The ``counterfeit-vision`` argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(prog="counterfeit-vision", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    scan_commands.register(sub)
    catalog_commands.register(sub)
    titles_commands.register(sub)
    feedback_commands.register(sub)
    rescan_commands.register(sub)
    sellers_commands.register(sub)
    package_commands.register(sub)
    review_commands.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv``; returns the exit code (2 with a message for a user error)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
