"""The local target: a detached model server per environment, replaced only once the new one is ready."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from deploy_support import Project

from modelci.registry import open_registry


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "local-state"
    monkeypatch.setenv("MODELCI_LOCAL_STATE", str(folder))
    yield folder
    from modelci.deploy.local import stop

    stop(folder, "laptop")


def url_of(project: Project) -> str:
    import yaml

    port = yaml.safe_load((project.path / "modelci.yaml").read_text())["environments"]["laptop"]["port"]
    return f"http://127.0.0.1:{port}"


def test_local_serves_replaces_after_ready_and_keeps_the_previous(cli, deploy_project: Project, state: Path) -> None:
    config = str(deploy_project.path / "modelci.yaml")
    first = cli("deploy", "-c", config, "-e", "laptop", "--model", "1")
    assert first.code == 0, first.err
    url = url_of(deploy_project)
    assert first.outputs["url"] == url
    assert first.outputs["revision"] == "1"
    assert first.outputs["previous-version"] == ""
    resp = requests.post(f"{url}/invocations", data=deploy_project.payload,
                         headers={"Content-Type": "application/json"}, timeout=10)
    assert resp.json()["predictions"] == deploy_project.expected
    saved = json.loads((state / "laptop.json").read_text())
    old_pid = saved["pid"]
    assert saved["version"] == 1

    statuses: list[int] = []
    versions: set[int] = set()
    stop = threading.Event()

    def hammer() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                try:
                    r = session.post(f"{url}/invocations", data=deploy_project.payload,
                                     headers={"Content-Type": "application/json", "Connection": "close"}, timeout=10)
                    statuses.append(r.status_code)
                    v = requests.get(f"{url}/version", timeout=10, headers={"Connection": "close"})
                    versions.add(v.json()["version"])
                    v.close()
                    r.close()
                except requests.RequestException:
                    statuses.append(-1)

    worker = threading.Thread(target=hammer)
    worker.start()
    try:
        second = cli("deploy", "-c", config, "-e", "laptop", "--model", "2")
    finally:
        stop.set()
        worker.join()
    assert second.code == 0, second.err
    assert second.outputs["previous-version"] == "1"
    assert second.outputs["revision"] == "2"
    # Replaced only after the new server was ready: a stop-then-start would fail every request for the
    # 1-2 s a model takes to load. What remains is the kernel's reset of connections still queued on the
    # old listener when it closes (Linux without net.ipv4.tcp_migrate_req): at most one or two, rarely.
    assert len(statuses) > 20
    assert statuses.count(-1) <= 2, f"{statuses.count(-1)} failed of {len(statuses)}"
    assert set(statuses) <= {200, -1}
    assert versions <= {1, 2}
    assert requests.get(f"{url}/version", timeout=10).json()["version"] == 2
    saved = json.loads((state / "laptop.json").read_text())
    assert saved["previous"]["version"] == 1
    assert Path(saved["previous"]["bundle"]).is_dir()  # kept for a rollback
    assert saved["pid"] != old_pid
    assert not Path(f"/proc/{old_pid}").exists() or b"zombie" in Path(f"/proc/{old_pid}/status").read_bytes().lower()
    registry = open_registry(f"file://{deploy_project.registry}")
    assert registry.alias_version("breast-cancer", "laptop") == 2

    again = cli("deploy", "-c", config, "-e", "laptop", "--model", "2")
    assert again.code == 0
    assert "nothing to do" in again.err
    assert json.loads((state / "laptop.json").read_text())["pid"] == saved["pid"]


def test_local_server_that_cannot_start_leaves_nothing_running(cli, deploy_project: Project, state: Path) -> None:
    import socket

    url = url_of(deploy_project)
    port = int(url.rsplit(":", 1)[1])
    with socket.socket() as squatter:  # a foreign process holds the port without SO_REUSEPORT
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        result = cli("deploy", "-c", str(deploy_project.path / "modelci.yaml"), "-e", "laptop", "--model", "1")
    assert result.code == 1
    assert "exited before it was ready" in result.err
    assert not (state / "laptop.json").exists()
