"""GitHub Actions plumbing: outputs, summaries, annotations and masks."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelci.github import actions as gha
from modelci_testing import parse_outputs


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "output"))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary"))
    return tmp_path


def test_multiline_output_survives_a_value_that_looks_like_a_delimiter(runner: Path) -> None:
    tricky = "line one\nEOF\nghadelimiter_x\nname=value"
    gha.set_output("report", tricky)
    gha.set_output("passed", "true")
    outputs = parse_outputs((runner / "output").read_text())
    assert outputs == {"report": tricky, "passed": "true"}


def test_annotations_escape_newlines_and_properties(runner: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gha.error("first line\nsecond: 100%", title="a, b: c")
    err = capsys.readouterr().err
    assert err == "::error title=a%2C b%3A c::first line%0Asecond: 100%25\n"


def test_mask_each_line_of_a_secret(runner: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gha.mask("s3cr3t\nsecond-line")
    assert capsys.readouterr().out == "::add-mask::s3cr3t\n::add-mask::second-line\n"


def test_group_folds_log_lines(runner: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with gha.group("training"):
        print("inside")
    assert capsys.readouterr().out == "::group::training\ninside\n::endgroup::\n"


def test_harmless_outside_actions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    for var in ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(var, raising=False)
    gha.set_output("x", "1")
    gha.append_summary("# hi")
    gha.mask("secret")
    with gha.group("g"):
        pass
    gha.warning("careful", title="modelci")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "warning: modelci: careful\n"
    assert list(tmp_path.iterdir()) == []
