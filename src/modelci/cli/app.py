"""The command line: parse argv into a request, call one core function, map errors to exit codes.

The cli package is the only place that knows about argv and exit codes. Each
command lives in its own module with ``add_parser(subparsers)``; listing it in
COMMANDS is all it takes to wire it in.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence

from .. import __version__, redact
from ..errors import ModelciError
from ..github import actions as gha
from .common import Parser

Handler = Callable[[argparse.Namespace], int]
COMMANDS = ("train_cmd", "gate_cmd", "registry_cmd", "serve_cmd", "metrics_cmd", "deploy_cmd", "publish_cmd",
            "verify_cmd", "run_cmd")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="modelci", description="Model CI/CD: train, gate, publish, deploy, verify.")
    parser.add_argument("--version", action="version", version=f"modelci {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(f"{__package__}.{name}").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (0 done, 1 verdict no, 2 bad input, 3 infra)."""
    redact.reset()
    redact.add_hook(gha.mask)
    try:
        args = build_parser().parse_args(argv)
        handler: Handler = args.handler
        return handler(args)
    except ModelciError as exc:
        report_failure(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        print("modelci: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (e.g. `| head`): not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def report_failure(exc: ModelciError) -> None:
    """One paragraph to stderr (an ::error:: annotation in Actions) and the step summary."""
    message = redact.redact(str(exc))
    gha.append_summary(f"### :x: {exc.title}\n\n{message}\n")
    if gha.in_actions():
        gha.error(message, title=exc.title)
    else:
        print(f"modelci: error: {message}", file=sys.stderr)
