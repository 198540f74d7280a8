"""Serving speed: modelci serve side by side with the servers a user would pick instead.

Same model (the example's scikit-learn pipeline on the breast-cancer data), same
load (wrk, 16 connections, batch-1 JSON), one worker each, run back to back:

    modelci   modelci serve --model BUNDLE (this checkout's .venv)
    mlflow    mlflow models serve --env-manager local (MLflow 3.x)
    bentoml   BentoML 1.4, one @bentoml.service with one @bentoml.api
    mlserver  MLServer + mlserver-sklearn (Open Inference Protocol)
    raw       a minimal raw ASGI app on uvicorn: parse JSON, call predict (the floor
              for one request per model call)

Every peer gets its own venv under the cache dir (default ~/.cache/modelci-bench,
env MODELCI_BENCH_CACHE), with the same numpy/pandas/scikit-learn versions as
this checkout so that all of them load the very same pickle. The project does
not depend on any of them.

    .venv/bin/python benchmarks/serve.py [--duration 10] [--rounds 3] [--only modelci,raw] [--json OUT]

With --rounds N the peers run back to back N times over (interleaved, so that
load from other processes hits all of them alike) and the table shows each
peer's median round.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "breast-cancer"
CACHE = Path(os.environ.get("MODELCI_BENCH_CACHE", "~/.cache/modelci-bench")).expanduser()
PEERS = ("modelci", "mlflow", "bentoml", "mlserver", "raw")
REQUIREMENTS = {
    "mlflow": ["mlflow>=3,<4"],
    "bentoml": ["bentoml>=1.4,<1.5"],
    # MLServer 1.7's inference pool calls asyncio.get_event_loop() in a fresh process,
    # which uvloop >= 0.22 refuses: its worker dies and no model ever loads.
    "mlserver": ["mlserver", "mlserver-sklearn", "uvloop<0.22"],
    "raw": ["uvicorn", "httptools", "uvloop", "orjson"],
}


def stack() -> list[str]:
    """The numeric stack of this checkout, pinned, so every venv unpickles the same model."""
    return [f"{name}=={importlib.metadata.version(name)}" for name in ("scikit-learn", "numpy", "pandas", "joblib")]


def venv(peer: str) -> Path:
    """The peer's venv, created and filled on first use (takes minutes for mlflow)."""
    if peer == "modelci":
        return Path(sys.executable).parent.parent
    home = CACHE / peer
    wanted = "\n".join([*REQUIREMENTS[peer], *stack()])
    stamp = home / ".done"
    if not stamp.exists() or stamp.read_text() not in ("", wanted):
        print(f"[setup] creating {home} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(home)], check=True)
        subprocess.run([str(home / "bin" / "pip"), "install", "-q", *REQUIREMENTS[peer], *stack()], check=True)
        stamp.write_text(wanted)
    return home


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Workload:
    """What one peer needs to be started and loaded."""

    argv: list[str]
    ready_url: str
    url: str
    body: bytes
    content_type: str
    env: dict[str, str]
    cwd: Path


@dataclass
class Result:
    peer: str
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    ready_s: float = 0.0
    errors: int = 0
    note: str = ""


# -- the model ----------------------------------------------------------------
def prepare(work: Path) -> dict[str, Any]:
    """Data, a trained model in a file registry, its bundle and the raw joblib file."""
    project = work / "project"
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    shutil.copy(EXAMPLE / "modelci.yaml", project)
    shutil.copy(EXAMPLE / "train.py", project)
    subprocess.run([sys.executable, str(EXAMPLE / "make_data.py"), "--out", str(project / "data")], check=True,
                   capture_output=True)
    subprocess.run([sys.executable, "-m", "modelci", "train"], cwd=project, check=True, capture_output=True)
    code = textwrap.dedent("""
        import json, sys
        from pathlib import Path
        from modelci.registry import open_registry
        from modelci.refs import parse_ref
        from modelci.serve.bundle import export_bundle, artifact_name
        reg = open_registry("file://.modelci/registry")
        v = reg.resolve(parse_ref("breast-cancer"))
        export_bundle(reg, v, Path("bundle"))
        print(json.dumps({"record": v.to_dict(), "artifact": str(Path("bundle") / artifact_name(v))}))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=project, check=True, capture_output=True, text=True)
    info = json.loads(out.stdout)
    example = info["record"]["input_example"]
    return {"project": project, "bundle": project / "bundle", "model": project / info["artifact"],
            "columns": example["columns"], "row": example["data"][0], "expected": example["predictions"][0]}


# -- the peers ----------------------------------------------------------------
def workload(peer: str, model: dict[str, Any], work: Path, port: int) -> Workload:
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    home = venv(peer)
    env["PATH"] = f"{home / 'bin'}:{env.get('PATH', '')}"
    split = json.dumps({"dataframe_split": {"columns": model["columns"], "data": [model["row"]]}}).encode()
    if peer == "modelci":
        return Workload([str(home / "bin" / "python"), "-m", "modelci", "serve", "--model", str(model["bundle"]),
                         "--port", str(port)],
                        f"{base}/readyz", f"{base}/invocations", split, "application/json", env, work)
    if peer == "raw":
        app = work / "raw_app.py"
        app.write_text(RAW_APP)
        env["BENCH_MODEL"] = str(model["model"])
        return Workload([str(home / "bin" / "python"), "-m", "uvicorn", "raw_app:app", "--port", str(port),
                         "--workers", "1", "--no-access-log", "--lifespan", "off", "--log-level", "warning"],
                        f"{base}/ping", f"{base}/invocations", split, "application/json", env, work)
    if peer == "mlflow":
        target = work / "mlflow-model"
        if not target.exists():
            script = ("import joblib, sys, pandas as pd, mlflow.sklearn\n"
                      "m = joblib.load(sys.argv[1])\n"
                      "ex = pd.DataFrame([json_row], columns=json_cols)\n"
                      "mlflow.sklearn.save_model(m, sys.argv[2], input_example=ex)\n")
            script = script.replace("json_row", repr(model["row"])).replace("json_cols", repr(model["columns"]))
            subprocess.run([str(home / "bin" / "python"), "-c", script, str(model["model"]), str(target)],
                           check=True, capture_output=True, env=env)
        env["MLFLOW_TRACKING_URI"] = f"file://{work / 'mlruns'}"
        return Workload([str(home / "bin" / "mlflow"), "models", "serve", "-m", str(target), "--env-manager",
                         "local", "-h", "127.0.0.1", "-p", str(port), "--workers", "1"],
                        f"{base}/ping", f"{base}/invocations", split, "application/json", env, work)
    if peer == "bentoml":
        folder = work / "bento"
        folder.mkdir(exist_ok=True)
        (folder / "service.py").write_text(BENTO_SERVICE)
        env.update(BENCH_MODEL=str(model["model"]), BENTOML_DO_NOT_TRACK="true", BENTOML_HOME=str(work / "bentohome"))
        body = json.dumps({"columns": model["columns"], "data": [model["row"]]}).encode()
        return Workload([str(home / "bin" / "bentoml"), "serve", "service:Model", "--host", "127.0.0.1", "--port",
                         str(port)], f"{base}/readyz", f"{base}/predict", body, "application/json", env, folder)
    if peer == "mlserver":
        folder = work / "mlserver"
        model_dir = folder / "breast-cancer"
        model_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy(model["model"], model_dir / "model.joblib")
        (model_dir / "model-settings.json").write_text(json.dumps({
            "name": "breast-cancer", "implementation": "mlserver_sklearn.SKLearnModel",
            "parameters": {"uri": "./model.joblib", "version": "1"}}))
        (folder / "settings.json").write_text(json.dumps({
            "http_port": port, "grpc_port": free_port(), "metrics_port": free_port(), "parallel_workers": 1}))
        inputs = []
        for name, value in zip(model["columns"], model["row"], strict=True):
            if isinstance(value, str):
                inputs.append({"name": name, "shape": [1], "datatype": "BYTES", "data": [value],
                               "parameters": {"content_type": "str"}})
            else:
                inputs.append({"name": name, "shape": [1], "datatype": "FP64", "data": [value]})
        body = json.dumps({"parameters": {"content_type": "pd"}, "inputs": inputs}).encode()
        return Workload([str(home / "bin" / "mlserver"), "start", str(folder)], f"{base}/v2/models/breast-cancer/ready",
                        f"{base}/v2/models/breast-cancer/infer", body, "application/json", env, folder)
    raise ValueError(peer)


RAW_APP = '''
import os

import joblib
import orjson
import pandas as pd

model = joblib.load(os.environ["BENCH_MODEL"])


async def app(scope, receive, send):
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    if scope["path"] == "/ping":
        out = b"{}"
    else:
        split = orjson.loads(body)["dataframe_split"]
        frame = pd.DataFrame(split["data"], columns=split["columns"])
        out = orjson.dumps({"predictions": model.predict(frame).tolist()})
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": out})
'''

BENTO_SERVICE = '''
import os
from typing import Any

import bentoml
import joblib
import pandas as pd


@bentoml.service(workers=1)
class Model:
    def __init__(self) -> None:
        self.model = joblib.load(os.environ["BENCH_MODEL"])

    @bentoml.api
    def predict(self, columns: list[str], data: list[list[Any]]) -> list[Any]:
        return self.model.predict(pd.DataFrame(data, columns=columns)).tolist()
'''


# -- measuring ----------------------------------------------------------------
def post(url: str, body: bytes, content_type: str) -> Any:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def first_prediction(payload: Any) -> Any:
    if isinstance(payload, dict) and "predictions" in payload:
        return payload["predictions"][0]
    if isinstance(payload, dict) and "outputs" in payload:
        return payload["outputs"][0]["data"][0]
    if isinstance(payload, list):
        return payload[0]
    return payload


def wrk(url: str, body: bytes, content_type: str, duration: float, work: Path) -> dict[str, float]:
    body_file = work / "body.json"
    body_file.write_bytes(body)
    script = work / "post.lua"
    script.write_text(f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "{content_type}"\n'
                      f'local f = io.open("{body_file}", "rb")\nwrk.body = f:read("*a")\nf:close()\n')
    out = subprocess.run(["wrk", "-t2", "-c16", f"-d{int(duration)}s", "--latency", "-s", str(script), url],
                         check=True, capture_output=True, text=True).stdout

    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not match:
            return float("nan")
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
        return float(match.group(1)) * scale

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = int(non2xx.group(1)) if non2xx else 0
    if sock:
        errors += sum(int(g) for g in sock.groups())
    return {"rps": rps, "p50": latency("50%"), "p99": latency("99%"), "errors": errors}


def measure(peer: str, model: dict[str, Any], work: Path, duration: float) -> Result:
    port = free_port()
    load = workload(peer, model, work, port)
    log = (work / f"{peer}.log").open("wb")
    started = time.monotonic()
    proc = subprocess.Popen(load.argv, cwd=load.cwd, env=load.env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        ready = wait_ready(proc, load.ready_url, started)
        got = first_prediction(post(load.url, load.body, load.content_type))
        if got != model["expected"]:
            return Result(peer, ready_s=ready, note=f"wrong prediction {got!r} (expected {model['expected']!r})")
        wrk(load.url, load.body, load.content_type, 2, work)  # warm-up, not counted
        stats = wrk(load.url, load.body, load.content_type, duration, work)
        return Result(peer, stats["rps"], stats["p50"], stats["p99"], ready, int(stats["errors"]))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def wait_ready(proc: subprocess.Popen[bytes], url: str, started: float, timeout: float = 180.0) -> float:
    while time.monotonic() - started < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.01)
    raise RuntimeError(f"not ready after {timeout}s")


def median(results: list[Result]) -> Result:
    """The round with the median req/s (failed rounds count as 0)."""
    ordered = sorted(results, key=lambda r: r.rps)
    return ordered[(len(ordered) - 1) // 2] if len(ordered) % 2 == 0 else ordered[len(ordered) // 2]


def table(results: list[Result]) -> str:
    ours = next((r for r in results if r.peer == "modelci" and r.rps), None)
    lines = ["| server | req/s | p50 ms | p99 ms | ready s | modelci req/s ÷ this | errors | note |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        ratio = f"{ours.rps / r.rps:.2f}x" if ours and r.rps else "-"
        lines.append(f"| {r.peer} | {r.rps:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.ready_s:.2f} | {ratio} | "
                     f"{r.errors} | {r.note} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per server (default 10)")
    parser.add_argument("--only", default=",".join(PEERS), help="comma-separated subset of " + ", ".join(PEERS))
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds; the table shows medians")
    parser.add_argument("--json", type=Path, help="also write the results (every round) as JSON here")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install -y wrk", file=sys.stderr)
        return 2
    CACHE.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="serve-bench-", dir=CACHE))
    model = prepare(work)
    peers = [p.strip() for p in args.only.split(",") if p.strip()]
    rounds: dict[str, list[Result]] = {peer: [] for peer in peers}
    loads = []
    for number in range(1, max(1, args.rounds) + 1):
        for peer in peers:
            print(f"[bench] round {number}: {peer} ...", file=sys.stderr)
            try:
                result = measure(peer, model, work, args.duration)
            except (RuntimeError, subprocess.CalledProcessError, OSError, urllib.error.URLError) as exc:
                result = Result(peer, note=f"failed: {exc} (log: {work / (peer + '.log')})")
            print(f"[bench] {result}", file=sys.stderr)
            rounds[peer].append(result)
        loads.append(os.getloadavg()[0])
    results = [median(rs) for rs in rounds.values()]
    print(f"\n{os.cpu_count()} cores, load average after each round {', '.join(f'{x:.1f}' for x in loads)}; "
          f"wrk -t2 -c16 -d{int(args.duration)}s, batch-1 JSON, one worker each, {len(loads)} interleaved "
          "round(s), median round per server\n")
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps({p: [asdict(r) for r in rs] for p, rs in rounds.items()}, indent=2))
    if all(r.rps for r in results):
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"\nlogs of the failed runs are in {work}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
