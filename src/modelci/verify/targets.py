"""Where the version under test runs, and how to put the previous version back.

LocalTarget  the environment's local process (deploy/local.py's state file names the
             version and the previous one, whose bundle is kept); rollback redeploys
             the previous version the same safe way a deploy does.
KubeTarget   the environment's Deployment(s) through the official client:
             rolling     the version is the Deployment's template; rollback re-applies the
                         pod template of the newest older ReplicaSet holding the previous
                         version (``kubectl rollout undo``) and waits for the rollout;
             canary      the version is the canary's; rollback deletes the canary, the
                         stable Deployment keeps serving;
             blue-green  the version is the colour the Service selects; rollback scales the
                         other colour up if needed, switches the selector back, scales the
                         bad colour to 0.
A rollback that cannot restore the previous version raises InfrastructureError (exit 3)
after putting the cluster back as it was, so no half state is left.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..config import Config
from ..config.model import EnvironmentSpec
from ..deploy.types import Progress
from ..errors import InfrastructureError, ModelciError, UsageError
from ..registry import Registry
from .http_probe import HttpProbe
from .probe import Probe


@dataclass(frozen=True)
class Serving:
    """What an environment serves now."""

    model: str
    version: int  # the version under test (a canary's, when one runs)
    previous: int | None  # what a rollback restores by default
    target: str  # local | kubernetes
    strategy: str  # replace | rolling | canary | blue-green
    phase: str = "deployed"  # deployed | canary
    url: str = ""


class Target(Protocol):
    def serving(self) -> Serving: ...

    def probe(self) -> Probe:
        """The version under test: smoke requests and its serving processes' /metrics."""

    def stable_probe(self) -> Probe | None:
        """A canary's stable pods, for comparison; None otherwise."""

    def service_probe(self) -> Probe:
        """What clients reach (after a rollback: the restored version)."""

    def rollback(self, to: int, progress: Progress) -> str:
        """Restore version ``to``; returns what was done. InfrastructureError when it cannot."""

    def close(self) -> None: ...


def never_deployed(env: EnvironmentSpec, detail: str) -> UsageError:
    return UsageError(f"environment {env.name!r} has never been deployed ({detail}); deploy first: "
                      f"modelci deploy --environment {env.name} --model REF")


class LocalTarget:
    def __init__(self, env: EnvironmentSpec, registry: Registry, state_dir: Path) -> None:
        from ..deploy.local import read_state, url_of

        self.env = env
        self.registry = registry
        self.state_dir = state_dir
        self.url = url_of(env)
        state = read_state(state_dir, env.name)
        if not state or state.get("version") is None:
            raise never_deployed(env, f"no state file {state_dir / (env.name + '.json')}")
        self.state = state

    def serving(self) -> Serving:
        previous = (self.state.get("previous") or {}).get("version")
        return Serving(model=str(self.state["model"]), version=int(self.state["version"]),
                       previous=int(previous) if previous is not None else None, target="local",
                       strategy="replace", url=self.url)

    def probe(self) -> Probe:
        return HttpProbe(self.url)

    def stable_probe(self) -> Probe | None:
        return None

    def service_probe(self) -> Probe:
        return HttpProbe(self.url)

    def rollback(self, to: int, progress: Progress) -> str:
        from ..deploy.local import deploy_local

        model = str(self.state["model"])
        try:
            version = self.registry.get_version(model, to)
        except ModelciError as exc:
            raise InfrastructureError(f"cannot roll back {self.env.name} to {model}:{to}: it is gone from the "
                                      f"registry ({exc}). Nothing was changed.") from None
        bundle = self.state_dir / self.env.name / f"{model}-{to}"
        if not bundle.exists():
            progress(f"the kept bundle {bundle} is missing; exporting {model}:{to} from the registry again")
        try:
            deploy_local(self.env, self.registry, version, self.state_dir, timeout_s=self.env.timeout_s,
                         progress=progress)
        except ModelciError as exc:
            raise InfrastructureError(
                f"cannot roll back {self.env.name} to {model}:{to}: {str(exc).splitlines()[0]} "
                f"{model}:{self.state['version']} keeps serving; nothing else was changed.") from None
        return f"restarted {model}:{to} on {self.url} from {bundle} (the previous server was stopped)"

    def close(self) -> None:
        return None


class KubeTarget:
    def __init__(self, config: Config, env: EnvironmentSpec, *, namespace: str | None, kubeconfig: str | None,
                 kubeconfig_data: str | None) -> None:
        from ..deploy.kubernetes import connect
        from ..deploy.manifests import LABEL_COLOR, Release, base_objects

        self.config, self.env = config, env
        self.namespace = namespace or env.namespace
        placeholder = Release(model=config.model.name, version=0, model_digest="", image="placeholder",
                              environment=env.name, namespace=self.namespace)
        base = base_objects(placeholder, env.replicas, env.manifest, max(10, int(env.timeout_s)))
        self.name = str(base.deployment["metadata"]["name"])
        self.service = str(base.service["metadata"]["name"])
        ports = (base.service.get("spec") or {}).get("ports") or [{}]
        self.service_port = str(ports[0].get("name") or ports[0].get("port") or "80")
        self.cluster = connect(kubeconfig, kubeconfig_data)
        self.strategy = env.strategy
        self.phase = "deployed"
        self.stable: dict[str, Any] | None = None
        self.other: dict[str, Any] | None = None
        dep: dict[str, Any] | None = None
        # What the cluster holds decides (a deploy may have overridden the environment's strategy).
        svc = self.cluster.get("service", self.namespace, self.service)
        color = ((svc or {}).get("spec", {}).get("selector") or {}).get(LABEL_COLOR)
        canary = None if color else self.cluster.get("deployment", self.namespace, f"{self.name}-canary")
        if color:
            self.strategy = "blue-green"
            dep = self.cluster.get("deployment", self.namespace, f"{self.name}-{color}")
            other = "green" if color == "blue" else "blue"
            self.color, self.other_color = str(color), other
            self.other = self.cluster.get("deployment", self.namespace, f"{self.name}-{other}")
        elif canary is not None:
            self.strategy, self.phase, dep = "canary", "canary", canary
            self.stable = self.cluster.get("deployment", self.namespace, self.name)
        else:
            dep = self.cluster.get("deployment", self.namespace, self.name)
            self.stable = dep
        if dep is None:
            self.cluster.close()
            raise never_deployed(env, f"no Deployment of {self.name} in namespace {self.namespace} at "
                                      f"{self.cluster.host}")
        self.dep = dep

    # -- what serves -----------------------------------------------------------------------
    def _version(self, dep: dict[str, Any] | None) -> int | None:
        from ..deploy.manifests import template_version

        return template_version(dep)[0]

    def _history(self) -> list[tuple[int, dict[str, Any]]]:
        """(revision, ReplicaSet) of the rolling Deployment, newest first."""
        from ..deploy.strategies import REVISION

        selector = dict(((self.dep.get("spec") or {}).get("selector") or {}).get("matchLabels") or {})
        owned = [rs for rs in self.cluster.list("replicaset", self.namespace, selector)
                 if any(ref.get("name") == self.name for ref in rs["metadata"].get("ownerReferences") or [])]
        return sorted(((int((rs["metadata"].get("annotations") or {}).get(REVISION, "0")), rs) for rs in owned),
                      key=lambda pair: -pair[0])

    def serving(self) -> Serving:
        version = self._version(self.dep)
        if version is None:
            raise UsageError(f"Deployment {self.namespace}/{self.dep['metadata']['name']} carries no "
                             "modelci.dev/version label; it was not deployed by modelci deploy.")
        previous: int | None = None
        if self.phase == "canary":
            previous = self._version(self.stable)
        elif self.strategy == "blue-green":
            previous = self._version(self.other)
        else:
            for _, rs in self._history():
                older = self._version(rs)
                if older is not None and older != version:
                    previous = older
                    break
        return Serving(model=self.config.model.name, version=version, previous=previous, target="kubernetes",
                       strategy=self.strategy, phase=self.phase,
                       url=self.env.url or f"http://{self.service}.{self.namespace}.svc.cluster.local")

    def _pods_of(self, dep: dict[str, Any]) -> dict[str, str]:
        from ..deploy.manifests import LABEL_VERSION

        selector = dict(((dep.get("spec") or {}).get("selector") or {}).get("matchLabels") or {})
        version = self._version(dep)
        if version is not None:
            selector[LABEL_VERSION] = str(version)
        return selector

    def probe(self) -> Probe:
        from .kube_probe import KubeProbe

        service = None if self.phase == "canary" else self.service  # a canary shares the Service
        return KubeProbe(self.cluster, self.namespace, service=service, service_port=self.service_port,
                         pods=self._pods_of(self.dep))

    def stable_probe(self) -> Probe | None:
        from .kube_probe import KubeProbe

        if self.phase != "canary" or self.stable is None:
            return None
        return KubeProbe(self.cluster, self.namespace, service=None, service_port=self.service_port,
                         pods=self._pods_of(self.stable))

    def service_probe(self) -> Probe:
        from .kube_probe import KubeProbe

        return KubeProbe(self.cluster, self.namespace, service=self.service, service_port=self.service_port,
                         pods={})

    # -- rollback --------------------------------------------------------------------------
    def rollback(self, to: int, progress: Progress) -> str:
        from ..deploy import lease

        with lease.hold(self.cluster, self.namespace, self.env.name, self.env.timeout_s, progress):
            if self.phase == "canary":
                return self._reject_canary(to, progress)
            if self.strategy == "blue-green":
                return self._switch_back(to, progress)
            return self._undo(to, progress)

    def _wait(self, name: str, progress: Progress) -> None:
        from ..deploy import rollout

        rollout.wait(self.cluster, self.namespace, name, self.env.timeout_s, progress)

    def _reject_canary(self, to: int, progress: Progress) -> str:
        from ..deploy.rollout import RolloutFailed

        stable_version = self._version(self.stable)
        if self.stable is None or stable_version != to:
            raise UsageError(f"{self.env.name} runs a canary next to {self.config.model.name}:{stable_version}; "
                             f"a rollback removes the canary and can only go back to the stable version, not {to}.")
        try:
            self._wait(self.name, progress)
        except RolloutFailed as exc:
            raise InfrastructureError(f"cannot roll back {self.env.name}: the stable Deployment {self.name} is not "
                                      f"healthy ({exc.reason}); the canary was left in place.") from None
        name = f"{self.name}-canary"
        self.cluster.delete("deployment", self.namespace, name)
        progress(f"deleted the canary {self.namespace}/{name}; {self.name} ({self.config.model.name}:{to}) serves "
                 "all traffic")
        return f"removed the canary {name}; the stable Deployment {self.name} ({self.config.model.name}:{to}) serves"

    def _switch_back(self, to: int, progress: Progress) -> str:
        from ..deploy.manifests import LABEL_COLOR
        from ..deploy.rollout import RolloutFailed

        other = f"{self.name}-{self.other_color}"
        if self.other is None or self._version(self.other) != to:
            found = "is gone" if self.other is None else f"holds version {self._version(self.other)}"
            raise InfrastructureError(f"cannot roll back {self.env.name} to {self.config.model.name}:{to}: the "
                                      f"other colour {other} {found}. The Service still selects {self.color}; "
                                      "nothing was changed.")
        replicas = int((self.other.get("spec") or {}).get("replicas") or 0)
        if replicas == 0:
            progress(f"scaling {other} back to {self.env.replicas} replica(s)")
            self.cluster.patch("deployment", self.namespace, other, {"spec": {"replicas": self.env.replicas}})
        try:
            self._wait(other, progress)
        except RolloutFailed as exc:
            if replicas == 0:
                self.cluster.patch("deployment", self.namespace, other, {"spec": {"replicas": 0}})
            raise InfrastructureError(f"cannot roll back {self.env.name}: {other} "
                                      f"({self.config.model.name}:{to}) did not become ready ({exc.reason}). The "
                                      f"Service still selects {self.color}; nothing else was changed.") from None
        self.cluster.patch("service", self.namespace, self.service,
                           {"spec": {"selector": {LABEL_COLOR: self.other_color}}}, merge=True)
        bad = f"{self.name}-{self.color}"
        self.cluster.patch("deployment", self.namespace, bad, {"spec": {"replicas": 0}})
        progress(f"switched {self.service} back to {self.other_color}; scaled {bad} to 0")
        return f"switched Service {self.service} back to {self.other_color} ({other}); scaled {bad} to 0"

    def _undo(self, to: int, progress: Progress) -> str:
        from ..deploy.rollout import RolloutFailed

        template = None
        for revision, rs in self._history():
            if self._version(rs) == to:
                template = copy.deepcopy((rs.get("spec") or {}).get("template") or {})
                progress(f"reverting {self.name} to the pod template of revision {revision} "
                         f"({self.config.model.name}:{to})")
                break
        if template is None:
            raise InfrastructureError(
                f"cannot roll back {self.env.name} to {self.config.model.name}:{to}: no ReplicaSet of that version is "
                f"left in the history of Deployment {self.namespace}/{self.name} (revisionHistoryLimit). Deploy it "
                f"again with modelci deploy --environment {self.env.name} --model {to}. Nothing was changed.")
        template.setdefault("metadata", {}).setdefault("labels", {}).pop("pod-template-hash", None)
        bad_template = copy.deepcopy(self.dep["spec"]["template"])
        self._replace_template(template)
        try:
            self._wait(self.name, progress)
        except RolloutFailed as exc:
            progress(f"the revert failed ({exc.reason}); putting the template of the version under test back")
            self._replace_template(bad_template)
            try:
                self._wait(self.name, progress)
            except RolloutFailed as again:
                progress(f"the Deployment did not settle either: {again.reason}")
            image = (template.get("spec", {}).get("containers") or [{}])[0].get("image")
            raise InfrastructureError(
                f"cannot roll back {self.env.name} to {self.config.model.name}:{to}: its pods did not become ready "
                f"({exc.reason}); is its image {image} gone? The Deployment was put back to the version under test; "
                "registry aliases were not changed.") from None
        return f"reverted Deployment {self.name} to the pod template of {self.config.model.name}:{to}"

    def _replace_template(self, template: dict[str, Any]) -> None:
        dep = self.cluster.get("deployment", self.namespace, self.name)
        if dep is None:
            raise InfrastructureError(f"Deployment {self.namespace}/{self.name} disappeared during the rollback")
        dep["spec"]["template"] = template
        dep.pop("status", None)
        self.cluster.replace("deployment", self.namespace, self.name, dep)

    def close(self) -> None:
        self.cluster.close()
