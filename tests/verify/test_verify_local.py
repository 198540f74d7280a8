"""modelci verify and rollback on the local target, with real model servers and traffic."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelci.registry import open_registry
from modelci.verify.http_probe import HttpProbe

MODEL = "breast-cancer"


class Local:
    def __init__(self, cli, project: Path, port: int) -> None:
        self.cli, self.project, self.port = cli, project, port
        self.url = f"http://127.0.0.1:{port}"

    def run(self, *args: str):
        return self.cli(*args[:1], "-c", str(self.project / "modelci.yaml"), "--set",
                        f"environments.production.port={self.port}", *args[1:])

    def deploy(self, version: int) -> None:
        result = self.run("deploy", "-e", "production", "--model", str(version))
        assert result.code == 0, result.err

    def verify(self, *args: str):
        return self.run("verify", "-e", "production", "--report", str(self.project / "report"), *args)

    def send(self, body: bytes) -> object:
        return HttpProbe(self.url, timeout_s=5).call("POST", "/invocations", body)

    def served(self) -> int:
        status, body = HttpProbe(self.url).call("GET", "/version")
        assert status == 200
        return int(json.loads(body)["version"])

    def registry(self):
        return open_registry(f"file://{self.project / '.modelci' / 'registry'}")

    def alias(self, name: str) -> int | None:
        return self.registry().alias_version(MODEL, name)

    def events(self, kind: str) -> list:
        return [e for e in self.registry().events(MODEL) if e.kind == kind]


@pytest.fixture
def local(cli, project: Path, tmp_path: Path) -> Iterator[Local]:
    import socket

    from modelci.deploy.local import stop

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    target = Local(cli, project, port)
    yield target
    stop(tmp_path / "local-state", "production")


def test_a_good_version_passes_and_becomes_champion(local: Local, traffic) -> None:
    local.deploy(1)
    local.deploy(2)
    with traffic(local.send) as t:
        result = local.verify()
    assert result.code == 0, result.err
    assert t.sent > 40
    assert result.outputs == {"healthy": "true", "rolled-back": "false",
                              "report": str(local.project / "report" / "verify.md")}
    assert local.alias("champion") == 2
    assert local.alias("production") == 2
    event = local.events("verified")[-1]
    assert (event.version, event.data["environment"], event.data["healthy"]) == (2, "production", True)
    assert event.data["checks"]["window"]["failures"] == 0
    assert event.data["checks"]["window"]["requests"] > 40
    report = json.loads((local.project / "report" / "verify.json").read_text())
    assert report["healthy"] is True and len(report["window"]["intervals"]) >= 5
    assert "is healthy" in result.summary and "xychart-beta" in result.summary
    assert "moved alias champion" in result.out


@pytest.mark.parametrize(("version", "check"), [(3, "error_rate"), (4, "latency_p95_ms"), (5, "psi")],
                         ids=["5xx", "slow", "drift"])
def test_a_bad_version_is_rolled_back(local: Local, traffic, version: int, check: str) -> None:
    local.deploy(1)
    local.deploy(version)
    assert local.alias("production") == version
    with traffic(local.send):
        result = local.verify()
    assert result.code == 1, result.err
    assert result.outputs["healthy"] == "false" and result.outputs["rolled-back"] == "true"
    assert f"{check} = " in result.err and "ROLLED BACK" in result.err
    assert local.served() == 1
    assert local.alias("production") == 1
    assert local.alias("champion") is None  # never moved to the bad version
    verified = local.events("verified")[-1]
    assert (verified.version, verified.data["healthy"]) == (version, False)
    assert any(r.startswith(f"{check} = ") for r in verified.data["reasons"])
    rolled = local.events("rolled_back")[-1]
    assert rolled.version == version
    assert rolled.data["environment"] == "production" and rolled.data["restored_version"] == 1
    assert rolled.data["detected_at"] <= rolled.data["restored_at"]
    assert "[!CAUTION]" in result.summary and "Rolled back." in result.summary
    metrics = local.run("metrics", "--format", "json")  # the DORA figures read these events
    assert metrics.code == 0, metrics.err
    production = json.loads(metrics.out)[0]["environments"]["production"]
    assert (production["rollbacks"], production["verifications"]) == (1, {"passed": 0, "total": 1})
    assert production["time_to_restore_s"]["count"] == 1
    back = local.run("rollback", "-e", "production")  # 'previous' is now the bad version
    assert back.code == 2 and "will not bring it back by default" in back.err and "--to REF" in back.err


def test_no_rollback_only_reports(local: Local, traffic) -> None:
    local.deploy(1)
    local.deploy(3)
    with traffic(local.send):
        result = local.verify("--no-rollback")
    assert result.code == 1
    assert result.outputs["rolled-back"] == "false"
    assert "rollback was off, nothing was changed" in result.err
    assert local.served() == 3 and local.alias("production") == 3
    assert local.events("rolled_back") == []


def test_rollback_by_hand_moves_champion_back(local: Local, traffic) -> None:
    local.deploy(1)
    with traffic(local.send):
        assert local.verify("--duration", "1s").code == 0
    local.deploy(2)
    with traffic(local.send):
        assert local.verify("--duration", "1s").code == 0
    assert local.alias("champion") == 2
    result = local.run("rollback", "-e", "production")
    assert result.code == 0, result.err
    assert local.served() == 1
    assert (local.alias("production"), local.alias("champion")) == (1, 1)
    rolled = local.events("rolled_back")[-1]
    assert (rolled.version, rolled.data["trigger"], rolled.data["restored_version"]) == (2, "manual", 1)
    to = local.run("rollback", "-e", "production", "--to", "2")
    assert to.code == 0, to.err
    assert local.served() == 2 and local.alias("production") == 2


def test_nothing_to_roll_back_to_is_exit_3(local: Local, traffic) -> None:
    local.deploy(3)
    with traffic(local.send):
        result = local.verify()
    assert result.code == 3, result.err
    assert "no previous version to roll back to" in result.err
    assert local.served() == 3 and local.alias("production") == 3
    assert local.events("rolled_back") == []
    assert "rollback did not complete" in (local.project / "report" / "verify.md").read_text()


def test_a_previous_version_whose_artifact_is_gone_is_exit_3(local: Local, traffic, tmp_path: Path) -> None:
    import shutil

    local.deploy(1)
    local.deploy(3)
    shutil.rmtree(tmp_path / "local-state" / "production" / f"{MODEL}-1")
    registry = local.registry()
    artifact = registry._artifact_path(registry.get_version(MODEL, 1))  # corrupt it on purpose
    artifact.write_bytes(b"gone")
    with traffic(local.send):
        result = local.verify()
    assert result.code == 3, result.err
    assert f"cannot roll back production to {MODEL}:1" in result.err
    assert local.served() == 3 and local.alias("production") == 3
    assert local.events("rolled_back") == []


def test_bad_input(local: Local) -> None:
    never = local.verify()
    assert never.code == 2 and "never been deployed" in never.err and "modelci deploy" in never.err
    unknown = local.run("verify", "-e", "nowhere")
    assert unknown.code == 2 and "configured: live (kubernetes), preview (kubernetes)" in unknown.err
    duration = local.verify("--duration", "soon")
    assert duration.code == 2 and "--duration 'soon'" in duration.err
    missing = local.run("verify")
    assert missing.code == 2 and "--environment" in missing.err
