"""Adaptive micro-batching: concurrent requests share one model call.

Requests wait in an asyncio queue; one collector task takes everything queued
(up to ``max_batch`` rows) whenever the single predict thread is free, so a
lone request goes straight through (no added latency) and a burst is served
with one call per batch. ``max_wait`` optionally holds a non-full batch open
for stragglers (default 0: never wait). ``max_batch=1`` turns batching off.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import time
from collections.abc import Callable, Sequence
from typing import Any

from .validate import Frame

PredictBatch = Callable[[Sequence[Frame]], list[Any]]


class Batcher:
    def __init__(self, predict: PredictBatch, max_batch: int = 64, max_wait: float = 0.0,
                 on_batch: Callable[[int], None] | None = None) -> None:
        self._predict = predict
        self.max_batch = max(1, max_batch)
        self.max_wait = max(0.0, max_wait)
        self._on_batch = on_batch
        self._queue: asyncio.Queue[tuple[Frame, asyncio.Future[list[Any]]]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="modelci-predict")

    def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._pool.shutdown(wait=True)

    async def submit(self, frame: Frame) -> list[Any]:
        """The predictions for ``frame``'s rows (raises what the model raised)."""
        assert self._queue is not None, "Batcher.start() was not called"
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((frame, future))
        return await future

    async def _run(self) -> None:
        assert self._queue is not None
        queue = self._queue
        loop = asyncio.get_running_loop()
        pending: tuple[Frame, asyncio.Future[list[Any]]] | None = None
        while True:
            first = pending or await queue.get()
            pending = None
            batch = [first]
            rows = first[0].rows
            deadline = time.monotonic() + self.max_wait
            while rows < self.max_batch:
                if queue.empty():
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    try:
                        item = await asyncio.wait_for(queue.get(), remaining)
                    except asyncio.TimeoutError:
                        break
                else:
                    item = queue.get_nowait()
                if rows + item[0].rows > self.max_batch:
                    pending = item
                    break
                batch.append(item)
                rows += item[0].rows
            live = [(frame, fut) for frame, fut in batch if not fut.cancelled()]
            if not live:
                continue
            if self._on_batch is not None:
                self._on_batch(rows)
            try:
                results = await loop.run_in_executor(self._pool, self._predict_each, [f for f, _ in live])
            except Exception as exc:  # the model failed on the whole batch: tell every caller
                for _, fut in live:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            for (_, fut), result in zip(live, results, strict=True):
                if fut.done():
                    continue
                if isinstance(result, BaseException):
                    fut.set_exception(result)
                else:
                    fut.set_result(result)

    def _predict_each(self, frames: list[Frame]) -> list[Any]:
        """Predict the batch in one call, split per request; on failure retry each alone.

        A retry isolates a request the model rejects so that it fails alone.
        """
        try:
            flat = self._predict(frames)
        except Exception:
            if len(frames) == 1:
                raise
            out: list[Any] = []
            for frame in frames:
                try:
                    out.append(self._predict([frame]))
                except Exception as exc:
                    out.append(exc)
            return out
        results: list[Any] = []
        start = 0
        for frame in frames:
            results.append(flat[start:start + frame.rows])
            start += frame.rows
        return results
