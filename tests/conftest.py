"""Shared fixtures: the example project's data, a throw-away consumer project, the CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from modelci_testing import CliResult, parse_outputs

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "breast-cancer"


@pytest.fixture(scope="session")
def example_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example's train.csv/test.csv, generated once per session (nothing downloaded)."""
    out = tmp_path_factory.mktemp("example-data")
    subprocess.run([sys.executable, str(EXAMPLE / "make_data.py"), "--out", str(out)],
                   check=True, capture_output=True)
    return out


@pytest.fixture
def project(tmp_path: Path, example_data: Path) -> Path:
    """A consumer project: the example's config, training function and data, in tmp_path."""
    dest = tmp_path / "project"
    dest.mkdir()
    shutil.copy(EXAMPLE / "modelci.yaml", dest / "modelci.yaml")
    shutil.copy(EXAMPLE / "train.py", dest / "train.py")
    shutil.copytree(example_data, dest / "data")
    return dest


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
        ) -> Iterator[Callable[..., CliResult]]:
    """Call modelci's main(argv) in-process, as GitHub Actions would run it."""
    from modelci.cli import main

    gh = tmp_path / "github"
    gh.mkdir()
    for var in ("MODELCI_CONFIG", "MODELCI_REGISTRY", "GITHUB_SHA", "GITHUB_REF", "GITHUB_REPOSITORY",
                "GITHUB_RUN_ID"):
        monkeypatch.delenv(var, raising=False)

    def run(*argv: str, cwd: Path | None = None, actions: bool = True) -> CliResult:
        output, summary = gh / "output", gh / "summary"
        output.write_text("")
        summary.write_text("")
        if actions:
            monkeypatch.setenv("GITHUB_ACTIONS", "true")
            monkeypatch.setenv("GITHUB_OUTPUT", str(output))
            monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
        else:
            for var in ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
                monkeypatch.delenv(var, raising=False)
        old = Path.cwd()
        os.chdir(cwd or tmp_path)
        try:
            code = main(list(argv))
        finally:
            os.chdir(old)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err, parse_outputs(output.read_text()),
                         summary.read_text())

    yield run
