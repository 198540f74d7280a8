"""Check request data against the registered signature and turn it into model input.

Every protocol parser ends here: it hands over columns (or rows, or records) and
gets back a ``Frame`` whose columns are in signature order and whose values have
the signature's types, or an ``ApiError`` (422) that names the column and row.
Frames from several requests are joined into one DataFrame per micro-batch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .errors import ApiError, schema_error

DTYPES = ("double", "long", "boolean", "string", "datetime")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_TRUE = frozenset(("true", "1", "True", "TRUE"))
_FALSE = frozenset(("false", "0", "False", "FALSE"))


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str  # one of DTYPES


@dataclass(frozen=True)
class Frame:
    """Validated rows: one list per signature column, in signature order."""

    columns: list[list[Any]]
    rows: int


class Schema:
    """The input side of a signature: ``{"inputs": [{"name", "dtype"}, ...]}``."""

    def __init__(self, signature: Mapping[str, Any]) -> None:
        raw = signature.get("inputs") or []
        self.columns = [Column(str(c["name"]), str(c.get("dtype", "string"))) for c in raw]
        for column in self.columns:
            if column.dtype not in DTYPES:
                raise ValueError(f"signature column {column.name!r} has unknown dtype {column.dtype!r}")
        self.names = [c.name for c in self.columns]
        self.index = {name: i for i, name in enumerate(self.names)}
        self._checks = [_CHECKS[c.dtype] for c in self.columns]

    # -- entry points for the protocol parsers -------------------------------
    def from_columns(self, data: Mapping[str, Any], *, text: bool = False) -> Frame:
        """Column name -> list of values (every list the same length)."""
        self._check_names(list(data))
        ordered: list[list[Any]] = []
        rows = -1
        for column in self.columns:
            values = data[column.name]
            if not isinstance(values, list):
                values = [values]
            if rows == -1:
                rows = len(values)
            elif len(values) != rows:
                raise schema_error("WRONG_SHAPE", f"column {column.name!r} has {len(values)} values but "
                                   f"the columns before it have {rows}; every column needs one value per row.")
            ordered.append(values)
        return self._finish(ordered, max(rows, 0), text)

    def from_rows(self, names: Sequence[Any] | None, rows: Sequence[Any], *, text: bool = False) -> Frame:
        """Row-major values; ``names`` None means the signature's column order."""
        if names is None:
            names = self.names
        else:
            self._check_names(names)
        width = len(names)
        for i, row in enumerate(rows):
            if not isinstance(row, (list, tuple)) or len(row) != width:
                got = f"{len(row)} values" if isinstance(row, (list, tuple)) else f"a {type(row).__name__}"
                raise schema_error("WRONG_SHAPE", f"row {i} has {got}; each row needs {width} values "
                                   f"({', '.join(map(str, names))}).")
        transposed = [list(col) for col in zip(*rows, strict=True)] if rows else [[] for _ in names]
        position = {name: i for i, name in enumerate(names)}
        ordered = [transposed[position[name]] for name in self.names]
        return self._finish(ordered, len(rows), text)

    def from_records(self, records: Sequence[Any]) -> Frame:
        """A list of ``{column: value}`` objects, one per row."""
        ordered: list[list[Any]] = [[] for _ in self.columns]
        expected = len(self.columns)
        for i, record in enumerate(records):
            if not isinstance(record, dict):
                raise schema_error("WRONG_SHAPE", f"record {i} is a {type(record).__name__}; "
                                   "each record must be an object of column: value.")
            if len(record) != expected or not all(name in record for name in self.names):
                try:
                    self._check_names(list(record))
                except ApiError as exc:
                    raise schema_error(exc.error_code, f"record {i}: {exc.message}") from None
            for values, name in zip(ordered, self.names, strict=True):
                values.append(record[name])
        return self._finish(ordered, len(records), False)

    # -- shared ---------------------------------------------------------------
    def _check_names(self, names: Sequence[Any]) -> None:
        given = set(names)
        if len(given) != len(names):
            dupes = sorted({str(n) for n in names if list(names).count(n) > 1})
            raise schema_error("DUPLICATE_COLUMN", f"columns given more than once: {', '.join(dupes)}.")
        missing = [n for n in self.names if n not in given]
        extra = [str(n) for n in names if n not in self.index]
        if missing:
            more = f" (and unexpected: {', '.join(extra[:10])})" if extra else ""
            raise schema_error("MISSING_COLUMN", f"missing input columns: {', '.join(missing[:20])}"
                               f"{' ...' if len(missing) > 20 else ''}{more}. The model's signature expects "
                               f"{len(self.names)} columns: see GET /v2/models/NAME for names and types.")
        if extra:
            raise schema_error("UNEXPECTED_COLUMN", f"unexpected input columns: {', '.join(extra[:20])}. "
                               "The model's signature does not have them; remove them from the request.")

    def _finish(self, ordered: list[list[Any]], rows: int, text: bool) -> Frame:
        for column, check, values in zip(self.columns, self._checks, ordered, strict=True):
            check(column.name, values, text)
        return Frame(ordered, rows)

    def to_dataframe(self, frames: Sequence[Frame]) -> Any:
        """One DataFrame of all ``frames`` (a micro-batch), with the signature's dtypes."""
        import numpy as np
        import pandas as pd

        data: dict[str, Any] = {}
        for i, column in enumerate(self.columns):
            if len(frames) == 1:
                values = frames[0].columns[i]
            else:
                values = []
                for frame in frames:
                    values.extend(frame.columns[i])
            data[column.name] = np.asarray(values, dtype=_NUMPY[column.dtype])
        return pd.DataFrame(data, copy=False)


_NUMPY = {"double": "float64", "long": "int64", "boolean": "bool", "string": "object",
          "datetime": "datetime64[ns]"}


def _wrong(name: str, row: int, value: Any, dtype: str) -> ApiError:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return schema_error("MISSING_VALUE", f"column {name!r} row {row}: value is missing (null or NaN); "
                            f"the model needs a {dtype} here.")
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return schema_error("WRONG_DTYPE", f"column {name!r} row {row}: {shown} ({type(value).__name__}) is not a "
                        f"{dtype}, the type in the model's signature.")


def _check_double(name: str, values: list[Any], text: bool) -> None:
    for i, v in enumerate(values):
        t = type(v)
        if t is float:
            if v - v != 0.0:  # NaN or infinite
                if math.isnan(v):
                    raise _wrong(name, i, v, "double")
                raise schema_error("WRONG_DTYPE", f"column {name!r} row {i}: {v} is not a finite number.")
        elif t is int:
            if not -1e308 < v < 1e308:
                raise schema_error("WRONG_DTYPE", f"column {name!r} row {i}: the number is too large for a double.")
        elif text and t is str:
            try:
                number = float(v) if v.strip() else None
            except ValueError:
                raise _wrong(name, i, v, "double") from None
            if number is None or number - number != 0.0:
                raise _wrong(name, i, number, "double")
            values[i] = number
        else:
            raise _wrong(name, i, v, "double")


def _check_long(name: str, values: list[Any], text: bool) -> None:
    for i, v in enumerate(values):
        t = type(v)
        if t is int:
            if not _INT64_MIN <= v <= _INT64_MAX:
                raise schema_error("WRONG_DTYPE", f"column {name!r} row {i}: {v} does not fit a 64-bit long.")
        elif (t is float and v.is_integer() and abs(v) < 9.2e18) or (text and t is str and _is_long_text(v)):
            values[i] = int(v)
        else:
            raise _wrong(name, i, v, "long")


def _is_long_text(v: str) -> bool:
    return v.strip().lstrip("+-").isdigit() and _INT64_MIN <= int(v) <= _INT64_MAX


def _check_boolean(name: str, values: list[Any], text: bool) -> None:
    for i, v in enumerate(values):
        if type(v) is bool:
            continue
        if text and isinstance(v, str) and (v in _TRUE or v in _FALSE):
            values[i] = v in _TRUE
        else:
            raise _wrong(name, i, v, "boolean")


def _check_string(name: str, values: list[Any], text: bool) -> None:
    for i, v in enumerate(values):
        if type(v) is not str:
            if text and isinstance(v, bytes):
                try:
                    values[i] = v.decode()
                    continue
                except UnicodeDecodeError:
                    pass
            raise _wrong(name, i, v, "string")


def _check_datetime(name: str, values: list[Any], text: bool) -> None:
    """ISO 8601 strings; an offset (or Z) is converted to naive UTC, as pandas stores them."""
    for i, v in enumerate(values):
        if type(v) is not str:
            raise _wrong(name, i, v, "datetime (an ISO 8601 string)")
        try:
            parsed = datetime.fromisoformat(v.strip().replace("Z", "+00:00"))
        except ValueError:
            raise _wrong(name, i, v, "datetime (an ISO 8601 string)") from None
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
        values[i] = parsed


_CHECKS = {"double": _check_double, "long": _check_long, "boolean": _check_boolean, "string": _check_string,
           "datetime": _check_datetime}
