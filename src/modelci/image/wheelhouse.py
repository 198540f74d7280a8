"""The image's dependencies, resolved and downloaded on the host for the image's Python.

No network is used inside the image build (it is often unavailable there, and a build
that resolves at build time is not reproducible). The model's own libraries are pinned
to the versions it was trained with, because a pickle must be loaded by the same
scikit-learn, numpy and friends that wrote it. The wheelhouse is cached on the host,
keyed by the requirement set and the target interpreter, so a new model version with
the same dependencies reuses it and Docker's cache reuses the layer built from it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from ..errors import InfrastructureError, UsageError
from ..registry import ModelVersion
from .probe import BaseImage, cache_root

PINNED_FROM_RECORD = ("scikit-learn", "numpy", "pandas", "scipy", "joblib")
SERVE_EXTRA = "serve"
REQUIREMENTS = "requirements.txt"
PIP_TIMEOUT_S = 900


@dataclass(frozen=True)
class Wheelhouse:
    path: Path
    requirements: tuple[str, ...]
    key: str
    cached: bool

    def wheels(self) -> list[Path]:
        return sorted(self.path.glob("*.whl"))


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements_for(version: ModelVersion) -> tuple[list[str], list[str]]:
    """(requirements, warnings): modelci's own and its server's, with the model's libraries pinned."""
    try:
        declared = metadata.requires("modelci") or []
    except metadata.PackageNotFoundError:
        raise UsageError("modelci is not installed as a package (no metadata found), so the image's dependencies "
                         "cannot be listed. Install it with pip (pip install 'modelci[image]').") from None
    recorded = {canonical(k): str(v) for k, v in (version.packages or {}).items()}
    wanted: dict[str, str] = {}
    for raw in declared:
        spec, _, marker = raw.partition(";")
        if not _applies(marker):
            continue
        name = canonical(re.split(r"[\s<>=!~\[(]", spec.strip(), maxsplit=1)[0])
        wanted[name] = spec.strip()
    warnings: list[str] = []
    for name in PINNED_FROM_RECORD:
        if name in recorded:
            wanted[name] = f"{name}=={recorded[name]}"
        elif name in wanted:
            warnings.append(f"{version.ref} does not record its {name} version; the image gets the newest "
                            f"{wanted[name]}, which may not load the model the same way.")
    return sorted(wanted.values(), key=str.lower), warnings


def _applies(marker: str) -> bool:
    """Whether a requirement's environment marker holds in a Linux image with the serve extra."""
    marker = marker.strip()
    if not marker:
        return True
    extras = re.findall(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
    if extras and SERVE_EXTRA not in extras:
        return False
    windows_only = re.search(r"(sys_platform\s*==\s*['\"]win32|platform_system\s*==\s*['\"]Windows)", marker)
    return windows_only is None


def python_mismatch(version: ModelVersion, base: BaseImage) -> str | None:
    trained = str((version.packages or {}).get("python") or "")
    trained_minor = ".".join(trained.split(".")[:2])
    if trained_minor and trained_minor != base.python_minor:
        return (f"{version.ref} was trained with Python {trained}, the base image {base.name} has Python "
                f"{base.python}; pickles usually load across versions, but a base image with Python "
                f"{trained_minor} is the safe choice (--base-image or image.base).")
    return None


def ensure_wheelhouse(requirements: list[str], base: BaseImage) -> Wheelhouse:
    """Download (or reuse from the cache) every wheel ``requirements`` need on ``base``."""
    tags = base.platform_tags()
    identity = {"requirements": requirements, "python": base.python_minor, "abi": base.abi, "platforms": tags}
    key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:20]
    root = cache_root() / "wheelhouse"
    final = root / key
    if (final / REQUIREMENTS).is_file():
        return Wheelhouse(final, tuple(requirements), key, cached=True)
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=root))
    try:
        _download(requirements, base, tags, work)
        (work / REQUIREMENTS).write_text("\n".join(requirements) + "\n")
        try:
            os.replace(work, final)
        except OSError:  # another run finished the same wheelhouse first
            if not (final / REQUIREMENTS).is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Wheelhouse(final, tuple(requirements), key, cached=False)


def _download(requirements: list[str], base: BaseImage, tags: list[str], dest: Path) -> None:
    command = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--no-input",
               "--only-binary=:all:", "--python-version", base.python_minor, "--implementation", "cp",
               "--abi", base.abi, "-d", str(dest)]
    for tag in tags:
        command += ["--platform", tag]
    try:
        done = subprocess.run([*command, *requirements], capture_output=True, text=True, timeout=PIP_TIMEOUT_S,
                              check=False)
    except subprocess.TimeoutExpired:
        raise InfrastructureError(f"pip download of the image's dependencies took more than {PIP_TIMEOUT_S}s; "
                                  "is the package index reachable?") from None
    except OSError as exc:
        raise InfrastructureError(f"could not run pip to build the wheelhouse: {exc}") from None
    if done.returncode == 0:
        return
    errors = [line for line in done.stderr.splitlines() if line.strip() and "WARNING" not in line]
    tail = " ".join(" ".join(errors[-6:]).split())[-900:]
    unreachable = re.search(r"(connection|timed out|temporary failure|name resolution|network)", tail, re.I)
    if unreachable:
        raise InfrastructureError(f"pip could not reach the package index to build the image's wheelhouse: {tail}")
    raise UsageError(
        f"no wheels for Python {base.python_minor} on {tags[0]} (the base image {base.name}) satisfy "
        f"{' '.join(requirements)}: {tail}. The model pins the library versions it was trained with; use a "
        "base image whose Python matches the training Python (--base-image or image.base), or retrain the model "
        "with libraries that publish wheels for the image's Python."
    )
