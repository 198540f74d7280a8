"""The file registry under concurrency, crashes and tampering."""

from __future__ import annotations

import json
import os
import pickle
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modelci import artifact
from modelci.errors import IntegrityError
from modelci.registry import VersionDraft, open_registry
from modelci.registry.base import sha256_file


def test_eight_concurrent_trains_get_eight_consecutive_versions(project: Path) -> None:
    env = {**os.environ, "GITHUB_ACTIONS": "", "MODELCI_SET": ""}
    procs = [subprocess.Popen([sys.executable, "-m", "modelci", "train", "--json"], cwd=project, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(8)]
    results = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in results]
    versions = sorted(json.loads(out)["version"] for out, _ in results)
    assert versions == list(range(1, 9))
    registry = open_registry("file://.modelci/registry", project)
    assert registry.version_numbers("breast-cancer") == list(range(1, 9))
    registered = [e for e in registry.events("breast-cancer") if e.kind == "registered"]
    assert sorted(e.version for e in registered if e.version is not None) == list(range(1, 9))


WRITER = """
import sys, pathlib
from modelci.registry import VersionDraft, open_registry
registry = open_registry(sys.argv[1])
blob = pathlib.Path(sys.argv[2])
draft = VersionDraft(name="m", flavor="sklearn", task="classification", signature={}, input_example={},
                     params={}, metrics={"accuracy": 0.5}, data={}, git={}, packages={})
print("ready", flush=True)
i = 0
while True:
    i += 1
    blob.write_bytes(b"x" * (4096 * (i % 64 + 1)))
    v = registry.register(draft, blob)
    registry.set_alias("m", "latest-write", v.version)
"""


def test_sigkill_at_any_moment_leaves_only_whole_versions(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    uri = f"file://{root}"
    rng = random.Random(7)
    for kills in range(25):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, uri, str(tmp_path / f"blob{kills}")],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.08))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        registry = open_registry(uri)
        numbers = registry.version_numbers("m")
        # Every visible version is whole: its record parses and its artifact matches the digest.
        for version in registry.list_versions("m"):
            assert registry.verified_artifact(version).is_file()
        assert numbers == list(range(1, len(numbers) + 1)), "versions are consecutive, never skipped"
        for event in registry.events("m"):
            assert event.kind in ("registered", "alias_set")
        alias = registry.alias_version("m", "latest-write")
        assert alias is None or alias in numbers
    assert len(registry.version_numbers("m")) > 10, "the writer got far enough to be killed mid-write"


class _Exploit:
    """Unpickling this creates a marker file: proof that bytes were unpickled."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, ...]]:
        return (os.system, (f"touch {self.marker}",))


def test_tampered_artifact_is_refused_before_unpickling(tmp_path: Path) -> None:
    registry = open_registry(f"file://{tmp_path / 'registry'}")
    model_file = tmp_path / "model.joblib"
    artifact.save_model({"weights": [1, 2, 3]}, model_file)
    draft = VersionDraft(name="m", flavor="sklearn", task="classification", signature={}, input_example={},
                         params={}, metrics={}, data={}, git={}, packages={})
    version = registry.register(draft, model_file)
    assert artifact.load_model(registry, version) == {"weights": [1, 2, 3]}

    marker = tmp_path / "pwned"
    blob = registry.verified_artifact(version)
    blob.chmod(0o644)
    blob.write_bytes(pickle.dumps(_Exploit(str(marker))))
    with pytest.raises(IntegrityError, match=r"m:1: the stored artifact does not match its record"):
        artifact.load_model(registry, version)
    assert not marker.exists()


def test_tampered_artifact_through_the_cli_message(cli, project: Path) -> None:
    assert cli("train", cwd=project).code == 0
    registry = open_registry("file://.modelci/registry", project)
    version = registry.resolve(__import__("modelci.refs", fromlist=["parse_ref"]).parse_ref("breast-cancer:1"))
    blob = registry.verified_artifact(version)
    blob.write_bytes(blob.read_bytes() + b"tail")
    with pytest.raises(IntegrityError) as info:
        registry.verified_artifact(version)
    assert version.artifact_digest in str(info.value) and "refuses to load it" in str(info.value)


def test_identical_artifacts_share_one_blob(tmp_path: Path) -> None:
    registry = open_registry(f"file://{tmp_path}")
    path = tmp_path / "a.bin"
    path.write_bytes(b"same bytes")
    draft = VersionDraft(name="m", flavor="sklearn", task="regression", signature={}, input_example={},
                         params={}, metrics={}, data={}, git={}, packages={})
    first, second = registry.register(draft, path), registry.register(draft, path)
    assert (first.version, second.version) == (1, 2)
    assert first.artifact_digest == second.artifact_digest == sha256_file(path)[0]
    assert len(list((tmp_path / "blobs" / "sha256").iterdir())) == 1


def test_alias_history_lives_in_events(cli, project: Path) -> None:
    for _ in range(3):
        assert cli("train", cwd=project).code == 0
    assert cli("registry", "alias", "champion", "breast-cancer:1", cwd=project).code == 0
    moved = cli("registry", "alias", "champion", "models:/breast-cancer/3", cwd=project)
    assert moved.out.strip() == "breast-cancer@champion -> 3 (was 1)"
    events = json.loads(cli("registry", "events", "breast-cancer", "--json", cwd=project).out)
    history = [(e["version"], e["data"]["previous"]) for e in events if e["kind"] == "alias_set"]
    assert history == [(1, None), (3, 1)]
    listing = cli("registry", "list", "--limit", "2", cwd=project).out.splitlines()
    assert [line.split()[0] for line in listing[1:]] == ["3", "2"]
    assert "champion" in listing[1]
    assert cli("registry", "alias", "champion", "--delete", "breast-cancer", cwd=project).code == 0
    assert cli("registry", "show", "@champion", cwd=project).code == 2
