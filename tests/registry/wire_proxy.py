"""A wire-level HTTP proxy in front of the real registry, for what it cannot do by itself here.

Test double at the boundary we do not own: it forwards every request unchanged to a real
docker-registry and lets a test add behaviour of other registries (a bearer-token auth
front like ghcr.io's, tags/list pagination, which distribution 2.8 ignores) or faults
(the registry dying in the middle of a request).
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import requests


@dataclass
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass
class Request:
    method: str
    path: str  # with the query
    headers: dict[str, str]
    body: bytes

    @property
    def route(self) -> str:
        return urlsplit(self.path).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.path).query)


Hook = Callable[[Request], "Reply | None"]
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-authorization"}


class Proxy:
    """Listens on 127.0.0.1:<free port>; ``hooks`` may answer a request instead of the upstream."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.hooks: list[Hook] = []
        self.seen: list[Request] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(self.command, self.path, dict(self.headers.items()), body)
                proxy.seen.append(request)
                reply = None
                for hook in proxy.hooks:
                    reply = hook(request)
                    if reply is not None:
                        break
                if reply is None:
                    reply = proxy.forward(request)
                if reply is None:  # upstream gone: drop the connection like a dead server would
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    if key.lower() not in _HOP:
                        self.send_header(key, value)
                payload = b"" if self.command == "HEAD" else reply.body
                self.send_header("Content-Length", str(len(reply.body) if self.command != "HEAD"
                                                      else int(reply.headers.get("Content-Length", 0))))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> Proxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def forward(self, request: Request) -> Reply | None:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP | {"authorization"}}
        try:
            response = requests.request(request.method, self.upstream + request.path, headers=headers,
                                        data=request.body or None, allow_redirects=False, timeout=30)
        except requests.RequestException:
            return None
        return Reply(response.status_code, dict(response.headers), response.content)


def paginate_tags(upstream: str) -> Hook:
    """Serve tags/list in pages of ``n`` with a ``Link: <...>; rel="next"`` header (spec behaviour)."""

    def hook(request: Request) -> Reply | None:
        if request.method != "GET" or not request.route.endswith("/tags/list"):
            return None
        full = requests.get(upstream + request.route, timeout=30)
        if full.status_code != 200:
            return Reply(full.status_code, dict(full.headers), full.content)
        payload = full.json()
        tags = sorted(payload.get("tags") or [])
        n = int(request.query.get("n", ["100"])[0])
        last = request.query.get("last", [""])[0]
        rest = [t for t in tags if t > last] if last else tags
        page, more = rest[:n], len(rest) > n
        headers = {"Content-Type": "application/json"}
        if more:
            headers["Link"] = f'<{request.route}?n={n}&last={page[-1]}>; rel="next"'
        return Reply(200, headers, json.dumps({"name": payload["name"], "tags": page}).encode())

    return hook


@dataclass
class TokenService:
    """The bearer-token flow of ghcr.io / Docker Hub: /token trades basic creds for a token."""

    user: str
    password: str
    tokens: set[str] = field(default_factory=set)
    issued: list[str] = field(default_factory=list)  # the scopes asked for

    def hook(self, proxy: Proxy) -> Hook:
        def handle(request: Request) -> Reply | None:
            if request.route == "/token":
                expected = "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
                if request.headers.get("Authorization") != expected:
                    return Reply(401, {"Content-Type": "application/json"}, b'{"details": "bad credentials"}')
                token = secrets.token_hex(16)
                self.tokens.add(token)
                self.issued.append(request.query.get("scope", [""])[0])
                return Reply(200, {"Content-Type": "application/json"}, json.dumps({"token": token}).encode())
            auth = request.headers.get("Authorization", "")
            if auth.startswith("Bearer ") and auth[len("Bearer "):] in self.tokens:
                return None
            repo = request.route[len("/v2/"):].split("/manifests/")[0].split("/blobs/")[0].split("/tags/")[0]
            challenge = (f'Bearer realm="http://{proxy.addr}/token",service="modelci-test",'
                         f'scope="repository:{repo}:pull,push"')
            return Reply(401, {"WWW-Authenticate": challenge, "Content-Type": "application/json"},
                         b'{"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}')

        return handle
