"""Bad input gets 4xx JSON {"error_code", "message"}: never a 500, never a crash."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from serve_support import Server, Trained

INV = "/invocations"
INFER = "/v2/models/breast-cancer/infer"


@dataclass(frozen=True)
class Case:
    path: str
    body: Callable[[Trained], Any]
    status: int
    error_code: str
    content_type: str | None = "application/json"
    method: str = "POST"


def split(t: Trained, columns=None, rows=None) -> dict:
    return {"dataframe_split": {"columns": t.columns if columns is None else columns,
                                "data": t.rows[:2] if rows is None else rows}}


def with_value(t: Trained, column: str, value: Any) -> dict:
    row = list(t.rows[0])
    row[t.columns.index(column)] = value
    return split(t, rows=[row])


def tensors(t: Trained, change: Callable[[list[dict]], None] | None = None) -> dict:
    out = [{"name": c, "shape": [1], "datatype": "BYTES" if c == "site" else "FP64", "data": [t.rows[0][i]]}
           for i, c in enumerate(t.columns)]
    if change:
        change(out)
    return {"inputs": out}


CASES = {
    "not JSON": Case(INV, lambda t: b"{nope", 400, "MALFORMED_REQUEST"),
    "JSON array body": Case(INV, lambda t: [1, 2], 400, "MALFORMED_REQUEST"),
    "no format key": Case(INV, lambda t: {"data": t.rows}, 400, "MALFORMED_REQUEST"),
    "two format keys": Case(INV, lambda t: {**split(t), "instances": t.rows}, 400, "MALFORMED_REQUEST"),
    "split without data": Case(INV, lambda t: {"dataframe_split": {"columns": t.columns}}, 400, "MALFORMED_REQUEST"),
    "records not a list": Case(INV, lambda t: {"dataframe_records": {"a": 1}}, 400, "MALFORMED_REQUEST"),
    "missing column": Case(INV, lambda t: split(t, t.columns[1:], [r[1:] for r in t.rows[:2]]), 422,
                           "MISSING_COLUMN"),
    "extra column": Case(INV, lambda t: split(t, [*t.columns, "bogus"], [[*r, 1.0] for r in t.rows[:2]]), 422,
                         "UNEXPECTED_COLUMN"),
    "duplicate column": Case(INV, lambda t: split(t, [*t.columns, "site"], [[*r, "x"] for r in t.rows[:2]]), 422,
                             "DUPLICATE_COLUMN"),
    "string in a double column": Case(INV, lambda t: with_value(t, "mean_radius", "big"), 422, "WRONG_DTYPE"),
    "bool in a double column": Case(INV, lambda t: with_value(t, "mean_radius", True), 422, "WRONG_DTYPE"),
    "number in a string column": Case(INV, lambda t: with_value(t, "site", 3), 422, "WRONG_DTYPE"),
    "null in a double column": Case(INV, lambda t: with_value(t, "mean_radius", None), 422, "MISSING_VALUE"),
    "NaN literal": Case(INV, lambda t: b'{"dataframe_split": {"columns": ["mean_radius"], "data": [[NaN]]}}',
                        400, "MALFORMED_REQUEST"),
    "number beyond double range": Case(INV, lambda t: with_value(t, "mean_radius", 10**400), 400,
                                       "MALFORMED_REQUEST"),
    "short row": Case(INV, lambda t: split(t, rows=[t.rows[0][:-1]]), 422, "WRONG_SHAPE"),
    "row is a scalar": Case(INV, lambda t: split(t, rows=[1]), 422, "WRONG_SHAPE"),
    "ragged column lists": Case(INV, lambda t: {"inputs": {c: [1.0] * (1 + (i == 3)) for i, c in
                                                           enumerate(t.columns)}}, 422, "WRONG_SHAPE"),
    "list of scalars": Case(INV, lambda t: {"instances": [1.0, 2.0]}, 422, "WRONG_SHAPE"),
    "record missing a key": Case(INV, lambda t: {"dataframe_records": [dict(zip(t.columns[1:], t.rows[0][1:],
                                                                               strict=True))]},
                                 422, "MISSING_COLUMN"),
    "params not supported": Case(INV, lambda t: {**split(t), "params": {"k": 1}}, 400, "MALFORMED_REQUEST"),
    "CSV with a bad number": Case(INV, lambda t: ",".join(t.columns) + "\n" + ",".join(
        ["north", "abc", *["1.0"] * (len(t.columns) - 2)]) + "\n", 422, "WRONG_DTYPE", "text/csv"),
    "CSV with an empty cell": Case(INV, lambda t: ",".join(t.columns) + "\n" + ",".join(
        ["north", "", *["1.0"] * (len(t.columns) - 2)]) + "\n", 422, "MISSING_VALUE", "text/csv"),
    "CSV empty": Case(INV, lambda t: "", 400, "MALFORMED_REQUEST", "text/csv"),
    "XML content type": Case(INV, lambda t: "<a/>", 415, "UNSUPPORTED_MEDIA_TYPE", "application/xml"),
    "form content type": Case(INV, lambda t: "a=1", 415, "UNSUPPORTED_MEDIA_TYPE",
                              "application/x-www-form-urlencoded"),
    "gzip encoding": Case(INV, split, 415, "UNSUPPORTED_MEDIA_TYPE"),
    "GET on invocations": Case(INV, lambda t: None, 405, "METHOD_NOT_ALLOWED", None, "GET"),
    "unknown route": Case("/predict", split, 404, "NOT_FOUND"),
    "v2 unknown model": Case("/v2/models/other/infer", tensors, 404, "MODEL_NOT_FOUND"),
    "v2 unknown version": Case("/v2/models/breast-cancer/versions/99/infer", tensors, 404,
                               "MODEL_NOT_FOUND"),
    "v2 no inputs": Case(INFER, lambda t: {"inputs": []}, 400, "MALFORMED_REQUEST"),
    "v2 missing column": Case(INFER, lambda t: tensors(t, lambda ts: ts.pop(0)), 422, "MISSING_COLUMN"),
    "v2 wrong datatype": Case(INFER, lambda t: tensors(t, lambda ts: ts[1].update(datatype="BYTES")), 422,
                              "WRONG_DTYPE"),
    "v2 shape vs data": Case(INFER, lambda t: tensors(t, lambda ts: ts[1].update(shape=[2])), 422, "WRONG_SHAPE"),
    "v2 3-d column": Case(INFER, lambda t: tensors(t, lambda ts: ts[1].update(shape=[1, 1, 1])), 422,
                          "WRONG_SHAPE"),
    "v2 2-d tensor too narrow": Case(INFER, lambda t: {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64",
                                                                   "data": [1, 2, 3]}]}, 422, "WRONG_SHAPE"),
    "v2 2-d FP64 with a string column": Case(INFER, lambda t: {"inputs": [{
        "name": "x", "shape": [1, len(t.columns)], "datatype": "FP64", "data": [0.0] * len(t.columns)}]}, 422,
        "WRONG_DTYPE"),
    "v2 bad header length": Case(INFER, tensors, 400, "MALFORMED_REQUEST"),
    "v2 CSV content type": Case(INFER, lambda t: "a,b", 415, "UNSUPPORTED_MEDIA_TYPE", "text/csv"),
}
EXTRA_HEADERS = {"gzip encoding": {"Content-Encoding": "gzip"},
                 "v2 bad header length": {"Inference-Header-Content-Length": "999999"}}


@pytest.mark.parametrize("name", CASES.keys())
def test_bad_input_is_answered_with_an_error_code(server: Server, trained: Trained, name: str) -> None:
    import requests

    case = CASES[name]
    body = case.body(trained)
    if case.method == "GET":
        response = server.get(case.path)
    else:
        response = server.post(case.path, body, content_type=case.content_type, headers=EXTRA_HEADERS.get(name, {}))
    assert response.status_code == case.status, response.text
    payload = response.json()
    assert payload["error_code"] == case.error_code
    assert isinstance(payload["message"], str) and payload["message"]
    # and the server is still fine afterwards
    assert requests.get(server.url + "/healthz", timeout=5).status_code == 200


def test_body_over_the_limit_is_413(trained: Trained, tmp_path) -> None:
    from serve_support import start_server

    srv = start_server(str(trained.bundle), tmp_path, "--max-body-mb", "0.001")
    try:
        big = split(trained, rows=trained.rows * 20)
        response = srv.post(INV, big)
        assert response.status_code == 413
        assert response.json()["error_code"] == "PAYLOAD_TOO_LARGE"
        chunked = srv.post(INV, iter([b'{"dataframe_split": ', b" " * 4000, b"}"]))  # no Content-Length
        assert chunked.status_code == 413
        small = srv.post(INV, split(trained, rows=trained.rows[:1]))
        assert small.status_code == 200
    finally:
        assert srv.stopped_cleanly(), srv.output()
