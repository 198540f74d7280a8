"""The oci:// registry against a local docker-registry: a 50 MB model, alias resolution, 1,000 versions.

    .venv/bin/python benchmarks/registry_oci.py [--mb 50] [--versions 1000] [--registry oci://HOST/NS]

Without --registry it starts its own docker-registry (Debian's reference registry) on a
free port with storage in a temp dir, and stops it at the end. Registering uses the
default settle time (MODELCI_OCI_SETTLE_S, 0.5 s) that makes concurrent writers safe;
the 1,000 versions are filled by one writer with settle 0 (nobody to race).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from modelci.refs import parse_ref
from modelci.registry import VersionDraft, open_registry
from modelci.registry.oci import OciRegistry


@contextmanager
def local_registry() -> Iterator[str]:
    root = Path(tempfile.mkdtemp(prefix="modelci-bench-oci-"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = {"version": 0.1, "log": {"level": "error", "accesslog": {"disabled": True}},
              "storage": {"filesystem": {"rootdirectory": str(root / "data")}, "delete": {"enabled": True}},
              "http": {"addr": f"127.0.0.1:{port}"}}
    (root / "config.yml").write_text(json.dumps(config))
    proc = subprocess.Popen(["docker-registry", "serve", str(root / "config.yml")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                if requests.get(f"http://127.0.0.1:{port}/v2/", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait()


def draft(i: int = 0) -> VersionDraft:
    signature = {"inputs": [{"name": f"f{k}", "dtype": "double"} for k in range(30)],
                 "output": {"type": "class", "classes": [0, 1]}}
    example = {"columns": [f"f{k}" for k in range(30)], "data": [[0.5] * 30] * 5}
    return VersionDraft(name="churn", flavor="sklearn", task="classification", signature=signature,
                        input_example=example, params={"C": 1.0, "i": i}, metrics={"accuracy": 0.9, "f1": 0.8},
                        data={"train": {"sha256": "sha256:" + "0" * 64, "rows": 1000}}, git={"sha": "a" * 40},
                        packages={"python": "3.11"})


def clock(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def median_of(fn: Callable[[], object], runs: int) -> float:
    return statistics.median(clock(fn) for _ in range(runs))


def fresh(uri: str, settle: float | None = None) -> OciRegistry:
    registry = open_registry(uri)
    assert isinstance(registry, OciRegistry)
    if settle is not None:
        registry.settle_s = settle
    return registry


def run(host: str, mb: int, versions: int, runs: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="modelci-bench-"))
    os.environ["XDG_CACHE_HOME"] = str(work / "cache")  # a cold blob cache of our own
    ns = f"bench{uuid.uuid4().hex[:8]}"
    big_uri, many_uri = f"oci://{host}/{ns}/big", f"oci://{host}/{ns}/many"
    model = work / "model.bin"
    model.write_bytes(os.urandom(mb << 20))
    print(f"registry {host}; settle {fresh(big_uri).settle_s} s")

    registry = fresh(big_uri)
    first = clock(lambda: registry.register(draft(), model))
    again = clock(lambda: registry.register(draft(1), model))
    print(f"register a {mb} MB model (upload + claim + publish)        {first:9.0f} ms")
    print(f"register the same bytes again (blob already there)      {again:9.0f} ms")
    version = registry.get_version("churn", 1)
    cold = clock(lambda: fresh(big_uri).verified_artifact(version))
    warm = clock(lambda: fresh(big_uri).verified_artifact(version))
    print(f"load it verified, cold cache (download + 2x sha256)       {cold:9.0f} ms")
    print(f"load it verified, warm cache (sha256 of the cached copy)  {warm:9.0f} ms")
    registry.set_alias("churn", "champion", 1)
    print(f"resolve churn@champion, in process, new client           "
          f"{median_of(lambda: fresh(big_uri).resolve(parse_ref('churn@champion')), runs):9.1f} ms")
    shown = [clock(lambda: subprocess.run([sys.executable, "-m", "modelci", "registry", "show", "churn@champion",
                                           "--registry", big_uri], check=True, stdout=subprocess.DEVNULL))
             for _ in range(runs)]
    print(f"modelci registry show churn@champion (fresh process)      {statistics.median(shown):9.0f} ms")

    filler = fresh(many_uri, settle=0.0)
    tiny = work / "tiny.bin"
    start = time.perf_counter()
    for i in range(versions):
        tiny.write_bytes(i.to_bytes(4, "big") * 64)
        filler.register(draft(i), tiny)
    fill_s = time.perf_counter() - start
    print(f"fill {versions} versions, one writer, settle 0            {fill_s * 1000:9.0f} ms "
          f"({fill_s / versions * 1000:.1f} ms each)")
    numbers = median_of(lambda: fresh(many_uri).version_numbers("churn"), runs)
    print(f"version numbers of {versions} versions (tags/list)            {numbers:9.1f} ms")
    newest = median_of(lambda: fresh(many_uri).list_versions("churn", limit=20), runs)
    print(f"list newest 20 records                                    {newest:9.1f} ms")
    reader = fresh(many_uri)
    all_cold = clock(lambda: reader.list_versions("churn"))
    all_warm = clock(lambda: reader.list_versions("churn"))
    print(f"list all {versions} records, cold cache                     {all_cold:9.0f} ms")
    print(f"list all {versions} records, records cached                 {all_warm:9.0f} ms")
    cli = [clock(lambda: subprocess.run([sys.executable, "-m", "modelci", "registry", "list", "churn",
                                         "--registry", many_uri], check=True, stdout=subprocess.DEVNULL))
           for _ in range(runs)]
    print(f"modelci registry list churn (newest 20, fresh process)    {statistics.median(cli):9.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--registry", help="HOST:PORT of a running registry (default: start one)")
    args = parser.parse_args()
    if args.registry:
        run(args.registry, args.mb, args.versions, args.runs)
        return
    with local_registry() as host:
        run(host, args.mb, args.versions, args.runs)


if __name__ == "__main__":
    main()
