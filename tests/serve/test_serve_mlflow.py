"""POST /invocations speaks MLflow's scoring protocol, with bodies shaped as MLflow's docs show them."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from serve_support import Server, Trained


def frame(trained: Trained) -> pd.DataFrame:
    return pd.DataFrame(trained.rows, columns=trained.columns)


BODIES = {
    # pandas' own serializers, as MLflow's docs recommend for building requests
    "dataframe_split from pandas (with index)": lambda t: (
        '{"dataframe_split": ' + frame(t).to_json(orient="split") + "}"),
    "dataframe_records from pandas": lambda t: '{"dataframe_records": ' + frame(t).to_json(orient="records") + "}",
    "dataframe_split columns+data": lambda t: {"dataframe_split": {"columns": t.columns, "data": t.rows}},
    "instances as row objects": lambda t: {"instances": [dict(zip(t.columns, r, strict=True)) for r in t.rows]},
    "inputs as column lists": lambda t: {"inputs": {c: [r[i] for r in t.rows] for i, c in enumerate(t.columns)}},
    "inputs as rows in signature order": lambda t: {"inputs": t.rows},
    "instances as rows in signature order": lambda t: {"instances": t.rows},
}


@pytest.mark.parametrize("make", BODIES.values(), ids=BODIES.keys())
def test_json_formats_predict_the_recorded_example(server: Server, trained: Trained, make) -> None:
    response = server.post("/invocations", make(trained))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"predictions": trained.expected}


def test_csv_from_pandas(server: Server, trained: Trained) -> None:
    buffer = io.StringIO()
    frame(trained).to_csv(buffer, index=False)
    response = server.post("/invocations", buffer.getvalue(), content_type="text/csv")
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": trained.expected}


def test_content_type_parameters_are_accepted(server: Server, trained: Trained) -> None:
    body = {"dataframe_split": {"columns": trained.columns, "data": trained.rows[:1]}}
    response = server.post("/invocations", body, content_type="application/json; charset=utf-8")
    assert response.json() == {"predictions": trained.expected[:1]}


def test_column_order_does_not_matter(server: Server, trained: Trained) -> None:
    columns = list(reversed(trained.columns))
    rows = [list(reversed(r)) for r in trained.rows]
    response = server.post("/invocations", {"dataframe_split": {"columns": columns, "data": rows}})
    assert response.json() == {"predictions": trained.expected}


def test_empty_input_gives_empty_predictions(server: Server, trained: Trained) -> None:
    response = server.post("/invocations", {"dataframe_split": {"columns": trained.columns, "data": []}})
    assert response.status_code == 200
    assert response.json() == {"predictions": []}


def test_integers_are_accepted_for_double_columns(server: Server, trained: Trained) -> None:
    row = [v if isinstance(v, str) else round(v) for v in trained.rows[0]]
    response = server.post("/invocations", {"dataframe_split": {"columns": trained.columns, "data": [row]}})
    assert response.status_code == 200, response.text
