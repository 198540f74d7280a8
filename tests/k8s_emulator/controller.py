"""The emulated control plane: Deployments -> ReplicaSets -> Pods, pods as real local processes.

A pod's container image is looked up in the image catalogue (image reference -> argv
template with ``{port}``); its process gets a free port, and readiness is its
readinessProbe's HTTP path answering 200. An image not in the catalogue waits with
ErrImagePull; a process that exits waits with CrashLoopBackOff and is restarted with
backoff. Rolling updates honour maxSurge/maxUnavailable; Deployments get revisions,
observedGeneration, and Progressing/Available conditions with progress deadlines.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .store import Obj, Store, matches, now, set_status

REVISION = "deployment.kubernetes.io/revision"
HASH = "pod-template-hash"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PodRuntime:
    name: str
    namespace: str
    container: str
    image: str
    argv: list[str] | None
    env: dict[str, str]
    ready_path: str | None
    log: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    ready: bool = False
    restarts: int = 0
    waiting: tuple[str, str] | None = None
    restart_at: float = 0.0
    started_at: float = field(default_factory=time.monotonic)
    started_wall: str = field(default_factory=now)

    def start(self) -> None:
        if self.argv is None:
            self.waiting = ("ErrImagePull", f'failed to pull image "{self.image}": not found in the emulator\'s '
                                            "image catalogue")
            return
        self.port = free_port()
        argv = [a.replace("{port}", str(self.port)) for a in self.argv]
        env = {**os.environ, **self.env, "MODELCI_PORT": str(self.port), "MODELCI_HOST": "127.0.0.1"}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=env, start_new_session=True)
        self.waiting = None
        self.ready = False
        self.started_at = time.monotonic()
        self.started_wall = now()

    def tick(self) -> None:
        if self.argv is None:
            return
        if self.proc is not None and self.proc.poll() is not None:
            self.proc = None
            self.ready = False
            self.restarts += 1
            self.waiting = ("CrashLoopBackOff", f"back-off restarting failed container {self.container} "
                                                f"(exited; restarts {self.restarts})")
            self.restart_at = time.monotonic() + min(0.5 * 2 ** self.restarts, 5.0)
        if self.proc is None:
            if time.monotonic() >= self.restart_at:
                self.start()
            return
        if not self.ready:
            self.ready = self._probe()

    def _probe(self) -> bool:
        if self.ready_path is None:
            return True
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=0.5)
        try:
            conn.request("GET", self.ready_path)
            resp = conn.getresponse()
            resp.read()
            return resp.status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        proc.terminate()

        def reap() -> None:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

        threading.Thread(target=reap, daemon=True).start()
        self._reaping.append(proc)

    _reaping: list[subprocess.Popen[bytes]] = field(default_factory=list)


def template_hash(template: Obj) -> str:
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]


def _int_or_percent(value: Any, total: int, *, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        share = total * float(value[:-1]) / 100
        return math.ceil(share) if round_up else math.floor(share)
    return int(value)


class Controller:
    def __init__(self, store: Store, catalogue: dict[str, list[str]], logs: Path,
                 resolver: Callable[[str], list[str] | None] | None = None) -> None:
        self.store = store
        self.catalogue = catalogue
        self.resolver = resolver
        self.logs = logs
        self.runtimes: dict[tuple[str, str], PodRuntime] = {}
        self.progress: dict[tuple[str, str], tuple[str, float]] = {}  # deployment -> (signature, when)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.interval = 0.1

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        for runtime in self.runtimes.values():
            runtime.stop()
        for runtime in self.runtimes.values():
            for proc in runtime._reaping:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=15)
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            with self.store.lock:
                self._reconcile_objects()
            for runtime in list(self.runtimes.values()):
                runtime.tick()
            with self.store.lock:
                self._write_statuses()

    # -- object reconciliation ------------------------------------------------
    def _reconcile_objects(self) -> None:
        for dep in self.store.list("deployments", None):
            self._deployment(dep)
        for rs in self.store.list("replicasets", None):
            self._replicaset(rs)
        live = {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in self.store.list("pods", None)}
        for key in [k for k in self.runtimes if k not in live]:
            self.runtimes.pop(key).stop()

    def _owned(self, kind: str, owner: Obj) -> list[Obj]:
        uid = owner["metadata"]["uid"]
        return [o for o in self.store.list(kind, owner["metadata"]["namespace"])
                if any(ref.get("uid") == uid for ref in o["metadata"].get("ownerReferences") or [])]

    def _deployment(self, dep: Obj) -> None:
        ns, name = dep["metadata"]["namespace"], dep["metadata"]["name"]
        spec = dep["spec"]
        template = spec["template"]
        digest = template_hash(template)
        sets = self._owned("replicasets", dep)
        revisions = [int(rs["metadata"].get("annotations", {}).get(REVISION, "0")) for rs in sets]
        new = next((rs for rs in sets if rs["metadata"]["labels"].get(HASH) == digest), None)
        if new is None:
            rs_template = json.loads(json.dumps(template))
            rs_template.setdefault("metadata", {}).setdefault("labels", {})[HASH] = digest
            new = self.store.create("replicasets", ns, {
                "metadata": {"name": f"{name}-{digest}", "labels": {**rs_template["metadata"]["labels"]},
                             "annotations": {REVISION: str(max(revisions, default=0) + 1)},
                             "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name,
                                                  "uid": dep["metadata"]["uid"], "controller": True}]},
                "spec": {"replicas": 0, "selector": {"matchLabels": {**spec["selector"]["matchLabels"],
                                                                     HASH: digest}},
                         "template": rs_template}})
            sets.append(new)
        elif int(new["metadata"]["annotations"].get(REVISION, "0")) < max(revisions, default=0):
            new["metadata"]["annotations"][REVISION] = str(max(revisions) + 1)  # a rollback re-uses an old set
            self.store._bump(new)
        revision = new["metadata"]["annotations"][REVISION]
        notes = dep["metadata"].setdefault("annotations", {})
        if notes.get(REVISION) != revision:
            notes[REVISION] = revision
            self.store._bump(dep)
        old = [rs for rs in sets if rs is not new]
        want = int(spec.get("replicas", 1))
        rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
        surge = _int_or_percent(rolling.get("maxSurge", "25%"), want, round_up=True)
        unavailable = _int_or_percent(rolling.get("maxUnavailable", "25%"), want, round_up=False)
        if surge == 0 and unavailable == 0:
            surge = 1
        total = sum(int(rs["spec"]["replicas"]) for rs in sets)
        if int(new["spec"]["replicas"]) > want:
            self._scale(new, want)
        elif int(new["spec"]["replicas"]) < want and total < want + surge:
            self._scale(new, min(want, int(new["spec"]["replicas"]) + (want + surge - total)))
        available = sum(self._ready_pods(rs) for rs in sets)
        for rs in old:
            replicas = int(rs["spec"]["replicas"])
            if replicas == 0:
                continue
            excess = available - (want - unavailable)
            not_ready = replicas - self._ready_pods(rs)
            drop = min(replicas, max(excess, 0) + not_ready)
            if drop > 0:
                self._scale(rs, replicas - drop)
                available -= max(drop - not_ready, 0)

    def _scale(self, rs: Obj, replicas: int) -> None:
        rs["spec"]["replicas"] = replicas
        rs["metadata"]["generation"] = int(rs["metadata"].get("generation", 1)) + 1
        self.store._bump(rs)

    def _ready_pods(self, rs: Obj) -> int:
        return sum(1 for p in self._owned("pods", rs) if self._pod_ready(p))

    def _pod_ready(self, pod: Obj) -> bool:
        runtime = self.runtimes.get((pod["metadata"]["namespace"], pod["metadata"]["name"]))
        return bool(runtime and runtime.ready)

    def _replicaset(self, rs: Obj) -> None:
        ns = rs["metadata"]["namespace"]
        owner = (rs["metadata"].get("ownerReferences") or [{}])[0]
        if owner.get("kind") == "Deployment" and not any(
                d["metadata"]["uid"] == owner.get("uid") for d in self.store.list("deployments", ns)):
            for pod in self._owned("pods", rs):
                self.store.delete("pods", ns, pod["metadata"]["name"])
            self.store.delete("replicasets", ns, rs["metadata"]["name"])
            return
        pods = self._owned("pods", rs)
        want = int(rs["spec"]["replicas"])
        for _ in range(want - len(pods)):
            self._create_pod(rs)
        if len(pods) > want:
            pods.sort(key=lambda p: (self._pod_ready(p), p["metadata"]["creationTimestamp"]))
            for pod in pods[: len(pods) - want]:
                self.store.delete("pods", ns, pod["metadata"]["name"])

    def _create_pod(self, rs: Obj) -> None:
        ns = rs["metadata"]["namespace"]
        template = rs["spec"]["template"]
        name = f"{rs['metadata']['name']}-{uuid.uuid4().hex[:5]}"
        pod = self.store.create("pods", ns, {
            "metadata": {"name": name, "labels": dict(template["metadata"].get("labels") or {}),
                         "annotations": dict(template["metadata"].get("annotations") or {}),
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                              "name": rs["metadata"]["name"], "uid": rs["metadata"]["uid"],
                                              "controller": True}]},
            "spec": json.loads(json.dumps(template["spec"]))})
        container = pod["spec"]["containers"][0]
        probe = ((container.get("readinessProbe") or {}).get("httpGet") or {}).get("path")
        env = {e["name"]: str(e.get("value", "")) for e in container.get("env") or [] if "name" in e}
        runtime = PodRuntime(name=name, namespace=ns, container=container["name"], image=container["image"],
                             argv=self._argv(container["image"]), env=env, ready_path=probe,
                             log=self.logs / f"{ns}-{name}.log")
        runtime.start()
        self.runtimes[(ns, name)] = runtime

    def _argv(self, image: str) -> list[str] | None:
        argv = self.catalogue.get(image)
        if argv is None and self.resolver is not None:
            argv = self.resolver(image)
        return argv

    # -- status ----------------------------------------------------------------------
    def _write_statuses(self) -> None:
        for pod in self.store.list("pods", None):
            runtime = self.runtimes.get((pod["metadata"]["namespace"], pod["metadata"]["name"]))
            if runtime is not None:
                set_status(self.store, pod, self._pod_status(runtime))
        for rs in self.store.list("replicasets", None):
            pods = self._owned("pods", rs)
            ready = sum(1 for p in pods if self._pod_ready(p))
            set_status(self.store, rs, {"replicas": len(pods), "readyReplicas": ready, "availableReplicas": ready,
                                        "observedGeneration": rs["metadata"].get("generation", 1)})
        for dep in self.store.list("deployments", None):
            set_status(self.store, dep, self._deployment_status(dep))

    def _pod_status(self, runtime: PodRuntime) -> Obj:
        if runtime.waiting is not None and runtime.proc is None:
            state: Obj = {"waiting": {"reason": runtime.waiting[0], "message": runtime.waiting[1]}}
        else:
            state = {"running": {"startedAt": runtime.started_wall}}
        return {
            "phase": "Running" if runtime.proc is not None else "Pending",
            "podIP": "127.0.0.1",
            "conditions": [{"type": "Ready", "status": "True" if runtime.ready else "False"}],
            "containerStatuses": [{"name": runtime.container, "image": runtime.image, "ready": runtime.ready,
                                   "restartCount": runtime.restarts, "state": state}],
        }

    def _deployment_status(self, dep: Obj) -> Obj:
        key = (dep["metadata"]["namespace"], dep["metadata"]["name"])
        spec = dep["spec"]
        want = int(spec.get("replicas", 1))
        digest = template_hash(spec["template"])
        sets = self._owned("replicasets", dep)
        pods = [p for rs in sets for p in self._owned("pods", rs)]
        updated = [p for p in pods if p["metadata"]["labels"].get(HASH) == digest]
        ready = sum(1 for p in pods if self._pod_ready(p))
        complete = len(updated) == want and len(pods) == want and ready == want
        signature = f"{digest}/{len(updated)}/{ready}/{len(pods)}"
        previous = self.progress.get(key)
        if previous is None or previous[0] != signature:
            self.progress[key] = (signature, time.monotonic())
        since = time.monotonic() - self.progress[key][1]
        deadline = float(spec.get("progressDeadlineSeconds", 600))
        if complete:
            progressing = {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                           "message": f'ReplicaSet "{dep["metadata"]["name"]}-{digest}" has successfully progressed.'}
        elif since > deadline:
            progressing = {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                           "message": f'ReplicaSet "{dep["metadata"]["name"]}-{digest}" has timed out progressing.'}
        else:
            progressing = {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                           "message": f'ReplicaSet "{dep["metadata"]["name"]}-{digest}" is progressing.'}
        rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
        unavailable = _int_or_percent(rolling.get("maxUnavailable", "25%"), want, round_up=False)
        available = {"type": "Available", "status": "True" if ready >= want - unavailable else "False",
                     "reason": "MinimumReplicasAvailable" if ready >= want - unavailable
                     else "MinimumReplicasUnavailable"}
        return {"observedGeneration": dep["metadata"].get("generation", 1), "replicas": len(pods),
                "updatedReplicas": len(updated), "readyReplicas": ready, "availableReplicas": ready,
                "unavailableReplicas": max(want - ready, 0), "conditions": [available, progressing]}

    # -- used by the service proxy ----------------------------------------------------------
    def endpoints(self, service: Obj) -> list[int]:
        selector = (service.get("spec") or {}).get("selector") or {}
        if not selector:
            return []
        ns = service["metadata"]["namespace"]
        return [self.runtimes[(ns, p["metadata"]["name"])].port for p in self.store.list("pods", ns, selector)
                if matches(p["metadata"].get("labels"), selector) and self._pod_ready(p)]
