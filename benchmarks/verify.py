"""Benchmark: time to detect a bad version and time to restore the previous one, `modelci verify`.

A good version (1) serves; a version that answers 500 to online (single-row) requests (2)
is deployed on top of it; `verify` runs with interval 2 s while one client replays the
holdout row by row. The client starts when the monitoring window opens, so every request
of the window is bad.

    detect   first 5xx the client saw -> the verdict (the window's failing check)
    restore  the verdict -> the previous version answers its smoke test (the rolled_back
             event's detected_at -> restored_at)

On the local target (a process per environment) and on the Kubernetes API emulator of the
tests (pods are real `modelci serve` processes, reached through the official client).

    .venv/bin/python benchmarks/verify.py                 # 3 rounds per target
    .venv/bin/python benchmarks/verify.py --rounds 5 --targets local
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "breast-cancer"
TESTS = ROOT / "tests"
MISBEHAVING = TESTS / "verify"
IMAGES = {1: "localhost:5000/bench/bc@sha256:" + "1" * 64, 2: "localhost:5000/bench/bc@sha256:" + "2" * 64}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(root: Path) -> tuple[Path, dict[int, Path], list[list[Any]], list[str]]:
    import pandas as pd
    import yaml

    from modelci.config import load_config
    from modelci.registry import open_registry
    from modelci.serve.bundle import export_bundle
    from modelci.train import train

    subprocess.run([sys.executable, str(EXAMPLE / "make_data.py"), "--out", str(root / "data")], check=True,
                   capture_output=True)
    shutil.copy(EXAMPLE / "train.py", root / "train.py")
    (root / "bad.py").write_text("from misbehaving import build  # noqa: F401\n")
    data = yaml.safe_load((EXAMPLE / "modelci.yaml").read_text())
    data["environments"] = {
        "production": {"target": "local", "port": free_port(), "timeout": "60s"},
        "prod": {"target": "kubernetes", "namespace": "prod", "replicas": 1, "strategy": "rolling",
                 "timeout": "60s"},
    }
    data["verify"] = {"smoke": "input_example", "duration": "30s", "interval": "2s", "failure_limit": 1,
                      "slo": {"error_rate": "< 0.01", "latency_p95_ms": "< 100"}}
    (root / "modelci.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    bundles = {}
    for number, overrides in ((1, []), (2, ["model.entrypoint=bad.py:build", "model.params.misbehave=error"])):
        config = load_config(str(root / "modelci.yaml"), overrides)
        registry = open_registry(config.registry, config.base_dir)
        version = train(config, registry).version
        bundles[number] = export_bundle(registry, version, root / "bundles" / str(number))
    test = pd.read_csv(root / "data" / "test.csv").drop(columns=["malignant"])
    return root / "modelci.yaml", bundles, json.loads(test.to_json(orient="values")), list(test.columns)


class Client:
    """One client replaying rows; remembers when it first saw a 5xx."""

    def __init__(self, send: Any, rows: list[list[Any]], columns: list[str]) -> None:
        self.send, self.rows, self.columns = send, rows, columns
        self.first_bad: float | None = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        i = 0
        while not self.stop.is_set():
            body = json.dumps({"dataframe_split": {"columns": self.columns,
                                                   "data": [self.rows[i % len(self.rows)]]}}).encode()
            try:
                status = self.send(body)
            except OSError:
                status = 0
            if status >= 500 and self.first_bad is None:
                self.first_bad = time.monotonic()
            i += 1
            time.sleep(0.005)


def one_round(config_path: Path, environment: str, send: Any, *, rows: list[list[Any]], columns: list[str],
              deploy_extra: dict[str, Any]) -> dict[str, float]:
    from modelci.config import load_config
    from modelci.deploy.run import deploy
    from modelci.deploy.types import DeployRequest
    from modelci.registry import open_registry
    from modelci.verify.run import VerifyRequest, verify

    config = load_config(str(config_path))
    registry = open_registry(config.registry, config.base_dir)
    quiet = lambda line: None  # noqa: E731
    deploy(config, registry, DeployRequest(environment=environment, model="2",
                                           image=IMAGES[2] if deploy_extra else None, **deploy_extra), quiet)
    client = Client(send, rows, columns)
    verdict: list[float] = []

    def progress(line: str) -> None:
        if line.startswith("monitoring ") and not client.thread.is_alive():
            client.thread.start()
        if "is UNHEALTHY" in line and not verdict:
            verdict.append(time.monotonic())

    try:
        outcome = verify(config, registry, VerifyRequest(environment=environment, **deploy_extra), progress)
    finally:
        client.stop.set()
        if client.thread.is_alive():
            client.thread.join()
    assert outcome.rolled_back and client.first_bad is not None and verdict, outcome.reasons
    event = [e for e in registry.events(config.model.name) if e.kind == "rolled_back"][-1]
    detected = datetime.fromisoformat(event.data["detected_at"].replace("Z", "+00:00"))
    restored = datetime.fromisoformat(event.data["restored_at"].replace("Z", "+00:00"))
    return {"detect_s": verdict[0] - client.first_bad, "restore_s": (restored - detected).total_seconds()}


def bench_local(config_path: Path, rows: list[list[Any]], columns: list[str], rounds: int) -> list[dict[str, float]]:
    from modelci.config import load_config
    from modelci.deploy.local import stop, url_of
    from modelci.deploy.run import deploy, local_state_dir
    from modelci.deploy.types import DeployRequest
    from modelci.registry import open_registry
    from modelci.verify.http_probe import HttpProbe

    config = load_config(str(config_path))
    registry = open_registry(config.registry, config.base_dir)
    deploy(config, registry, DeployRequest(environment="production", model="1"), lambda line: None)
    probe = HttpProbe(url_of(config.environments["production"]), timeout_s=5)
    try:
        return [one_round(config_path, "production", lambda b: probe.call("POST", "/invocations", b)[0], rows=rows,
                          columns=columns, deploy_extra={}) for _ in range(rounds)]
    finally:
        stop(local_state_dir(config), "production")


def bench_emulator(config_path: Path, bundles: dict[int, Path], *, rows: list[list[Any]], columns: list[str],
                   rounds: int, logs: Path) -> list[dict[str, float]]:
    sys.path.insert(0, str(TESTS))
    from k8s_emulator import Emulator
    from modelci.config import load_config
    from modelci.deploy.run import deploy
    from modelci.deploy.types import DeployRequest
    from modelci.registry import open_registry

    serve = [sys.executable, "-m", "modelci", "serve", "--port", "{port}", "--model"]
    em = Emulator({IMAGES[v]: [*serve, str(b)] for v, b in bundles.items()}, logs=logs).start()
    try:
        kubeconfig = str(em.kubeconfig(logs / "kubeconfig"))
        config = load_config(str(config_path))
        registry = open_registry(config.registry, config.base_dir)
        deploy(config, registry, DeployRequest(environment="prod", model="1", image=IMAGES[1], kubeconfig=kubeconfig),
               lambda line: None)

        def send(body: bytes) -> int:
            return em.proxy("prod", "breast-cancer:80", "POST", "/invocations", body,
                            {"Content-Type": "application/json"})[0]

        extra = {"kubeconfig": kubeconfig}
        return [one_round(config_path, "prod", send, rows=rows, columns=columns, deploy_extra=extra)
                for _ in range(rounds)]
    finally:
        em.stop()


def summarize(name: str, runs: list[dict[str, float]]) -> str:
    detect = [r["detect_s"] for r in runs]
    restore = [r["restore_s"] for r in runs]
    return (f"| {name} | {len(runs)} | {statistics.median(detect):.2f} (max {max(detect):.2f}) | "
            f"{statistics.median(restore):.2f} (max {max(restore):.2f}) |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--targets", default="local,emulator")
    args = parser.parse_args()
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(MISBEHAVING), os.environ.get("PYTHONPATH")]))
    os.environ.setdefault("MODELCI_ROLLOUT_POLL_S", "0.2")
    sys.path.insert(0, str(MISBEHAVING))
    with tempfile.TemporaryDirectory(prefix="modelci-bench-verify-") as tmp:
        root = Path(tmp)
        os.environ["MODELCI_LOCAL_STATE"] = str(root / "local-state")
        old = Path.cwd()
        os.chdir(root)
        try:
            config_path, bundles, rows, columns = prepare(root)
            lines = ["| target | rounds | detect s, median | restore s, median |", "|---|---|---|---|"]
            targets = args.targets.split(",")
            if "local" in targets:
                lines.append(summarize("local", bench_local(config_path, rows, columns, args.rounds)))
            if "emulator" in targets:
                (root / "emulator").mkdir()
                runs = bench_emulator(config_path, bundles, rows=rows, columns=columns, rounds=args.rounds,
                                      logs=root / "emulator")
                lines.append(summarize("kubernetes emulator (rolling)", runs))
        finally:
            os.chdir(old)
    print("interval 2 s, failure_limit 1; goal: detect <= interval + 2 s, restore <= 10 s")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
