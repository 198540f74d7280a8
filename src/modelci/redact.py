"""Secrets: announce them once, and they are masked in CI logs and cut out of our messages.

Modules that read credentials (the OCI registry, deploy) call :func:`secret`;
they need not know where the log goes. The CLI installs the GitHub Actions mask
as a hook at start-up, and passes every error message through :func:`redact`.
"""

from __future__ import annotations

from collections.abc import Callable

_secrets: set[str] = set()
_hooks: list[Callable[[str], None]] = []


def reset() -> None:
    """Forget secrets and hooks (each CLI invocation starts clean)."""
    _secrets.clear()
    _hooks.clear()


def add_hook(hook: Callable[[str], None]) -> None:
    if hook not in _hooks:
        _hooks.append(hook)
        for value in sorted(_secrets):
            hook(value)


def secret(value: str | None) -> None:
    """Register a secret: hooks (the CI log mask) see it once; :func:`redact` removes it."""
    if not value or len(value) < 4 or value in _secrets:
        return
    _secrets.add(value)
    for hook in _hooks:
        hook(value)


def redact(text: str) -> str:
    for value in sorted(_secrets, key=len, reverse=True):
        text = text.replace(value, "***")
    return text
