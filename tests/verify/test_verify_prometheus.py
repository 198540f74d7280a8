"""The monitoring window read from a real Prometheus server scraping the local model server."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from modelci.registry import open_registry
from modelci.verify.http_probe import HttpProbe

ROOT = Path(__file__).resolve().parents[2]
MODEL = "breast-cancer"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """A Prometheus scraping 127.0.0.1:<model port> every 250 ms; yields (its URL, the model port)."""
    model_port, addr = _free_port(), f"127.0.0.1:{_free_port()}"
    config = tmp_path / "prometheus.yml"
    config.write_text(f"""global: {{scrape_interval: 250ms, evaluation_interval: 1s}}
scrape_configs:
  - job_name: model
    scrape_interval: 250ms
    scrape_timeout: 200ms
    static_configs: [{{targets: ["127.0.0.1:{model_port}"]}}]
""")
    env = {"MODELCI_SERVICES_DIR": str(tmp_path / "services"), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    script = str(ROOT / "scripts" / "services" / "prometheus.sh")
    subprocess.run([script, "--config", str(config), "--addr", addr], check=True, env=env, timeout=300,
                   capture_output=True)
    try:
        yield f"http://{addr}", model_port
    finally:
        subprocess.run([script, "--stop", "--addr", addr], check=False, env=env, timeout=60, capture_output=True)


def test_prometheus_backed_window_rolls_back_a_5xx_version(cli, project: Path, prometheus, traffic,
                                                           tmp_path: Path) -> None:
    from modelci.deploy.local import stop

    url, port = prometheus
    config = ["-c", str(project / "modelci.yaml"), "--set", f"environments.production.port={port}"]
    try:
        for version in (1, 3):
            deployed = cli("deploy", *config, "-e", "production", "--model", str(version))
            assert deployed.code == 0, deployed.err
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until Prometheus has scraped the new server
            result = requests.get(f"{url}/api/v1/query", params={"query": 'modelci_model_info{version="3"}'},
                                  timeout=5).json()["data"]["result"]
            if result:
                break
            time.sleep(0.2)
        else:
            pytest.fail("Prometheus never scraped the model server")
        probe = HttpProbe(f"http://127.0.0.1:{port}", timeout_s=5)
        with traffic(lambda body: probe.call("POST", "/invocations", body)):
            verified = cli("verify", *config, "-e", "production", "--prometheus-url", url, "--interval", "1s",
                           "--duration", "5s", "--report", str(tmp_path / "report"))
        assert verified.code == 1, verified.err
        assert f"from Prometheus at {url}" in verified.err
        assert "breaks error_rate < 0.05" in verified.err
        assert verified.outputs["rolled-back"] == "true"
        registry = open_registry(f"file://{project / '.modelci' / 'registry'}")
        assert registry.alias_version(MODEL, "production") == 1
        event = [e for e in registry.events(MODEL) if e.kind == "verified"][-1]
        assert event.data["checks"]["window"]["source"] == "prometheus"
    finally:
        stop(tmp_path / "local-state", "production")
