"""Micro-batching: concurrent requests share model calls and still get their own predictions."""

from __future__ import annotations

import asyncio
import csv
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from serve_support import Server, Trained, start_server

from modelci.serve.batching import Batcher
from modelci.serve.validate import Frame


def frame(*values: float) -> Frame:
    return Frame([list(values)], len(values))


class SlowDoubler:
    """A stand-in model at the batcher's boundary: doubles each value, takes a while, counts calls."""

    def __init__(self, delay: float = 0.01) -> None:
        self.delay = delay
        self.calls: list[int] = []

    def __call__(self, frames) -> list[float]:
        time.sleep(self.delay)
        values = [v for f in frames for v in f.columns[0]]
        if any(v < 0 for v in values):
            raise ValueError("negative input")
        self.calls.append(len(values))
        return [2 * v for v in values]


def run(coro):
    return asyncio.run(coro)


def test_concurrent_submissions_are_batched_and_answered_in_order() -> None:
    model = SlowDoubler()

    async def scenario() -> list[list[float]]:
        batcher = Batcher(model, max_batch=16)
        batcher.start()
        try:
            return await asyncio.gather(*(batcher.submit(frame(i, i + 0.5)) for i in range(40)))
        finally:
            await batcher.stop()

    results = run(scenario())
    assert results == [[2 * i, 2 * i + 1] for i in range(40)]
    assert len(model.calls) < 40 and max(model.calls) <= 16


def test_a_lone_request_is_not_held_back() -> None:
    model = SlowDoubler(delay=0)

    async def scenario() -> float:
        batcher = Batcher(model, max_batch=64, max_wait=0.0)
        batcher.start()
        try:
            start = time.perf_counter()
            await batcher.submit(frame(1.0))
            return time.perf_counter() - start
        finally:
            await batcher.stop()

    assert run(scenario()) < 0.05


def test_max_batch_one_turns_batching_off() -> None:
    model = SlowDoubler()

    async def scenario() -> None:
        batcher = Batcher(model, max_batch=1)
        batcher.start()
        try:
            await asyncio.gather(*(batcher.submit(frame(i)) for i in range(10)))
        finally:
            await batcher.stop()

    run(scenario())
    assert model.calls == [1] * 10


def test_a_request_the_model_rejects_fails_alone() -> None:
    model = SlowDoubler()

    async def scenario() -> list[object]:
        batcher = Batcher(model, max_batch=64)
        batcher.start()
        try:
            return await asyncio.gather(*(batcher.submit(frame(v)) for v in (1.0, -1.0, 2.0, 3.0)),
                                        return_exceptions=True)
        finally:
            await batcher.stop()

    results = run(scenario())
    assert results[0] == [2.0] and results[2] == [4.0] and results[3] == [6.0]
    assert isinstance(results[1], ValueError)


def test_max_wait_gathers_stragglers() -> None:
    model = SlowDoubler(delay=0)

    async def scenario() -> None:
        batcher = Batcher(model, max_batch=64, max_wait=0.2)
        batcher.start()
        try:
            first = asyncio.ensure_future(batcher.submit(frame(1.0)))
            await asyncio.sleep(0.05)
            await asyncio.gather(first, batcher.submit(frame(2.0)))
        finally:
            await batcher.stop()

    run(scenario())
    assert model.calls == [2]


def test_adaptive_wait_is_skipped_for_a_lone_client() -> None:
    model = SlowDoubler(delay=0.05)

    async def scenario() -> list[float]:
        batcher = Batcher(model, max_batch=64, adaptive_wait=1.0)
        batcher.start()
        try:
            took = []
            for i in range(3):
                start = time.perf_counter()
                await batcher.submit(frame(float(i)))
                took.append(time.perf_counter() - start)
            return took
        finally:
            await batcher.stop()

    assert max(run(scenario())) < 0.05 + 0.2  # never held for the 1 s cap: concurrency is 1


def test_adaptive_wait_regroups_clients_seen_recently() -> None:
    model = SlowDoubler(delay=0.1)

    async def scenario() -> None:
        batcher = Batcher(model, max_batch=64, adaptive_wait=0.2)
        batcher.start()
        try:
            await asyncio.gather(*(batcher.submit(frame(i)) for i in range(4)))  # concurrency 4
            first = asyncio.ensure_future(batcher.submit(frame(10.0)))
            await asyncio.sleep(0.005)
            await asyncio.gather(first, *(batcher.submit(frame(i)) for i in range(3)))
        finally:
            await batcher.stop()

    run(scenario())
    assert model.calls == [4, 4]


class ThreadRecorder(SlowDoubler):
    def __init__(self, delay: float) -> None:
        super().__init__(delay)
        self.threads: list[str] = []

    def __call__(self, frames) -> list[float]:
        self.threads.append(threading.current_thread().name)
        return super().__call__(frames)


@pytest.mark.parametrize(("delay", "inline_below", "expected"), [
    (0.0, 0.02, ["MainThread"] * 3),
    (0.03, 0.02, ["MainThread", "modelci-predict", "modelci-predict"]),
    (0.0, 0.0, ["modelci-predict"] * 3),
], ids=["fast calls run on the loop", "slow calls move to the thread", "inline off"])
def test_where_the_model_runs(delay: float, inline_below: float, expected: list[str]) -> None:
    model = ThreadRecorder(delay)

    async def scenario() -> None:
        batcher = Batcher(model, inline_below=inline_below)
        batcher.start()
        try:
            for i in range(3):
                assert await batcher.submit(frame(float(i))) == [2.0 * i]
        finally:
            await batcher.stop()

    run(scenario())
    assert [name.split("_")[0] for name in model.threads] == expected


@pytest.fixture(scope="module")
def test_rows(trained: Trained) -> list[list[object]]:
    with (trained.project / "data" / "test.csv").open() as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
    out = []
    for row in rows:
        out.append([row[c] if c == "site" else float(row[c]) for c in trained.columns])
    return out


def test_concurrent_http_requests_match_sequential_ones(server: Server, trained: Trained, test_rows,
                                                        tmp_path: Path) -> None:
    chunks = [test_rows[i:i + 1 + i % 3] for i in range(0, 96)]
    bodies = [{"dataframe_split": {"columns": trained.columns, "data": c}} for c in chunks]
    sequential = [server.post("/invocations", b).json()["predictions"] for b in bodies]
    batched = start_server(str(trained.bundle), tmp_path, "--max-wait-ms", "5")
    try:
        with ThreadPoolExecutor(max_workers=24) as pool:
            concurrent = list(pool.map(lambda b: batched.post("/invocations", b).json()["predictions"], bodies))
        text = batched.get("/metrics").text
    finally:
        assert batched.stopped_cleanly(), batched.output()
    assert concurrent == sequential
    calls = next(float(line.split()[-1]) for line in text.splitlines()
                 if line.startswith("modelci_batch_size_rows_count"))
    assert calls < len(bodies) + 1  # +1: the warm-up does not count; batches formed
