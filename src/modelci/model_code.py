"""The repository's own code a model needs to be unpickled, shipped inside its artifact.

A model returned by ``model.entrypoint`` may hold instances of classes defined in the
training file (imported as ``modelci_entrypoint_<stem>``) or in modules next to it (a
``features.py`` it imports). Unpickling needs those modules wherever the model is
served, so at training time the modules the pickle refers to are found and stored in
the artifact, which then becomes a zip:

    model.joblib           the estimator
    code/<relative path>   each module's source file, as laid out in the project
    modelci-code.json      {"modules": {module name: relative path}}

The zip is content-addressed like any artifact: its digest is checked before anything
in it is imported or unpickled.
"""

from __future__ import annotations

import atexit
import importlib
import importlib.util
import json
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

MODEL_MEMBER = "model.joblib"
CODE_DIR = "code"
MANIFEST = "modelci-code.json"
ENTRYPOINT_PREFIX = "modelci_entrypoint_"


def project_modules(base_dir: Path) -> dict[str, Path]:
    """Modules imported from the project's folder rather than from an installed package."""
    base = base_dir.resolve()
    found: dict[str, Path] = {}
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not file or not name:
            continue
        path = Path(file).resolve()
        if path.suffix == ".py" and base in path.parents and "site-packages" not in path.parts:
            found[name] = path
    return found


def referenced_modules(model: Any, candidates: dict[str, Path]) -> dict[str, Path]:
    """The candidates whose names the pickled model refers to (as a pickle's module strings)."""
    import pickle

    blob = pickle.dumps(model, protocol=4)
    out = {}
    for name, path in candidates.items():
        raw = name.encode()
        short = b"\x8c" + bytes([len(raw)]) + raw if len(raw) < 256 else b""
        long = b"X" + len(raw).to_bytes(4, "little") + raw
        if (short and short in blob) or long in blob:
            out[name] = path
    return out


def write_with_code(model_file: Path, modules: dict[str, Path], base_dir: Path, dest: Path) -> None:
    """A zip artifact holding the dumped model and the modules it needs."""
    base = base_dir.resolve()
    manifest = {"modules": {name: path.relative_to(base).as_posix() for name, path in sorted(modules.items())}}
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.write(model_file, MODEL_MEMBER)
        for rel in sorted(set(manifest["modules"].values())):
            zf.write(base / rel, f"{CODE_DIR}/{rel}")
        zf.writestr(MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))


def load_with_code(path: Path) -> Any:
    """Import the shipped modules (by the names the pickle uses), then unpickle the model."""
    import joblib

    folder = Path(tempfile.mkdtemp(prefix="modelci-code-"))
    atexit.register(shutil.rmtree, folder, True)
    with zipfile.ZipFile(path) as zf:
        for member in zf.namelist():
            parts = PurePosixPath(member).parts
            if member.startswith("/") or ".." in parts:
                raise ValueError(f"artifact member {member!r} would land outside its folder")
        zf.extractall(folder)
        manifest = json.loads(zf.read(MANIFEST))
    code = folder / CODE_DIR
    sys.path.insert(0, str(code))
    modules: dict[str, str] = manifest.get("modules", {})
    for name, rel in sorted(modules.items(), key=lambda kv: kv[0].startswith(ENTRYPOINT_PREFIX)):
        if name in sys.modules:
            continue
        if name.startswith(ENTRYPOINT_PREFIX):
            spec = importlib.util.spec_from_file_location(name, code / rel)
            if spec is None or spec.loader is None:
                raise ValueError(f"cannot import {rel} shipped with the model")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        else:
            importlib.import_module(name)
    return joblib.load(folder / MODEL_MEMBER)
