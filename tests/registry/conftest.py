"""Registry fixtures: a fresh empty registry per test, on every backend.

The oci backend runs against the real reference registry (Debian's docker-registry,
CNCF distribution), an instance of our own on a free port with its storage in tmp.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from oci_server import RegistryServer, free_port, unique_namespace

from modelci.registry import Registry, open_registry

BACKENDS = ["file", "oci"]


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
