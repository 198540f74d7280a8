"""Helpers for the server tests: a model trained once, live server processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "breast-cancer"


@dataclass
class Trained:
    project: Path
    registry_uri: str
    record: dict[str, Any]
    bundle: Path

    @property
    def columns(self) -> list[str]:
        return list(self.record["input_example"]["columns"])

    @property
    def rows(self) -> list[list[Any]]:
        return [list(r) for r in self.record["input_example"]["data"]]

    @property
    def expected(self) -> list[Any]:
        return list(self.record["input_example"]["predictions"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    started: float
    ready_after: float = -1.0
    log: Path = field(default_factory=Path)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, **kw: Any) -> requests.Response:
        return requests.get(self.url + path, timeout=30, **kw)

    def post(self, path: str, body: Any = None, *, content_type: str | None = "application/json",
             **kw: Any) -> requests.Response:
        headers = dict(kw.pop("headers", {}))
        if content_type is not None:
            headers["Content-Type"] = content_type
        data = body if isinstance(body, (bytes, str, Iterator)) or body is None else json.dumps(body)
        return requests.post(self.url + path, data=data, headers=headers, timeout=30, **kw)

    def stop(self) -> int:
        """SIGTERM, then wait; 0 or -SIGTERM (uvicorn re-raises the signal after draining) is a clean exit."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def stopped_cleanly(self) -> bool:
        return self.stop() in (0, -signal.SIGTERM)

    def output(self) -> str:
        return self.log.read_text() if self.log.exists() else ""


def start_server(model: str, tmp: Path, *args: str, cwd: Path | None = None, wait: bool = True,
                 env: dict[str, str] | None = None) -> Server:
    port = free_port()
    log = tmp / f"server-{port}.log"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELCI_", "GITHUB_"))}
    full_env.update(env or {})
    with log.open("wb") as out:
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "modelci", "serve", "--model", model, "--port", str(port),
                                 *args], stdout=out, stderr=subprocess.STDOUT, cwd=cwd or tmp, env=full_env)
    server = Server(proc, port, started, log=log)
    if wait:
        wait_ready(server)
    return server


def wait_ready(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise AssertionError(f"server exited with {server.proc.returncode}:\n{server.output()}")
        try:
            if requests.get(server.url + "/readyz", timeout=1).status_code == 200:
                server.ready_after = time.monotonic() - server.started
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.02)
    server.stop()
    raise AssertionError(f"server not ready after {timeout}s:\n{server.output()}")
