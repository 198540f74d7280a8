"""The registry contract, run on every backend (file:// and oci://): one suite, not a copy."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from drafts import make_draft

from modelci.artifact import load_model
from modelci.errors import IntegrityError, ReferenceNotFound, UsageError
from modelci.refs import parse_ref
from modelci.registry import Registry, open_registry

Artifact = Callable[..., Path]


def test_register_get_list_latest(registry: Registry, artifact: Artifact) -> None:
    assert registry.list_models() == []
    assert registry.latest("churn") is None
    for i in range(3):
        registry.register(make_draft(metrics={"accuracy": 0.8 + i / 100}), artifact(f"model {i}".encode()))
    assert registry.version_numbers("churn") == [1, 2, 3]
    assert registry.list_models() == ["churn"]
    v2 = registry.get_version("churn", 2)
    assert (v2.name, v2.version, v2.metrics["accuracy"]) == ("churn", 2, 0.81)
    assert v2.artifact_size == len(b"model 1")
    assert v2.git["sha"] == "0123456789abcdef" and v2.input_example == {"columns": ["x"], "data": [[1.0]]}
    assert [v.version for v in registry.list_versions("churn")] == [3, 2, 1]
    assert [v.version for v in registry.list_versions("churn", limit=2)] == [3, 2]
    latest = registry.latest("churn")
    assert latest is not None and latest.version == 3
    assert registry.verified_artifact(v2).read_bytes() == b"model 1"


@pytest.mark.parametrize("text, expected", [
    ("churn:1", 1), ("churn@champion", 2), ("models:/churn/1", 1), ("models:/churn@champion", 2),
    ("churn", 3), ("churn:latest", 3), ("models:/churn/latest", 3), ("1", 1), ("@champion", 2),
])
def test_resolve_every_ref_form(registry: Registry, artifact: Artifact, text: str, expected: int) -> None:
    for _ in range(3):
        registry.register(make_draft(), artifact())
    registry.set_alias("churn", "champion", 2)
    assert registry.resolve(parse_ref(text, default_name="churn")).version == expected


def test_aliases_keep_their_history_in_events(registry: Registry, artifact: Artifact) -> None:
    for _ in range(2):
        registry.register(make_draft(), artifact())
    first = registry.set_alias("churn", "champion", 1, reason="first")
    second = registry.set_alias("churn", "champion", 2)
    registry.set_alias("churn", "staging", 1)
    assert (first.previous, second.previous) == (None, 1)
    assert registry.aliases("churn") == {"champion": 2, "staging": 1}
    assert registry.alias_version("churn", "champion") == 2
    alias_events = [e for e in registry.events("churn") if e.kind == "alias_set"]
    assert [(e.version, e.data["alias"], e.data["previous"]) for e in alias_events] == [
        (1, "champion", None), (2, "champion", 1), (1, "staging", None)]
    assert alias_events[0].data["reason"] == "first"

    deleted = registry.delete_alias("churn", "champion")
    assert (deleted.version, deleted.previous) == (None, 2)
    assert registry.aliases("churn") == {"staging": 1}
    assert registry.alias_version("churn", "champion") is None
    last = registry.events("churn")[-1]
    assert (last.kind, last.version, last.data["previous"]) == ("alias_deleted", None, 2)
    with pytest.raises(ReferenceNotFound, match=r"has no alias 'champion'.*Existing aliases: staging"):
        registry.resolve(parse_ref("churn@champion"))
    with pytest.raises(ReferenceNotFound, match="has no alias 'champion'"):
        registry.delete_alias("churn", "champion")
    with pytest.raises(UsageError, match="not a valid alias"):
        registry.set_alias("churn", "latest", 1)
    with pytest.raises(ReferenceNotFound, match="churn:5 does not exist"):
        registry.set_alias("churn", "champion", 5)


def test_events_are_append_only_and_ordered(registry: Registry, artifact: Artifact) -> None:
    churn = registry.register(make_draft(), artifact())
    other = registry.register(make_draft("fraud"), artifact(b"fraud"))
    registry.record("gated", churn, {"passed": True, "metrics": {"accuracy": 0.9}})
    registry.record("published", churn, {"image": "ghcr.io/acme/churn@sha256:ab"})
    registry.record("deployed", other, {"environment": "staging", "revision": 1})
    everything = registry.events()
    assert [(e.kind, e.model) for e in everything] == [
        ("registered", "churn"), ("registered", "fraud"), ("gated", "churn"), ("published", "churn"),
        ("deployed", "fraud")]
    assert everything[0].data["digest"] == churn.artifact_digest
    assert len({e.id for e in everything}) == 5
    assert [e.kind for e in registry.events("churn")] == ["registered", "gated", "published"]
    assert [e.kind for e in registry.events(limit=2)] == ["published", "deployed"]
    assert registry.events(limit=0) == []
    assert registry.list_models() == ["churn", "fraud"]
    # appending never rewrites what was there
    registry.record("verified", churn, {"healthy": True})
    assert [e.to_dict() for e in registry.events()[:5]] == [e.to_dict() for e in everything]


WRITER = """
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from drafts import make_draft
from modelci.registry import open_registry
registry = open_registry({uri!r})
path = Path({tmp!r}) / f"writer-{{sys.argv[1]}}.bin"
path.write_bytes(f"model of writer {{sys.argv[1]}}".encode())
version = registry.register(make_draft(extra={{"writer": sys.argv[1]}}), path)
print(version.version)
"""


def test_concurrent_writers_get_distinct_consecutive_versions(registry: Registry, tmp_path: Path) -> None:
    script = WRITER.format(tests=str(Path(__file__).parent), uri=registry.uri, tmp=str(tmp_path))
    writers = [subprocess.Popen([sys.executable, "-c", script, str(i)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for i in range(8)]
    results = [w.communicate(timeout=240) for w in writers]
    failed = [err for w, (_, err) in zip(writers, results) if w.returncode != 0]
    if failed:
        pytest.fail("writers failed:\n" + "\n".join(failed))
    claimed = sorted(int(out.strip()) for out, _ in results)
    assert claimed == list(range(1, 9))
    fresh = open_registry(registry.uri)
    assert fresh.version_numbers("churn") == list(range(1, 9))
    writers_of = {v.version: v.extra["writer"] for v in fresh.list_versions("churn")}
    assert sorted(writers_of.values()) == [str(i) for i in range(8)]
    for v in fresh.list_versions("churn"):
        assert fresh.verified_artifact(v).read_bytes() == f"model of writer {v.extra['writer']}".encode()
    registered = [e for e in fresh.events("churn") if e.kind == "registered"]
    assert sorted(e.version for e in registered if e.version is not None) == list(range(1, 9))


class _Tripwire:
    """Unpickling this creates the file it names: proof that unverified bytes were loaded."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.path), "w"))


def _tamper(registry: Registry, digest: str, payload: bytes, request: pytest.FixtureRequest) -> None:
    if registry.uri.startswith("file://"):
        algo, _, hexdigest = digest.partition(":")
        (Path(registry.uri[len("file://"):]) / "blobs" / algo / hexdigest).write_bytes(payload)
        return
    server = request.getfixturevalue("oci_server")
    server.blob_file(digest).write_bytes(payload)  # the registry's own storage now serves other bytes
    from modelci.registry.oci_client import blob_cache_dir

    for cached in blob_cache_dir().glob("**/" + digest.split(":")[1]):
        cached.unlink()


def test_tampered_artifact_is_refused_before_unpickling(registry: Registry, artifact: Artifact, tmp_path: Path,
                                                        request: pytest.FixtureRequest) -> None:
    version = registry.register(make_draft(), artifact(pickle.dumps({"honest": True})))
    tripwire = tmp_path / "unpickled"
    _tamper(registry, version.artifact_digest, pickle.dumps(_Tripwire(tripwire)), request)
    fresh = open_registry(registry.uri)  # nothing cached from registering
    with pytest.raises(IntegrityError, match=r"churn:1|sha256"):
        load_model(fresh, fresh.get_version("churn", 1))
    assert not tripwire.exists()


def test_missing_version_alias_and_model_say_what_exists(registry: Registry, artifact: Artifact) -> None:
    with pytest.raises(ReferenceNotFound, match=r"model 'churn' has no versions.*The registry is empty"):
        registry.resolve(parse_ref("churn"))
    registry.register(make_draft(), artifact())
    registry.register(make_draft(), artifact())
    with pytest.raises(ReferenceNotFound, match=r"churn:7 does not exist.*versions 1\.\.2"):
        registry.resolve(parse_ref("churn:7"))
    with pytest.raises(ReferenceNotFound, match=r"has no alias 'prod'.*no aliases yet"):
        registry.resolve(parse_ref("churn@prod"))
    with pytest.raises(ReferenceNotFound, match=r"'fraud' has no versions.*Registered models: churn"):
        registry.resolve(parse_ref("fraud"))


def test_check_writable_passes_on_a_fresh_registry(registry: Registry) -> None:
    registry.check_writable()


def test_records_round_trip_as_json(registry: Registry, artifact: Artifact) -> None:
    version = registry.register(make_draft(params={"nested": {"a": [1, 2]}}), artifact())
    again = open_registry(registry.uri).get_version("churn", 1)
    assert json.dumps(again.to_dict(), sort_keys=True) == json.dumps(version.to_dict(), sort_keys=True)
