"""modelci.yaml: defaults, overrides, references and conditions."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelci.conditions import Condition, parse_condition
from modelci.config import load_config
from modelci.config.durations import parse_duration
from modelci.errors import ConfigError, UsageError
from modelci.refs import ModelRef, parse_ref

MINIMAL = """
model: {name: churn, estimator: {class: sklearn.linear_model.LogisticRegression}}
data: {train: data/train.csv, test: data/test.csv, target: churned}
"""


def test_minimal_config_gets_embedded_defaults(tmp_path: Path) -> None:
    (tmp_path / "modelci.yaml").write_text(MINIMAL)
    config = load_config(tmp_path / "modelci.yaml")
    assert config.model.task == "classification"
    assert config.registry == "file://.modelci/registry"
    assert config.data.train == tmp_path / "data" / "train.csv"
    assert config.gate.baseline == "champion" and config.gate.metrics == ("accuracy", "f1", "roc_auc")
    assert not config.gate.has_rules
    assert list(config.environments) == ["local"] and config.environments["local"].target == "local"
    assert config.verify.duration_s == 300 and config.verify.interval_s == 30


def test_the_example_config_is_valid(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    config = load_config(root / "examples" / "breast-cancer" / "modelci.yaml")
    assert config.gate.thresholds["accuracy"] == Condition(">=", 0.90)
    assert config.gate.slices[0].column == "site"
    assert config.verify.slo["error_rate"] == Condition("<", 0.01)


def test_overrides_parse_values_as_yaml(tmp_path: Path) -> None:
    (tmp_path / "modelci.yaml").write_text(MINIMAL)
    config = load_config(tmp_path / "modelci.yaml", [
        "model.estimator.params.C=0.5", "model.estimator.params.penalty=l1", "gate.significance=0.01",
        "environments.prod.target=kubernetes", "environments.prod.replicas=3",
    ])
    assert config.model.estimator is not None
    assert config.model.estimator.params == {"C": 0.5, "penalty": "l1"}
    assert config.gate.significance == 0.01
    assert config.environments["prod"].replicas == 3


def test_override_with_wrong_type_names_the_override(tmp_path: Path) -> None:
    (tmp_path / "modelci.yaml").write_text(MINIMAL)
    with pytest.raises(ConfigError, match=r"^--set environments.prod.replicas: environments.prod.replicas: "
                                          r"expected a whole number"):
        load_config(tmp_path / "modelci.yaml", ["environments.prod.target=local", "environments.prod.replicas=many"])


def test_error_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "modelci.yaml").write_text(MINIMAL + "verify:\n  duration: 5m\n  failure_limit: 0\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "modelci.yaml")
    assert str(info.value) == (f"{tmp_path / 'modelci.yaml'}:6: verify.failure_limit: must be at least 1, got 0")


@pytest.mark.parametrize(("text", "expected"), [
    ("churn:3", ModelRef("churn", 3)),
    ("churn@champion", ModelRef("churn", alias="champion")),
    ("models:/churn/3", ModelRef("churn", 3)),
    ("models:/churn@champion", ModelRef("churn", alias="champion")),
    ("models:/churn/latest", ModelRef("churn")),
    ("churn", ModelRef("churn")),
    ("3", ModelRef("default", 3)),
    ("@staging", ModelRef("default", alias="staging")),
], ids=str)
def test_reference_forms(text: str, expected: ModelRef) -> None:
    assert parse_ref(text, default_name="default") == expected


def test_bare_version_needs_a_model_name() -> None:
    with pytest.raises(UsageError, match="does not name a model"):
        parse_ref("3")


@pytest.mark.parametrize(("text", "condition"), [
    (">= 0.85", Condition(">=", 0.85)), ("<0.3", Condition("<", 0.3)), ("< 1%", Condition("<", 0.01)),
    ("== 1", Condition("==", 1.0)), (0.9, Condition(">=", 0.9)), ("<= 1e-3", Condition("<=", 0.001)),
], ids=str)
def test_conditions(text: object, condition: Condition) -> None:
    assert parse_condition(text) == condition


@pytest.mark.parametrize(("text", "seconds"), [("5m", 300), ("30s", 30), ("1h30m", 5400), ("250ms", 0.25), (12, 12)],
                         ids=str)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds
