"""A probe that reaches model servers in a cluster through the Kubernetes API server's proxy.

Requests go to ``/api/v1/namespaces/{ns}/services/{name}:{port}/proxy/{path}`` (the
Service, so smoke tests see what clients see) or, for one group of pods (a canary),
to ``/api/v1/namespaces/{ns}/pods/{pod}:{port}/proxy/{path}``. ``/metrics`` is always
read per pod, so every serving process is counted once. The official client's
configured connection pool and credentials are used; nothing else needs network
access to the pods.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ..deploy.kubernetes import Cluster
from ..deploy.manifests import CONTAINER_PORT


def _port_of(pod: dict[str, Any]) -> str:
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == "http" or port.get("containerPort"):
                return str(port.get("containerPort") or CONTAINER_PORT)
    return str(CONTAINER_PORT)


def _ready(pod: dict[str, Any]) -> bool:
    status = pod.get("status") or {}
    if status.get("phase") not in (None, "Running"):
        return False
    conditions = status.get("conditions") or []
    ready = [c for c in conditions if c.get("type") == "Ready"]
    return not ready or ready[0].get("status") == "True"


class KubeProbe:
    def __init__(self, cluster: Cluster, namespace: str, *, service: str | None, service_port: str,
                 pods: dict[str, str], timeout_s: float = 10.0) -> None:
        """``service``: where requests go (None: the first ready pod of ``pods``, a label selector)."""
        self.cluster = cluster
        self.namespace = namespace
        self.service = service
        self.service_port = service_port
        self.pods = dict(pods)
        self.timeout_s = timeout_s

    def _raw(self, method: str, path: str, body: bytes | None, content_type: str) -> tuple[int, bytes]:
        import urllib3

        api = self.cluster.api_client
        headers: dict[str, str] = {"Accept": "*/*"}
        if body is not None:
            headers["Content-Type"] = content_type
        api.update_params_for_auth(headers, [], ["BearerToken"], path, method, None)
        url = str(api.configuration.host).rstrip("/") + path
        try:
            resp = api.rest_client.pool_manager.request(
                method, url, body=body, headers=headers, retries=False, preload_content=True,
                timeout=urllib3.Timeout(connect=5.0, read=self.timeout_s))
        except urllib3.exceptions.HTTPError as exc:
            raise OSError(f"{method} {url} failed: {exc}") from None
        return int(resp.status), bytes(resp.data)

    def _pod_names(self) -> list[tuple[str, str]]:
        return [(p["metadata"]["name"], _port_of(p)) for p in self.cluster.list("pod", self.namespace, self.pods)
                if _ready(p)]

    def call(self, method: str, path: str, body: bytes | None = None,
             content_type: str = "application/json") -> tuple[int, bytes]:
        if self.service is not None:
            target = f"services/{quote(self.service)}:{quote(self.service_port)}"
        else:
            pods = self._pod_names()
            if not pods:
                raise OSError(f"no ready pod matches {self.pods} in namespace {self.namespace}")
            target = f"pods/{quote(pods[0][0])}:{pods[0][1]}"
        return self._raw(method, f"/api/v1/namespaces/{quote(self.namespace)}/{target}/proxy{path}", body,
                         content_type)

    def metrics_texts(self) -> list[str]:
        texts = []
        for name, port in self._pod_names():
            try:
                status, body = self._raw("GET", f"/api/v1/namespaces/{quote(self.namespace)}/pods/{quote(name)}:"
                                                f"{port}/proxy/metrics", None, "")
            except OSError:
                continue  # a pod going away between the list and the scrape
            if status == 200:
                texts.append(body.decode("utf-8", errors="replace"))
        return texts

    def describe(self) -> str:
        where = f"Service {self.service}" if self.service else "pods " + ",".join(
            f"{k}={v}" for k, v in sorted(self.pods.items()))
        return f"{where} in namespace {self.namespace} via {self.cluster.host}"
