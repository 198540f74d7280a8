"""What only the oci:// backend has: auth, the network failing, pagination, foreign repositories, copy."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from drafts import make_draft
from oci_server import RegistryServer, free_port, unique_namespace
from wire_proxy import Proxy, Reply, Request, TokenService, paginate_tags

from modelci.errors import InfrastructureError, UsageError
from modelci.refs import parse_ref
from modelci.registry import open_registry
from modelci.registry.oci import OciRegistry
from modelci.registry.oci_auth import find_credentials, parse_challenge
from modelci.registry.oci_client import _next_link, blob_cache_dir

Artifact = Callable[..., Path]
Start = Callable[..., RegistryServer]


@pytest.fixture
def proxy_to() -> Iterator[Callable[[RegistryServer], Proxy]]:
    proxies: list[Proxy] = []

    def start(server: RegistryServer) -> Proxy:
        proxy = Proxy(f"http://{server.addr}").__enter__()
        proxies.append(proxy)
        return proxy

    yield start
    for proxy in proxies:
        proxy.__exit__()


# -- bad input ------------------------------------------------------------------
@pytest.mark.parametrize("uri", [
    "oci://", "oci://host", "oci://host/", "oci://ho st/ns", "oci://host/Upper/ns", "oci://host/ns//x",
    "oci://host:port/ns", "oci://host/-bad",
], ids=["empty", "no-namespace", "slash-only", "space", "upper-case", "empty-part", "bad-port", "bad-start"])
def test_malformed_uri_is_a_usage_error(uri: str, cli: Callable[..., object]) -> None:
    with pytest.raises(UsageError, match=r"oci://ghcr\.io/acme/models"):
        open_registry(uri)
    result = cli("registry", "list", "churn", "--registry", uri, actions=False)
    assert result.code == 2  # type: ignore[attr-defined]


def test_scheme_follows_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    assert open_registry("oci://127.0.0.1:5000/models").address.base_url == "http://127.0.0.1:5000"  # type: ignore[attr-defined]
    assert open_registry("oci://localhost:5000/a/b").address.base_url == "http://localhost:5000"  # type: ignore[attr-defined]
    assert open_registry("oci://ghcr.io/acme/models").address.base_url == "https://ghcr.io"  # type: ignore[attr-defined]
    plain = open_registry("oci+http://registry.lan:5000/models")
    assert plain.address.base_url == "http://registry.lan:5000" and plain.uri == "oci+http://registry.lan:5000/models"  # type: ignore[attr-defined]
    monkeypatch.setenv("MODELCI_REGISTRY_INSECURE", "1")
    assert open_registry("oci://registry.lan/models").address.base_url == "http://registry.lan"  # type: ignore[attr-defined]


def test_unreachable_host_fails_after_retries_naming_it(cli: Callable[..., object]) -> None:
    port = free_port()  # nothing listens there
    result = cli("registry", "list", "churn", "--registry", f"oci://127.0.0.1:{port}/models", actions=False)
    assert result.code == 3  # type: ignore[attr-defined]
    assert f"127.0.0.1:{port}" in result.err and "after 3 attempts" in result.err  # type: ignore[attr-defined]
    assert "Traceback" not in result.err  # type: ignore[attr-defined]


def _push_foreign_image(server: RegistryServer, repo: str, tag: str) -> None:
    base = f"http://{server.addr}/v2/{repo}"
    digests = []
    for payload in (b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}', b"layer"):
        digest = "sha256:" + hashlib.sha256(payload).hexdigest()
        location = requests.post(f"{base}/blobs/uploads/", timeout=10).headers["Location"]
        assert requests.put(location, params={"digest": digest}, data=payload, timeout=10).status_code == 201
        digests.append((digest, len(payload)))
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": digests[0][0], "size": digests[0][1]},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digests[1][0],
                            "size": digests[1][1]}]}
    response = requests.put(f"{base}/manifests/{tag}", data=json.dumps(manifest), timeout=10,
                            headers={"Content-Type": manifest["mediaType"]})
    assert response.status_code == 201, response.text


def test_a_repository_that_holds_no_model_is_named(oci_server: RegistryServer, artifact: Artifact) -> None:
    namespace = unique_namespace()
    _push_foreign_image(oci_server, f"{namespace}/churn", "v1")
    _push_foreign_image(oci_server, f"{namespace}/fraud", "latest")
    registry = open_registry(oci_server.uri(namespace))
    with pytest.raises(UsageError, match=r"churn holds an artifact of type application/vnd\.oci\.image\.config"):
        registry.get_version("churn", 1)
    with pytest.raises(UsageError, match=r"fraud holds tags latest, not a modelci model"):
        registry.register(make_draft("fraud"), artifact())


# -- auth -----------------------------------------------------------------------
def test_htpasswd_registry(start_registry: Start, artifact: Artifact, cli: Callable[..., object],
                           monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    server = start_registry(htpasswd=("ci", "right-s3cret"))
    uri = server.uri("team/models")

    anonymous = cli("registry", "list", "churn", "--registry", uri, actions=False)
    assert anonymous.code == 3 and "anonymous" in anonymous.err  # type: ignore[attr-defined]

    monkeypatch.setenv("MODELCI_REGISTRY_USERNAME", "ci")
    monkeypatch.setenv("MODELCI_REGISTRY_PASSWORD", "wrong-s3cret")
    wrong = cli("registry", "list", "churn", "--registry", uri, actions=False)
    assert wrong.code == 3  # type: ignore[attr-defined]
    assert "HTTP 401" in wrong.err and "MODELCI_REGISTRY_USERNAME/MODELCI_REGISTRY_PASSWORD" in wrong.err  # type: ignore[attr-defined]
    assert "wrong-s3cret" not in wrong.err + wrong.out + wrong.summary  # type: ignore[attr-defined]

    monkeypatch.setenv("MODELCI_REGISTRY_PASSWORD", "right-s3cret")
    open_registry(uri).register(make_draft(), artifact())
    listed = cli("registry", "list", "churn", "--registry", uri)
    assert listed.code == 0 and listed.out.count("right-s3cret") == 1  # type: ignore[attr-defined]
    assert "::add-mask::right-s3cret" in listed.out  # type: ignore[attr-defined]

    # docker login's config.json is the next source
    monkeypatch.delenv("MODELCI_REGISTRY_USERNAME")
    monkeypatch.delenv("MODELCI_REGISTRY_PASSWORD")
    config = tmp_path / "docker-config" / "config.json"
    config.parent.mkdir(exist_ok=True)
    config.write_text(json.dumps({"auths": {server.addr: {"auth": base64.b64encode(b"ci:right-s3cret").decode()}}}))
    assert open_registry(uri).latest("churn") is not None
    config.write_text(json.dumps({"auths": {server.addr: {"auth": base64.b64encode(b"ci:stale").decode()}}}))
    stale = cli("registry", "list", "churn", "--registry", uri, actions=False)
    assert stale.code == 3 and str(config) in stale.err and "stale" not in stale.err  # type: ignore[attr-defined]


def test_bearer_token_flow(oci_server: RegistryServer, proxy_to: Callable[[RegistryServer], Proxy],
                           artifact: Artifact, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., object]) -> None:
    proxy = proxy_to(oci_server)
    tokens = TokenService("robot", "t0ken-pass")
    proxy.hooks.append(tokens.hook(proxy))
    namespace = unique_namespace()
    uri = f"oci://{proxy.addr}/{namespace}"

    monkeypatch.setenv("MODELCI_REGISTRY_USERNAME", "robot")
    monkeypatch.setenv("MODELCI_REGISTRY_PASSWORD", "t0ken-pass")
    registry = open_registry(uri)
    version = registry.register(make_draft(), artifact(b"behind a token"))
    registry.set_alias("churn", "champion", version.version)
    again = open_registry(uri)
    assert again.verified_artifact(again.resolve(parse_ref("churn@champion"))).read_bytes() == b"behind a token"
    assert f"repository:{namespace}/churn:pull,push" in tokens.issued
    assert all(r.headers.get("Authorization", "").startswith("Bearer ") for r in proxy.seen
               if r.route.startswith("/v2/") and r.method == "PUT")

    monkeypatch.setenv("MODELCI_REGISTRY_PASSWORD", "not-the-pass")
    refused = cli("registry", "list", "churn", "--registry", uri, actions=False)
    assert refused.code == 3 and "token service" in refused.err and "robot" in refused.err  # type: ignore[attr-defined]
    assert "not-the-pass" not in refused.err + refused.out  # type: ignore[attr-defined]


def test_credential_sources_in_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert find_credentials("ghcr.io") is None
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_x")
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    ghcr = find_credentials("ghcr.io")
    assert ghcr is not None and (ghcr.username, ghcr.source) == ("octocat", "GITHUB_TOKEN")
    assert "ghs_x" not in repr(ghcr)
    assert find_credentials("registry.example.com") is None  # GITHUB_TOKEN goes to ghcr.io only
    monkeypatch.setenv("MODELCI_REGISTRY_USERNAME", "me")
    monkeypatch.setenv("MODELCI_REGISTRY_PASSWORD", "pw")
    explicit = find_credentials("ghcr.io")
    assert explicit is not None and explicit.username == "me"


def test_challenge_and_link_parsing() -> None:
    challenge = parse_challenge('Bearer realm="https://ghcr.io/token",service="ghcr.io",'
                                'scope="repository:acme/models/churn:pull,push"')
    assert challenge is not None and challenge.scheme == "bearer"
    assert challenge.params == {"realm": "https://ghcr.io/token", "service": "ghcr.io",
                                "scope": "repository:acme/models/churn:pull,push"}
    assert parse_challenge('Basic realm="x"') is not None
    assert _next_link('</v2/a/tags/list?n=2&last=b>; rel="next"') == "/v2/a/tags/list?n=2&last=b"
    assert _next_link("") is None


# -- the network failing, pagination, the cache ------------------------------------------
@pytest.mark.parametrize("fatal", [
    ("PATCH|PUT", "/blobs/uploads/"), ("PUT", "/manifests/claim-v1"), ("PUT", "/manifests/v1"),
], ids=["during-artifact-upload", "at-the-claim", "at-the-version-tag"])
def test_registry_stopped_mid_register_leaves_no_partial_version(
        start_registry: Start, proxy_to: Callable[[RegistryServer], Proxy], artifact: Artifact,
        fatal: tuple[str, str]) -> None:
    server = start_registry()
    proxy = proxy_to(server)
    methods, needle = fatal
    killed: list[str] = []

    def kill(request: Request) -> Reply | None:
        if not killed and request.method in methods.split("|") and needle in request.route:
            killed.append(request.route)
            server.stop()
        return None

    proxy.hooks.append(kill)
    uri = f"oci://{proxy.addr}/models"
    with pytest.raises(InfrastructureError, match=rf"{proxy.addr}.*after 3 attempts"):
        open_registry(uri).register(make_draft(), artifact(b"x" * 100_000))
    assert killed
    server.start()  # same storage, same port
    registry = open_registry(uri)
    assert registry.version_numbers("churn") == []
    assert registry.latest("churn") is None
    assert [e for e in registry.events() if e.kind == "registered"] == []
    whole = registry.register(make_draft(), artifact(b"second try"))
    assert registry.version_numbers("churn") == [whole.version]
    assert registry.verified_artifact(registry.get_version("churn", whole.version)).read_bytes() == b"second try"


def test_listing_follows_pagination(oci_server: RegistryServer, proxy_to: Callable[[RegistryServer], Proxy],
                                    artifact: Artifact, monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = proxy_to(oci_server)
    proxy.hooks.append(paginate_tags(f"http://{oci_server.addr}"))
    monkeypatch.setenv("MODELCI_OCI_PAGE_SIZE", "3")
    monkeypatch.setenv("MODELCI_OCI_SETTLE_S", "0.01")
    registry = open_registry(f"oci://{proxy.addr}/{unique_namespace()}")
    for _ in range(7):
        registry.register(make_draft(), artifact())
    assert registry.version_numbers("churn") == list(range(1, 8))
    assert [e.version for e in registry.events("churn")] == list(range(1, 8))
    pages = [r for r in proxy.seen if r.route.endswith("/tags/list")]
    assert any("last" in r.query for r in pages) and all(r.query.get("n") == ["3"] for r in pages
                                                          if "last" not in r.query)


def test_a_damaged_cache_copy_is_fetched_again(registry_oci: OciRegistry, artifact: Artifact) -> None:
    version = registry_oci.register(make_draft(), artifact(b"original"))
    path = registry_oci.verified_artifact(version)
    assert path.is_relative_to(blob_cache_dir())
    path.write_bytes(b"rotten")
    assert registry_oci.verified_artifact(version).read_bytes() == b"original"


@pytest.fixture
def registry_oci(oci_server: RegistryServer) -> OciRegistry:
    registry = open_registry(oci_server.uri(unique_namespace()))
    assert isinstance(registry, OciRegistry)
    return registry


# -- modelci registry copy ------------------------------------------------------
def test_copy_promotes_a_version_keeping_lineage(registry_oci: OciRegistry, tmp_path: Path, artifact: Artifact,
                                                 cli: Callable[..., object]) -> None:
    dev = open_registry(f"file://{tmp_path / 'dev'}")
    for i in range(3):
        dev.register(make_draft(metrics={"accuracy": 0.5 + i / 10}), artifact(f"dev {i}".encode()))
    dev.set_alias("churn", "champion", 2)
    prod = registry_oci
    prod.register(make_draft(), artifact(b"already in prod"))

    result = cli("registry", "copy", "churn@champion", "--from", dev.uri, "--to", prod.uri)
    assert result.code == 0, result.err  # type: ignore[attr-defined]
    assert result.outputs["model-version"] == "2"  # type: ignore[attr-defined]
    copied = prod.get_version("churn", 2)
    source = dev.get_version("churn", 2)
    assert copied.artifact_digest == source.artifact_digest and copied.metrics == source.metrics
    assert copied.extra["copied_from"]["registry"] == dev.uri
    assert copied.extra["copied_from"]["version"] == 2
    assert prod.verified_artifact(copied).read_bytes() == b"dev 1"
    assert prod.events("churn")[-1].kind == "registered"

    back = open_registry(f"file://{tmp_path / 'archive'}")
    again = cli("registry", "copy", "churn:2", "--from", prod.uri, "--to", back.uri, "--json")
    assert again.code == 0, again.err  # type: ignore[attr-defined]
    chain = back.get_version("churn", 1).extra["copied_from"]
    assert chain["registry"] == prod.uri and chain["copied_from"]["registry"] == dev.uri

    same = cli("registry", "copy", "churn:1", "--from", dev.uri, "--to", dev.uri, actions=False)
    assert same.code == 2  # type: ignore[attr-defined]
    missing = cli("registry", "copy", "churn:9", "--from", dev.uri, "--to", prod.uri, actions=False)
    assert missing.code == 2 and "churn:9 does not exist" in missing.err  # type: ignore[attr-defined]


def test_nothing_listens_means_socket_refused() -> None:
    # guard for the unreachable-host test: a freshly freed port refuses connections
    port = free_port()
    with socket.socket() as sock, pytest.raises(OSError):
        sock.connect(("127.0.0.1", port))


def test_a_claimer_slower_than_the_settle_time_notices_it_lost(
        oci_server: RegistryServer, proxy_to: Callable[[RegistryServer], Proxy], artifact: Artifact) -> None:
    """Writer A's claim PUT is held in flight while B claims, wins and publishes v1; A's claim then
    lands on top of B's. A must notice (v1 exists) and take 2; v1 must stay B's."""
    import threading
    import time

    proxy = proxy_to(oci_server)
    held: list[str] = []

    def hold_first_claim(request: Request) -> Reply | None:
        if request.method == "PUT" and request.route.endswith("/manifests/claim-v1") and not held:
            held.append(request.route)
            time.sleep(1.0)
        return None

    proxy.hooks.append(hold_first_claim)
    namespace = unique_namespace()
    slow = open_registry(f"oci://{proxy.addr}/{namespace}")
    fast = open_registry(oci_server.uri(namespace))
    results: dict[str, int] = {}
    slow_path, fast_path = artifact(b"slow"), artifact(b"fast")

    def run_slow() -> None:
        results["slow"] = slow.register(make_draft(extra={"writer": "slow"}), slow_path).version

    thread = threading.Thread(target=run_slow)
    thread.start()
    while not held:
        time.sleep(0.01)
    results["fast"] = fast.register(make_draft(extra={"writer": "fast"}), fast_path).version
    thread.join(timeout=60)
    assert results == {"fast": 1, "slow": 2}
    reader = open_registry(oci_server.uri(namespace))
    assert [(v.version, v.extra["writer"]) for v in reader.list_versions("churn")] == [(2, "slow"), (1, "fast")]
    assert reader.verified_artifact(reader.get_version("churn", 1)).read_bytes() == b"fast"
