"""Score two models on the same holdout rows, streaming the file in chunks.

Only compact per-row arrays are kept (label codes, predictions, class
probabilities, slice codes): a few numbers per row, whatever the width of the
holdout, so memory stays flat as the frame grows. Classification labels become
integer codes 0..k-1 over one vocabulary shared by both models and the holdout.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, DataError, UsageError

if TYPE_CHECKING:
    import pandas as pd

CHUNK_ROWS = 100_000
LATENCY_CALLS = 200
LATENCY_WARMUP = 10
MISSING = "(missing)"
MAX_SLICE_VALUES = 100


@dataclass(frozen=True)
class Scorer:
    """A loaded model with the columns it reads, in its own order."""

    role: str  # "candidate" | "baseline"
    ref: str
    model: Any
    features: tuple[str, ...]


@dataclass
class Scored:
    """Per-row arrays for the whole holdout; ``pred``/``proba`` keyed by role."""

    task: str
    rows: int
    y: Any
    pred: dict[str, Any]
    proba: dict[str, Any | None]
    labels: list[Any] = field(default_factory=list)  # code -> original label
    slices: dict[str, tuple[Any, list[str]]] = field(default_factory=dict)  # column -> (codes, values)
    latency_ms: dict[str, list[float]] = field(default_factory=dict)

    @property
    def k(self) -> int:
        return len(self.labels)


class _Vocabulary:
    """Distinct values in order of first sight; ``encode`` maps values to their integer codes."""

    def __init__(self, limit: int | None = None, what: str = "") -> None:
        self.values: list[Any] = []
        self._index: dict[Any, int] = {}
        self.limit = limit
        self.what = what

    def add(self, value: Any) -> int:
        found = self._index.get(value)
        if found is not None:
            return found
        if self.limit is not None and len(self.values) >= self.limit:
            raise ConfigError(f"{self.what} has more than {self.limit} distinct values; slices are for "
                              "categorical columns (bucket a numeric column into ranges first).")
        self.values.append(value)
        self._index[value] = len(self.values) - 1
        return len(self.values) - 1

    def encode(self, values: Any) -> Any:
        import numpy as np
        import pandas as pd

        codes = pd.Index(self.values).get_indexer(values) if self.values else np.full(len(values), -1)
        if (codes < 0).any():
            for value in pd.unique(np.asarray(values, dtype=object)[codes < 0]):
                self.add(value)
            codes = pd.Index(self.values).get_indexer(values)
        return codes.astype(np.int32)


def holdout_columns(path: Path) -> list[str]:
    """The column names of a CSV or Parquet holdout, read without loading rows."""
    if not path.is_file():
        raise DataError(f"data.test: {path} does not exist. Check the path in modelci.yaml "
                        "(it is relative to the config file).")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            import pandas as pd

            return [str(c) for c in pd.read_csv(path, nrows=0).columns]
        if suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return list(pq.ParquetFile(path).schema_arrow.names)
    except ImportError:
        raise DataError("data.test: reading Parquet needs pyarrow; pip install 'modelci[parquet]'.") from None
    except Exception as exc:
        raise DataError(f"data.test: cannot read {path}: {exc}") from None
    raise DataError(f"data.test: {path.name} is neither CSV nor Parquet (.csv, .parquet, .pq).")


def iter_chunks(path: Path, columns: Sequence[str], chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """The holdout's ``columns`` in frames of at most ``chunk_rows`` rows."""
    import pandas as pd

    if path.suffix.lower() == ".csv":
        try:
            yield from pd.read_csv(path, usecols=list(columns), chunksize=chunk_rows)
        except (ValueError, pd.errors.ParserError) as exc:
            raise DataError(f"data.test: cannot read {path}: {exc}") from None
        return
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows, columns=list(columns)):
        yield batch.to_pandas()


def score_holdout(
    path: Path, target: str, task: str, scorers: Sequence[Scorer], slice_columns: Sequence[str],
    *, chunk_rows: int = CHUNK_ROWS, latency_calls: int = LATENCY_CALLS,
) -> Scored:
    """Predict with every scorer on every row of the holdout, in chunks."""
    import numpy as np

    columns = holdout_columns(path)
    if target not in columns:
        raise DataError(f"data.test: the target column {target!r} is not in {path.name}; its columns are: "
                        f"{_preview(columns)}. Fix data.target in modelci.yaml, or the file.")
    for scorer in scorers:
        if missing := [c for c in scorer.features if c not in columns]:
            raise DataError(f"data.test: {scorer.ref} reads column(s) {', '.join(map(repr, missing))} that "
                            f"{path.name} lacks; its columns are: {_preview(columns)}.")
    for column in slice_columns:
        if column not in columns:
            raise ConfigError(f"gate.slices: the slice column {column!r} is not in {path.name}; its columns "
                              f"are: {_preview(columns)}.")
    needed = list(dict.fromkeys([target, *slice_columns, *(c for s in scorers for c in s.features)]))
    classification = task == "classification"
    vocab = _Vocabulary()
    if classification:
        for scorer in scorers:
            for label in getattr(scorer.model, "classes_", []):
                vocab.add(label)
    slice_vocab = {c: _Vocabulary(MAX_SLICE_VALUES, f"gate.slices: the column {c!r}") for c in slice_columns}

    ys: list[Any] = []
    preds: dict[str, list[Any]] = {s.role: [] for s in scorers}
    probas: dict[str, list[Any] | None] = {s.role: ([] if classification and hasattr(s.model, "predict_proba")
                                                    else None) for s in scorers}
    slice_codes: dict[str, list[Any]] = {c: [] for c in slice_columns}
    latency: dict[str, list[float]] = {}
    rows = 0
    for chunk in iter_chunks(path, needed, chunk_rows):
        if chunk[target].isna().any():
            raise DataError(f"data.test: the target column {target!r} has empty values (near row "
                            f"{rows + int(chunk[target].isna().to_numpy().argmax()) + 2}); drop or fill them.")
        if not latency:
            latency = {s.role: _latency(s, chunk, latency_calls) for s in scorers}
        y = chunk[target].to_numpy()
        ys.append(vocab.encode(y) if classification else y.astype(float))
        for scorer in scorers:
            X = chunk[list(scorer.features)]
            pred = _call(scorer, "predict", X)
            preds[scorer.role].append(vocab.encode(pred) if classification else np.asarray(pred, dtype=float))
            holder = probas[scorer.role]
            if holder is not None:
                proba = np.asarray(_call(scorer, "predict_proba", X), dtype=float)
                holder.append(proba)
        for column in slice_columns:
            values = chunk[column].astype(object).where(chunk[column].notna(), MISSING).astype(str).to_numpy()
            slice_codes[column].append(slice_vocab[column].encode(values))
        rows += len(chunk)
    if rows == 0:
        raise DataError(f"data.test: {path} has no data rows.")

    k = len(vocab.values)
    out_proba: dict[str, Any | None] = {}
    for scorer in scorers:
        parts = probas[scorer.role]
        if parts is None:
            out_proba[scorer.role] = None
            continue
        codes = [vocab.add(c) for c in scorer.model.classes_]
        full = np.zeros((rows, k))
        start = 0
        while parts:  # fill in place and free each chunk: no second full-size copy
            part = parts.pop(0)
            full[start:start + len(part), codes] = part
            start += len(part)
        out_proba[scorer.role] = full
    return Scored(
        task=task, rows=rows, y=_concat(ys),
        pred={role: _concat(parts) for role, parts in preds.items()}, proba=out_proba,
        labels=list(vocab.values),
        slices={c: (_concat(slice_codes[c]), [str(v) for v in slice_vocab[c].values])
                for c in slice_columns},
        latency_ms=latency,
    )


def _concat(parts: list[Any]) -> Any:
    """One array from chunks; the list is emptied so the chunks can be freed."""
    import numpy as np

    out = np.concatenate(parts)
    parts.clear()
    return out


def _call(scorer: Scorer, method: str, X: Any) -> Any:
    try:
        return getattr(scorer.model, method)(X)
    except Exception as exc:
        raise UsageError(f"{scorer.ref} ({scorer.role}) failed to {method} on the holdout: "
                         f"{type(exc).__name__}: {exc}") from None


def _latency(scorer: Scorer, chunk: Any, calls: int) -> list[float]:
    """Milliseconds of single-row predict calls (after a few warm-up calls)."""
    if calls <= 0:
        return []
    X = chunk[list(scorer.features)]
    n = len(X)
    timings = []
    for i in range(LATENCY_WARMUP + calls):
        row = X.iloc[[i % n]]
        started = time.perf_counter()
        _call(scorer, "predict", row)
        if i >= LATENCY_WARMUP:
            timings.append((time.perf_counter() - started) * 1000.0)
    return timings


def _preview(columns: Sequence[Any], n: int = 12) -> str:
    shown = ", ".join(map(str, columns[:n]))
    return shown + (f", ... ({len(columns)} in all)" if len(columns) > n else "")
