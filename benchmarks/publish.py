"""Benchmark: `modelci publish-image` of the example model, first publish and re-publish.

    .venv/bin/python benchmarks/publish.py [--registry 127.0.0.1:5000] [--repeats 3]

Needs the test bed (scripts/services/docker.sh, oci-registry.sh, base-image.sh).

- first publish: nothing cached anywhere. The wheelhouse cache is a fresh folder
  (MODELCI_CACHE_DIR), the repository is new, and the base image is a fresh alias of
  python:3.11-slim with its own image id (same layers, one extra label), so Docker's build
  cache has nothing for it: every layer is built and uploaded.
- re-publish: a new version of the same model (different C, same libraries) into the same
  repository: the wheelhouse and the deps and modelci layers come from cache, and only the
  model layer is uploaded.
Each publish is `python -m modelci publish-image` in its own process (wall time includes
start-up), smoke test included. Sizes: the image as unpacked by the engine, and the bytes
in the registry (sum of the compressed layers of the manifest) next to the base image's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "breast-cancer"
BASE = "python:3.11-slim"


def modelci(project: Path, env: dict[str, str], *argv: str) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "modelci", *argv], cwd=project, env=env, capture_output=True,
                          text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"modelci {' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    try:
        return wall, json.loads(done.stdout)
    except ValueError:
        return wall, {}


def manifest_bytes(registry: str, repository: str, digest: str) -> tuple[int, list[int]]:
    import requests

    name = repository.split("/", 1)[1]
    accept = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"
    with requests.get(f"http://{registry}/v2/{name}/manifests/{digest}", headers={"Accept": accept},
                      timeout=10) as response:
        response.raise_for_status()
        layers = [int(layer["size"]) for layer in response.json()["layers"]]
    return sum(layers), layers


def docker_json(*args: str) -> Any:
    return json.loads(subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registry", default="127.0.0.1:5000")
    parser.add_argument("--repeats", type=int, default=3, help="re-publishes (each a new model version)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="modelci-bench-publish-"))
    run_id = uuid.uuid4().hex[:8]
    base = f"modelci-bench/python:{run_id}"
    repository = f"{args.registry}/modelci-bench/breast-cancer-{run_id}"
    project = work / "project"
    project.mkdir()
    for name in ("modelci.yaml", "train.py"):
        shutil.copy(EXAMPLE / name, project / name)
    subprocess.run([sys.executable, str(EXAMPLE / "make_data.py"), "--out", str(project / "data")], check=True,
                   capture_output=True)
    subprocess.run(["docker", "build", "-q", "-t", base, "-"], input=f"FROM {BASE}\nLABEL bench={run_id}\n",
                   text=True, check=True, capture_output=True)
    env = {**os.environ, "MODELCI_CACHE_DIR": str(work / "cache"), "MODELCI_IMAGE": repository,
           "MODELCI_BASE_IMAGE": base}
    env.pop("GITHUB_ACTIONS", None)
    built: list[str] = []
    try:
        rows = []
        for index in range(args.repeats + 1):
            modelci(project, env, "train", "--set", f"model.params.C={1.0 / (index + 1):.4f}")
            modelci(project, env, "gate", "--candidate", f"breast-cancer:{index + 1}")
            wall, result = modelci(project, env, "publish-image", "--model", f"breast-cancer:{index + 1}", "--json")
            built.append(result["image_id"])
            pushed, _ = manifest_bytes(args.registry, repository, result["digest"])
            rows.append({"kind": "first publish" if index == 0 else "re-publish", "wall": wall, **result,
                         "registry_bytes": pushed})
        report(rows, base, repository, args.registry)
    finally:
        cleanup(base, built, work)


def report(rows: list[dict[str, Any]], base: str, repository: str, registry: str) -> None:
    first, again = rows[0], rows[1:]
    image = docker_json("image", "inspect", first["image_id"])[0]
    base_size = docker_json("image", "inspect", BASE)[0]["Size"]
    _, layers = manifest_bytes(registry, repository, first["digest"])
    mb = 1e6

    def phases(row: dict[str, Any]) -> str:
        return ", ".join(f"{k} {v:.1f}s" for k, v in row["timings"].items())

    print(f"modelci publish-image, example model (scikit-learn pipeline), base {BASE}, registry {registry}")
    print(f"{'run':<16}{'wall s':>8}{'layers up':>11}{'cached':>8}  phases")
    for row in rows:
        print(f"{row['kind']:<16}{row['wall']:>8.1f}{row['layers_pushed']:>11}{row['layers_existing']:>8}  "
              f"{phases(row)}")
    if again:
        median = statistics.median(r["wall"] for r in again)
        print(f"re-publish median {median:.1f}s over {len(again)} versions = {first['wall'] / median:.1f}x faster "
              "than the first publish")
    print(f"image size (unpacked): {image['Size'] / mb:.0f} MB, of which the base image {base_size / mb:.0f} MB")
    print(f"in the registry (compressed): {sum(layers) / mb:.1f} MB in {len(layers)} layers: "
          + ", ".join(f"{size / mb:.2f}" for size in layers) + " MB (base, user, deps, modelci, model)")
    model_layer = layers[-1]
    print(f"a re-publish uploads the model layer only: {model_layer / 1e3:.0f} kB")


def cleanup(base: str, built: list[str], work: Path) -> None:
    """Remove the bench images, their build stages (children of the bench base) and the caches."""
    base_id = docker_json("image", "inspect", base)[0]["Id"]
    for image_id in built:
        subprocess.run(["docker", "rmi", "-f", image_id], capture_output=True, check=False)
    dangling = subprocess.run(["docker", "images", "-q", "--no-trunc", "-f", "dangling=true"], capture_output=True,
                              text=True, check=False).stdout.split()
    for image_id in dangling:
        parent, seen = image_id, 0
        while parent and seen < 64:
            if parent == base_id:
                subprocess.run(["docker", "rmi", image_id], capture_output=True, check=False)
                break
            parent = docker_json("image", "inspect", parent)[0].get("Parent", "")
            seen += 1
    subprocess.run(["docker", "rmi", base], capture_output=True, check=False)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
