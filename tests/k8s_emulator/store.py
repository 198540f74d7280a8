"""Objects of the emulated cluster: resourceVersion, generation, uid, patches, label selectors."""

from __future__ import annotations

import copy
import itertools
import threading
import uuid
from datetime import datetime, timezone
from typing import Any

Obj = dict[str, Any]

# kind -> (apiVersion, plural, kind name)
KINDS = {
    "deployments": ("apps/v1", "Deployment"),
    "replicasets": ("apps/v1", "ReplicaSet"),
    "services": ("v1", "Service"),
    "pods": ("v1", "Pod"),
    "leases": ("coordination.k8s.io/v1", "Lease"),
}
GROUPS = {"deployments": "apps", "replicasets": "apps", "services": "", "pods": "", "leases": "coordination.k8s.io"}
MERGE_KEYS = ("name", "containerPort", "port", "mountPath")


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message

    def status(self) -> Obj:
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason, "code": self.code}


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def matches(labels: dict[str, str] | None, selector: dict[str, str]) -> bool:
    labels = labels or {}
    return all(labels.get(k) == v for k, v in selector.items())


def parse_selector(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, _, value = part.replace("==", "=").partition("=")
        out[key.strip()] = value.strip()
    return out


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge(target: Any, patch: Any) -> Any:
    """The subset of Kubernetes' strategic merge patch modelci needs: maps merge, keyed lists merge."""
    if isinstance(patch, dict):
        result = copy.deepcopy(target) if isinstance(target, dict) else {}
        for key, value in patch.items():
            if value is None:
                result.pop(key, None)
            else:
                result[key] = strategic_merge(result.get(key), value)
        return result
    if isinstance(patch, list) and isinstance(target, list) and patch and all(isinstance(i, dict) for i in patch):
        key = next((k for k in MERGE_KEYS if all(k in i for i in patch) and all(
            isinstance(t, dict) and k in t for t in target)), None)
        if key is not None:
            merged = [copy.deepcopy(t) for t in target]
            for item in patch:
                index = next((n for n, t in enumerate(merged) if t[key] == item[key]), None)
                if index is None:
                    merged.append(copy.deepcopy(item))
                else:
                    merged[index] = strategic_merge(merged[index], item)
            return merged
    return copy.deepcopy(patch)


class Store:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.objects: dict[tuple[str, str, str], Obj] = {}
        self._rv = itertools.count(1)

    def _bump(self, obj: Obj) -> None:
        obj["metadata"]["resourceVersion"] = str(next(self._rv))

    def get(self, kind: str, ns: str, name: str) -> Obj:
        obj = self.objects.get((kind, ns, name))
        if obj is None:
            group = GROUPS[kind]
            raise ApiError(404, "NotFound", f'{kind}{"." + group if group else ""} "{name}" not found')
        return obj

    def find(self, kind: str, ns: str, name: str) -> Obj | None:
        return self.objects.get((kind, ns, name))

    def list(self, kind: str, ns: str | None, selector: dict[str, str] | None = None) -> list[Obj]:
        return [o for (k, n, _), o in sorted(self.objects.items(), key=lambda kv: kv[0])
                if k == kind and (ns is None or n == ns) and matches(o["metadata"].get("labels"), selector or {})]

    def create(self, kind: str, ns: str, body: Obj) -> Obj:
        obj = copy.deepcopy(body)
        api_version, kind_name = KINDS[kind]
        obj["apiVersion"], obj["kind"] = api_version, kind_name
        meta = obj.setdefault("metadata", {})
        name = meta.get("name")
        if not name:
            raise ApiError(422, "Invalid", f"{kind_name} is invalid: metadata.name: Required value")
        if (kind, ns, name) in self.objects:
            raise ApiError(409, "AlreadyExists", f'{kind} "{name}" already exists')
        meta.update({"namespace": ns, "uid": str(uuid.uuid4()), "creationTimestamp": now()})
        if "spec" in obj and kind in ("deployments", "replicasets"):
            meta["generation"] = 1
        if kind != "leases":
            obj.setdefault("status", {})
        self._bump(obj)
        self.objects[(kind, ns, name)] = obj
        return obj

    def replace(self, kind: str, ns: str, name: str, body: Obj, *, status: bool = False) -> Obj:
        old = self.get(kind, ns, name)
        rv = (body.get("metadata") or {}).get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {kind} "{name}": the object has '
                                            "been modified; please apply your changes to the latest version")
        return self._store(kind, ns, name, old, copy.deepcopy(body), status=status)

    def patch(self, kind: str, ns: str, name: str, patch: Any, content_type: str) -> Obj:
        old = self.get(kind, ns, name)
        if "strategic-merge-patch" in content_type:
            new = strategic_merge(old, patch)
        elif "merge-patch" in content_type:
            new = merge_patch(old, patch)
        else:
            raise ApiError(415, "UnsupportedMediaType", f"the emulator does not speak {content_type}")
        return self._store(kind, ns, name, old, new, status=False)

    def _store(self, kind: str, ns: str, name: str, old: Obj, new: Obj, *, status: bool) -> Obj:
        api_version, kind_name = KINDS[kind]
        new["apiVersion"], new["kind"] = api_version, kind_name
        meta = new.setdefault("metadata", {})
        for key in ("uid", "creationTimestamp", "namespace", "name", "generation"):
            if key in old["metadata"]:
                meta[key] = old["metadata"][key]
        if status:
            new["spec"] = old.get("spec")
        else:
            if "status" in old:
                new["status"] = old["status"]
            if kind in ("deployments", "replicasets") and new.get("spec") != old.get("spec"):
                meta["generation"] = int(old["metadata"].get("generation", 1)) + 1
        if new == old:
            return old
        self._bump(new)
        self.objects[(kind, ns, name)] = new
        return new

    def delete(self, kind: str, ns: str, name: str) -> Obj:
        obj = self.get(kind, ns, name)
        del self.objects[(kind, ns, name)]
        return obj


def set_status(store: Store, obj: Obj, status: Obj) -> None:
    """The controller's status write: bumps resourceVersion only when something changed."""
    if obj.get("status") != status:
        obj["status"] = status
        store._bump(obj)
