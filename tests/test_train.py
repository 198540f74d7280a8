"""modelci train: registers a version with metrics and lineage, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from modelci_testing import edit_config


def test_train_registers_first_version_with_outputs_and_summary(cli, project: Path) -> None:
    result = cli("train", cwd=project)
    assert result.code == 0, result.err
    assert result.outputs["model-name"] == "breast-cancer"
    assert result.outputs["model-version"] == "1"
    assert result.outputs["model-uri"] == "models:/breast-cancer/1"
    metrics = json.loads(result.outputs["metrics"])
    assert metrics["accuracy"] > 0.9
    assert "| accuracy |" in result.summary
    assert "registered breast-cancer:1" in result.out


def test_second_train_gets_the_next_version(cli, project: Path) -> None:
    assert cli("train", cwd=project).code == 0
    second = cli("train", "--set", "model.params.C=0.1", cwd=project)
    assert second.code == 0
    assert second.outputs["model-version"] == "2"
    shown = cli("registry", "show", "breast-cancer:2", "--json", cwd=project)
    record = json.loads(shown.out)
    assert record["params"]["C"] == 0.1


def test_lineage_is_recorded(cli, project: Path, monkeypatch) -> None:
    monkeypatch.setenv("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/churn")
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    monkeypatch.setenv("GITHUB_REF", "refs/heads/main")
    assert cli("train", cwd=project).code == 0
    monkeypatch.setenv("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
    record = json.loads(cli("registry", "show", "breast-cancer:1", "--json", cwd=project).out)
    assert record["git"]["sha"] == "0123456789abcdef0123456789abcdef01234567"
    assert record["git"]["repository"] == "acme/churn"
    assert record["git"]["run_url"] == "https://github.com/acme/churn/actions/runs/42"
    assert record["data"]["train"]["sha256"].startswith("sha256:")
    assert record["data"]["train"]["rows"] == 398
    assert record["params"] == {"C": 1.0, "max_iter": 1000}
    assert {"python", "scikit-learn", "numpy", "modelci"} <= set(record["packages"])
    inputs = [c["name"] for c in record["signature"]["inputs"]]
    assert inputs[0] == "site" and "malignant" not in inputs and len(inputs) == 31
    assert record["signature"]["output"]["classes"] == [0, 1]
    example = record["input_example"]
    assert example["columns"] == inputs and len(example["data"]) == 5 and len(example["predictions"]) == 5
    assert record["artifact_digest"].startswith("sha256:") and record["artifact_size"] > 0
    assert record["created_by"]


def test_declarative_estimator(cli, project: Path) -> None:
    def declarative(cfg: dict) -> None:
        del cfg["model"]["entrypoint"]
        del cfg["model"]["params"]
        cfg["model"]["estimator"] = {"class": "sklearn.ensemble.RandomForestClassifier",
                                     "params": {"n_estimators": 20, "random_state": 0}}
        cfg["data"]["features"] = ["mean_radius", "mean_texture", "worst_area", "worst_concave_points"]
    edit_config(project, declarative)
    result = cli("train", cwd=project)
    assert result.code == 0, result.err
    record = json.loads(cli("registry", "show", "1", "--json", cwd=project).out)
    assert record["extra"]["estimator"] == "sklearn.ensemble._forest.RandomForestClassifier"
    assert [c["name"] for c in record["signature"]["inputs"]] == [
        "mean_radius", "mean_texture", "worst_area", "worst_concave_points"]
    assert record["params"] == {"n_estimators": 20, "random_state": 0}


def test_multiclass(cli, tmp_path: Path) -> None:
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame
    frame["target"] = frame["target"].map({0: "setosa", 1: "versicolor", 2: "virginica"})
    frame.iloc[::3].to_csv(tmp_path / "test.csv", index=False)
    frame.drop(frame.index[::3]).to_csv(tmp_path / "train.csv", index=False)
    (tmp_path / "modelci.yaml").write_text(
        "model: {name: iris, estimator: {class: sklearn.linear_model.LogisticRegression, "
        "params: {max_iter: 500}}}\n"
        "data: {train: train.csv, test: test.csv, target: target}\n"
        "gate: {metrics: [accuracy, f1_macro, roc_auc, log_loss]}\n")
    result = cli("train", cwd=tmp_path)
    assert result.code == 0, result.err
    metrics = json.loads(result.outputs["metrics"])
    assert metrics["accuracy"] > 0.9 and metrics["roc_auc"] > 0.9 and 0 < metrics["log_loss"] < 1
    assert {"f1", "f1_macro"} <= set(metrics)
    record = json.loads(cli("registry", "show", "iris:1", "--json", cwd=tmp_path).out)
    assert record["signature"]["output"]["classes"] == ["setosa", "versicolor", "virginica"]


def test_regression_from_parquet(cli, tmp_path: Path) -> None:
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).frame
    frame.iloc[::4].to_parquet(tmp_path / "test.parquet")
    frame.drop(frame.index[::4]).to_parquet(tmp_path / "train.parquet")
    (tmp_path / "modelci.yaml").write_text(
        "model: {name: diabetes, task: regression, estimator: {class: sklearn.linear_model.Ridge}}\n"
        "data: {train: train.parquet, test: test.parquet, target: target}\n")
    result = cli("train", cwd=tmp_path)
    assert result.code == 0, result.err
    metrics = json.loads(result.outputs["metrics"])
    assert set(metrics) == {"rmse", "mae", "r2"}
    assert 0.3 < metrics["r2"] < 0.7 and metrics["rmse"] > metrics["mae"] > 0
    record = json.loads(cli("registry", "show", "diabetes:1", "--json", cwd=tmp_path).out)
    assert record["signature"]["output"] == {"type": "double"}
    assert record["extra"]["prediction_profile"]["kind"] == "numeric"


def test_outside_actions_nothing_is_written_to_github_files(cli, project: Path) -> None:
    result = cli("train", cwd=project, actions=False)
    assert result.code == 0
    assert result.outputs == {} and result.summary == ""
