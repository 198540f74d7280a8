"""modelci gate end to end through main(argv): real trained models, a real file registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gate_support import edit_config

from modelci.gate import gate_status
from modelci.refs import parse_ref
from modelci.registry import open_registry

BEST_C = "model.params.C=0.1"  # accuracy 0.9766 on the example holdout
SLIGHTLY_WORSE_C = "model.params.C=1.0"  # 0.9591: 3 rows worse, not significant
MUCH_WORSE_C = "model.params.C=0.001"  # 0.9006: significantly worse


def _registry(project: Path):
    return open_registry("file://.modelci/registry", project)


def _result(project: Path) -> dict:
    return json.loads((project / "modelci-report/gate/result.json").read_text())


def _champion(cli, project: Path, version: int) -> None:
    assert cli("registry", "alias", "champion", str(version), cwd=project).code == 0


def test_first_run_applies_absolute_rules_only_and_says_so(cli, project: Path, train) -> None:
    train(project)
    result = cli("gate", cwd=project)
    assert result.code == 0, result.err
    assert result.outputs["passed"] == "true"
    assert "First run" in result.summary and "does not exist yet" in result.summary
    data = _result(project)
    assert data["first_run"] is True and data["baseline"] is None
    kinds = {(r["rule"], r["verdict"]) for r in data["rules"]}
    assert ("max_regression", "skip") in kinds and ("threshold", "pass") in kinds
    assert json.loads(result.outputs["metrics"])["accuracy"] > 0.9
    assert result.outputs["comment-url"] == ""


def test_worse_model_fails_better_passes_and_gated_events_are_recorded(cli, project: Path, train) -> None:
    _champion(cli, project, train(project, BEST_C))
    worse = train(project, MUCH_WORSE_C)
    failed = cli("gate", cwd=project)
    assert failed.code == 1, failed.err
    assert failed.outputs["passed"] == "false"
    assert "significant" in failed.summary and ":x: failed" in failed.summary
    assert "::error title=modelci gate::gate failed for breast-cancer:2" in failed.err
    better = train(project, BEST_C)
    passed = cli("gate", cwd=project)
    assert passed.code == 0, passed.out + passed.err
    registry = _registry(project)
    assert gate_status(registry, registry.get_version("breast-cancer", worse)) is False
    assert gate_status(registry, registry.get_version("breast-cancer", better)) is True
    assert gate_status(registry, registry.get_version("breast-cancer", 1)) is None
    event = [e for e in registry.events("breast-cancer") if e.kind == "gated"][-1]
    assert event.data["baseline"] == "breast-cancer:1"
    assert set(event.data["metrics"]) == {"candidate", "baseline"}
    assert {r["rule"] for r in event.data["rules"]} >= {"threshold", "max_regression", "slice", "budget"}


def test_tiny_insignificant_drop_passes_large_significant_drop_fails(cli, project: Path, train) -> None:
    edit_config(project, lambda c: c["gate"].update(max_regression={"accuracy": 0.005}, slices=[],
                                                   significance=0.05))
    _champion(cli, project, train(project, BEST_C))
    train(project, SLIGHTLY_WORSE_C)
    tiny = cli("gate", cwd=project)
    assert tiny.code == 0, tiny.out
    rule = next(r for r in _result(project)["rules"] if r["rule"] == "max_regression")
    assert rule["verdict"] == "pass" and "not significant" in rule["reason"] and "mcnemar-exact" in rule["reason"]
    # the same drop without significance is beyond the allowed delta, so it fails
    strict = cli("gate", "--set", "gate.significance=null", cwd=project)
    assert strict.code == 1
    train(project, MUCH_WORSE_C)
    large = cli("gate", cwd=project)
    assert large.code == 1
    rule = next(r for r in _result(project)["rules"] if r["rule"] == "max_regression")
    assert rule["verdict"] == "fail" and "is significant" in rule["reason"]


def test_explicit_candidate_and_baseline(cli, project: Path, train) -> None:
    train(project, BEST_C)
    train(project, MUCH_WORSE_C)
    result = cli("gate", "--candidate", "breast-cancer:1", "--baseline", "models:/breast-cancer/2", "--json",
                 cwd=project)
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["candidate"] == "breast-cancer:1" and data["baseline"] == "breast-cancer:2"
    accuracy = next(c for c in data["comparisons"] if c["metric"] == "accuracy")
    assert accuracy["delta"] > 0 and accuracy["test"]["name"] == "mcnemar-exact"


def test_no_fail_reports_without_failing(cli, project: Path, train, monkeypatch) -> None:
    _champion(cli, project, train(project, BEST_C))
    train(project, MUCH_WORSE_C)
    assert cli("gate", "--no-fail", cwd=project).code == 0
    monkeypatch.setenv("MODELCI_FAIL_ON_REGRESSION", "false")
    result = cli("gate", cwd=project)
    assert result.code == 0 and result.outputs["passed"] == "false"
    assert "::warning title=modelci gate::gate failed" in result.err


def test_report_folder_has_markdown_json_pngs_and_mermaid(cli, project: Path, train, tmp_path: Path) -> None:
    _champion(cli, project, train(project, BEST_C))
    train(project)
    out = tmp_path / "my-report"
    result = cli("gate", "--report", str(out), cwd=project)
    assert result.code in (0, 1)
    assert {p.name for p in out.iterdir()} >= {"report.md", "result.json", "metrics.png", "slices.png"}
    assert (out / "metrics.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    markdown = (out / "report.md").read_text()
    assert markdown == result.summary
    assert "| metric | baseline | candidate | delta | 95% CI | rule | verdict |" in markdown
    assert "```mermaid\nxychart-beta" in markdown and "| site=north |" in markdown
    assert "drop = b - c if higher is better" in markdown
    assert result.outputs["report"] == str((out / "report.md").resolve())


def test_budgets_fail_when_exceeded(cli, project: Path, train) -> None:
    train(project)
    result = cli("gate", "--set", "gate.budgets.size_mb=0.000001", "--set", "gate.budgets.latency_p95_ms=0.000001",
                 cwd=project)
    assert result.code == 1
    budgets = {r["metric"]: r for r in _result(project)["rules"] if r["rule"] == "budget"}
    assert budgets["size_mb"]["verdict"] == "fail" and "over the budget" in budgets["size_mb"]["reason"]
    assert budgets["latency_p95_ms"]["verdict"] == "fail"


def test_metric_that_cannot_be_computed_fails(cli, project: Path, train) -> None:
    """A model without predict_proba cannot give roc_auc: the threshold on it fails, it is not skipped."""
    def declarative(cfg: dict) -> None:
        del cfg["model"]["entrypoint"]
        cfg["model"]["params"] = {}
        cfg["model"]["estimator"] = {"class": "sklearn.svm.LinearSVC", "params": {"C": 0.01}}
        cfg["data"]["features"] = ["mean_radius", "mean_texture", "worst_area", "worst_concave_points"]
        cfg["gate"] = {"metrics": ["accuracy"], "thresholds": {"accuracy": ">= 0.5", "roc_auc": ">= 0.5"}}
    edit_config(project, declarative)
    train(project)
    result = cli("gate", cwd=project)
    assert result.code == 1
    rule = next(r for r in _result(project)["rules"] if r["metric"] == "roc_auc")
    assert rule["verdict"] == "fail" and "could not be computed" in rule["reason"]
    assert "predict_proba" in rule["reason"]


def test_multiclass(cli, tmp_path: Path, train) -> None:
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame
    frame["target"] = frame["target"].map({0: "setosa", 1: "versicolor", 2: "virginica"})
    frame.columns = [c.replace(" (cm)", "").replace(" ", "_") for c in frame.columns]
    frame.iloc[::3].to_csv(tmp_path / "test.csv", index=False)
    frame.drop(frame.index[::3]).to_csv(tmp_path / "train.csv", index=False)
    (tmp_path / "modelci.yaml").write_text(
        "model: {name: iris, estimator: {class: sklearn.linear_model.LogisticRegression, params: {max_iter: 500}}}\n"
        "data: {train: train.csv, test: test.csv, target: target}\n"
        "gate:\n  metrics: [accuracy, f1_macro, roc_auc, log_loss]\n"
        "  thresholds: {accuracy: '>= 0.8'}\n  max_regression: {f1_macro: 0.02, log_loss: 0.1}\n"
        "  significance: 0.05\n")
    first = train(tmp_path)
    assert cli("registry", "alias", "champion", f"iris:{first}", cwd=tmp_path).code == 0
    train(tmp_path, "model.estimator.class=sklearn.dummy.DummyClassifier", "model.estimator.params={}")
    result = cli("gate", cwd=tmp_path)
    assert result.code == 1
    data = _result(tmp_path)
    comparisons = {c["metric"]: c for c in data["comparisons"]}
    assert comparisons["accuracy"]["baseline"] > 0.9 and comparisons["accuracy"]["candidate"] < 0.5
    assert comparisons["log_loss"]["greater_is_better"] is False and comparisons["log_loss"]["delta"] > 0
    failed = {r["metric"] for r in data["rules"] if r["verdict"] == "fail"}
    assert failed == {"accuracy", "f1_macro", "log_loss"}


def test_regression(cli, tmp_path: Path, train) -> None:
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).frame
    frame.iloc[::4].to_parquet(tmp_path / "test.parquet")
    frame.drop(frame.index[::4]).to_parquet(tmp_path / "train.parquet")
    (tmp_path / "modelci.yaml").write_text(
        "model: {name: diabetes, task: regression, estimator: {class: sklearn.linear_model.Ridge}}\n"
        "data: {train: train.parquet, test: test.parquet, target: target}\n"
        "gate:\n  metrics: [rmse, mae, r2, mape]\n  thresholds: {r2: '>= 0.2'}\n"
        "  max_relative_regression: {rmse: 0.05}\n  significance: 0.05\n")
    first = train(tmp_path)
    assert cli("registry", "alias", "champion", f"diabetes:{first}", cwd=tmp_path).code == 0
    same = cli("gate", "--candidate", str(first), cwd=tmp_path)
    assert same.code == 0, same.out
    assert "compared with itself" in same.summary
    train(tmp_path, "model.estimator.class=sklearn.dummy.DummyRegressor")
    worse = cli("gate", cwd=tmp_path)
    assert worse.code == 1
    rule = next(r for r in _result(tmp_path)["rules"] if r["rule"] == "max_relative_regression")
    assert rule["verdict"] == "fail" and rule["observed"] > 0.05 and "paired-bootstrap" in rule["reason"]
    rmse = next(c for c in _result(tmp_path)["comparisons"] if c["metric"] == "rmse")
    assert rmse["greater_is_better"] is False and rmse["test"]["ci"][0] > 0


# -- bad input: exit 2, one paragraph, no traceback ---------------------------------------------------------------

def _set_gate(**gate):
    return lambda cfg: cfg.__setitem__("gate", gate)


@pytest.mark.parametrize(("change", "expected"), [
    pytest.param(_set_gate(thresholds={"accuracyy": ">= 0.9"}), "valid: accuracy, balanced_accuracy",
                 id="unknown-metric-lists-valid-ones"),
    pytest.param(_set_gate(thresholds={"accuracy": "at least 0.9"}), "cannot parse condition",
                 id="threshold-does-not-parse"),
    pytest.param(_set_gate(max_regression={"rmse": 0.1}), "unknown classification metric 'rmse'",
                 id="metric-of-the-other-task"),
    pytest.param(_set_gate(metrics=["accuracy"]), "gate has no rules", id="gate-without-rules"),
    pytest.param(_set_gate(thresholds={"accuracy": ">= 0.5"}, slices=[{"column": "nowhere",
                                                                         "thresholds": {"recall": ">= 0.5"}}]),
                 "slice column 'nowhere' is not in test.csv", id="slice-column-missing"),
    pytest.param(_set_gate(thresholds={"accuracy": ">= 0.5"}, slices=[{"column": "mean_radius",
                                                                         "thresholds": {"recall": ">= 0.5"}}]),
                 "'mean_radius' has more than 100 distinct values", id="slice-column-not-categorical"),
])
def test_bad_config(cli, project: Path, train, change, expected: str) -> None:
    train(project)
    edit_config(project, change)
    result = cli("gate", cwd=project)
    assert result.code == 2, result.out
    assert expected in result.err
    assert "Traceback" not in result.err


def test_holdout_missing_the_target(cli, project: Path, train) -> None:
    train(project)
    test_csv = project / "data" / "test.csv"
    test_csv.write_text(test_csv.read_text().replace("malignant", "label", 1))
    result = cli("gate", cwd=project)
    assert result.code == 2
    assert "target column 'malignant' is not in test.csv" in result.err


def test_candidate_and_baseline_with_different_signatures(cli, project: Path, train) -> None:
    def declarative(cfg: dict) -> None:
        del cfg["model"]["entrypoint"]
        cfg["model"]["params"] = {}
        cfg["model"]["estimator"] = {"class": "sklearn.linear_model.LogisticRegression", "params": {}}
        cfg["data"]["features"] = ["mean_radius", "mean_texture", "mean_area"]
    edit_config(project, declarative)
    _champion(cli, project, train(project))
    train(project, "data.features=[mean_radius, mean_texture, worst_area]")
    result = cli("gate", cwd=project)
    assert result.code == 2
    assert "different input signatures" in result.err
    assert "only in the candidate: worst_area" in result.err and "only in the baseline: mean_area" in result.err


def test_removed_baseline_alias_is_an_error_not_a_first_run(cli, project: Path, train) -> None:
    _champion(cli, project, train(project))
    train(project)
    assert cli("registry", "alias", "champion", "--delete", "breast-cancer", cwd=project).code == 0
    result = cli("gate", cwd=project)
    assert result.code == 2
    assert "no longer exists" in result.err and "--baseline" in result.err


def test_first_run_with_other_versions_names_them(cli, project: Path, train) -> None:
    train(project)
    train(project)
    result = cli("gate", cwd=project)
    assert result.code == 0
    assert "Other versions exist (1)" in result.summary


@pytest.mark.parametrize(("argv", "expected"), [
    pytest.param(("--baseline", "@nosuch"), "has no alias 'nosuch'", id="explicit-baseline-missing"),
    pytest.param(("--candidate", "breast-cancer:9"), "breast-cancer:9 does not exist", id="candidate-missing"),
    pytest.param(("--candidate", "not a ref!"), "is not a model reference", id="candidate-unparsable"),
])
def test_bad_references(cli, project: Path, train, argv, expected: str) -> None:
    train(project)
    result = cli("gate", *argv, cwd=project)
    assert result.code == 2
    assert expected in result.err


def test_tampered_candidate_is_refused(cli, project: Path, train) -> None:
    train(project)
    registry = _registry(project)
    version = registry.resolve(parse_ref("breast-cancer:1"))
    blob = project / ".modelci/registry/blobs/sha256" / version.artifact_digest.split(":")[1]
    blob.write_bytes(blob.read_bytes() + b"x")
    result = cli("gate", cwd=project)
    assert result.code == 2
    assert "does not match its record" in result.err


def test_without_matplotlib_pngs_are_skipped_with_a_warning(project: Path, tmp_path: Path) -> None:
    """matplotlib is an optional extra: block its import in a child process and gate there."""
    import os
    import subprocess
    import sys

    blocker = tmp_path / "blocker" / "matplotlib"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('matplotlib is blocked by the test')\n")
    env = {**os.environ, "PYTHONPATH": str(blocker.parent)}
    for var in ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        env.pop(var, None)
    assert subprocess.run([sys.executable, "-m", "modelci", "train"], check=False, cwd=project, env=env,
                          capture_output=True).returncode == 0
    done = subprocess.run([sys.executable, "-m", "modelci", "gate"], check=False, cwd=project, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "PNG charts were skipped" in done.stderr and "modelci[report]" in done.stderr
    report = project / "modelci-report" / "gate"
    assert {p.name for p in report.iterdir()} == {"report.md", "result.json"}
