"""Serialize deploys to one environment with a coordination.k8s.io/v1 Lease.

``modelci-deploy-<environment>`` in the environment's namespace. A deploy takes it
(create, or replace an expired one, with the resourceVersion it read so two takers
cannot both win), renews it while it works, and gives it up at the end. A second deploy
waits up to its timeout, then fails with exit 3 naming the holder.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

from ..errors import InfrastructureError
from .kubernetes import Cluster, Conflict
from .types import Progress

DURATION_S = 30


def holder_identity() -> str:
    run = os.environ.get("GITHUB_RUN_ID")
    repo = os.environ.get("GITHUB_REPOSITORY")
    where = f"{repo} run {run}" if run and repo else f"{socket.gethostname()} pid {os.getpid()}"
    actor = os.environ.get("GITHUB_ACTOR") or os.environ.get("USER") or "modelci"
    return f"{actor}@{where}"[:200]


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _expired(spec: dict[str, object]) -> bool:
    if not spec.get("holderIdentity"):
        return True
    raw = str(spec.get("renewTime") or spec.get("acquireTime") or "")
    try:
        renewed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return True
    duration = float(spec.get("leaseDurationSeconds") or DURATION_S)  # type: ignore[arg-type]
    return (datetime.now(timezone.utc) - renewed).total_seconds() > duration


@contextlib.contextmanager
def hold(cluster: Cluster, namespace: str, environment: str, timeout_s: float, progress: Progress) -> Iterator[str]:
    name = f"modelci-deploy-{environment}"
    me = holder_identity()
    deadline = time.monotonic() + timeout_s
    announced = ""
    while True:
        lease = cluster.get("lease", namespace, name)
        spec = (lease or {}).get("spec") or {}
        try:
            if lease is None:
                cluster.create("lease", namespace, {
                    "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": name, "namespace": namespace},
                    "spec": _spec(me, acquired=True)})
                break
            if _expired(spec):
                assert lease is not None
                cluster.replace("lease", namespace, name, _body(lease, {
                    **spec, **_spec(me, acquired=True),
                    "leaseTransitions": int(spec.get("leaseTransitions") or 0) + 1}))
                break
        except Conflict:
            continue  # someone else moved first: read again
        holder = str(spec.get("holderIdentity"))
        if holder != announced:
            progress(f"waiting for the deploy lock of {environment}, held by {holder}")
            announced = holder
        if time.monotonic() >= deadline:
            raise InfrastructureError(
                f"another deploy to {environment} holds the lock (Lease {namespace}/{name}, holder {holder}, "
                f"renewed {spec.get('renewTime')}); waited {timeout_s:.0f}s. Retry when it is done, or raise "
                "--timeout.")
        time.sleep(0.5)
    stop = threading.Event()
    renewer = threading.Thread(target=_renew, args=(cluster, namespace, name, me, stop), daemon=True)
    renewer.start()
    try:
        yield me
    finally:
        stop.set()
        renewer.join()
        _release(cluster, namespace, name, me)


def _body(lease: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """A Lease to PUT: the resourceVersion read (so a concurrent writer gets 409) and the new spec."""
    meta = lease.get("metadata") or {}
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {k: meta[k] for k in ("name", "namespace", "resourceVersion") if k in meta},
            "spec": {k: v for k, v in spec.items() if v is not None}}


def _spec(holder: str, *, acquired: bool) -> dict[str, object]:
    spec: dict[str, object] = {"holderIdentity": holder, "leaseDurationSeconds": DURATION_S, "renewTime": _now()}
    if acquired:
        spec["acquireTime"] = spec["renewTime"]
    return spec


def _renew(cluster: Cluster, namespace: str, name: str, me: str, stop: threading.Event) -> None:
    while not stop.wait(DURATION_S / 3):
        with contextlib.suppress(Exception):
            lease = cluster.get("lease", namespace, name)
            if lease is None or (lease.get("spec") or {}).get("holderIdentity") != me:
                return
            cluster.replace("lease", namespace, name, _body(lease, {**lease["spec"], "renewTime": _now()}))


def _release(cluster: Cluster, namespace: str, name: str, me: str) -> None:
    with contextlib.suppress(Exception):
        lease = cluster.get("lease", namespace, name)
        if lease is None or (lease.get("spec") or {}).get("holderIdentity") != me:
            return
        spec = {k: v for k, v in lease["spec"].items() if k not in ("holderIdentity", "renewTime")}
        cluster.replace("lease", namespace, name, _body(lease, spec))
