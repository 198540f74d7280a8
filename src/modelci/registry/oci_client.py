"""A small client for the OCI distribution HTTP API (manifests, blobs, tags) over requests.

It knows nothing about models: it retries what can be retried (connection errors,
429, 5xx) with exponential backoff, answers auth challenges (oci_auth), verifies the
digest of every blob it downloads, and keeps downloaded blobs in a cache keyed by digest.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from ..errors import InfrastructureError, IntegrityError
from .base import CHUNK
from .oci_auth import Credentials, basic_header, describe, find_credentials, parse_challenge

if TYPE_CHECKING:
    import requests

MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int

    def to_dict(self, annotations: Mapping[str, str] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if annotations:
            out["annotations"] = dict(annotations)
        return out


@dataclass(frozen=True)
class Manifest:
    """A manifest as fetched: its parsed JSON, its digest and media type."""

    body: Mapping[str, Any]
    digest: str
    media_type: str

    @property
    def annotations(self) -> Mapping[str, str]:
        raw = self.body.get("annotations")
        return raw if isinstance(raw, dict) else {}


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    backoff_s: float = 0.5
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 120.0

    @classmethod
    def from_env(cls) -> RetryPolicy:
        return cls(attempts=max(1, int(os.environ.get("MODELCI_REGISTRY_RETRIES", "4"))),
                   backoff_s=float(os.environ.get("MODELCI_REGISTRY_BACKOFF_S", "0.5")))


def blob_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "modelci" / "blobs"


def sha256_bytes(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


class DistributionClient:
    """One registry host (``base_url`` like ``http://127.0.0.1:5000``)."""

    def __init__(self, base_url: str, host: str, *, credentials: Credentials | None = None,
                 policy: RetryPolicy | None = None, cache_dir: Path | None = None) -> None:
        import requests

        self.base_url = base_url.rstrip("/")
        self.host = host
        self.credentials = credentials if credentials is not None else find_credentials(host)
        self.policy = policy or RetryPolicy.from_env()
        self.cache_dir = cache_dir or blob_cache_dir()
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "modelci"
        self._tokens: dict[str, str] = {}  # repository -> bearer token
        self._token_scope: dict[str, str] = {}  # repository -> the scope its token was asked for
        self._basic = False  # the registry asked for Basic auth
        self._sources: dict[tuple[str, str], bytes | Path] = {}  # (repo, digest) -> what we pushed

    # -- transport ---------------------------------------------------------
    def _send(self, method: str, url: str, *, body: bytes | Path | None, headers: Mapping[str, str],
              params: Mapping[str, str] | None, stream: bool) -> requests.Response:
        """One request, retried on connection errors, 429 and 5xx with exponential backoff."""
        import requests

        last: str = ""
        for attempt in range(self.policy.attempts):
            if attempt:
                time.sleep(self.policy.backoff_s * (2 ** (attempt - 1)))
            try:
                with contextlib.ExitStack() as stack:
                    data: Any = body
                    if isinstance(body, Path):
                        data = stack.enter_context(body.open("rb"))
                    response = self.session.request(
                        method, url, data=data, headers=dict(headers), params=params, stream=stream,
                        timeout=(self.policy.connect_timeout_s, self.policy.read_timeout_s),
                        allow_redirects=True)
            except requests.RequestException as exc:
                last = type(exc).__name__
                continue
            if response.status_code in _RETRY_STATUS:
                last = f"HTTP {response.status_code}"
                response.close()
                continue
            return response
        raise InfrastructureError(
            f"the OCI registry {self.host} did not answer {method} {url.split('?', maxsplit=1)[0]} "
            f"after {self.policy.attempts} attempts ({last}). Check that {self.host} is up and "
            "reachable from this machine (and the registry URI is right), then re-run."
        )

    def request(self, method: str, path: str, *, repo: str, body: bytes | Path | None = None,
                headers: Mapping[str, str] | None = None, params: Mapping[str, str] | None = None,
                ok: tuple[int, ...] = (200,), stream: bool = False) -> requests.Response:
        """Send with auth; returns responses whose status is in ``ok`` or 404, raises otherwise."""
        url = path if path.startswith(("http://", "https://")) else urljoin(self.base_url + "/", path.lstrip("/"))
        for _ in range(3):
            sent = dict(headers or {})
            auth = self._auth_for(repo)
            if auth:
                sent["Authorization"] = auth
            response = self._send(method, url, body=body, headers=sent, params=params, stream=stream)
            if response.status_code == 401 and self._answer_challenge(response, repo, retried=bool(auth)):
                continue
            if response.status_code in ok or response.status_code == 404:
                return response
            self._fail(method, url, repo, response)
        self._fail(method, url, repo, response)
        raise AssertionError("unreachable")

    def _auth_for(self, repo: str) -> str | None:
        if repo in self._tokens:
            return f"Bearer {self._tokens[repo]}"
        if self._basic and self.credentials is not None:
            return basic_header(self.credentials)
        return None

    def _answer_challenge(self, response: requests.Response, repo: str, *, retried: bool) -> bool:
        """Prepare auth for a retry; False when there is nothing new to try."""
        challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        response.close()
        if challenge is None:
            return False
        if challenge.scheme == "basic":
            if self.credentials is None or self._basic:
                return False
            self._basic = True
            return True
        if challenge.scheme != "bearer" or not challenge.realm:
            return False
        scope = challenge.params.get("scope") or f"repository:{repo}:pull,push"
        if retried and repo in self._tokens and self._token_scope.get(repo) == scope:
            return False  # a fresh token for exactly this scope was refused
        self._tokens[repo] = self._fetch_token(challenge.realm, challenge.params.get("service"), scope)
        self._token_scope[repo] = scope
        return True

    def _fetch_token(self, realm: str, service: str | None, scope: str) -> str:
        params = {"scope": scope}
        if service:
            params["service"] = service
        headers = {"Authorization": basic_header(self.credentials)} if self.credentials else {}
        response = self._send("GET", realm, body=None, headers=headers, params=params, stream=False)
        if response.status_code in (401, 403):
            raise InfrastructureError(
                f"the token service of the OCI registry {self.host} refused {describe(self.credentials)} "
                f"(HTTP {response.status_code}, scope {scope}). {_credential_hint(self.host)}"
            )
        try:
            payload = response.json()
            token = payload.get("token") or payload.get("access_token")
        except ValueError:
            token = None
        if not token or not isinstance(token, str):
            raise InfrastructureError(
                f"the token service of the OCI registry {self.host} ({realm}) answered HTTP "
                f"{response.status_code} without a token."
            )
        from .oci_auth import _mask

        _mask(token)
        return token

    def _fail(self, method: str, url: str, repo: str, response: requests.Response) -> None:
        status = response.status_code
        if status in (401, 403):
            raise InfrastructureError(
                f"the OCI registry {self.host} refused {method} on {repo} (HTTP {status}) with "
                f"{describe(self.credentials)}. {_credential_hint(self.host)}"
            )
        detail = _error_detail(response)
        raise InfrastructureError(
            f"the OCI registry {self.host} answered HTTP {status} to {method} {url.split('?', maxsplit=1)[0]}"
            f"{': ' + detail if detail else ''}."
        )

    # -- manifests and tags ------------------------------------------------
    def get_manifest(self, repo: str, reference: str) -> Manifest | None:
        response = self.request("GET", f"/v2/{repo}/manifests/{reference}", repo=repo,
                                headers={"Accept": ", ".join(MANIFEST_TYPES)})
        if response.status_code == 404:
            return None
        raw = response.content
        digest = response.headers.get("Docker-Content-Digest") or sha256_bytes(raw)
        try:
            body = json.loads(raw)
        except ValueError:
            body = {}
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        return Manifest(body=body if isinstance(body, dict) else {}, digest=digest,
                        media_type=body.get("mediaType", media_type) if isinstance(body, dict) else media_type)

    def put_manifest(self, repo: str, reference: str, manifest: Mapping[str, Any]) -> str:
        """PUT a manifest; blobs it names that the registry lost are pushed again (see below)."""
        payload = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
        media_type = str(manifest.get("mediaType", MANIFEST_TYPES[0]))
        path = f"/v2/{repo}/manifests/{reference}"
        for attempt in range(self.policy.attempts):
            response = self.request("PUT", path, repo=repo, body=payload, headers={"Content-Type": media_type},
                                    ok=(200, 201, 202, 400))
            if response.status_code in (200, 201, 202):
                return response.headers.get("Docker-Content-Digest") or sha256_bytes(payload)
            # distribution can lose a blob's link when writers upload the same blob at the same
            # moment (MANIFEST_BLOB_UNKNOWN just after a successful upload): upload it again.
            if response.status_code != 400 or "BLOB_UNKNOWN" not in _error_detail(response):
                break
            for descriptor in [manifest.get("config"), *manifest.get("layers", [])]:
                source = self._sources.get((repo, str((descriptor or {}).get("digest"))))
                if source is not None:
                    self._upload(repo, source, str(descriptor["digest"]))
            time.sleep(self.policy.backoff_s * (2 ** attempt))
        self._fail("PUT", path, repo, response)
        raise AssertionError("unreachable")

    def list_tags(self, repo: str, page_size: int | None = None) -> list[str]:
        """Every tag of ``repo`` (none if it does not exist), following ``Link`` pagination."""
        size = page_size or int(os.environ.get("MODELCI_OCI_PAGE_SIZE", "1000"))
        url: str | None = f"/v2/{repo}/tags/list"
        params: dict[str, str] | None = {"n": str(size)}
        tags: list[str] = []
        while url:
            response = self.request("GET", url, repo=repo, params=params)
            if response.status_code == 404:
                return []
            tags.extend(response.json().get("tags") or [])
            url = _next_link(response.headers.get("Link", ""))
            if url:
                url = urljoin(self.base_url + "/", url)
            params = None  # the next link carries its own query
        return tags

    # -- blobs -------------------------------------------------------------
    def has_blob(self, repo: str, digest: str) -> bool:
        return self.request("HEAD", f"/v2/{repo}/blobs/{digest}", repo=repo).status_code == 200

    def push_blob(self, repo: str, data: bytes | Path, media_type: str) -> Descriptor:
        """Upload (monolithic POST then PUT) unless the registry already has the blob."""
        if isinstance(data, Path):
            from .base import sha256_file

            digest, size = sha256_file(data)
        else:
            digest, size = sha256_bytes(data), len(data)
        self._sources[(repo, digest)] = data
        if not self.has_blob(repo, digest):
            self._upload(repo, data, digest)
        return Descriptor(media_type=media_type, digest=digest, size=size)

    def _upload(self, repo: str, data: bytes | Path, digest: str) -> None:
        started = self.request("POST", f"/v2/{repo}/blobs/uploads/", repo=repo, ok=(202,))
        location = started.headers.get("Location")
        if started.status_code != 202 or not location:
            self._fail("POST", f"/v2/{repo}/blobs/uploads/", repo, started)
            raise AssertionError("unreachable")
        done = self.request("PUT", urljoin(self.base_url + "/", location), repo=repo, body=data,
                            params={"digest": digest}, headers={"Content-Type": "application/octet-stream"},
                            ok=(201, 204, 400))
        if done.status_code == 400 and "DIGEST_INVALID" in _error_detail(done) and self.has_blob(repo, digest):
            return  # a concurrent upload of the same bytes committed first
        if done.status_code not in (201, 204):
            self._fail("PUT", location, repo, done)

    def cached_blob(self, digest: str) -> Path:
        algo, _, hexdigest = digest.partition(":")
        return self.cache_dir / algo / hexdigest

    def fetch_blob(self, repo: str, digest: str) -> Path:
        """A local, digest-verified copy of the blob (the cache is reused when it still matches)."""
        dest = self.cached_blob(digest)
        if dest.is_file():
            return dest
        algo, _, expected = digest.partition(":")
        if algo != "sha256":
            raise IntegrityError(f"blob {digest} in {self.host}/{repo}: only sha256 digests are supported")
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.parent / f".{expected}.{os.getpid()}.{uuid.uuid4().hex}.part"
        response = self.request("GET", f"/v2/{repo}/blobs/{digest}", repo=repo, stream=True)
        if response.status_code == 404:
            raise InfrastructureError(f"blob {digest} is missing from {self.host}/{repo}; the version "
                                      "that names it cannot be loaded. Re-register the model.")
        hasher = hashlib.sha256()
        try:
            with response, tmp.open("wb") as out:
                for chunk in _chunks(response):
                    hasher.update(chunk)
                    out.write(chunk)
            if hasher.hexdigest() != expected:
                raise IntegrityError(
                    f"blob {digest} downloaded from {self.host}/{repo} has digest sha256:"
                    f"{hasher.hexdigest()}: the registry served different bytes than were registered, "
                    "so modelci refuses to use them."
                )
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
        return dest

    def fetch_small_blob(self, repo: str, digest: str) -> bytes:
        return self.fetch_blob(repo, digest).read_bytes()


def _chunks(response: requests.Response) -> Iterator[bytes]:
    import requests

    try:
        yield from response.iter_content(CHUNK)
    except requests.RequestException as exc:
        raise InfrastructureError(f"download from {response.url.split('?')[0]} broke off: "
                                  f"{type(exc).__name__}. Re-run.") from None


def _next_link(header: str) -> str | None:
    for part in header.split(","):
        url, _, rest = part.partition(";")
        if 'rel="next"' in rest.replace(" ", "") or "rel=next" in rest.replace(" ", ""):
            return url.strip().strip("<>")
    return None


def _error_detail(response: requests.Response) -> str:
    try:
        errors = response.json().get("errors") or []
        return "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors if isinstance(e, dict))
    except (ValueError, AttributeError):
        return response.text[:200].strip()


def _credential_hint(host: str) -> str:
    hint = (f"Give credentials that may push to {host}: set MODELCI_REGISTRY_USERNAME and "
            f"MODELCI_REGISTRY_PASSWORD, or run docker login {host}")
    if host.endswith("ghcr.io"):
        hint += ", or pass GITHUB_TOKEN with permissions: packages: write"
    return hint + "."
