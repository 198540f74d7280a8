"""The local target: the model server as a detached local process per environment.

A deploy exports the version as a bundle under the state folder, starts
``modelci serve --model BUNDLE`` on the environment's host:port with
``MODELCI_REUSE_PORT=1`` (the new server loads the model first, then listens next
to the running one with SO_REUSEPORT), waits until the port answers with the new
version and ready, and only then stops the previous server (SIGTERM, which drains
in-flight requests). If the new server dies or never gets ready, it is killed and
the previous one keeps serving.

State, one JSON file per environment (``<state>/<env>.json``) holding pid, port,
version, bundle, revision and the previous version (whose bundle is kept for
rollback). Deploys to one environment are serialized by an flock on ``<env>.lock``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..config.model import EnvironmentSpec
from ..errors import InfrastructureError, VerdictFailed
from ..registry import ModelVersion, Registry
from ..registry.records import utcnow
from .types import DeployResult, Progress

STOP_WAIT_S = 35.0


def state_path(state_dir: Path, environment: str) -> Path:
    return state_dir / f"{environment}.json"


def read_state(state_dir: Path, environment: str) -> dict[str, Any] | None:
    try:
        data = json.loads(state_path(state_dir, environment).read_text())
    except FileNotFoundError:
        return None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _write_state(state_dir: Path, environment: str, state: dict[str, Any]) -> None:
    path = state_path(state_dir, environment)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def url_of(env: EnvironmentSpec) -> str:
    if env.url:
        return env.url.rstrip("/")
    host = "127.0.0.1" if env.host in ("0.0.0.0", "::", "") else env.host  # noqa: S104
    return f"http://{host}:{env.port}"


@contextlib.contextmanager
def _locked(state_dir: Path, environment: str, timeout_s: float) -> Iterator[None]:
    import fcntl

    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / f"{environment}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = path.read_text().strip() or "another modelci deploy"
                    raise InfrastructureError(
                        f"the local environment {environment!r} is being deployed by {holder}; waited "
                        f"{timeout_s:.0f}s. Try again when it is done.") from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}".encode())
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def probe(url: str, timeout_s: float = 2.0) -> dict[str, Any] | None:
    """GET /version on a new connection; None when nothing (ready) answers."""
    import requests

    try:
        with requests.get(f"{url}/version", timeout=timeout_s, headers={"Connection": "close"}) as resp:
            if resp.status_code != 200:
                return None
            data = resp.json()
    except (requests.RequestException, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    with contextlib.suppress(ChildProcessError, OSError):
        done, _ = os.waitpid(pid, os.WNOHANG)  # reap it if it is our own exited child
        if done == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _is_our_server(pid)


def _exited(child: int) -> bool:
    """True once our own child process has ended (and reap it)."""
    try:
        done, _ = os.waitpid(child, os.WNOHANG)
    except ChildProcessError:
        return not _alive(child)
    return done == child


def _is_our_server(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True  # no /proc (macOS): trust the state file
    if not any(cmdline):
        return True  # between fork and exec
    return b"modelci" in b" ".join(cmdline) and b"serve" in cmdline


def _spawn(bundle: Path, env: EnvironmentSpec, log: Path) -> int:
    """Start a detached ``modelci serve`` (its own session, so it outlives this command)."""
    cmd = [sys.executable, "-m", "modelci", "serve", "--model", str(bundle), "--host", env.host,
           "--port", str(env.port)]
    environ = {**os.environ, "MODELCI_REUSE_PORT": "1"}
    for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_ACTIONS"):
        environ.pop(name, None)
    actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
               (os.POSIX_SPAWN_OPEN, 1, str(log), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
               (os.POSIX_SPAWN_DUP2, 1, 2)]
    return os.posix_spawn(sys.executable, cmd, environ, file_actions=actions, setsid=True)


def stop_pid(pid: int | None, wait_s: float = STOP_WAIT_S) -> None:
    """SIGTERM a server (it drains in-flight requests), SIGKILL it after ``wait_s``."""
    if not _alive(pid):
        return
    assert pid is not None
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait_s
    while _alive(pid):
        if time.monotonic() >= deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)
            _alive(pid)
            return
        time.sleep(0.05)


def stop(state_dir: Path, environment: str) -> bool:
    """Stop the environment's server (teardown); True when one was running."""
    state = read_state(state_dir, environment)
    if not state or not _alive(state.get("pid")):
        return False
    stop_pid(state.get("pid"))
    return True


def _log_tail(log: Path, lines: int = 8) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def deploy_local(env: EnvironmentSpec, registry: Registry, version: ModelVersion, state_dir: Path,
                 *, timeout_s: float, progress: Progress) -> DeployResult:
    from ..serve.bundle import export_bundle, is_bundle

    started = time.monotonic()
    url = url_of(env)
    with _locked(state_dir, env.name, timeout_s):
        state = read_state(state_dir, env.name) or {}
        running = _alive(state.get("pid"))
        same = state.get("model") == version.name and state.get("version") == version.version
        if same and running:
            answer = probe(url)
            if answer and answer.get("version") == version.version and answer.get("ready"):
                progress(f"{version.ref} is already serving in {env.name} at {url} (pid {state['pid']}); "
                         "nothing to do")
                return DeployResult(
                    environment=env.name, target="local", strategy="replace", model=version.name,
                    version=version.version, revision=str(state.get("revision", 1)), url=url,
                    previous_version=(state.get("previous") or {}).get("version"), noop=True,
                    duration_s=time.monotonic() - started)
        folder = state_dir / env.name
        bundle = folder / f"{version.name}-{version.version}"
        if not is_bundle(bundle):
            progress(f"exporting {version.ref} to {bundle}")
            export_bundle(registry, version, bundle)
        log = folder / f"{version.name}-{version.version}.log"
        pid = _spawn(bundle, env, log)
        progress(f"started modelci serve {version.ref} (pid {pid}) on {env.host}:{env.port}; "
                 "waiting until it is ready")
        deadline = time.monotonic() + timeout_s
        while True:
            if _exited(pid):
                raise VerdictFailed(
                    f"the new server for {version.ref} exited before it was ready; "
                    + ("the previous one keeps serving. " if running else "")
                    + f"Its log ({log}):\n{_log_tail(log)}")
            answer = probe(url, timeout_s=1.0)
            if answer and answer.get("version") == version.version and answer.get("ready"):
                break
            if time.monotonic() >= deadline:
                stop_pid(pid, wait_s=5.0)
                raise VerdictFailed(
                    f"the new server for {version.ref} was not ready on {url} within {timeout_s:.0f}s; "
                    f"stopped it{', the previous one keeps serving' if running else ''}. Its log ({log}):\n"
                    f"{_log_tail(log)}")
            time.sleep(0.1)
        ready_s = time.monotonic() - started
        previous: dict[str, Any] | None = None
        if state.get("version") is not None:
            previous = {"model": state.get("model"), "version": state.get("version"),
                        "bundle": state.get("bundle")}
        if running and state.get("pid") != pid:
            progress(f"{version.ref} is ready after {ready_s:.1f}s; stopping the previous server "
                     f"(pid {state['pid']}, {state.get('model')}:{state.get('version')})")
            stop_pid(state.get("pid"))
        revision = int(state.get("revision", 0)) + 1
        _write_state(state_dir, env.name, {
            "environment": env.name, "pid": pid, "host": env.host, "port": env.port, "url": url,
            "model": version.name, "version": version.version, "digest": version.artifact_digest,
            "bundle": str(bundle), "log": str(log), "revision": revision, "deployed_at": utcnow(),
            "previous": previous,
        })
        return DeployResult(
            environment=env.name, target="local", strategy="replace", model=version.name,
            version=version.version, revision=str(revision), url=url,
            previous_version=previous["version"] if previous else None,
            duration_s=time.monotonic() - started, details={"pid": str(pid), "bundle": str(bundle)})
