"""The cluster, through the official ``kubernetes`` client, as plain dicts.

Calls go through the generated API classes with ``_preload_content=False`` and the JSON is
read here, so the code works with any client version >= 29 and never depends on model
classes round-tripping fields. Connection errors, 429 and 5xx are retried with backoff
(then exit 3); 403 says which verb on which resource was refused.

Kubeconfig, first found: --kubeconfig PATH; the action input (content written to a 0600
temp file, its secrets masked); $KUBECONFIG or ~/.kube/config; the in-cluster service account.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from ..errors import InfrastructureError, UsageError
from ..github import actions as gha

Obj = dict[str, Any]

# kind -> (API class, method suffix, resource name for messages, API group for RBAC hints)
KINDS = {
    "deployment": ("AppsV1Api", "namespaced_deployment", "deployments", "apps"),
    "replicaset": ("AppsV1Api", "namespaced_replica_set", "replicasets", "apps"),
    "service": ("CoreV1Api", "namespaced_service", "services", ""),
    "pod": ("CoreV1Api", "namespaced_pod", "pods", ""),
    "lease": ("CoordinationV1Api", "namespaced_lease", "leases", "coordination.k8s.io"),
}
RBAC_VERB = {"read": "get", "create": "create", "patch": "patch", "replace": "update", "delete": "delete",
             "list": "list"}
RETRYABLE = frozenset({429, 500, 502, 503, 504})
SECRET_KEYS = ("token", "password", "client-key-data", "client-certificate-data", "id-token", "refresh-token")


class Conflict(Exception):
    """HTTP 409: the object changed (or exists) since it was read."""


class Cluster:
    def __init__(self, api_client: Any, *, attempts: int = 4, backoff_s: float | None = None) -> None:
        self.api_client = api_client
        self.host = str(getattr(api_client.configuration, "host", "?"))
        self.attempts = attempts
        if backoff_s is None:
            try:
                backoff_s = float(os.environ.get("MODELCI_HTTP_BACKOFF_S", "0.5"))
            except ValueError:
                backoff_s = 0.5
        self.backoff_s = backoff_s
        self._apis: dict[str, Any] = {}

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.api_client.close()

    # -- verbs ------------------------------------------------------------------
    def get(self, kind: str, namespace: str, name: str) -> Obj | None:
        return self._call("read", kind, namespace, name, missing_ok=True)

    def list(self, kind: str, namespace: str, selector: dict[str, str]) -> list[Obj]:
        text = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
        found = self._call("list", kind, namespace, None, label_selector=text) or {}
        return list(found.get("items") or [])

    def create(self, kind: str, namespace: str, body: Obj) -> Obj:
        return self._call("create", kind, namespace, None, body=body) or {}

    def replace(self, kind: str, namespace: str, name: str, body: Obj) -> Obj:
        return self._call("replace", kind, namespace, name, body=body) or {}

    def patch(self, kind: str, namespace: str, name: str, body: Obj, *, merge: bool = False) -> Obj:
        """Strategic merge patch (what kubectl apply sends), or JSON merge patch with ``merge``."""
        extra: dict[str, Any] = {"_content_type": "application/merge-patch+json"} if merge else {}
        return self._call("patch", kind, namespace, name, body=body, **extra) or {}

    def delete(self, kind: str, namespace: str, name: str) -> bool:
        return self._call("delete", kind, namespace, name, missing_ok=True) is not None

    # -- plumbing ---------------------------------------------------------------
    def _api(self, cls: str) -> Any:
        if cls not in self._apis:
            from kubernetes import client

            self._apis[cls] = getattr(client, cls)(self.api_client)
        return self._apis[cls]

    def _call(self, verb: str, kind: str, namespace: str, name: str | None, *, missing_ok: bool = False,
              body: Obj | None = None, **kwargs: Any) -> Obj | None:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        cls, suffix, resource, group = KINDS[kind]
        method = getattr(self._api(cls), f"{verb}_{suffix}")
        args: list[Any] = [name] if name is not None else []
        args.append(namespace)
        if body is not None:
            args.append(body)
        label = name or ((body or {}).get("metadata") or {}).get("name")
        what = f"{RBAC_VERB[verb]} {resource}{'/' + label if label else ''} in namespace {namespace}"
        last = ""
        for attempt in range(self.attempts):
            try:
                resp = method(*args, _preload_content=False, _request_timeout=(5, 30), **kwargs)
                try:
                    raw = resp.data
                finally:
                    resp.release_conn()
                return json.loads(raw) if raw else {}
            except ApiException as exc:
                status = int(exc.status or 0)
                message = _status_message(exc.body) or str(exc.reason)
                if status == 404 and missing_ok:
                    return None
                if status == 409:
                    raise Conflict(message) from None
                if status == 403:
                    raise UsageError(
                        f"the Kubernetes API at {self.host} refused to {what} (HTTP 403: {message}). Grant the "
                        f"deploying identity the verb {RBAC_VERB[verb]!r} on {resource} "
                        f"(apiGroup {group!r}) in namespace {namespace}; docs/deploy.md lists the Role it needs."
                    ) from None
                if status == 401:
                    raise UsageError(f"the Kubernetes API at {self.host} rejected the credentials (HTTP 401: "
                                     f"{message}); check the kubeconfig's user.") from None
                if status not in RETRYABLE:
                    raise UsageError(f"the Kubernetes API at {self.host} rejected {what} (HTTP {status}: "
                                     f"{message}).") from None
                last = f"HTTP {status}: {message}"
            except (HTTPError, OSError) as exc:
                last = f"{type(exc).__name__}: {exc}"
            except ValueError as exc:  # the client's own schema check (pydantic) refused the body
                raise UsageError(f"the Kubernetes client refused to {what}: {str(exc).splitlines()[:3]}") from None
            if attempt + 1 < self.attempts:
                time.sleep(self.backoff_s * 2 ** attempt)
        raise InfrastructureError(f"the Kubernetes API at {self.host} did not answer {what} after "
                                  f"{self.attempts} attempts: {last[:300]}. Is the cluster reachable from here?")


def _status_message(body: Any) -> str:
    if not body:
        return ""
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        return str(body)[:200]
    return str(data.get("message") or data)[:300] if isinstance(data, dict) else str(data)[:200]


def connect(kubeconfig: str | None, kubeconfig_data: str | None) -> Cluster:
    """A Cluster from the first kubeconfig found (see the module docstring)."""
    try:
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException
    except ImportError:
        raise UsageError("deploying to Kubernetes needs the official client: pip install 'modelci[kubernetes]'"
                         ) from None
    if kubeconfig_data:
        _mask_secrets(kubeconfig_data)
        fd, tmp = tempfile.mkstemp(prefix="modelci-kubeconfig-", suffix=".yaml")  # mode 0600
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(kubeconfig_data)
            return Cluster(_load(config, ConfigException, tmp, "the kubeconfig input"))
        finally:
            Path(tmp).unlink(missing_ok=True)
    if kubeconfig:
        if not Path(kubeconfig).is_file():
            raise UsageError(f"kubeconfig {kubeconfig} does not exist; pass --kubeconfig PATH to a kubeconfig "
                             "file (or the kubeconfig input's content in the action).")
        return Cluster(_load(config, ConfigException, kubeconfig, kubeconfig))
    env_path = os.environ.get("KUBECONFIG")
    default = Path.home() / ".kube" / "config"
    if env_path or default.is_file():
        return Cluster(_load(config, ConfigException, None, env_path or str(default)))
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        configuration = client.Configuration()
        try:
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call,unused-ignore]
        except ConfigException as exc:
            raise UsageError(f"in-cluster Kubernetes config could not be loaded: {exc}") from None
        return Cluster(client.ApiClient(configuration))
    raise UsageError("no Kubernetes credentials: pass --kubeconfig PATH, the deploy action's kubeconfig input, "
                     "set KUBECONFIG, or run inside a cluster.")


def _load(config: Any, config_exception: type[Exception], path: str | None, label: str) -> Any:
    import yaml

    try:
        return config.new_client_from_config(config_file=path)
    except (config_exception, yaml.YAMLError, TypeError, KeyError, AttributeError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"{label} is not a usable kubeconfig: {first}. It needs clusters, users, contexts and "
                         "a current-context (kubectl config view --minify --raw prints one).") from None


def _mask_secrets(text: str) -> None:
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        gha.mask(text)
        return

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in SECRET_KEYS and isinstance(value, str):
                    gha.mask(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(data)
