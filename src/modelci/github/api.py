"""A small client for the GitHub REST API: retries, backoff, typed errors, no token leaks.

Used by the gate (PR comments, commit statuses) and meant for every later stage
that talks to GitHub (deployments). The base URL comes from ``$GITHUB_API_URL``
(GitHub Enterprise, or a local fake in tests), defaulting to https://api.github.com.

Retried with exponential backoff: connection errors, 5xx, 429, and 403 responses
that are rate limits (a ``Retry-After`` header, ``x-ratelimit-remaining: 0`` or a
"secondary rate limit" message). Anything else 4xx is raised at once as
:class:`GitHubHTTPError` with its status, so a caller can tell a read-only fork
token (403) from an outage. After the last retry the error is an
:class:`~modelci.errors.InfrastructureError` (exit 3).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import InfrastructureError

if TYPE_CHECKING:
    import requests

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_BACKOFF_S = 60.0


class GitHubHTTPError(InfrastructureError):
    """GitHub answered with an error status (after retries when the status is retryable)."""

    def __init__(self, message: str, *, status: int | None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


@dataclass(frozen=True)
class Response:
    status: int
    data: Any
    headers: Mapping[str, str]


class GitHubClient:
    """``request("POST", "/repos/o/r/statuses/SHA", json={...})`` with retries.

    ``sleep`` is injectable so a caller can observe backoff; the token is sent
    only as an Authorization header and never appears in an error message.
    """

    def __init__(
        self,
        token: str | None,
        base_url: str | None = None,
        *,
        retries: int = 4,
        backoff_s: float | None = None,
        timeout_s: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = (base_url or os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")
        self._token = token
        self.retries = max(0, retries)
        if backoff_s is None:
            backoff_s = _env_float("MODELCI_HTTP_BACKOFF_S", 1.0)
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self._sleep = sleep
        self._session: requests.Session | None = None

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _headers(self) -> dict[str, str]:
        from .. import __version__

        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": f"modelci/{__version__}",
        }
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}/{path.lstrip('/')}"

    def request(self, method: str, path: str, *, json: Any = None,
                params: Mapping[str, Any] | None = None) -> Response:
        import requests

        if self._session is None:
            self._session = requests.Session()
        url = self.url(path)
        what = f"{method} {url.split('?')[0]}"
        last = ""
        for attempt in range(self.retries + 1):
            wait = min(self.backoff_s * (2 ** attempt), MAX_BACKOFF_S)
            try:
                resp = self._session.request(method, url, json=json, params=params, headers=self._headers(),
                                             timeout=self.timeout_s)
            except requests.RequestException as exc:
                last = f"{type(exc).__name__}: {_scrub(str(exc), self._token)}"
            else:
                if resp.status_code < 400:
                    data = resp.json() if resp.content and "json" in resp.headers.get("content-type", "") else None
                    return Response(resp.status_code, data, dict(resp.headers))
                message = _message(resp)
                last = f"HTTP {resp.status_code}: {message}"
                retry_after = _retry_after(resp)
                if not _retryable(resp, message):
                    raise GitHubHTTPError(f"GitHub API {what} failed: {last}", status=resp.status_code,
                                          hint=_hint(resp.status_code))
                if retry_after is not None:
                    wait = min(retry_after, MAX_BACKOFF_S)
                if attempt == self.retries:
                    raise GitHubHTTPError(
                        f"GitHub API {what} failed after {self.retries + 1} attempts: {last}",
                        status=resp.status_code)
            if attempt < self.retries:
                self._sleep(wait)
        raise GitHubHTTPError(f"GitHub API {what} failed after {self.retries + 1} attempts: {last}",
                              status=None)

    def paginate(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[Any]:
        """Every item of a list endpoint, following ``Link: rel="next"``."""
        url: str | None = path
        query: Mapping[str, Any] | None = {"per_page": 100, **(params or {})}
        while url:
            resp = self.request("GET", url, params=query)
            yield from resp.data or []
            url = _next_link(resp.headers.get("Link") or resp.headers.get("link") or "")
            query = None  # the next link carries its own query


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


def _scrub(text: str, token: str | None) -> str:
    return text.replace(token, "***") if token else text


def _message(resp: Any) -> str:
    try:
        body = resp.json()
    except ValueError:
        return (resp.text or resp.reason or "")[:300]
    if isinstance(body, dict):
        return str(body.get("message") or body)[:300]
    return str(body)[:300]


def _retry_after(resp: Any) -> float | None:
    raw = resp.headers.get("Retry-After")
    if raw is not None:
        try:
            return max(0.0, float(raw))
        except ValueError:
            return None
    if resp.headers.get("x-ratelimit-remaining") == "0" and resp.headers.get("x-ratelimit-reset"):
        try:
            return max(0.0, float(resp.headers["x-ratelimit-reset"]) - time.time())
        except ValueError:
            return None
    return None


def _retryable(resp: Any, message: str) -> bool:
    if resp.status_code in RETRY_STATUSES:
        return True
    if resp.status_code == 403:
        return ("Retry-After" in resp.headers or resp.headers.get("x-ratelimit-remaining") == "0"
                or "rate limit" in message.lower())
    return False


def _hint(status: int) -> str | None:
    if status == 401:
        return "The token was rejected; check the github-token input (or GITHUB_TOKEN)."
    if status in (403, 404):
        return ("The token may lack a permission (the workflow needs `permissions:` such as "
                "pull-requests: write and statuses: write), or this is a fork's read-only token.")
    return None


def _next_link(header: str) -> str | None:
    for part in header.split(","):
        section = part.split(";")
        if len(section) >= 2 and section[1].strip() == 'rel="next"':
            return section[0].strip().strip("<>")
    return None
