"""The build context: Dockerfile, wheelhouse, the modelci package, and the model bundle.

    CONTEXT/Dockerfile
    CONTEXT/wheelhouse/          wheels + requirements.txt (hard links into the host cache)
    CONTEXT/site/modelci/        the running modelci package, copied as installed
    CONTEXT/site/modelci-V.dist-info/
    CONTEXT/bin/modelci          console script of the image's venv
    CONTEXT/model/               the bundle (model.json + sha256-<hex>)

modelci goes in as the package folder that is running right now. That works the same
whether it was installed from a wheel, from PyPI or in editable mode from a checkout,
needs no build backend, and is exactly the code that was tested with the model.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..registry import ModelVersion, Registry
from ..serve.bundle import export_bundle
from .dockerfile import VENV, render
from .probe import BaseImage
from .wheelhouse import Wheelhouse

IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")
SCRIPT = f"""#!{VENV}/bin/python
import sys

from modelci.cli import main

if __name__ == "__main__":
    sys.exit(main())
"""


@dataclass(frozen=True)
class BuildContext:
    path: Path
    dockerfile: str


def package_folder() -> Path:
    import modelci

    return Path(modelci.__file__).resolve().parent


def assemble(dest: Path, registry: Registry, version: ModelVersion, base: BaseImage, wheelhouse: Wheelhouse,
             *, labels: Mapping[str, str]) -> BuildContext:
    """Lay out the build context in the empty folder ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    _link_tree(wheelhouse.path, dest / "wheelhouse")
    site = dest / "site"
    shutil.copytree(package_folder(), site / "modelci", ignore=IGNORED)
    _dist_info(site / f"modelci-{__version__}.dist-info")
    (dest / "bin").mkdir()
    script = dest / "bin" / "modelci"
    script.write_text(SCRIPT)
    script.chmod(0o755)
    export_bundle(registry, version, dest / "model")
    for path in (dest / "model").iterdir():
        path.chmod(0o644)
    dockerfile = render(base, labels)
    (dest / "Dockerfile").write_text(dockerfile)
    (dest / ".dockerignore").write_text("Dockerfile\n.dockerignore\n")
    return BuildContext(dest, dockerfile)


def _link_tree(source: Path, dest: Path) -> None:
    """Hard-link the cached files (same filesystem) or copy them."""
    dest.mkdir()
    for item in source.iterdir():
        if not item.is_file():
            continue
        try:
            os.link(item, dest / item.name)
        except OSError:
            shutil.copy2(item, dest / item.name)


def _dist_info(folder: Path) -> None:
    """Just enough metadata for importlib.metadata.version('modelci') inside the image."""
    folder.mkdir()
    (folder / "METADATA").write_text(f"Metadata-Version: 2.1\nName: modelci\nVersion: {__version__}\n")
    (folder / "INSTALLER").write_text("modelci publish-image\n")
    (folder / "top_level.txt").write_text("modelci\n")
    (folder / "RECORD").write_text("")
