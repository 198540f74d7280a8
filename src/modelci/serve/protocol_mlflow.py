"""MLflow's scoring protocol for ``POST /invocations``.

JSON bodies carry exactly one of ``dataframe_split`` (columns + row-major data),
``dataframe_records`` (a list of row objects), ``instances`` or ``inputs`` (row
objects, a column -> values object, or row-major lists in signature order).
``text/csv`` bodies carry a header row of column names. The answer is
``{"predictions": [...]}``.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from .errors import ApiError, malformed, schema_error
from .jsonio import loads
from .validate import Frame, Schema

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")


def parse_invocation(body: bytes, content_type: str, schema: Schema) -> Frame:
    """The validated rows of an /invocations body; ``content_type`` is lower-cased, without parameters."""
    if content_type in ("application/json", "") or content_type.endswith("+json"):
        return parse_json(body, schema)
    if content_type in ("text/csv", "application/csv"):
        return parse_csv(body, schema)
    raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE",
                   f"content type {content_type!r} is not supported on /invocations; send application/json "
                   f"(with one of {', '.join(FORMATS)}) or text/csv with a header row.")


def parse_json(body: bytes, schema: Schema) -> Frame:
    try:
        payload = loads(body)
    except ValueError as exc:
        raise malformed(f"the body is not valid JSON ({exc}).") from None
    if not isinstance(payload, dict):
        raise malformed(f"the JSON body must be an object with one of {', '.join(FORMATS)}; "
                        f"got a {type(payload).__name__}.")
    keys = [k for k in FORMATS if k in payload]
    unknown = [k for k in payload if k not in FORMATS and k != "params"]
    if len(keys) != 1 or unknown:
        found = ", ".join(map(str, payload)) or "nothing"
        raise malformed(f"the JSON body must have exactly one of {', '.join(FORMATS)} (found: {found}). "
                        'Example: {"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2.5]]}}')
    if payload.get("params"):
        raise malformed("this model takes no params; remove the 'params' key.")
    key = keys[0]
    value = payload[key]
    if key == "dataframe_split":
        return _split(value, schema)
    if key == "dataframe_records":
        if not isinstance(value, list):
            raise malformed("dataframe_records must be a list of row objects, e.g. [{\"a\": 1, \"b\": 2.5}].")
        return schema.from_records(value)
    return _instances(key, value, schema)


def _split(value: Any, schema: Schema) -> Frame:
    if not isinstance(value, dict) or not isinstance(value.get("data"), list):
        raise malformed('dataframe_split must be an object with "columns" and "data" (a list of rows), e.g. '
                        '{"columns": ["a", "b"], "data": [[1, 2.5]]}.')
    columns = value.get("columns")
    if columns is not None and not (isinstance(columns, list) and all(isinstance(c, str) for c in columns)):
        raise malformed("dataframe_split.columns must be a list of column names (strings).")
    return schema.from_rows(columns, value["data"])


def _instances(key: str, value: Any, schema: Schema) -> Frame:
    if isinstance(value, dict):
        return schema.from_columns(value)
    if not isinstance(value, list):
        raise malformed(f"{key} must be a list of rows or an object of column: values.")
    if not value:
        return schema.from_rows(None, [])
    first = value[0]
    if isinstance(first, dict):
        return schema.from_records(value)
    if isinstance(first, list):
        return schema.from_rows(None, value)
    if len(schema.columns) == 1:
        return schema.from_rows(None, [[v] for v in value])
    raise schema_error("WRONG_SHAPE", f"{key} is a list of scalars, but the model takes "
                       f"{len(schema.columns)} columns; send rows (lists in signature order) or row objects.")


def parse_csv(body: bytes, schema: Schema) -> Frame:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise malformed("the CSV body is not UTF-8 text.") from None
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise malformed(f"the body is not valid CSV ({exc}).") from None
    rows = [r for r in rows if r]
    if not rows:
        raise malformed("the CSV body is empty; send a header row of column names, then one line per row.")
    header, data = rows[0], rows[1:]
    return schema.from_rows(header, data, text=True)
