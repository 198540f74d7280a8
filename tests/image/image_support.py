"""Helpers of the publish-image tests: modelci in-process, the test-bed scripts, the registry API."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "scripts" / "services"
EXAMPLE = ROOT / "examples" / "breast-cancer"
REGISTRY = "127.0.0.1:5000"
AUTH_REGISTRY = "127.0.0.1:5001"
TEST_PREFIXES = (f"{REGISTRY}/modelci-tests/", f"{AUTH_REGISTRY}/modelci-tests/", "modelci-tests/")
AUTH_USER, AUTH_PASSWORD = "modelci-user", "pw-Xq7-never-printed"
GIT_SHA = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class Run:
    code: int
    out: str
    err: str
    outputs: dict[str, str]

    def json(self) -> dict[str, Any]:
        return json.loads(self.out)


def modelci(*argv: str, cwd: Path, env: dict[str, str] | None = None, stdin: str = "") -> Run:
    """modelci's main(argv) in-process, with GITHUB_OUTPUT in a temporary file and ``env`` set."""
    from modelci.cli import main

    output = cwd / f".github-output-{uuid.uuid4().hex[:8]}"
    output.write_text("")
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        for var in ("MODELCI_CONFIG", "MODELCI_REGISTRY", "GITHUB_ACTIONS", "GITHUB_REF", "GITHUB_SHA",
                    "MODELCI_REGISTRY_USERNAME", "MODELCI_REGISTRY_PASSWORD", "DOCKER_HOST", "DOCKER_CONFIG",
                    "GITHUB_REPOSITORY"):
            mp.delenv(var, raising=False)
        mp.setenv("GITHUB_OUTPUT", str(output))
        for key, value in (env or {}).items():
            mp.setenv(key, value)
        mp.setattr(sys, "stdin", io.StringIO(stdin))
        mp.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(argv))
    outputs = parse_outputs(output.read_text())
    output.unlink()
    return Run(code, out.getvalue(), err.getvalue(), outputs)


def parse_outputs(text: str) -> dict[str, str]:
    """$GITHUB_OUTPUT as the runner reads it: name=value lines and name<<DELIMITER blocks."""
    outputs: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        name, sep, delimiter = line.partition("<<")
        if sep and "=" not in name:
            outputs[name] = "\n".join(iter(lambda: next(lines), delimiter))
        else:
            key, _, value = line.partition("=")
            outputs[key] = value
    return outputs


def service(script: str, *args: str) -> None:
    done = subprocess.run([str(SERVICES / script), *args], capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        pytest.fail(f"{script} {' '.join(args)} could not bring up the test bed:\n{done.stderr[-2000:]}")


def make_project(dest: Path, example_data: Path) -> Path:
    dest.mkdir(parents=True)
    shutil.copy(EXAMPLE / "modelci.yaml", dest / "modelci.yaml")
    shutil.copy(EXAMPLE / "train.py", dest / "train.py")
    shutil.copytree(example_data, dest / "data")
    return dest


def train_and_gate(project: Path, *sets: str) -> int:
    args = [a for s in sets for a in ("--set", s)]
    trained = modelci("train", *args, cwd=project, env={"GITHUB_SHA": GIT_SHA, "GITHUB_REPOSITORY": "acme/churn"})
    assert trained.code == 0, trained.err
    version = int(trained.outputs["model-version"])
    gated = modelci("gate", "--candidate", f"breast-cancer:{version}", cwd=project)
    assert gated.code == 0, gated.err + gated.out
    return version


@dataclass
class Published:
    project: Path
    repository: str
    run: Run
    result: dict[str, Any]
    modelci_source: str  # package_digest() around the build


def package_digest() -> str:
    """The running modelci package's source, hashed: what the image's modelci layer is built from."""
    import hashlib

    import modelci

    folder = Path(modelci.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.py")):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def manifest(repository: str, reference: str) -> dict[str, Any]:
    """A manifest straight from the registry's HTTP API."""
    import requests

    host, _, name = repository.partition("/")
    accept = ", ".join(["application/vnd.docker.distribution.manifest.v2+json",
                        "application/vnd.oci.image.manifest.v1+json"])
    with requests.get(f"http://{host}/v2/{name}/manifests/{reference}", headers={"Accept": accept},
                      timeout=10) as response:
        response.raise_for_status()
        return dict(response.json())


def registry_tags(repository: str) -> list[str]:
    import requests

    host, _, name = repository.partition("/")
    with requests.get(f"http://{host}/v2/{name}/tags/list", timeout=10) as response:
        if response.status_code == 404:
            return []
        response.raise_for_status()
        return list(response.json().get("tags") or [])
