"""Smoke test: run the built image, wait until ready, replay the input example.

The predictions must equal those recorded when the version was trained; this catches
a dependency that loads the pickle differently, a broken entry point, or a server
that never gets ready, before anything leaves the machine.
"""

from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import InfrastructureError, UsageError, VerdictFailed
from ..registry import ModelVersion
from .dockerfile import PORT
from .engine import api_errors, short

Log = Callable[[str], None]
LOG_LINES = 40


class SmokeTestFailed(VerdictFailed):
    title = "Image smoke test failed"


@dataclass(frozen=True)
class SmokeResult:
    ready_s: float
    rows: int
    predictions: list[Any]


def example_request(version: ModelVersion) -> tuple[dict[str, Any], list[Any]]:
    example = dict(version.input_example or {})
    columns, data, expected = example.get("columns"), example.get("data"), example.get("predictions")
    if not columns or not data or expected is None:
        raise UsageError(f"{version.ref} has no input example with recorded predictions, so its image cannot be "
                         "smoke-tested. Retrain it with this modelci, or pass --no-smoke-test.")
    return {"dataframe_split": {"columns": list(columns), "data": list(data)}}, list(expected)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-9)
    return bool(a == b)


def smoke_test(client: Any, image_id: str, version: ModelVersion, log: Log, timeout_s: float = 120.0) -> SmokeResult:
    body, expected = example_request(version)
    try:
        created = client.create_container(
            image_id, ports=[PORT], labels={"ai.modelci.smoke-test": version.ref},
            host_config=client.create_host_config(port_bindings={PORT: ("127.0.0.1", None)}),
        )
    except api_errors() as exc:
        raise InfrastructureError(f"could not create the smoke-test container: {short(exc)}") from None
    cid = str(created["Id"])
    try:
        return _run(client, cid, (body, expected), version, log=log, timeout_s=timeout_s)
    finally:
        try:
            client.remove_container(cid, force=True)
        except api_errors() as exc:
            log(f"warning: could not remove smoke-test container {cid[:12]}: {short(exc)}")


def _run(client: Any, cid: str, example: tuple[dict[str, Any], list[Any]], version: ModelVersion, *, log: Log,
         timeout_s: float) -> SmokeResult:
    body, expected = example
    started = time.monotonic()
    start_errors: tuple[type[BaseException], ...] = (*api_errors(), IndexError, KeyError, TypeError)
    try:
        client.start(cid)
        port = client.port(cid, PORT)[0]["HostPort"]
    except start_errors as exc:
        raise _failed(client, cid, f"the container did not start: {short(exc)}") from None
    base = f"http://127.0.0.1:{port}"
    log(f"smoke test: container {cid[:12]} on {base}, waiting for /readyz (at most {timeout_s:.0f}s)")
    while True:
        status = _get_status(base + "/readyz")
        if status == 200:
            break
        state = client.inspect_container(cid).get("State") or {}
        if not state.get("Running"):
            raise _failed(client, cid, f"the server exited with code {state.get('ExitCode')} before it was ready")
        if time.monotonic() - started > timeout_s:
            raise _failed(client, cid, f"the server was not ready after {timeout_s:.0f}s (last /readyz: {status})")
        time.sleep(0.2)
    ready_s = time.monotonic() - started
    request = urllib.request.Request(base + "/invocations", data=json.dumps(body).encode(),  # noqa: S310
                                     method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (our own container)
            answer = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")[:500]
        exc.close()
        raise _failed(client, cid, f"POST /invocations answered {exc.code}: {detail}") from None
    except (OSError, ValueError) as exc:
        raise _failed(client, cid, f"POST /invocations failed: {short(exc)}") from None
    got = answer.get("predictions") if isinstance(answer, dict) else None
    if not isinstance(got, list) or not same(got, expected):
        raise _failed(client, cid, f"the image predicts {json.dumps(got)[:300]} for the input example of "
                                   f"{version.ref}, but training recorded {json.dumps(expected)[:300]}")
    log(f"smoke test passed: ready in {ready_s:.1f}s, {len(expected)} predictions match the recorded ones")
    return SmokeResult(ready_s=ready_s, rows=len(expected), predictions=got)


def _get_status(url: str) -> int | str:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own container)
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return int(exc.code)
    except OSError as exc:
        return type(exc).__name__


def _failed(client: Any, cid: str, why: str) -> SmokeTestFailed:
    try:
        raw = client.logs(cid, stdout=True, stderr=True, tail=LOG_LINES)
        logs = raw.decode("utf-8", "replace").rstrip() if isinstance(raw, bytes) else str(raw)
    except api_errors():
        logs = "(the container's logs could not be read)"
    return SmokeTestFailed(
        f"the image's smoke test failed, so nothing was pushed: {why}.\n"
        f"Last {LOG_LINES} lines of the container's log:\n{logs or '(empty)'}"
    )
