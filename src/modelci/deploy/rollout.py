"""Wait for a Deployment's rollout, and put the previous pod template back when it fails.

Complete when the controller has observed the newest generation and every replica is
updated and available (``kubectl rollout status``). Failed, without waiting for the
deadline, when a pod of the new template cannot pull its image or crash-loops; failed
when the Deployment reports ProgressDeadlineExceeded (``progressDeadlineSeconds``) or
the command's timeout passes first.
"""

from __future__ import annotations

import os
import time
from typing import Any

from .kubernetes import Cluster
from .types import Progress

Obj = dict[str, Any]
FATAL_WAITING = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CrashLoopBackOff",
                 "CreateContainerConfigError", "CreateContainerError")


class RolloutFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def poll_s() -> float:
    try:
        return float(os.environ.get("MODELCI_ROLLOUT_POLL_S", "0.5"))
    except ValueError:
        return 0.5


def wait(cluster: Cluster, namespace: str, name: str, timeout_s: float, progress: Progress) -> Obj:
    """The Deployment once its rollout is complete; raises RolloutFailed with the reason."""
    started = time.monotonic()
    last_line = ""
    while True:
        dep = cluster.get("deployment", namespace, name)
        if dep is None:
            raise RolloutFailed(f"Deployment {namespace}/{name} disappeared during the rollout")
        spec, status = dep.get("spec", {}), dep.get("status") or {}
        want = int(spec.get("replicas", 1))
        observed = int(status.get("observedGeneration") or 0) >= int(dep["metadata"].get("generation") or 0)
        updated = int(status.get("updatedReplicas") or 0)
        available = int(status.get("availableReplicas") or 0)
        total = int(status.get("replicas") or 0)
        elapsed = time.monotonic() - started
        line = f"{name}: {updated}/{want} updated, {available} available, {total} total"
        if line != last_line:
            progress(f"{line} ({elapsed:.1f}s)")
            last_line = line
        if observed and updated == want and total == want and available == want:
            return dep
        for cond in status.get("conditions") or []:
            if cond.get("type") == "Progressing" and cond.get("status") == "False" \
                    and cond.get("reason") == "ProgressDeadlineExceeded":
                raise RolloutFailed(f"{name} exceeded its progress deadline "
                                    f"({spec.get('progressDeadlineSeconds', 600)}s): {cond.get('message', '')}")
        bad = _failing_pod(cluster, namespace, spec)
        if bad:
            raise RolloutFailed(bad)
        if elapsed >= timeout_s:
            raise RolloutFailed(f"{name} was not rolled out after {timeout_s:.0f}s ({line})")
        time.sleep(poll_s())


def _failing_pod(cluster: Cluster, namespace: str, spec: Obj) -> str | None:
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if not labels:
        return None
    for pod in cluster.list("pod", namespace, labels):
        for cs in (pod.get("status") or {}).get("containerStatuses") or []:
            waiting = (cs.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") in FATAL_WAITING:
                detail = waiting.get("message") or ""
                return (f"pod {pod['metadata']['name']} container {cs.get('name')}: {waiting['reason']}"
                        f"{': ' + detail if detail else ''} (restarts: {cs.get('restartCount', 0)})")
    return None


def revert(cluster: Cluster, namespace: str, name: str, previous_template: Obj, *, timeout_s: float,
           progress: Progress) -> str:
    """Re-apply the previous pod template (``kubectl rollout undo``) and wait; returns what happened."""
    progress(f"reverting {name} to its previous pod template")
    dep = cluster.get("deployment", namespace, name)
    if dep is None:
        return f"{name} is gone; nothing to revert"
    dep["spec"]["template"] = previous_template
    dep.pop("status", None)
    cluster.replace("deployment", namespace, name, dep)
    try:
        done = wait(cluster, namespace, name, timeout_s, progress)
    except RolloutFailed as exc:
        return f"the revert did not complete either: {exc.reason}"
    revision = done["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision", "?")
    return f"reverted {name} to the previous version (now revision {revision}), which is serving"
