"""Registry fixtures: a fresh empty registry per test, on every backend.

The oci backend runs against the real reference registry (Debian's docker-registry,
CNCF distribution), an instance of our own on a free port with its storage in tmp.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from modelci.registry import Registry, open_registry

BACKENDS = ["file", "oci"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ensure_installed(command: str, package: str) -> None:
    if shutil.which(command):
        return
    subprocess.run(["apt-get", "install", "-y", "-q", "-o", "DPkg::Lock::Timeout=600", package],
                   check=True, capture_output=True, env={"DEBIAN_FRONTEND": "noninteractive",
                                                         "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})


@dataclass
class RegistryServer:
    """One docker-registry process with its own storage, config and port."""

    root: Path
    port: int
    htpasswd: tuple[str, str] | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    def uri(self, namespace: str) -> str:
        return f"oci://{self.addr}/{namespace}"

    def start(self) -> RegistryServer:
        _ensure_installed("docker-registry", "docker-registry")
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        config: dict[str, Any] = {
            "version": 0.1,
            "log": {"level": "error", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(self.root / "data")}, "delete": {"enabled": True}},
            "http": {"addr": self.addr},
        }
        if self.htpasswd:
            _ensure_installed("htpasswd", "apache2-utils")
            user, password = self.htpasswd
            line = subprocess.run(["htpasswd", "-Bbn", user, password], check=True, capture_output=True).stdout
            (self.root / "htpasswd").write_bytes(line)
            config["auth"] = {"htpasswd": {"realm": "modelci-test", "path": str(self.root / "htpasswd")}}
        (self.root / "config.yml").write_text(json.dumps(config))  # JSON is YAML
        log = (self.root / "registry.log").open("ab")
        self.proc = subprocess.Popen(["docker-registry", "serve", str(self.root / "config.yml")],
                                     stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {(self.root / 'registry.log').read_text()[-2000:]}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"http://{self.addr}/v2/", timeout=1).status_code in (200, 401):
                    return self
            time.sleep(0.1)
        raise RuntimeError(f"docker-registry on {self.addr} did not come up")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def blob_file(self, digest: str) -> Path:
        hexdigest = digest.split(":", 1)[1]
        return self.root / "data/docker/registry/v2/blobs/sha256" / hexdigest[:2] / hexdigest / "data"


@pytest.fixture(scope="session")
def oci_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    server = RegistryServer(tmp_path_factory.mktemp("oci-registry"), free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def start_registry(tmp_path: Path) -> Iterator[Callable[..., RegistryServer]]:
    """Start extra registries of the test's own (htpasswd, stop-in-the-middle); stopped after."""
    started: list[RegistryServer] = []

    def start(htpasswd: tuple[str, str] | None = None) -> RegistryServer:
        server = RegistryServer(tmp_path / f"registry-{len(started)}", free_port(), htpasswd).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(autouse=True)
def registry_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No credentials, docker config or blob cache from the machine leak into a test."""
    for var in ("MODELCI_REGISTRY_USERNAME", "MODELCI_REGISTRY_PASSWORD", "GITHUB_TOKEN", "GITHUB_ACTIONS",
                "MODELCI_REGISTRY_INSECURE", "MODELCI_OCI_PAGE_SIZE", "MODELCI_REGISTRY", "GITHUB_OUTPUT",
                "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("MODELCI_OCI_SETTLE_S", "0.2")
    monkeypatch.setenv("MODELCI_REGISTRY_RETRIES", "3")
    monkeypatch.setenv("MODELCI_REGISTRY_BACKOFF_S", "0.1")


def unique_namespace() -> str:
    return f"t{uuid.uuid4().hex[:12]}/models"


@pytest.fixture(params=BACKENDS)
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Registry:
    """A fresh, empty registry of each backend."""
    if request.param == "file":
        return open_registry(f"file://{tmp_path / 'file-registry'}")
    server: RegistryServer = request.getfixturevalue("oci_server")
    return open_registry(server.uri(unique_namespace()))


@pytest.fixture
def artifact(tmp_path: Path) -> Callable[[bytes], Path]:
    """Write bytes to a fresh artifact file."""
    counter = iter(range(1_000_000))

    def write(payload: bytes = b"model bytes") -> Path:
        path = tmp_path / f"artifact-{next(counter)}.bin"
        path.write_bytes(payload)
        return path

    return write
