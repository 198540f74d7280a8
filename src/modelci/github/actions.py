"""Workflow commands and files of GitHub Actions, harmless everywhere else.

Inside Actions (``GITHUB_ACTIONS=true``) this writes step outputs to
``$GITHUB_OUTPUT``, Markdown to ``$GITHUB_STEP_SUMMARY`` and annotations as
``::error::`` lines. Outside, outputs and summaries go only where the matching
variable points (nowhere if unset) and annotations become plain stderr lines.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO


def in_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def set_output(name: str, value: str) -> None:
    """Write one step output; multi-line values use a random heredoc delimiter."""
    target = os.environ.get("GITHUB_OUTPUT")
    if not target:
        return
    if "\n" in value or "\r" in value:
        import secrets

        delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
        while delimiter in value:
            delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
        text = f"{name}<<{delimiter}\n{value}\n{delimiter}\n"
    else:
        text = f"{name}={value}\n"
    with Path(target).open("a", encoding="utf-8") as fh:
        fh.write(text)


def append_summary(markdown: str) -> None:
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    with Path(target).open("a", encoding="utf-8") as fh:
        fh.write(markdown if markdown.endswith("\n") else markdown + "\n")


def _annotate(kind: str, message: str, title: str | None, stream: TextIO) -> None:
    if in_actions():
        props = f" title={_escape_property(title)}" if title else ""
        stream.write(f"::{kind}{props}::{_escape_data(message)}\n")
    else:
        prefix = f"{kind}: {title}: " if title else f"{kind}: "
        stream.write(prefix + message + "\n")
    stream.flush()


def error(message: str, title: str | None = None) -> None:
    _annotate("error", message, title, sys.stderr)


def warning(message: str, title: str | None = None) -> None:
    _annotate("warning", message, title, sys.stderr)


def notice(message: str, title: str | None = None) -> None:
    _annotate("notice", message, title, sys.stderr)


def mask(secret: str) -> None:
    """Ask the runner to hide ``secret`` in every log line from now on."""
    if not secret or not in_actions():
        return
    for line in secret.splitlines() or [secret]:
        if line.strip():
            sys.stdout.write(f"::add-mask::{_escape_data(line)}\n")
    sys.stdout.flush()


@contextlib.contextmanager
def group(title: str) -> Iterator[None]:
    """Fold the enclosed log lines under ``title`` in the Actions log."""
    if not in_actions():
        yield
        return
    sys.stdout.write(f"::group::{_escape_data(title)}\n")
    sys.stdout.flush()
    try:
        yield
    finally:
        sys.stdout.write("::endgroup::\n")
        sys.stdout.flush()
