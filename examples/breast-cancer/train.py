"""The example's training function: modelci calls build(train_frame, params)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

TARGET = "malignant"


def build(train: pd.DataFrame, params: dict[str, Any]) -> Pipeline:
    X = train.drop(columns=[TARGET])
    y = train[TARGET]
    categorical = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    numeric = [c for c in X.columns if c not in categorical]
    model = Pipeline([
        ("features", ColumnTransformer([
            ("numeric", StandardScaler(), numeric),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
        ])),
        ("classifier", _classifier(params)),
    ])
    return model.fit(X, y)


def _classifier(params: dict[str, Any]) -> LogisticRegression | RandomForestClassifier:
    if params.get("classifier", "logistic") == "forest":
        # Accurate, but every prediction walks every tree: with thousands of trees a
        # single row takes tens of milliseconds (the demo's slow model).
        return RandomForestClassifier(n_estimators=int(params.get("n_estimators", 100)), random_state=0, n_jobs=1)
    return LogisticRegression(C=float(params.get("C", 1.0)), max_iter=int(params.get("max_iter", 1000)))
