"""Each strategy end to end on the emulator, with real model servers as pods, through the official client."""

from __future__ import annotations

import json
from pathlib import Path

from deploy_support import CRASH, IMG1, IMG2, Project

from k8s_emulator import Emulator
from modelci.registry import open_registry


def deploy(cli, project: Project, kubeconfig: Path, *args: str):
    return cli("deploy", "-c", str(project.path / "modelci.yaml"), "--kubeconfig", str(kubeconfig), *args)


def version_served(em: Emulator, ns: str, service: str) -> int:
    status, body = em.proxy(ns, f"{service}:80", "GET", "/version")
    assert status == 200, body
    return int(json.loads(body)["version"])


def predictions(em: Emulator, ns: str, service: str, project: Project) -> list:
    status, body = em.proxy(ns, f"{service}:80", "POST", "/invocations", project.payload,
                            {"Content-Type": "application/json"})
    assert status == 200, body
    return list(json.loads(body)["predictions"])


def last_event(project: Project, kind: str):
    registry = open_registry(f"file://{project.registry}")
    return [e for e in registry.events("breast-cancer") if e.kind == kind][-1]


def alias(project: Project, name: str) -> int | None:
    return open_registry(f"file://{project.registry}").alias_version("breast-cancer", name)


def test_rolling_deploy_update_revert_and_no_op(cli, deploy_project: Project, emulator: Emulator,
                                                kubeconfig: Path) -> None:
    first = deploy(cli, deploy_project, kubeconfig, "-e", "staging", "--model", "1", "--image", IMG1)
    assert first.code == 0, first.err
    assert first.outputs["environment"] == "staging"
    assert first.outputs["revision"] == "1"
    assert first.outputs["previous-version"] == ""
    assert first.outputs["url"] == "http://breast-cancer.staging.svc.cluster.local"
    assert predictions(emulator, "staging", "breast-cancer", deploy_project) == deploy_project.expected
    dep = emulator.get("deployments", "staging", "breast-cancer")
    assert dep is not None
    template = dep["spec"]["template"]
    container = template["spec"]["containers"][0]
    assert container["image"] == IMG1
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["securityContext"]["runAsNonRoot"] is True
    assert container["resources"]["requests"]
    assert template["metadata"]["labels"]["modelci.dev/version"] == "1"
    assert template["metadata"]["labels"]["app"] == "breast-cancer"
    assert dep["metadata"]["annotations"]["modelci.dev/model-digest"].startswith("sha256:")
    assert dep["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert alias(deploy_project, "staging") == 1

    second = deploy(cli, deploy_project, kubeconfig, "-e", "staging", "--model", "2", "--image", IMG2)
    assert second.code == 0, second.err
    assert second.outputs["revision"] == "2"
    assert second.outputs["previous-version"] == "1"
    assert version_served(emulator, "staging", "breast-cancer") == 2
    assert alias(deploy_project, "staging") == 2
    event = last_event(deploy_project, "deployed")
    assert event.version == 2
    assert event.data["environment"] == "staging"
    assert event.data["revision"] == "2"
    assert event.data["image_digest"] == "sha256:" + "2" * 64
    assert event.data["previous_version"] == 1
    patches = {r.content_type for r in emulator.requests if r.method == "PATCH"}
    assert patches == {"application/strategic-merge-patch+json"}

    generation = emulator.get("deployments", "staging", "breast-cancer")["metadata"]["generation"]
    again = deploy(cli, deploy_project, kubeconfig, "-e", "staging", "--model", "2", "--image", IMG2)
    assert again.code == 0, again.err
    assert "nothing to do" in again.err
    assert "already deployed" in again.out
    assert emulator.get("deployments", "staging", "breast-cancer")["metadata"]["generation"] == generation

    crash = deploy(cli, deploy_project, kubeconfig, "-e", "staging", "--model", "1", "--image", CRASH)
    assert crash.code == 1, crash.err
    assert "CrashLoopBackOff" in crash.err
    assert "reverted breast-cancer to the previous version" in crash.err
    dep = emulator.get("deployments", "staging", "breast-cancer")
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == IMG2
    assert dep["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "4"
    assert version_served(emulator, "staging", "breast-cancer") == 2
    assert alias(deploy_project, "staging") == 2


def test_canary_then_promote_and_reject(cli, deploy_project: Project, emulator: Emulator, kubeconfig: Path) -> None:
    first = deploy(cli, deploy_project, kubeconfig, "-e", "production", "--model", "1", "--image", IMG1)
    assert first.code == 0, first.err
    assert "rolled out directly" in first.err
    assert emulator.get("deployments", "models", "breast-cancer-canary") is None

    canary = deploy(cli, deploy_project, kubeconfig, "-e", "production", "--model", "2", "--image", IMG2)
    assert canary.code == 0, canary.err
    assert canary.outputs["phase"] == "canary"
    assert canary.outputs["previous-version"] == "1"
    dep = emulator.get("deployments", "models", "breast-cancer-canary")
    assert dep["spec"]["replicas"] == 1
    assert dep["spec"]["template"]["metadata"]["labels"]["modelci.dev/track"] == "canary"
    seen = {version_served(emulator, "models", "breast-cancer") for _ in range(12)}
    assert seen == {1, 2}  # one Service selects the stable and the canary pods
    assert alias(deploy_project, "production") == 1

    promoted = deploy(cli, deploy_project, kubeconfig, "-e", "production", "--promote")
    assert promoted.code == 0, promoted.err
    assert promoted.outputs["phase"] == "promoted"
    assert promoted.outputs["version"] == "2"
    assert emulator.get("deployments", "models", "breast-cancer-canary") is None
    assert {version_served(emulator, "models", "breast-cancer") for _ in range(6)} == {2}
    assert alias(deploy_project, "production") == 2

    again = deploy(cli, deploy_project, kubeconfig, "-e", "production", "--model", "1", "--image", IMG1)
    assert again.code == 0, again.err
    rejected = deploy(cli, deploy_project, kubeconfig, "-e", "production", "--reject")
    assert rejected.code == 0, rejected.err
    assert rejected.outputs["phase"] == "rejected"
    assert emulator.get("deployments", "models", "breast-cancer-canary") is None
    assert {version_served(emulator, "models", "breast-cancer") for _ in range(6)} == {2}
    assert last_event(deploy_project, "rolled_back").data["phase"] == "rejected"

    nothing = deploy(cli, deploy_project, kubeconfig, "-e", "production", "--promote")
    assert nothing.code == 2
    assert "no canary" in nothing.err


def test_blue_green_switches_only_when_ready_and_keeps_the_old_colour(cli, deploy_project: Project,
                                                                      emulator: Emulator, kubeconfig: Path) -> None:
    blue = deploy(cli, deploy_project, kubeconfig, "-e", "preview", "--model", "1", "--image", IMG1)
    assert blue.code == 0, blue.err
    assert blue.outputs["revision"] == "blue/1"
    svc = emulator.get("services", "preview", "breast-cancer")
    assert svc["spec"]["selector"]["modelci.dev/color"] == "blue"

    bad = deploy(cli, deploy_project, kubeconfig, "-e", "preview", "--model", "2", "--image", CRASH)
    assert bad.code == 1
    assert "was not switched" in bad.err
    assert emulator.get("services", "preview", "breast-cancer")["spec"]["selector"]["modelci.dev/color"] == "blue"
    assert emulator.get("deployments", "preview", "breast-cancer-green")["spec"]["replicas"] == 0
    assert version_served(emulator, "preview", "breast-cancer") == 1

    green = deploy(cli, deploy_project, kubeconfig, "-e", "preview", "--model", "2", "--image", IMG2)
    assert green.code == 0, green.err
    assert green.outputs["revision"].startswith("green/")
    assert green.outputs["previous-version"] == "1"
    assert emulator.get("services", "preview", "breast-cancer")["spec"]["selector"]["modelci.dev/color"] == "green"
    assert emulator.get("deployments", "preview", "breast-cancer-blue")["spec"]["replicas"] == 1  # kept
    assert {version_served(emulator, "preview", "breast-cancer") for _ in range(6)} == {2}
    assert predictions(emulator, "preview", "breast-cancer", deploy_project) == deploy_project.expected

    same = deploy(cli, deploy_project, kubeconfig, "-e", "preview", "--model", "2", "--image", IMG2)
    assert same.code == 0
    assert "already live" in same.err


def test_manifest_template_gets_the_image(cli, deploy_project: Project, emulator: Emulator,
                                          kubeconfig: Path) -> None:
    (deploy_project.path / "deploy.yml").write_text("""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: bc-api
  labels: {team: ml}
spec:
  replicas: 1
  selector:
    matchLabels: {app: bc-api}
  template:
    metadata:
      labels: {app: bc-api, team: ml}
    spec:
      containers:
        - name: server
          image: ${IMAGE}
          env: [{name: MODEL, value: "${MODEL_NAME}:${MODEL_VERSION}"}]
          ports: [{name: http, containerPort: 8080}]
          readinessProbe: {httpGet: {path: /readyz, port: http}}
---
apiVersion: v1
kind: Service
metadata: {name: bc-api}
spec:
  selector: {app: bc-api}
  ports: [{name: http, port: 80, targetPort: http}]
""")
    result = deploy(cli, deploy_project, kubeconfig, "-e", "custom", "--model", "2", "--image", IMG2)
    assert result.code == 0, result.err
    dep = emulator.get("deployments", "custom", "bc-api")
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == IMG2
    assert container["env"] == [{"name": "MODEL", "value": "breast-cancer:2"}]
    assert dep["spec"]["template"]["metadata"]["labels"]["team"] == "ml"
    assert result.outputs["url"] == "http://bc-api.custom.svc.cluster.local"
    assert predictions(emulator, "custom", "bc-api", deploy_project) == deploy_project.expected


def test_the_image_comes_from_the_registry_and_the_version_from_the_image(
        cli, deploy_project: Project, emulator: Emulator, kubeconfig: Path) -> None:
    registry = open_registry(f"file://{deploy_project.registry}")
    registry.record("published", registry.get_version("breast-cancer", 2), {
        "image": IMG2, "repository": IMG2.split("@")[0], "digest": IMG2.split("@")[1], "tags": ["v2"]})
    first = deploy(cli, deploy_project, kubeconfig, "-e", "production", "--model", "2")
    assert first.code == 0, first.err
    assert first.outputs["image"] == IMG2
    assert version_served(emulator, "models", "breast-cancer") == 2

    by_image = deploy(cli, deploy_project, kubeconfig, "-e", "production", "--image", IMG2)
    assert by_image.code == 0, by_image.err
    assert by_image.outputs["version"] == "2"
    assert "already the stable version" in by_image.err

    unknown = deploy(cli, deploy_project, kubeconfig, "-e", "production", "--image", IMG1)
    assert unknown.code == 2
    assert "pass --model" in unknown.err
