"""A probe that reaches a model server directly over HTTP (the local target, or any URL)."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Sequence


class HttpProbe:
    def __init__(self, base_url: str, metrics_urls: Sequence[str] | None = None, timeout_s: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.metrics_urls = list(metrics_urls) if metrics_urls else [self.base_url]
        self.timeout_s = timeout_s

    def _open(self, url: str, method: str, body: bytes | None, content_type: str) -> tuple[int, bytes]:
        request = urllib.request.Request(url, data=body, method=method)  # noqa: S310 - http(s) URLs we built
        if body is not None:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310
                return int(response.status), response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                return int(exc.code), exc.read()
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise OSError(f"{method} {url} failed: {getattr(exc, 'reason', exc)}") from None

    def call(self, method: str, path: str, body: bytes | None = None,
             content_type: str = "application/json") -> tuple[int, bytes]:
        return self._open(self.base_url + path, method, body, content_type)

    def metrics_texts(self) -> list[str]:
        texts = []
        for url in self.metrics_urls:
            status, body = self._open(url.rstrip("/") + "/metrics", "GET", None, "")
            if status == 200:
                texts.append(body.decode("utf-8", errors="replace"))
        return texts

    def describe(self) -> str:
        return self.base_url
