"""Random bodies never get a 500: a seeded generator of JSON shapes near the real protocols."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from serve_support import Server, Trained

SCALARS: list[Any] = [None, True, False, 0, -1, 1.5, 1e308, -1e-308, "", "north", "1.5", "NaN", [], {}]
ALLOWED = {200, 400, 413, 415, 422}


def value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.5:
        return rng.choice(SCALARS)
    if roll < 0.75:
        return [value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    keys = ["columns", "data", "inputs", "name", "shape", "datatype", "index", "site", "mean_radius", "x"]
    return {rng.choice(keys): value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def mutate_row(rng: random.Random, trained: Trained) -> list[Any]:
    row = list(trained.rows[0])
    for _ in range(rng.randint(1, 3)):
        row[rng.randrange(len(row))] = value(rng, 2)
    if rng.random() < 0.3:
        row = row[: rng.randrange(len(row))]
    return row


def invocation(rng: random.Random, trained: Trained) -> Any:
    kind = rng.choice(["dataframe_split", "dataframe_records", "instances", "inputs", "junk"])
    if kind == "dataframe_split":
        columns = list(trained.columns) if rng.random() < 0.7 else value(rng, 1)
        return {kind: {"columns": columns, "data": [mutate_row(rng, trained) for _ in range(rng.randint(0, 3))]}}
    if kind == "dataframe_records":
        return {kind: [dict(zip(trained.columns, mutate_row(rng, trained), strict=False))
                       for _ in range(rng.randint(0, 3))]}
    if kind in ("instances", "inputs"):
        return {kind: rng.choice([[mutate_row(rng, trained)], {c: [value(rng, 2)] for c in trained.columns},
                                  value(rng)])}
    return value(rng)


def infer(rng: random.Random, trained: Trained) -> Any:
    tensors = []
    for column, cell in zip(trained.columns, mutate_row(rng, trained), strict=False):
        tensors.append({"name": column if rng.random() < 0.9 else value(rng, 3),
                        "shape": rng.choice([[1], [1, 1], [2], [], [-1], value(rng, 3)]),
                        "datatype": rng.choice(["FP64", "FP32", "INT64", "BYTES", "BOOL", "FP99", value(rng, 3)]),
                        "data": rng.choice([[cell], cell, value(rng, 2)])})
    return {"inputs": tensors, "parameters": value(rng, 2) if rng.random() < 0.2 else {}}


@pytest.mark.parametrize("seed", range(4))
def test_random_bodies_never_get_a_500(server: Server, trained: Trained, seed: int) -> None:
    rng = random.Random(seed)
    seen: dict[int, int] = {}
    for _ in range(150):
        if rng.random() < 0.5:
            response = server.post("/invocations", json.dumps(invocation(rng, trained)))
        else:
            response = server.post("/v2/models/breast-cancer/infer", json.dumps(infer(rng, trained)))
        assert response.status_code in ALLOWED, response.text
        if response.status_code != 200:
            assert set(response.json()) == {"error_code", "message"}
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
    assert server.get("/healthz").status_code == 200
    assert len(seen) > 1
