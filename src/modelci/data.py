"""Reading the training and holdout data named by the config."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import DataError
from .registry import sha256_file

if TYPE_CHECKING:
    import pandas as pd

FORMATS = (".csv", ".parquet", ".pq")


@dataclass(frozen=True)
class Dataset:
    frame: pd.DataFrame
    path: Path
    digest: str
    size: int

    def fingerprint(self) -> dict[str, Any]:
        return {"path": self.path.name, "sha256": self.digest, "size": self.size,
                "rows": len(self.frame), "columns": len(self.frame.columns)}


def read_frame(path: Path, role: str) -> Dataset:
    """Read a CSV or Parquet file; ``role`` ("train", "test") names it in errors."""
    if not path.exists():
        raise DataError(f"data.{role}: {path} does not exist. Check the path in modelci.yaml "
                        "(it is relative to the config file).")
    if not path.is_file():
        raise DataError(f"data.{role}: {path} is not a file.")
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise DataError(f"data.{role}: {path.name} is neither CSV nor Parquet; "
                        f"modelci reads files ending in {', '.join(FORMATS)}.")
    import pandas as pd

    try:
        if suffix == ".csv":
            frame = pd.read_csv(path)
        else:
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                raise DataError(f"data.{role}: reading Parquet needs pyarrow; install it with "
                                "pip install 'modelci[parquet]'.") from None
            frame = pd.read_parquet(path)
    except pd.errors.EmptyDataError:
        raise DataError(f"data.{role}: {path} is empty; it needs a header row and data rows.") from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise DataError(f"data.{role}: cannot read {path}: {exc}") from None
    if frame.empty:
        raise DataError(f"data.{role}: {path} has no data rows (only {len(frame.columns)} columns).")
    digest, size = sha256_file(path)
    return Dataset(frame=frame, path=path, digest=digest, size=size)


def split_xy(ds: Dataset, role: str, target: str, features: Sequence[str]) -> tuple[pd.DataFrame, pd.Series]:
    """Return (X, y) with exactly ``features`` (all but the target when empty)."""
    columns = list(ds.frame.columns)
    if target not in columns:
        raise DataError(f"data.{role}: the target column {target!r} is not in {ds.path.name}; "
                        f"its columns are: {_preview(columns)}. Fix data.target in modelci.yaml.")
    wanted = list(features) or [c for c in columns if c != target]
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise DataError(f"data.{role}: {ds.path.name} lacks the feature column(s) {', '.join(map(repr, missing))}; "
                        f"its columns are: {_preview(columns)}. Fix data.features, or the file.")
    if not wanted:
        raise DataError(f"data.{role}: {ds.path.name} has no feature columns besides the target.")
    if ds.frame[target].isna().any():
        n = int(ds.frame[target].isna().sum())
        raise DataError(f"data.{role}: the target column {target!r} has {n} empty value(s); "
                        "drop or fill those rows first.")
    return ds.frame[wanted], ds.frame[target]


def non_numeric_columns(frame: pd.DataFrame) -> list[str]:
    import pandas as pd

    return [str(c) for c in frame.columns
            if not (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))]


def _preview(columns: Sequence[Any], n: int = 60) -> str:
    shown = ", ".join(map(str, columns[:n]))
    return shown + (f", ... ({len(columns)} in all)" if len(columns) > n else "")
