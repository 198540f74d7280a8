"""Building the estimator a config asks for: a declarative class or the repo's own function."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .config import EstimatorSpec
from .errors import ConfigError, UsageError


def build_declarative(spec: EstimatorSpec) -> Any:
    """Import ``spec.class_path`` and construct it with ``spec.params``."""
    module_name, _, class_name = spec.class_path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"model.estimator.class: cannot import module {module_name!r} ({exc}). "
                          "Check the spelling, or install the package that provides it.") from None
    cls = getattr(module, class_name, None)
    if cls is None:
        import difflib

        close = difflib.get_close_matches(class_name, [n for n in dir(module) if n[:1].isupper()], n=1)
        hint = f" Did you mean {module_name}.{close[0]}?" if close else ""
        raise ConfigError(f"model.estimator.class: {module_name} has no {class_name!r}.{hint}")
    if not inspect.isclass(cls) or not (hasattr(cls, "fit") and hasattr(cls, "predict")):
        raise ConfigError(f"model.estimator.class: {spec.class_path} is not an estimator "
                          "(it needs fit and predict methods, like every scikit-learn model).")
    try:
        return cls(**dict(spec.params))
    except TypeError as exc:
        valid = ""
        names = [p for p in inspect.signature(cls).parameters if p not in ("self", "args", "kwargs")]
        if names:
            valid = " Valid parameters: " + ", ".join(sorted(names))
        raise ConfigError(f"model.estimator.params: {spec.class_path} rejected the parameters: {exc}.{valid}") from None


def load_entrypoint(entrypoint: str, base_dir: Path) -> Any:
    """Return the function named by ``FILE.py:FUNCTION`` (relative to the config file)."""
    file_part, _, func_name = entrypoint.rpartition(":")
    path = (base_dir / file_part).resolve()
    if not path.is_file():
        raise ConfigError(f"model.entrypoint: {file_part} does not exist (looked for {path}).")
    module_name = f"modelci_entrypoint_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"model.entrypoint: {file_part} is not a Python file that can be imported.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise UsageError(f"model.entrypoint: importing {file_part} failed: {type(exc).__name__}: {exc}") from exc
    finally:
        sys.path.remove(str(path.parent))
    func = getattr(module, func_name, None)
    if not callable(func):
        names = [n for n, v in vars(module).items() if inspect.isfunction(v) and not n.startswith("_")]
        raise ConfigError(f"model.entrypoint: {file_part} has no function {func_name!r}; "
                          f"functions there: {', '.join(names) or 'none'}.")
    return func


def call_entrypoint(func: Any, entrypoint: str, train_frame: Any, params: Mapping[str, Any]) -> Any:
    try:
        model = func(train_frame, dict(params))
    except Exception as exc:
        raise UsageError(f"model.entrypoint: {entrypoint} raised {type(exc).__name__}: {exc}") from exc
    if model is None or not hasattr(model, "predict"):
        raise UsageError(f"model.entrypoint: {entrypoint} returned {type(model).__name__}, not a fitted "
                         "estimator; the function must return an object with a predict method.")
    return model
