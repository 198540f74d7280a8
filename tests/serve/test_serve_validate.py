"""Signature checks for every dtype, on the Schema directly (the example model has only doubles and strings)."""

from __future__ import annotations

from datetime import datetime

import pytest

from modelci.serve.errors import ApiError
from modelci.serve.validate import Schema

SIGNATURE = {"inputs": [{"name": "n", "dtype": "long"}, {"name": "x", "dtype": "double"},
                        {"name": "b", "dtype": "boolean"}, {"name": "s", "dtype": "string"},
                        {"name": "t", "dtype": "datetime"}]}
GOOD = [3, 1.5, True, "a", "2024-05-01T12:00:00Z"]


def row(**change: object) -> list[object]:
    names = ["n", "x", "b", "s", "t"]
    return [change.get(name, value) for name, value in zip(names, GOOD, strict=True)]


def test_a_good_row_becomes_a_typed_dataframe() -> None:
    schema = Schema(SIGNATURE)
    frame = schema.from_rows(None, [row(), row(n=4.0, t="2024-05-01T14:00:00+02:00")])
    df = schema.to_dataframe([frame, frame])
    assert len(df) == 4
    dtypes = [str(t) for t in df.dtypes]
    assert dtypes[:3] == ["int64", "float64", "bool"] and dtypes[4] == "datetime64[ns]"
    assert dtypes[3] in ("object", "str")  # pandas 3 stores strings as its str dtype
    assert df["n"].tolist() == [3, 4, 3, 4]
    assert df["t"].iloc[1] == datetime(2024, 5, 1, 12, 0)


def test_csv_text_is_parsed_by_column_type() -> None:
    frame = Schema(SIGNATURE).from_rows(["n", "x", "b", "s", "t"], [["7", "2.5", "false", "z", "2024-01-02"]],
                                        text=True)
    assert [c[0] for c in frame.columns] == [7, 2.5, False, "z", datetime(2024, 1, 2)]


BAD = {
    "float for long": (row(n=1.5), "WRONG_DTYPE"),
    "long overflow": (row(n=2**63), "WRONG_DTYPE"),
    "bool for long": (row(n=True), "WRONG_DTYPE"),
    "string for double": (row(x="1.5"), "WRONG_DTYPE"),
    "infinity": (row(x=float("inf")), "WRONG_DTYPE"),
    "NaN": (row(x=float("nan")), "MISSING_VALUE"),
    "null": (row(x=None), "MISSING_VALUE"),
    "int for boolean": (row(b=1), "WRONG_DTYPE"),
    "list for string": (row(s=["a"]), "WRONG_DTYPE"),
    "not a date": (row(t="yesterday"), "WRONG_DTYPE"),
    "number for datetime": (row(t=20240501), "WRONG_DTYPE"),
}


@pytest.mark.parametrize("name", BAD.keys())
def test_bad_values_are_named(name: str) -> None:
    values, code = BAD[name]
    with pytest.raises(ApiError) as caught:
        Schema(SIGNATURE).from_rows(None, [row(), values])
    assert caught.value.status == 422 and caught.value.error_code == code
    assert "row 1" in caught.value.message


def test_unknown_dtype_in_a_signature_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown dtype"):
        Schema({"inputs": [{"name": "a", "dtype": "complex"}]})
