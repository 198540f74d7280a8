"""Model signatures: input columns with dtypes, and the output."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


def dtype_name(dtype: Any) -> str:
    import pandas as pd

    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "long"
    if pd.api.types.is_float_dtype(dtype):
        return "double"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "string"


def infer_signature(X: pd.DataFrame, task: str, classes: Sequence[Any] | None) -> dict[str, Any]:
    inputs = [{"name": str(c), "dtype": dtype_name(X[c].dtype)} for c in X.columns]
    if task == "classification":
        output: dict[str, Any] = {"type": "class", "classes": [_plain(c) for c in classes or []]}
    else:
        output = {"type": "double"}
    return {"inputs": inputs, "output": output}


def input_example(X: pd.DataFrame, predictions: Sequence[Any], rows: int = 5) -> dict[str, Any]:
    head = X.head(rows)
    return {
        "columns": [str(c) for c in head.columns],
        "data": [[_plain(v) for v in row] for row in head.itertuples(index=False)],
        "predictions": [_plain(p) for p in list(predictions)[:rows]],
    }


def _plain(value: Any) -> Any:
    """A JSON-ready Python scalar from numpy/pandas scalars."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def columns_mismatch(a: dict[str, Any], b: dict[str, Any]) -> str | None:
    """Describe how two signatures' inputs differ, or None when they match."""
    left = {c["name"]: c["dtype"] for c in a.get("inputs", [])}
    right = {c["name"]: c["dtype"] for c in b.get("inputs", [])}
    problems = []
    if only := sorted(set(left) - set(right)):
        problems.append(f"only in the first: {', '.join(only)}")
    if only := sorted(set(right) - set(left)):
        problems.append(f"only in the second: {', '.join(only)}")
    typed = [f"{k} ({left[k]} vs {right[k]})" for k in sorted(set(left) & set(right)) if left[k] != right[k]]
    if typed:
        problems.append(f"different types: {', '.join(typed)}")
    return "; ".join(problems) or None
