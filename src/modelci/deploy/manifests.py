"""Kubernetes objects for a model version: a Deployment and a Service, rendered or templated.

Rendered from the config: labels app/model/version, annotations with the git sha, run URL
and model digest, the image pinned by digest, readiness /readyz and liveness /healthz,
resources and a non-root securityContext. Or the user's own template
(``environments.<env>.manifest``, one or more YAML documents) with ``${IMAGE}`` (and
``${MODEL_NAME}``, ``${MODEL_VERSION}``, ``${ENVIRONMENT}``, ``${NAMESPACE}``) substituted;
without an ``${IMAGE}`` placeholder the first container gets the image. Everything is
validated before anything is sent to the cluster.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError

Obj = dict[str, Any]

CONTAINER_PORT = 8080
LABEL_APP = "app"
LABEL_MODEL = "modelci.dev/model"
LABEL_VERSION = "modelci.dev/version"
LABEL_ENV = "modelci.dev/environment"
LABEL_TRACK = "modelci.dev/track"  # stable | canary
LABEL_COLOR = "modelci.dev/color"  # blue | green
ANNOTATION_DIGEST = "modelci.dev/model-digest"
ANNOTATION_GIT = "modelci.dev/git-sha"
ANNOTATION_RUN = "modelci.dev/run-url"
ANNOTATION_IMAGE = "modelci.dev/image"
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
PLACEHOLDER = re.compile(r"\$\{(IMAGE|MODEL_NAME|MODEL_VERSION|ENVIRONMENT|NAMESPACE)\}")


@dataclass(frozen=True)
class Release:
    """One model version as an image, to run in one environment."""

    model: str
    version: int
    model_digest: str
    image: str
    environment: str
    namespace: str
    git_sha: str = ""
    run_url: str = ""


@dataclass(frozen=True)
class Manifests:
    deployment: Obj
    service: Obj


def base_objects(release: Release, replicas: int, template: Path | None, progress_deadline_s: int) -> Manifests:
    """The Deployment and Service of the environment, before a strategy names and labels them."""
    if template is not None:
        return _from_template(template, release, replicas)
    name = release.model
    labels = {LABEL_APP: name}
    container: Obj = {
        "name": "model",
        "image": release.image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": CONTAINER_PORT, "protocol": "TCP"}],
        "env": [{"name": "MODELCI_HOST", "value": "0.0.0.0"},  # noqa: S104 (inside the pod)
                {"name": "MODELCI_PORT", "value": str(CONTAINER_PORT)}],
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 2,
                           "failureThreshold": 3},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "initialDelaySeconds": 10,
                          "periodSeconds": 10, "failureThreshold": 3},
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "allowPrivilegeEscalation": False,
                            "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}},
    }
    deployment: Obj = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": release.namespace, "labels": dict(labels)},
        "spec": {
            "replicas": replicas, "revisionHistoryLimit": 10, "progressDeadlineSeconds": progress_deadline_s,
            "selector": {"matchLabels": dict(labels)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {"containers": [container], "automountServiceAccountToken": False,
                         "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "fsGroup": 10001},
                         "volumes": [{"name": "tmp", "emptyDir": {}}]},
            },
        },
    }
    container["volumeMounts"] = [{"name": "tmp", "mountPath": "/tmp"}]  # noqa: S108 (the pod's own emptyDir)
    service: Obj = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": release.namespace, "labels": dict(labels)},
        "spec": {"selector": dict(labels), "ports": [{"name": "http", "port": 80, "targetPort": "http",
                                                       "protocol": "TCP"}]},
    }
    return Manifests(deployment, service)


def shaped(base: Manifests, release: Release, *, name: str, replicas: int, selector_extra: dict[str, str]) -> Obj:
    """A copy of the base Deployment named ``name``, stamped with the release and extra selector labels."""
    dep = copy.deepcopy(base.deployment)
    meta = dep.setdefault("metadata", {})
    meta["name"] = name
    meta["namespace"] = release.namespace
    meta.setdefault("labels", {}).update({LABEL_MODEL: release.model, LABEL_ENV: release.environment})
    notes = meta.setdefault("annotations", {})
    notes.update({ANNOTATION_DIGEST: release.model_digest, ANNOTATION_IMAGE: release.image})
    if release.git_sha:
        notes[ANNOTATION_GIT] = release.git_sha
    if release.run_url:
        notes[ANNOTATION_RUN] = release.run_url
    spec = dep.setdefault("spec", {})
    spec["replicas"] = replicas
    spec.setdefault("selector", {}).setdefault("matchLabels", {}).update(selector_extra)
    template = spec.setdefault("template", {})
    tmeta = template.setdefault("metadata", {})
    tmeta.setdefault("labels", {}).update({**selector_extra, LABEL_MODEL: release.model,
                                           LABEL_VERSION: str(release.version)})
    tmeta.setdefault("annotations", {}).update({ANNOTATION_DIGEST: release.model_digest})
    return dep


def service_for(base: Manifests, selector_extra: dict[str, str]) -> Obj:
    svc = copy.deepcopy(base.service)
    svc["spec"]["selector"] = {**dict(svc["spec"].get("selector") or {}), **selector_extra}
    return svc


def template_version(deployment: Obj | None) -> tuple[int | None, str | None]:
    """(model version, image) of a Deployment's pod template, as modelci stamped it."""
    if not deployment:
        return None, None
    template = deployment.get("spec", {}).get("template", {})
    raw = template.get("metadata", {}).get("labels", {}).get(LABEL_VERSION)
    containers = template.get("spec", {}).get("containers") or [{}]
    version = int(raw) if isinstance(raw, str) and raw.isdigit() else None
    return version, containers[0].get("image")


# -- templates -------------------------------------------------------------------------------------
def _from_template(path: Path, release: Release, replicas: int) -> Manifests:
    import yaml

    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"manifest template {path}: {exc.strerror}. Fix environments.<env>.manifest.") from None
    has_image = "${IMAGE}" in text
    values = {"IMAGE": release.image, "MODEL_NAME": release.model, "MODEL_VERSION": str(release.version),
              "ENVIRONMENT": release.environment, "NAMESPACE": release.namespace}
    text = PLACEHOLDER.sub(lambda m: values[m.group(1)], text)
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise ConfigError(f"manifest template {path} is not valid YAML: {exc}") from None
    deployments = [d for d in docs if isinstance(d, dict) and d.get("kind") == "Deployment"]
    services = [d for d in docs if isinstance(d, dict) and d.get("kind") == "Service"]
    if len(deployments) != 1:
        raise ConfigError(f"manifest template {path} must hold exactly one Deployment (found {len(deployments)}); "
                          "a Service is optional.")
    dep = deployments[0]
    _check_deployment(dep, str(path))
    if not has_image:
        dep["spec"]["template"]["spec"]["containers"][0]["image"] = release.image
    dep["metadata"]["namespace"] = release.namespace
    dep["spec"].setdefault("replicas", replicas)
    name = dep["metadata"]["name"]
    if services:
        svc = services[0]
        _check_service(svc, str(path))
    else:
        port = _first_port(dep)
        svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
               "spec": {"selector": dict(dep["spec"]["selector"]["matchLabels"]),
                        "ports": [{"name": "http", "port": 80, "targetPort": port}]}}
    svc.setdefault("metadata", {})["namespace"] = release.namespace
    return Manifests(dep, svc)


def _first_port(dep: Obj) -> int:
    for container in dep["spec"]["template"]["spec"]["containers"]:
        for port in container.get("ports") or []:
            if isinstance(port, dict) and isinstance(port.get("containerPort"), int):
                return int(port["containerPort"])
    return CONTAINER_PORT


# -- validation ------------------------------------------------------------------------------------
def validate(obj: Obj, where: str) -> None:
    """Structural checks, then the official client's typed model when it has one (pydantic)."""
    if obj.get("kind") == "Deployment":
        _check_deployment(obj, where)
    elif obj.get("kind") == "Service":
        _check_service(obj, where)
    _check_with_client_model(obj, where)


def _fail(where: str, message: str) -> ConfigError:
    return ConfigError(f"{where}: {message}. Nothing was sent to the cluster.")


def _check_deployment(dep: Any, where: str) -> None:
    if not isinstance(dep, dict) or dep.get("apiVersion") != "apps/v1":
        raise _fail(where, "a Deployment needs apiVersion: apps/v1")
    name = (dep.get("metadata") or {}).get("name")
    if not isinstance(name, str) or not DNS_LABEL.match(name):
        raise _fail(where, f"Deployment metadata.name {name!r} must be a DNS label (lowercase letters, digits, "
                           "'-', at most 63)")
    spec = dep.get("spec")
    if not isinstance(spec, dict):
        raise _fail(where, f"Deployment {name} has no spec")
    replicas = spec.get("replicas", 1)
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise _fail(where, f"Deployment {name} spec.replicas {replicas!r} must be a whole number >= 0")
    match = (spec.get("selector") or {}).get("matchLabels")
    if not isinstance(match, dict) or not match:
        raise _fail(where, f"Deployment {name} needs spec.selector.matchLabels")
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    if not isinstance(labels, dict) or any(labels.get(k) != v for k, v in match.items()):
        raise _fail(where, f"Deployment {name}: spec.template.metadata.labels {labels} must include the "
                           f"selector's matchLabels {match}")
    containers = (template.get("spec") or {}).get("containers")
    if not isinstance(containers, list) or not containers:
        raise _fail(where, f"Deployment {name} needs at least one container in spec.template.spec.containers")
    for i, container in enumerate(containers):
        if not isinstance(container, dict) or not isinstance(container.get("name"), str) \
                or not DNS_LABEL.match(container["name"]):
            raise _fail(where, f"Deployment {name} container {i} needs a name (a DNS label)")
        if not isinstance(container.get("image", ""), str):
            raise _fail(where, f"Deployment {name} container {container['name']}: image must be a string")
        for port in container.get("ports") or []:
            number = port.get("containerPort") if isinstance(port, dict) else None
            if not isinstance(number, int) or not 0 < number < 65536:
                raise _fail(where, f"Deployment {name} container {container['name']}: containerPort {number!r} "
                                   "must be a port number")


def _check_service(svc: Any, where: str) -> None:
    if not isinstance(svc, dict) or svc.get("apiVersion") != "v1":
        raise _fail(where, "a Service needs apiVersion: v1")
    name = (svc.get("metadata") or {}).get("name")
    if not isinstance(name, str) or not DNS_LABEL.match(name):
        raise _fail(where, f"Service metadata.name {name!r} must be a DNS label")
    ports = (svc.get("spec") or {}).get("ports")
    if not isinstance(ports, list) or not ports:
        raise _fail(where, f"Service {name} needs spec.ports")
    for port in ports:
        if not isinstance(port, dict) or not isinstance(port.get("port"), int) or not 0 < port["port"] < 65536:
            raise _fail(where, f"Service {name}: port {port!r} needs a numeric port")


def _check_with_client_model(obj: Obj, where: str) -> None:
    try:
        from kubernetes import client
    except ImportError:
        return
    model = {"Deployment": getattr(client, "V1Deployment", None), "Service": getattr(client, "V1Service", None)}
    cls = model.get(str(obj.get("kind")))
    from_dict = getattr(cls, "from_dict", None)
    if from_dict is None or not hasattr(cls, "model_validate"):
        return  # an older, unvalidated client: the structural checks above stand alone
    try:
        from_dict(obj)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        first = str(exc).splitlines()
        raise _fail(where, f"{obj.get('kind')} {obj.get('metadata', {}).get('name')} does not match the "
                           f"Kubernetes schema: {' '.join(first[:3])}") from None
