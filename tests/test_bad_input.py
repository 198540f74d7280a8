"""Bad input gets exit code 2, a message naming the problem, no traceback, an untouched registry."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from modelci_testing import edit_config

Setup = Callable[[Path], list[str]]


def _yaml(text: str) -> Setup:
    def setup(project: Path) -> list[str]:
        (project / "modelci.yaml").write_text(text)
        return ["train"]
    return setup


def _edit(change: Callable[[dict], None]) -> Setup:
    def setup(project: Path) -> list[str]:
        edit_config(project, change)
        return ["train"]
    return setup


def _set(cfg_path: list[str], value: object) -> Callable[[dict], None]:
    def change(cfg: dict) -> None:
        node = cfg
        for key in cfg_path[:-1]:
            node = node.setdefault(key, {})
        node[cfg_path[-1]] = value
    return change


def _declarative(class_path: str, params: dict | None = None, features: list[str] | None = None
                 ) -> Callable[[dict], None]:
    def change(cfg: dict) -> None:
        cfg["model"].pop("entrypoint", None)
        cfg["model"].pop("params", None)
        cfg["model"]["estimator"] = {"class": class_path, "params": params or {}}
        if features is not None:
            cfg["data"]["features"] = features
    return change


def _write(name: str, text: str, then: Setup) -> Setup:
    def setup(project: Path) -> list[str]:
        (project / name).write_text(text)
        return then(project)
    return setup


def _missing_config(project: Path) -> list[str]:
    return ["train", "-c", str(project / "nope.yaml")]


def _unwritable_registry(project: Path) -> list[str]:
    if os.geteuid() == 0:
        # root ignores permission bits; sysfs refuses new folders to everyone.
        return ["train", "--registry", "file:///sys/modelci-test/registry"]
    locked = project / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    return ["train", "--registry", f"file://{locked}/registry"]


def _registry_is_a_file(project: Path) -> list[str]:
    (project / "blocker").write_text("not a folder")
    return ["train", "--registry", f"file://{project}/blocker/registry"]


CASES: list[tuple[str, Setup, list[str]]] = [
    ("missing-config", _missing_config, ["nope.yaml", "no such file"]),
    ("empty-config", _yaml(""), ["empty"]),
    ("yaml-syntax-error", _yaml("model:\n  name: churn\n  task: [classification\n"),
     ["YAML syntax error", "modelci.yaml:"]),
    ("duplicate-key", _yaml("model: {name: a}\nmodel: {name: b}\n"), ["duplicate key 'model'", "modelci.yaml:2"]),
    ("unknown-top-key", _edit(_set(["regsitry"], "file://x")), ["regsitry", "did you mean 'registry'"]),
    ("unknown-nested-key", _edit(_set(["data", "tset"], "x.csv")), ["data.tset", "did you mean 'test'"]),
    ("wrong-type", _edit(_set(["model", "params"], [1, 2])), ["model.params", "expected a mapping", "a list"]),
    ("bad-task", _edit(_set(["model", "task"], "clustering")), ["model.task", "classification, regression"]),
    ("bad-model-name", _edit(_set(["model", "name"], "Churn Model")), ["model.name", "lowercase"]),
    ("bad-registry-uri", _edit(_set(["registry"], "s3://bucket")), ["registry", "file://PATH"]),
    ("bad-threshold", _edit(_set(["gate", "thresholds"], {"accuracy": "at least 0.9"})),
     ["gate.thresholds.accuracy", "cannot parse condition"]),
    ("unknown-metric", _edit(_set(["gate", "metrics"], ["accuracy", "acuracy"])),
     ["gate.metrics[1]", "unknown classification metric 'acuracy'", "balanced_accuracy"]),
    ("bad-duration", _edit(_set(["verify", "interval"], "soon")), ["verify.interval", "30s"]),
    ("bad-override", lambda p: ["train", "--set", "model.params"], ["--set", "KEY.PATH=VALUE"]),
    ("override-unknown-key", lambda p: ["train", "--set", "model.estimater.class=x"],
     ["--set model.estimater", "unknown key"]),
    ("estimator-module-missing", _edit(_declarative("sklearn.nonexistent.Forest")),
     ["model.estimator.class", "sklearn.nonexistent"]),
    ("estimator-class-missing", _edit(_declarative("sklearn.ensemble.RandomForestClasifier")),
     ["has no 'RandomForestClasifier'", "RandomForestClassifier"]),
    ("not-an-estimator", _edit(_declarative("collections.OrderedDict")), ["is not an estimator"]),
    ("bad-estimator-param", _edit(_declarative("sklearn.linear_model.LogisticRegression", {"Cee": 1})),
     ["model.estimator.params", "Cee", "Valid parameters"]),
    ("entrypoint-file-missing", _edit(_set(["model", "entrypoint"], "missing.py:build")),
     ["model.entrypoint", "missing.py does not exist"]),
    ("entrypoint-function-missing", _edit(_set(["model", "entrypoint"], "train.py:fit_it")),
     ["no function 'fit_it'", "build"]),
    ("entrypoint-returns-non-model", _write("bad.py", "def build(frame, params):\n    return 42\n",
                                            _edit(_set(["model", "entrypoint"], "bad.py:build"))),
     ["returned int", "predict"]),
    ("data-file-missing", _edit(_set(["data", "train"], "data/nope.csv")), ["data.train", "nope.csv does not exist"]),
    ("target-missing", _edit(_set(["data", "target"], "diagnosis")), ["target column 'diagnosis'", "malignant"]),
    ("feature-missing-from-test", _write("data/test.csv", "site,mean_radius,malignant\nnorth,1.0,0\n",
                                         _edit(lambda c: None)),
     ["data.test", "lacks the feature column(s)", "mean_texture"]),
    ("empty-data", _write("data/train.csv", "", _edit(lambda c: None)), ["data.train", "empty"]),
    ("header-only-data", _write("data/train.csv", "a,b,malignant\n", _edit(lambda c: None)),
     ["data.train", "no data rows"]),
    ("non-numeric-for-declarative", _edit(_declarative("sklearn.linear_model.LogisticRegression")),
     ["'site'", "not numeric", "OneHotEncoder"]),
    ("unwritable-registry", _unwritable_registry, ["cannot write to the registry", "Point registry:"]),
    ("registry-path-is-a-file", _registry_is_a_file, ["is not a folder"]),
    ("both-estimator-and-entrypoint", _edit(_set(["model", "estimator"], {"class": "sklearn.svm.SVC"})),
     ["either estimator", "not both"]),
]


@pytest.mark.parametrize(("setup", "expected"), [pytest.param(s, e, id=i) for i, s, e in CASES])
def test_bad_input_exits_2_with_a_message(cli, project: Path, setup: Setup, expected: list[str]) -> None:
    argv = setup(project)
    result = cli(*argv, cwd=project, actions=False)
    assert result.code == 2, (result.out, result.err)
    message = result.err
    for fragment in expected:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert "Traceback" not in message
    # Nothing was registered anywhere in the project.
    registry = project / ".modelci" / "registry" / "models"
    assert not registry.exists() or not any(registry.glob("*/versions/*.json"))


def test_inside_actions_the_error_is_an_annotation_and_summary(cli, project: Path) -> None:
    edit_config(project, _set(["data", "target"], "diagnosis"))
    result = cli("train", cwd=project, actions=True)
    assert result.code == 2
    errors = [line for line in result.err.splitlines() if line.startswith("::error")]
    assert len(errors) == 1 and errors[0].startswith("::error title=Invalid data::")
    assert "target column 'diagnosis'" in result.summary


@pytest.mark.parametrize("ref", ["churn:0", "churn/3", "models:/Churn/1", "@", "churn@1bad"])
def test_malformed_reference(cli, project: Path, ref: str) -> None:
    result = cli("registry", "show", ref, cwd=project, actions=False)
    assert result.code == 2
    assert "churn:3" in result.err or "versions start at 1" in result.err


def test_reference_to_missing_version_and_alias(cli, project: Path) -> None:
    assert cli("train", cwd=project).code == 0
    missing = cli("registry", "show", "breast-cancer:7", cwd=project, actions=False)
    assert missing.code == 2
    assert "breast-cancer:7 does not exist" in missing.err and "versions 1..1" in missing.err
    alias = cli("registry", "show", "@champion", cwd=project, actions=False)
    assert alias.code == 2
    assert "no alias 'champion'" in alias.err and "modelci registry alias champion" in alias.err
    other = cli("registry", "show", "churn@champion", cwd=project, actions=False)
    assert other.code == 2 and "Registered models: breast-cancer" in other.err
