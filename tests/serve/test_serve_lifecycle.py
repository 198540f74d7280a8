"""The server's life: loading only verified artifacts, readiness, /version, /metrics, draining on SIGTERM."""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from pathlib import Path

import requests
from serve_support import Server, Trained, start_server, wait_ready


def test_live_ready_and_version(server: Server, trained: Trained) -> None:
    assert server.get("/healthz").json() == {"status": "alive"}
    assert server.get("/readyz").json() == {"status": "ready"}
    version = server.get("/version").json()
    record = trained.record
    assert version["name"] == "breast-cancer" and version["version"] == record["version"]
    assert version["digest"] == record["artifact_digest"]
    assert version["git_sha"] == record["git"]["sha"]
    assert server.ready_after > 0
    print(f"ready {server.ready_after:.2f}s after process start")


def metric(text: str, series: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = re.match(r"^([a-z_]+)(\{.*\})? (\S+)$", line)
        if not match or match.group(1) != series:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match.group(3))
    return 0.0


def test_metrics_move(server: Server, trained: Trained) -> None:
    before = server.get("/metrics")
    assert before.headers["content-type"].startswith("text/plain; version=0.0.4")
    ok = metric(before.text, "modelci_requests_total", route="/invocations", status="200")
    bad = metric(before.text, "modelci_request_errors_total", route="/invocations", error_code="MISSING_COLUMN")
    counts = {c: metric(before.text, "modelci_predictions_total", **{"class": str(c)}) for c in (0, 1)}
    latency = metric(before.text, "modelci_request_duration_seconds_count", route="/invocations")

    body = {"dataframe_split": {"columns": trained.columns, "data": trained.rows}}
    assert server.post("/invocations", body).status_code == 200
    assert server.post("/invocations", {"dataframe_split": {"columns": [], "data": []}}).status_code == 422

    after = server.get("/metrics").text
    assert metric(after, "modelci_requests_total", route="/invocations", status="200") == ok + 1
    assert metric(after, "modelci_request_errors_total", route="/invocations", error_code="MISSING_COLUMN") == bad + 1
    assert metric(after, "modelci_request_duration_seconds_count", route="/invocations") == latency + 2
    for c in (0, 1):
        assert metric(after, "modelci_predictions_total", **{"class": str(c)}) == counts[c] + trained.expected.count(c)
    info = metric(after, "modelci_model_info", name="breast-cancer", version=str(trained.record["version"]),
                  digest=trained.record["artifact_digest"])
    assert info == 1.0
    assert metric(after, "modelci_model_ready") == 1.0


def test_serve_by_reference_from_the_registry(trained: Trained, tmp_path: Path) -> None:
    srv = start_server(f"models:/breast-cancer/{trained.record['version']}", tmp_path,
                       "--registry", trained.registry_uri)
    try:
        body = {"dataframe_split": {"columns": trained.columns, "data": trained.rows}}
        assert srv.post("/invocations", body).json() == {"predictions": trained.expected}
    finally:
        assert srv.stopped_cleanly(), srv.output()


def test_serve_by_reference_with_the_config(trained: Trained, tmp_path: Path) -> None:
    srv = start_server("breast-cancer:latest", tmp_path, cwd=trained.project)
    try:
        assert srv.get("/version").json()["digest"] == trained.record["artifact_digest"]
    finally:
        assert srv.stopped_cleanly(), srv.output()


def test_tampered_bundle_is_refused(cli, trained: Trained, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(trained.bundle, bundle)
    artifact = next(p for p in bundle.iterdir() if p.name.startswith("sha256-"))
    artifact.write_bytes(artifact.read_bytes()[:-1] + b"\x00")
    result = cli("serve", "--model", str(bundle), actions=False)
    assert result.code == 2
    assert "does not match its record" in result.err and "refuses to load it" in result.err


def test_tampered_registry_artifact_is_refused(cli, trained: Trained, tmp_path: Path) -> None:
    root = Path(trained.registry_uri[len("file://"):])
    copy = tmp_path / "registry"
    shutil.copytree(root, copy)
    blob = copy / "blobs" / "sha256" / trained.record["artifact_digest"].split(":")[1]
    blob.write_bytes(blob.read_bytes() + b"tampered")
    result = cli("serve", "--model", "breast-cancer:1", "--registry", f"file://{copy}", actions=False)
    assert result.code == 2
    assert "does not match its record" in result.err


def test_unknown_reference_and_missing_bundle_are_usage_errors(cli, trained: Trained, tmp_path: Path) -> None:
    unknown = cli("serve", "--model", "breast-cancer:99", "--registry", trained.registry_uri, actions=False)
    assert unknown.code == 2 and "does not exist" in unknown.err
    folder = tmp_path / "empty"
    folder.mkdir()
    missing = cli("serve", "--model", str(folder), actions=False)
    assert missing.code == 2 and "bundle" in missing.err
    bad = cli("serve", "--model", str(trained.bundle), "--max-batch", "0", actions=False)
    assert bad.code == 2 and "max batch" in bad.err


def test_bundle_record_is_the_registry_record(trained: Trained) -> None:
    record = json.loads((trained.bundle / "model.json").read_text())
    assert record == json.loads(json.dumps(trained.record))


def test_sigterm_drains_an_in_flight_request(trained: Trained, tmp_path: Path) -> None:
    # A long batching window keeps the request in flight while SIGTERM arrives.
    srv = start_server(str(trained.bundle), tmp_path, "--max-wait-ms", "1500")
    body = {"dataframe_split": {"columns": trained.columns, "data": trained.rows}}
    answers: list[requests.Response] = []
    client = threading.Thread(target=lambda: answers.append(srv.post("/invocations", body)))
    client.start()
    time.sleep(0.5)
    assert srv.stopped_cleanly(), srv.output()
    client.join(timeout=30)
    assert answers and answers[0].status_code == 200
    assert answers[0].json() == {"predictions": trained.expected}


def test_health_answers_while_the_model_loads(trained: Trained, tmp_path: Path) -> None:
    srv = start_server(str(trained.bundle), tmp_path, wait=False)
    try:
        saw_live = False
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not saw_live:
            try:
                live = requests.get(srv.url + "/healthz", timeout=1)
            except requests.ConnectionError:
                time.sleep(0.01)
                continue
            saw_live = live.status_code == 200
            ready = requests.get(srv.url + "/readyz", timeout=1)
            assert ready.status_code in (200, 503)
            if ready.status_code == 503:
                assert ready.json()["error_code"] == "NOT_READY"
        assert saw_live
        wait_ready(srv)
    finally:
        assert srv.stopped_cleanly(), srv.output()


def test_several_workers_serve_the_same_model(trained: Trained, tmp_path: Path) -> None:
    srv = start_server(str(trained.bundle), tmp_path, "--workers", "2")
    try:
        body = {"dataframe_split": {"columns": trained.columns, "data": trained.rows}}
        for _ in range(6):
            assert srv.post("/invocations", body).json() == {"predictions": trained.expected}
        assert srv.get("/version").json()["digest"] == trained.record["artifact_digest"]
    finally:
        assert srv.stopped_cleanly(), srv.output()
