"""The base image: make sure the engine has it, and learn its Python and platform once.

The wheelhouse is resolved on the host for the image's interpreter, so the image is
run once (``python3 -c ...``, no network) and the answer is cached by image id.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import InfrastructureError, UsageError
from .engine import api_errors, short

PROBE = (
    "import json, platform, sys, sysconfig, importlib.util as u; "
    "print(json.dumps({'python': platform.python_version(), 'machine': platform.machine(), "
    "'libc': platform.libc_ver()[0], 'libc_version': platform.libc_ver()[1], "
    "'implementation': sys.implementation.name, 'platform': sysconfig.get_platform(), "
    "'has_pip': u.find_spec('pip') is not None, 'has_venv': u.find_spec('venv') is not None}))"
)
NOT_FOUND_WORDS = ("not found", "manifest unknown", "pull access denied", "repository does not exist",
                   "invalid reference format")


@dataclass(frozen=True)
class BaseImage:
    """What the wheelhouse and the Dockerfile need to know about the base image."""

    name: str
    image_id: str
    python: str  # e.g. "3.11.2"
    machine: str  # e.g. "x86_64"
    libc: str  # "glibc" or "musl" or ""
    libc_version: str  # e.g. "2.36"
    implementation: str = "cpython"
    repo_digest: str | None = None

    @property
    def python_minor(self) -> str:
        return ".".join(self.python.split(".")[:2])

    @property
    def abi(self) -> str:
        return "cp" + self.python_minor.replace(".", "")

    @property
    def site_packages(self) -> str:
        return f"lib/python{self.python_minor}/site-packages"

    def platform_tags(self) -> list[str]:
        """pip ``--platform`` tags this interpreter accepts, most specific first."""
        arch = self.machine
        if self.libc == "glibc":
            major, _, minor = self.libc_version.partition(".")
            top = int(minor) if major == "2" and minor.isdigit() else 17
            tags = [f"manylinux_2_{m}_{arch}" for m in range(top, 4, -1)]
            legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
            tags += [f"{name}_{arch}" for m, name in legacy.items() if m <= top]
            return [*tags, f"linux_{arch}"]
        if self.libc == "musl" or not self.libc:
            # platform.libc_ver() says nothing on musl; musllinux 1.1 and 1.2 cover Alpine 3.x
            return [f"musllinux_1_2_{arch}", f"musllinux_1_1_{arch}", f"linux_{arch}"]
        raise UsageError(f"base image {self.name} uses the C library {self.libc!r}, which has no Python wheels.")


def cache_root() -> Path:
    explicit = os.environ.get("MODELCI_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "modelci"


def ensure_base(client: Any, name: str) -> dict[str, Any]:
    """``docker image inspect`` of ``name``, pulling it first when the engine does not have it."""
    from docker.errors import ImageNotFound

    try:
        return dict(client.inspect_image(name))
    except ImageNotFound:
        pass
    except api_errors() as exc:
        raise InfrastructureError(f"could not inspect the base image {name}: {short(exc)}") from None
    problem = _pull(client, name)
    if problem is None:
        return dict(client.inspect_image(name))
    how = (f"Make it available to the engine (docker pull {name}, or docker load / docker build it), or "
           "choose another base with --base-image IMAGE or image.base in modelci.yaml; it needs Python 3 with "
           "pip and venv, like python:3.11-slim.")
    if any(word in problem.lower() for word in NOT_FOUND_WORDS):
        raise UsageError(f"the base image {name} does not exist locally and its registry does not have it "
                         f"({problem}). {how}")
    raise InfrastructureError(f"the base image {name} is not in the local Docker engine and could not be pulled: "
                              f"{problem}. {how}")


def _pull(client: Any, name: str) -> str | None:
    """Pull ``name``; the error text, or None when it worked."""
    repo, tag = split_tag(name)
    try:
        for chunk in client.pull(repo, tag=tag, stream=True, decode=True):
            if isinstance(chunk, dict) and chunk.get("error"):
                return str(chunk["error"])
    except api_errors() as exc:
        explanation = getattr(exc, "explanation", None)
        return short(explanation if explanation else exc)
    return None


def split_tag(name: str) -> tuple[str, str | None]:
    """("repo", "tag") of an image reference; a digest reference keeps its digest in the repo part."""
    if "@" in name:
        return name, None
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        repo, _, tag = name.rpartition(":")
        return repo, tag
    return name, "latest"


def probe_base(client: Any, name: str) -> BaseImage:
    """Run the base image once to learn its Python (cached by image id)."""
    info = ensure_base(client, name)
    image_id = str(info["Id"])
    digests = info.get("RepoDigests") or []
    cached = cache_root() / "base-images" / (image_id.replace(":", "-") + ".json")
    try:
        raw = json.loads(cached.read_text())
        return BaseImage(**{**raw, "name": name, "repo_digest": digests[0] if digests else None})
    except (OSError, ValueError, TypeError):
        pass
    found = _run_probe(client, name)
    if found.get("implementation") != "cpython":
        raise UsageError(f"base image {name} runs {found.get('implementation')!r}; modelci images need CPython.")
    if not found.get("has_pip") or not found.get("has_venv"):
        raise UsageError(
            f"base image {name} has Python {found.get('python')} without "
            f"{'pip' if not found.get('has_pip') else 'the venv module'}, which the image build needs to install "
            "the wheelhouse. Use an image that has both, such as python:3.11-slim."
        )
    base = BaseImage(name=name, image_id=image_id, python=str(found["python"]), machine=str(found["machine"]),
                     libc=str(found["libc"]), libc_version=str(found["libc_version"]),
                     repo_digest=digests[0] if digests else None)
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp")
    tmp.write_text(json.dumps({k: v for k, v in asdict(base).items() if k not in ("name", "repo_digest")}))
    os.replace(tmp, cached)
    return base


def _run_probe(client: Any, name: str) -> dict[str, Any]:
    container = client.create_container(
        name, entrypoint=["python3", "-c", PROBE], command=[],
        host_config=client.create_host_config(network_mode="none"),
    )
    cid = container["Id"]
    try:
        client.start(cid)
        status = client.wait(cid, timeout=120)
        out = client.logs(cid, stdout=True, stderr=True).decode("utf-8", "replace")
    except api_errors() as exc:
        text = short(getattr(exc, "explanation", None) or exc)
        if "executable file not found" in text or "no such file or directory" in text:
            raise UsageError(f"base image {name} has no python3 on its PATH ({text}). modelci images need a base "
                             "with Python 3, pip and venv, such as python:3.11-slim (--base-image or image.base)."
                             ) from None
        raise InfrastructureError(f"could not run the base image {name} to learn its Python: {text}") from None
    finally:
        client.remove_container(cid, force=True)
    code = status.get("StatusCode") if isinstance(status, dict) else None
    if code != 0:
        raise UsageError(
            f"base image {name} could not run `python3` (exit {code}): {out.strip()[-300:] or 'no output'}. "
            "modelci images need a base with Python 3, pip and venv on PATH, such as python:3.11-slim."
        )
    try:
        return dict(json.loads(out.strip().splitlines()[-1]))
    except (ValueError, IndexError):
        raise UsageError(f"base image {name}: unexpected answer from python3: {out.strip()[-300:]}") from None
