"""The emulated Kubernetes API server: the REST paths and JSON the official client uses.

    /apis/apps/v1/namespaces/{ns}/deployments[/{name}]        GET list, POST, GET, PUT, PATCH, DELETE
    /apis/apps/v1/namespaces/{ns}/replicasets[/{name}]        GET
    /api/v1/namespaces/{ns}/services[/{name}]                 GET list, POST, GET, PUT, PATCH, DELETE
    /api/v1/namespaces/{ns}/services/{name}[:{port}]/proxy/{path}   any method, to a ready pod
    /api/v1/namespaces/{ns}/pods[/{name}]                     GET list, GET, DELETE
    /api/v1/namespaces/{ns}/pods/{name}[:{port}]/proxy/{path}       any method, to that pod
    /apis/coordination.k8s.io/v1/namespaces/{ns}/leases[/{name}]  GET, POST, PUT, PATCH, DELETE

PATCH accepts application/strategic-merge-patch+json and application/merge-patch+json.
Every request is recorded (method, path, content type) for tests to assert on; ``deny``
makes a verb on a resource answer 403 the way RBAC does.
"""

from __future__ import annotations

import http.client
import itertools
import json
import re
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .controller import Controller
from .store import GROUPS, ApiError, Store, parse_selector

PATH = re.compile(r"^/(?:api/v1|apis/(?P<group>[a-z0-9.]+)/v1)/namespaces/(?P<ns>[^/]+)/(?P<kind>[a-z]+)"
                  r"(?:/(?P<name>[^/]+)(?:/(?P<sub>proxy|status)(?P<rest>/.*)?)?)?$")
VERBS = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


@dataclass
class Seen:
    method: str
    path: str
    content_type: str | None
    body: Any


class Emulator:
    """Start with ``Emulator(catalogue).start()``; ``kubeconfig(path)`` writes a kubeconfig for it."""

    def __init__(self, catalogue: dict[str, list[str]] | None = None, logs: Path | None = None,
                 resolver: Callable[[str], list[str] | None] | None = None) -> None:
        self.store = Store()
        self.catalogue: dict[str, list[str]] = dict(catalogue or {})
        self._tmp = None if logs else tempfile.TemporaryDirectory(prefix="k8s-emulator-")
        self.logs = logs or Path(self._tmp.name)  # type: ignore[union-attr]
        self.controller = Controller(self.store, self.catalogue, self.logs, resolver)
        self.requests: list[Seen] = []
        self.denied: set[tuple[str, str]] = set()
        self.user = "system:serviceaccount:ci:deployer"
        self._rr = itertools.count()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Emulator:
        self.controller.start()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.controller.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    def deny(self, verb: str, resource: str) -> None:
        self.denied.add((verb, resource))

    def kubeconfig(self, path: Path, token: str = "emulator-token-0123") -> Path:
        import yaml

        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "emulator",
            "clusters": [{"name": "emulator", "cluster": {"server": self.url}}],
            "users": [{"name": "deployer", "user": {"token": token}}],
            "contexts": [{"name": "emulator", "context": {"cluster": "emulator", "user": "deployer"}}],
        }))
        return path

    # -- convenience for tests ------------------------------------------------------
    def get(self, kind: str, ns: str, name: str) -> dict[str, Any] | None:
        with self.store.lock:
            found = self.store.find(kind, ns, name)
            return json.loads(json.dumps(found)) if found else None

    def proxy(self, ns: str, service: str, method: str, path: str, body: bytes = b"",
              headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        status, data, _ = self._proxy(ns, service, method, path, body, headers or {})
        return status, data

    def _proxy(self, ns: str, service: str, method: str, path: str, body: bytes,
               headers: dict[str, str]) -> tuple[int, bytes, str]:
        parts = service.split(":")
        name = parts[1] if parts[0] in ("http", "https") else parts[0]
        with self.store.lock:
            svc = self.store.get("services", ns, name)
            ports = self.controller.endpoints(svc)
        if not ports:
            raise ApiError(503, "ServiceUnavailable", f'no endpoints available for service "{name}"')
        port = ports[next(self._rr) % len(ports)]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request(method, path or "/", body=body or None,
                         headers={k: v for k, v in headers.items() if k.lower() in ("content-type", "accept")})
            resp = conn.getresponse()
            return resp.status, resp.read(), resp.getheader("Content-Type") or "application/octet-stream"
        finally:
            conn.close()

    def _pod_proxy(self, ns: str, pod: str, method: str, path: str, body: bytes,
                   headers: dict[str, str]) -> tuple[int, bytes, str]:
        """``pods/{name}[:{port}]/proxy/{path}``: straight to that pod's process (any declared port)."""
        name = pod.split(":", maxsplit=1)[0]
        with self.store.lock:
            self.store.get("pods", ns, name)  # 404 Status when there is no such pod
            runtime = self.controller.runtimes.get((ns, name))
        if runtime is None or runtime.proc is None or not runtime.port:
            raise ApiError(503, "ServiceUnavailable", f'pod "{name}" has no running container')
        return self._forward(runtime.port, method, path, body, headers)

    def _forward(self, port: int, method: str, path: str, body: bytes,
                 headers: dict[str, str]) -> tuple[int, bytes, str]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request(method, path or "/", body=body or None,
                         headers={k: v for k, v in headers.items() if k.lower() in ("content-type", "accept")})
            resp = conn.getresponse()
            return resp.status, resp.read(), resp.getheader("Content-Type") or "application/octet-stream"
        except OSError as exc:
            raise ApiError(503, "ServiceUnavailable", f"error trying to reach the pod: {exc}") from None
        finally:
            conn.close()

    # -- HTTP --------------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _send(self, status: int, payload: Any, content_type: str = "application/json") -> None:
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                content_type = self.headers.get("Content-Type")
                path = unquote(parts.path)
                match = PATH.match(path)
                try:
                    body = json.loads(raw) if raw and match and match["sub"] != "proxy" else None
                except ValueError:
                    self._send(400, ApiError(400, "BadRequest", "the body is not JSON").status())
                    return
                emulator.requests.append(Seen(self.command, parts.path, content_type, body))
                try:
                    if match is None or match["kind"] not in GROUPS:
                        raise ApiError(404, "NotFound", f"the server could not find the requested resource ({path})")
                    self._route(match, body, raw, content_type or "", parse_qs(parts.query), parts.query)
                except ApiError as exc:
                    self._send(exc.code, exc.status())

            def _route(self, m: re.Match[str], body: Any, raw: bytes, content_type: str,
                       query: dict[str, list[str]], query_text: str) -> None:
                ns, kind, name, sub = m["ns"], m["kind"], m["name"], m["sub"]
                verb = VERBS[self.command]
                if self.command == "GET" and name is None:
                    verb = "list"
                resource = kind if sub != "proxy" else f"{kind}/proxy"
                if (verb, resource) in emulator.denied:
                    group = GROUPS[kind]
                    raise ApiError(403, "Forbidden", f'{resource}{"." + group if group else ""}'
                                   f'{" " + chr(34) + name + chr(34) if name else ""} is forbidden: User '
                                   f'"{emulator.user}" cannot {verb} resource "{resource}" in API group '
                                   f'"{group}" in the namespace "{ns}"')
                if sub == "proxy":
                    rest = (m["rest"] or "/") + (f"?{query_text}" if query_text else "")
                    proxy = emulator._pod_proxy if kind == "pods" else emulator._proxy
                    status, data, ctype = proxy(ns, name, self.command, rest, raw, dict(self.headers))
                    self._send(status, data, ctype)
                    return
                store = emulator.store
                with store.lock:
                    if verb == "list":
                        selector = parse_selector((query.get("labelSelector") or [""])[0])
                        items = store.list(kind, ns, selector)
                        api_version, kind_name = _kind(kind)
                        self._send(200, {"apiVersion": api_version, "kind": f"{kind_name}List",
                                         "metadata": {"resourceVersion": "1"}, "items": items})
                    elif verb == "get":
                        self._send(200, store.get(kind, ns, name))
                    elif verb == "create":
                        if not isinstance(body, dict):
                            raise ApiError(400, "BadRequest", "a create needs a JSON object")
                        self._send(201, store.create(kind, ns, body))
                    elif verb == "update":
                        self._send(200, store.replace(kind, ns, name, body, status=sub == "status"))
                    elif verb == "patch":
                        self._send(200, store.patch(kind, ns, name, body, content_type))
                    else:
                        obj = store.delete(kind, ns, name)
                        self._send(200, obj)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        return Handler


def _kind(plural: str) -> tuple[str, str]:
    from .store import KINDS

    return KINDS[plural]
