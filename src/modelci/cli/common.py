"""Pieces every command module shares: options, config and registry wiring, output."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError

if TYPE_CHECKING:
    from ..config import Config
    from ..registry import Registry


class Parser(argparse.ArgumentParser):
    """argparse that raises UsageError (exit 2, one paragraph) instead of exiting itself."""

    def error(self, message: str) -> Any:
        raise UsageError(f"{self.prog}: {message}. See: {self.prog} --help")


def add_common(p: argparse.ArgumentParser, *, config: bool = True) -> None:
    """-c/--config, --set and --registry, each with its environment variable."""
    if config:
        p.add_argument("-c", "--config", default=os.environ.get("MODELCI_CONFIG") or None,
                       help="pipeline file (default: ./modelci.yaml; env MODELCI_CONFIG)")
        env_sets = [line.strip() for line in os.environ.get("MODELCI_SET", "").splitlines() if line.strip()]
        p.add_argument("--set", dest="overrides", action="append", default=env_sets, metavar="KEY=VALUE",
                       help="override a config key, e.g. --set model.params.C=0.5 (repeatable; "
                            "env MODELCI_SET, one per line)")
    p.add_argument("--registry", default=os.environ.get("MODELCI_REGISTRY") or None,
                   help="registry URI: file://PATH or oci://HOST/NAMESPACE (env MODELCI_REGISTRY)")


def load_config(args: argparse.Namespace, *, required: bool) -> Config | None:
    """The config named by -c, or ./modelci.yaml; None when optional and absent."""
    path = getattr(args, "config", None)
    if path is None and not required and not Path("modelci.yaml").exists():
        return None
    from ..config import load_config as load

    return load(path, getattr(args, "overrides", []))


def require_config(args: argparse.Namespace) -> Config:
    config = load_config(args, required=True)
    assert config is not None
    return config


def open_registry(args: argparse.Namespace, config: Config | None) -> Registry:
    """--registry wins over the config's registry:, which wins over the default."""
    from ..registry import DEFAULT_REGISTRY
    from ..registry import open_registry as open_uri

    if getattr(args, "registry", None):
        return open_uri(args.registry)
    if config is not None:
        return open_uri(config.registry, config.base_dir)
    return open_uri(DEFAULT_REGISTRY)


def model_name(config: Config | None) -> str | None:
    return config.model.name if config else None


def duration_arg(flag: str, value: str | None) -> float | None:
    """Seconds of a --duration-like option (30s, 5m, 1h30m); None when not given; exit 2 when unreadable."""
    from ..config.durations import parse_duration

    if not value:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise UsageError(f"{flag} {value!r}: {exc} (e.g. {flag} 30s)") from None


def kubeconfig_source(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """(path, content): --kubeconfig, else MODELCI_KUBECONFIG holding a path or the file's content."""
    if getattr(args, "kubeconfig", None):
        return args.kubeconfig, None
    raw = os.environ.get("MODELCI_KUBECONFIG") or ""
    if not raw.strip():
        return None, None
    if "\n" in raw.strip() or raw.lstrip().startswith(("apiVersion", "{")):
        return None, raw
    return raw.strip(), None


def github_token(args: argparse.Namespace) -> str | None:
    """--github-token, MODELCI_GITHUB_TOKEN or GITHUB_TOKEN; masked in the CI log at once."""
    from ..github import actions as gha

    token = (getattr(args, "github_token", None) or os.environ.get("MODELCI_GITHUB_TOKEN")
             or os.environ.get("GITHUB_TOKEN") or None)
    if token:
        gha.mask(token)
    return token


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True, default=str))
