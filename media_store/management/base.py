"""The base of mediacache's management commands: bad input is one line, JSON is one line.

Django's argparse errors print a usage block before the error; CONTRACT §5 wants "one clear
line on bad input", so the usage is left to ``--help``. ``write_json`` is the ``--json`` output:
one compact object per line on stdout.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand


def _no_usage(file=None) -> None:
    """argparse prints the usage before every error; ``--help`` still shows it."""


class MediaCommand(BaseCommand):
    def create_parser(self, prog_name: str, subcommand: str, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        quiet(parser)
        return parser

    def write_json(self, data) -> None:
        self.stdout.write(json.dumps(data, separators=(",", ":"), default=str))


def quiet(parser) -> None:
    """Drop the usage block from a parser's error output (and from sub-command parsers made later)."""
    parser.print_usage = _no_usage
