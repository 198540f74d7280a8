"""Turn the raw mapping of modelci.yaml into a validated :class:`Config`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..conditions import parse_condition
from ..registry import DEFAULT_REGISTRY
from ..scoring import DEFAULT_METRICS, METRICS, metric_names
from .durations import parse_duration
from .model import (
    BudgetSpec,
    Config,
    DataSpec,
    EnvironmentSpec,
    EstimatorSpec,
    GateSpec,
    ImageSpec,
    ModelSpec,
    SliceSpec,
    SmokeCase,
    VerifySpec,
)
from .reader import Section, Source

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
ENV_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
TASKS = ("classification", "regression")
STRATEGIES = ("rolling", "canary", "blue-green")
TARGETS = ("kubernetes", "local")
SLO_KEYS = ("error_rate", "latency_p95_ms", "latency_p99_ms")
DRIFT_KEYS = ("psi",)


def build_config(data: Any, source: Source, base_dir: Path) -> Config:
    top = Section(source, (), data)
    version = top.number("version", 1, integer=True)
    if version != 1:
        raise top.error("version", f"this modelci understands version 1, got {version}")
    model = _model(top.section("model"))
    data_spec = _data(top.section("data"), base_dir)
    registry = top.string("registry", DEFAULT_REGISTRY)
    _check_registry_uri(top, registry)
    gate = _gate(top.section("gate"), model.task)
    image = _image(top.section("image"))
    environments = _environments(top, base_dir)
    verify = _verify(top.section("verify"))
    top.finish()
    return Config(
        model=model, data=data_spec, registry=registry, gate=gate, image=image,
        environments=environments, verify=verify, source=source.label, base_dir=base_dir,
        version=version,
    )


def _model(sec: Section) -> ModelSpec:
    name = sec.string("name")
    if not NAME_RE.match(name):
        raise sec.error("name", f"{name!r} is not a valid model name; use 1-63 lowercase letters, "
                                "digits and dashes, starting with a letter or digit (e.g. churn)")
    task = sec.string("task", "classification", choices=TASKS)
    has_est, has_entry = sec.has("estimator"), sec.has("entrypoint")
    estimator = None
    entrypoint = None
    if has_est and has_entry:
        raise sec.error(None, "give either estimator (declarative) or entrypoint (a function), not both")
    if has_entry:
        entrypoint = sec.string("entrypoint")
        if ":" not in entrypoint:
            raise sec.error("entrypoint", f"{entrypoint!r} must be FILE.py:FUNCTION, e.g. train.py:build")
    elif has_est:
        est = sec.section("estimator")
        class_path = est.string("class")
        if "." not in class_path:
            raise est.error("class", f"{class_path!r} must be a full import path, "
                                     "e.g. sklearn.ensemble.RandomForestClassifier")
        params = dict(est.mapping("params"))
        est.finish()
        estimator = EstimatorSpec(class_path, params)
    else:
        sec.section("estimator")
        sec.raw("entrypoint")
        raise sec.error(None, "needs estimator: {class: ..., params: {...}} or entrypoint: FILE.py:FUNCTION")
    params = dict(sec.mapping("params"))
    sec.finish()
    return ModelSpec(name=name, task=task, estimator=estimator, entrypoint=entrypoint, params=params)


def _data(sec: Section, base_dir: Path) -> DataSpec:
    train = base_dir / sec.string("train")
    test = base_dir / sec.string("test")
    target = sec.string("target")
    features = sec.string_list("features", ())
    if target in features:
        raise sec.error("features", f"the target {target!r} cannot also be a feature")
    sec.finish()
    return DataSpec(train=train, test=test, target=target, features=features)


def _check_registry_uri(sec: Section, uri: str) -> None:
    if not uri.startswith(("file://", "oci://", "oci+http://")):
        raise sec.error("registry", f"{uri!r} is not a registry URI; use file://PATH "
                                    "(e.g. file://.modelci/registry) or oci://HOST/NAMESPACE")


def _metric(task: str, name: str) -> str:
    if name not in METRICS or METRICS[name].task != task:
        raise ValueError(f"unknown {task} metric {name!r}; valid: {', '.join(metric_names(task))}")
    return name


def _fraction(_: str, raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or raw < 0:
        raise ValueError(f"expected a non-negative number (the allowed drop), got {raw!r}")
    return float(raw)


def _gate(sec: Section, task: str) -> GateSpec:
    baseline = sec.raw("baseline", "champion")
    if baseline in ("none", "") or baseline is False:
        baseline = None
    elif not isinstance(baseline, str):
        raise sec.error("baseline", f"expected an alias name such as champion, or none; got {baseline!r}")
    metrics = sec.string_list("metrics", DEFAULT_METRICS[task])
    for i, name in enumerate(metrics):
        try:
            _metric(task, name)
        except ValueError as exc:
            raise sec.source.error((*sec.path, "metrics", i), str(exc)) from None

    def threshold(name: str, raw: Any) -> Any:
        _metric(task, name)
        return parse_condition(raw)

    thresholds = sec.entries("thresholds", threshold)
    max_reg = sec.entries("max_regression", lambda n, r: (_metric(task, n), _fraction(n, r))[1])
    max_rel = sec.entries("max_relative_regression", lambda n, r: (_metric(task, n), _fraction(n, r))[1])
    significance = sec.number("significance", None, minimum=0.0, maximum=1.0)
    slices = []
    for i, raw in enumerate(sec.raw("slices", []) or []):
        sl = Section(sec.source, (*sec.path, "slices", i), raw)
        column = sl.string("column")
        slices.append(SliceSpec(column, sl.entries("thresholds", threshold)))
        sl.finish()
    bud = sec.section("budgets")
    budgets = BudgetSpec(
        latency_p95_ms=bud.number("latency_p95_ms", None, minimum=0.0),
        size_mb=bud.number("size_mb", None, minimum=0.0),
    )
    bud.finish()
    sec.finish()
    used = set(thresholds) | set(max_reg) | set(max_rel)
    return GateSpec(
        baseline=baseline, metrics=tuple(dict.fromkeys([*metrics, *sorted(used)])),
        thresholds=thresholds, max_regression=max_reg, max_relative_regression=max_rel,
        significance=None if significance is None else float(significance),
        slices=tuple(slices), budgets=budgets,
    )


def _image(sec: Section) -> ImageSpec:
    repository = sec.string("repository", None)
    base = sec.string("base", "python:3.11-slim")
    sec.finish()
    return ImageSpec(repository=repository, base=base)


def _environments(top: Section, base_dir: Path) -> dict[str, EnvironmentSpec]:
    raw = top.mapping("environments")
    if not raw:
        return {"local": EnvironmentSpec(name="local", target="local")}
    out: dict[str, EnvironmentSpec] = {}
    for name in raw:
        sec = Section(top.source, ("environments", str(name)), raw[name])
        if not ENV_NAME_RE.match(str(name)):
            raise sec.error(None, f"{name!r} is not a valid environment name (lowercase letters, "
                                  "digits and dashes)")
        target = sec.string("target", choices=TARGETS)
        canary = sec.section("canary")
        canary_replicas = canary.number("replicas", 1, minimum=1, integer=True)
        canary.finish()
        manifest = sec.string("manifest", None)
        timeout = sec.raw("timeout", "10m")
        try:
            timeout_s = parse_duration(timeout)
        except ValueError as exc:
            raise sec.error("timeout", str(exc)) from None
        env = EnvironmentSpec(
            name=str(name), target=target,
            namespace=sec.string("namespace", "default"),
            replicas=sec.number("replicas", 1, minimum=0, integer=True),
            strategy=sec.string("strategy", "rolling", choices=STRATEGIES),
            canary_replicas=canary_replicas,
            port=sec.number("port", 8080, minimum=1, maximum=65535, integer=True),
            host=sec.string("host", "127.0.0.1"),
            manifest=base_dir / manifest if manifest else None,
            timeout_s=timeout_s,
            url=sec.string("url", None),
            traffic_rps=float(sec.number("traffic", 0.0, minimum=0.0, maximum=1000.0)),
        )
        sec.finish()
        out[str(name)] = env
    return out


def _verify(sec: Section) -> VerifySpec:
    smoke_raw = sec.raw("smoke", "input_example")
    smoke: str | tuple[SmokeCase, ...]
    if smoke_raw == "input_example":
        smoke = "input_example"
    elif isinstance(smoke_raw, list):
        cases = []
        for i, item in enumerate(smoke_raw):
            case = Section(sec.source, (*sec.path, "smoke", i), item)
            cases.append(SmokeCase(request=case.raw("request"), expect=case.raw("expect")))
            if cases[-1].request is None:
                raise case.error("request", "is required but missing")
            case.finish()
        smoke = tuple(cases)
    else:
        raise sec.error("smoke", "expected input_example or a list of {request: ..., expect: ...}")

    def duration(key: str, default: str) -> float:
        try:
            return parse_duration(sec.raw(key, default))
        except ValueError as exc:
            raise sec.error(key, str(exc)) from None

    duration_s = duration("duration", "5m")
    interval_s = duration("interval", "30s")
    if interval_s <= 0:
        raise sec.error("interval", "must be longer than zero")

    def keyed(allowed: tuple[str, ...]) -> Any:
        def parse(name: str, raw: Any) -> Any:
            if name not in allowed:
                raise ValueError(f"unknown check {name!r}; valid: {', '.join(allowed)}")
            return parse_condition(raw)
        return parse

    spec = VerifySpec(
        smoke=smoke, duration_s=duration_s, interval_s=interval_s,
        failure_limit=sec.number("failure_limit", 1, minimum=1, integer=True),
        slo=sec.entries("slo", keyed(SLO_KEYS)),
        drift=sec.entries("drift", keyed(DRIFT_KEYS)),
        prometheus=_prometheus(sec),
    )
    sec.finish()
    return spec


def _prometheus(sec: Section) -> str:
    value = sec.raw("prometheus", "") or ""
    if not isinstance(value, str) or (value and not value.startswith(("http://", "https://"))):
        raise sec.error("prometheus", f"expected the URL of a Prometheus server "
                                      f"(e.g. http://prometheus:9090) or empty, got {value!r}")
    return value
