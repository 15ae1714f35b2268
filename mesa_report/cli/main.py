"""The ``mesa-report`` command line.

Each sub-command lives in ``mesa_report/cli/<name>.py`` and exposes
``add_arguments(parser)`` and ``run(args) -> int``; this module only dispatches, imports each
command lazily (torch and WeasyPrint take a second to import) and turns the project's own errors
into one line on stderr and a non-zero exit (``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Iterable

from mesa_report.core.errors import MesaReportError

COMMANDS = {
    "preprocess": "EDF + NSRR/Profusion annotations -> preprocessed store",
    "train": "train a MESA Transformer on a preprocessed store",
    "visualize": "the seed's attention PNG/SVG files for samples of a night",
    "report": "standalone HTML and PDF explainability reports per subject",
    "faithfulness": "how far the explanations can be trusted, as a table per method",
    "batch": "inference + summaries (+ reports) for a whole cohort",
    "demo": "build the built-in demo cohort and print where it lives",
}


def _command_module(name: str):
    return importlib.import_module(f"mesa_report.cli.{name}")


def build_parser(available: dict[str, str] | None = None,
                 full: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """Return the top-level parser with one sub-parser per available command.

    Only the commands in ``full`` (all by default) import their module and define their options;
    the others are listed with their help text alone, so ``mesa-report --help`` and a command's
    own start stay quick (torch, pandas and WeasyPrint take seconds to import).
    """
    parser = argparse.ArgumentParser(
        prog="mesa-report",
        description="Explainability for the MESA Transformer sleep-staging model.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands = available or COMMANDS
    defined = set(commands) if full is None else set(full)
    for name, help_text in commands.items():
        module = None
        if name in defined:
            try:
                module = _command_module(name)
            except ModuleNotFoundError as exc:
                if exc.name != f"mesa_report.cli.{name}":
                    raise
                continue
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        if module is None:
            continue
        command_parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                                    help="show tracebacks on errors")
        module.add_arguments(command_parser)
        command_parser.set_defaults(_run=module.run)
    return parser


def _requested_command(argv: list[str]) -> str | None:
    """The command named on the line (the first word that is not an option), if it is one."""
    word = next((token for token in argv if not token.startswith("-")), None)
    return word if word in COMMANDS else None


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``mesa-report`` console script."""
    argv = sys.argv[1:] if argv is None else list(argv)
    requested = _requested_command(argv)
    parser = build_parser(full=[requested] if requested else [])
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except MesaReportError as exc:
        if args.debug:
            raise
        print(f"mesa-report {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"mesa-report {args.command}: interrupted; finished outputs are kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
