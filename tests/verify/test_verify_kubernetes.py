"""modelci verify and rollback on the Kubernetes emulator: real model servers as pods, the official client,
smoke through the Service proxy, /metrics of each pod through the pod proxy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from verify_support import image

from k8s_emulator import Emulator
from modelci.registry import open_registry
from modelci_testing import edit_config

MODEL = "breast-cancer"


class Kube:
    def __init__(self, cli, project: Path, em: Emulator, kubeconfig: Path, env: str, ns: str) -> None:
        self.cli, self.project, self.em, self.kubeconfig, self.env, self.ns = cli, project, em, kubeconfig, env, ns

    def run(self, command: str, *args: str):
        return self.cli(command, "-c", str(self.project / "modelci.yaml"), "--kubeconfig", str(self.kubeconfig),
                        "-e", self.env, *args)

    def deploy(self, version: int, *args: str) -> None:
        result = self.run("deploy", "--model", str(version), "--image", image(version), *args)
        assert result.code == 0, result.err

    def verify(self, *args: str):
        return self.run("verify", "--report", str(self.project / "report"), *args)

    def send(self, body: bytes) -> object:
        return self.em.proxy(self.ns, f"{MODEL}:80", "POST", "/invocations", body,
                             {"Content-Type": "application/json"})

    def served(self) -> set[int]:
        seen = set()
        for _ in range(6):
            status, body = self.em.proxy(self.ns, f"{MODEL}:80", "GET", "/version")
            assert status == 200, body
            seen.add(int(json.loads(body)["version"]))
        return seen

    def alias(self, name: str) -> int | None:
        return open_registry(f"file://{self.project / '.modelci' / 'registry'}").alias_version(MODEL, name)

    def events(self, kind: str) -> list:
        registry = open_registry(f"file://{self.project / '.modelci' / 'registry'}")
        return [e for e in registry.events(MODEL) if e.kind == kind]


@pytest.fixture
def kube(cli, project: Path, emulator: Emulator, kubeconfig: Path):
    def make(env: str, ns: str) -> Kube:
        return Kube(cli, project, emulator, kubeconfig, env, ns)
    return make


def test_rolling_good_version_becomes_champion_then_a_5xx_version_is_undone(kube, traffic) -> None:
    prod = kube("prod", "prod")
    prod.deploy(1)
    prod.deploy(2)
    with traffic(prod.send):
        good = prod.verify()
    assert good.code == 0, good.err
    assert prod.alias("champion") == 2
    assert prod.events("verified")[-1].data["checks"]["window"]["requests"] > 20
    prod.deploy(3)
    with traffic(prod.send):
        bad = prod.verify()
    assert bad.code == 1, bad.err
    assert "error_rate = 1 " in bad.err
    assert prod.served() == {2}
    dep = prod.em.get("deployments", "prod", MODEL)
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == image(2)
    assert "pod-template-hash" not in dep["spec"]["template"]["metadata"]["labels"]
    assert (prod.alias("prod"), prod.alias("champion")) == (2, 2)
    rolled = prod.events("rolled_back")[-1]
    assert (rolled.version, rolled.data["restored_version"], rolled.data["strategy"]) == (3, 2, "rolling")
    assert any("/pods/" in r.path and r.path.endswith("/proxy/metrics") for r in prod.em.requests)


def test_canary_that_breaks_the_latency_slo_is_removed(kube, traffic) -> None:
    live = kube("live", "live")
    live.deploy(1)
    live.deploy(4)
    assert live.em.get("deployments", "live", f"{MODEL}-canary") is not None
    with traffic(live.send):
        result = live.verify()
    assert result.code == 1, result.err
    assert "latency_p95_ms = " in result.err
    assert "canary vs stable pods (breast-cancer:1) over the window" in result.err
    stable = live.events("verified")[-1].data["stable"]
    assert stable["requests"] > 0 and stable["error_rate"] == 0.0
    assert live.em.get("deployments", "live", f"{MODEL}-canary") is None
    assert live.served() == {1}
    assert live.alias("live") == 1
    rolled = live.events("rolled_back")[-1]
    assert (rolled.version, rolled.data["phase"], rolled.data["restored_version"]) == (4, "canary", 1)


def test_blue_green_drifting_version_is_switched_back(kube, traffic) -> None:
    preview = kube("preview", "preview")
    preview.deploy(1)
    preview.deploy(5)
    assert preview.served() == {5}
    with traffic(preview.send):
        result = preview.verify()
    assert result.code == 1, result.err
    assert "psi = " in result.err
    assert preview.served() == {1}
    service = preview.em.get("services", "preview", MODEL)
    assert service["spec"]["selector"]["modelci.dev/color"] == "blue"
    assert preview.em.get("deployments", "preview", f"{MODEL}-green")["spec"]["replicas"] == 0
    assert preview.alias("preview") == 1


def test_a_previous_image_that_is_gone_fails_loudly_and_changes_nothing(kube, traffic) -> None:
    prod = kube("prod", "prod")
    prod.deploy(1)
    prod.deploy(3)
    del prod.em.catalogue[image(1)]  # the registry lost the previous image
    with traffic(prod.send):
        result = prod.verify()
    assert result.code == 3, result.err
    assert "cannot roll back prod to breast-cancer:1" in result.err and "ErrImagePull" in result.err
    dep = prod.em.get("deployments", "prod", MODEL)
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == image(3)
    assert prod.alias("prod") == 3
    assert prod.events("rolled_back") == []


def test_prometheus_unreachable_is_exit_3_without_rollback(kube, project: Path) -> None:
    prod = kube("prod", "prod")
    prod.deploy(1)
    edit_config(project, lambda cfg: cfg["verify"].update({"prometheus": "http://127.0.0.1:9"}))
    result = prod.verify()
    assert result.code == 3, result.err
    assert "does not roll back on missing data" in result.err
    assert prod.served() == {1}
    assert prod.events("rolled_back") == []


def test_rollback_by_hand_on_a_rolling_deployment(kube) -> None:
    prod = kube("prod", "prod")
    prod.deploy(1)
    prod.deploy(2)
    result = prod.run("rollback")
    assert result.code == 0, result.err
    assert result.outputs["version"] == "1" and result.outputs["previous-version"] == "2"
    assert prod.served() == {1}
    assert prod.alias("prod") == 1
    rolled = prod.events("rolled_back")[-1]
    assert (rolled.version, rolled.data["trigger"]) == (2, "manual")
    unknown = prod.run("rollback", "--to", "4")
    assert unknown.code == 3 and "no ReplicaSet of that version" in unknown.err
    assert prod.served() == {1}
