"""A docker-registry process of a test's own: free port, storage in tmp, optional htpasswd."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ensure_installed(command: str, package: str) -> None:
    """apt-get install ``package`` when ``command`` is missing (updating the lists if need be)."""
    if shutil.which(command):
        return
    apt = ["apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=600"]
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    if subprocess.run([*apt, "install", package], check=False, capture_output=True, env=env).returncode != 0:
        subprocess.run([*apt, "update"], check=False, capture_output=True, env=env)
        subprocess.run([*apt, "install", package], check=True, capture_output=True, env=env)


@dataclass
class RegistryServer:
    """One docker-registry process with its own storage, config and port."""

    root: Path
    port: int
    htpasswd: tuple[str, str] | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    def uri(self, namespace: str) -> str:
        return f"oci://{self.addr}/{namespace}"

    def start(self) -> RegistryServer:
        _ensure_installed("docker-registry", "docker-registry")
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        config: dict[str, Any] = {
            "version": 0.1,
            "log": {"level": "error", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(self.root / "data")}, "delete": {"enabled": True}},
            "http": {"addr": self.addr},
        }
        if self.htpasswd:
            _ensure_installed("htpasswd", "apache2-utils")
            user, password = self.htpasswd
            line = subprocess.run(["htpasswd", "-Bbn", user, password], check=True, capture_output=True).stdout
            (self.root / "htpasswd").write_bytes(line)
            config["auth"] = {"htpasswd": {"realm": "modelci-test", "path": str(self.root / "htpasswd")}}
        (self.root / "config.yml").write_text(json.dumps(config))  # JSON is YAML
        log = (self.root / "registry.log").open("ab")
        self.proc = subprocess.Popen(["docker-registry", "serve", str(self.root / "config.yml")],
                                     stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {(self.root / 'registry.log').read_text()[-2000:]}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"http://{self.addr}/v2/", timeout=1).status_code in (200, 401):
                    return self
            time.sleep(0.1)
        raise RuntimeError(f"docker-registry on {self.addr} did not come up")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def blob_file(self, digest: str) -> Path:
        hexdigest = digest.split(":", 1)[1]
        return self.root / "data/docker/registry/v2/blobs/sha256" / hexdigest[:2] / hexdigest / "data"


def unique_namespace() -> str:
    return f"t{uuid.uuid4().hex[:12]}/models"
