"""A test double of the GitHub REST API, at the wire: a real HTTP server on 127.0.0.1 in a thread.

It answers the endpoints modelci uses the way GitHub does (status codes, JSON
shapes, Link pagination, Bearer auth) and records every request, so tests can
assert on what went over the wire. It can be told to fail the next requests
(403 read-only token, 502 outage, 403 secondary rate limit with Retry-After).

    GET   /repos/{owner}/{repo}/issues/{number}/comments   (per_page, page, Link)
    POST  /repos/{owner}/{repo}/issues/{number}/comments   -> 201
    PATCH /repos/{owner}/{repo}/issues/comments/{id}       -> 200
    POST  /repos/{owner}/{repo}/statuses/{sha}             -> 201
    POST  /repos/{owner}/{repo}/deployments                -> 201
    POST  /repos/{owner}/{repo}/deployments/{id}/statuses  -> 201
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class Failure:
    status: int
    times: int
    path_contains: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    message: str = "Server Error"


class FakeGitHub:
    def __init__(self, token: str = "ghs_fake_secret_token_0123456789") -> None:
        self.token = token
        self.requests: list[Recorded] = []
        self.comments: dict[int, dict[str, Any]] = {}
        self.statuses: list[dict[str, Any]] = []
        self.failures: list[Failure] = []
        self.deployments: dict[int, dict[str, Any]] = {}
        self.deployment_statuses: list[dict[str, Any]] = []
        self._next_id = 1000
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeGitHub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail(self, status: int, times: int = 1, path_contains: str = "", headers: dict[str, str] | None = None,
             message: str = "Server Error") -> None:
        self.failures.append(Failure(status, times, path_contains, headers or {}, message))

    def add_comment(self, repo: str, number: int, body: str, user: str = "someone") -> dict[str, Any]:
        with self._lock:
            return self._create_comment(repo, number, body, user)

    def issue_comments(self, number: int) -> list[dict[str, Any]]:
        return [c for c in self.comments.values() if c["_issue"] == number]

    # -- internals ---------------------------------------------------------
    def _create_comment(self, repo: str, number: int, body: str, user: str) -> dict[str, Any]:
        self._next_id += 1
        cid = self._next_id
        comment = {
            "id": cid, "body": body, "user": {"login": user},
            "html_url": f"https://github.com/{repo}/pull/{number}#issuecomment-{cid}",
            "url": f"{self.url}/repos/{repo}/issues/comments/{cid}", "_issue": number, "_repo": repo,
        }
        self.comments[cid] = comment
        return comment

    def _take_failure(self, path: str) -> Failure | None:
        for failure in self.failures:
            if failure.times > 0 and failure.path_contains in path:
                failure.times -= 1
                return failure
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                with fake._lock:
                    fake.requests.append(Recorded(method, parts.path, parse_qs(parts.query),
                                                  dict(self.headers.items()), body))
                    failure = fake._take_failure(parts.path)
                    if failure is not None:
                        self._send(failure.status, {"message": failure.message,
                                                    "documentation_url": "https://docs.github.com/rest"},
                                   failure.headers)
                        return
                    if self.headers.get("Authorization") != f"Bearer {fake.token}":
                        self._send(401, {"message": "Bad credentials"})
                        return
                    self._route(method, parts.path, parse_qs(parts.query), body)

            def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> None:
                if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/(\d+)/comments", path):
                    repo, number = m.group(1), int(m.group(2))
                    if method == "GET":
                        self._list(repo, number, query)
                        return
                    if method == "POST":
                        comment = fake._create_comment(repo, number, body["body"], "github-actions[bot]")
                        self._send(201, _public(comment))
                        return
                if (m := re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/comments/(\d+)", path)) and method == "PATCH":
                    comment = fake.comments.get(int(m.group(2)))
                    if comment is None or comment["_repo"] != m.group(1):
                        self._send(404, {"message": "Not Found"})
                        return
                    comment["body"] = body["body"]
                    self._send(200, _public(comment))
                    return
                if (m := re.fullmatch(r"/repos/([^/]+/[^/]+)/statuses/([0-9a-f]{7,40})", path)) and method == "POST":
                    if body.get("state") not in ("error", "failure", "pending", "success"):
                        self._send(422, {"message": "Validation Failed"})
                        return
                    status = {"id": len(fake.statuses) + 1, "sha": m.group(2), **body}
                    fake.statuses.append(status)
                    self._send(201, status)
                    return
                if self._deployments(method, path, body):
                    return
                self._send(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})

            def _deployments(self, method: str, path: str, body: Any) -> bool:
                if (m := re.fullmatch(r"/repos/([^/]+/[^/]+)/deployments", path)) and method == "POST":
                    if not body.get("ref"):
                        self._send(422, {"message": "Validation Failed"})
                        return True
                    fake._next_id += 1
                    deployment = {"id": fake._next_id, "url": f"{fake.url}{path}/{fake._next_id}",
                                  "environment": body.get("environment", "production"), "_repo": m.group(1),
                                  **{k: v for k, v in body.items() if k != "environment"}}
                    fake.deployments[fake._next_id] = deployment
                    self._send(201, _public(deployment))
                    return True
                m = re.fullmatch(r"/repos/([^/]+/[^/]+)/deployments/(\d+)/statuses", path)
                if m and method == "POST":
                    if int(m.group(2)) not in fake.deployments:
                        self._send(404, {"message": "Not Found"})
                        return True
                    states = ("error", "failure", "inactive", "in_progress", "queued", "pending", "success")
                    if body.get("state") not in states:
                        self._send(422, {"message": "Validation Failed"})
                        return True
                    status = {"id": len(fake.deployment_statuses) + 1, "deployment_id": int(m.group(2)), **body}
                    fake.deployment_statuses.append(status)
                    self._send(201, status)
                    return True
                return False

            def _list(self, repo: str, number: int, query: dict[str, list[str]]) -> None:
                per_page = int(query.get("per_page", ["30"])[0])
                page = int(query.get("page", ["1"])[0])
                items = [c for c in fake.comments.values() if c["_repo"] == repo and c["_issue"] == number]
                chunk = items[(page - 1) * per_page: page * per_page]
                headers = {}
                if page * per_page < len(items):
                    base = f"{fake.url}/repos/{repo}/issues/{number}/comments"
                    headers["Link"] = f'<{base}?per_page={per_page}&page={page + 1}>; rel="next"'
                self._send(200, [_public(c) for c in chunk], headers)

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def do_PATCH(self) -> None:
                self._handle("PATCH")

        return Handler


def _public(comment: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in comment.items() if not k.startswith("_")}
