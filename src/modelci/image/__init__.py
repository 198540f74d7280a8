"""publish-image: a model version as a slim, smoke-tested container image, pushed by digest.

The stage is split by concern: ``engine`` (the Docker connection), ``probe`` (the base
image's Python and platform), ``wheelhouse`` (dependencies resolved on the host),
``dockerfile`` and ``context`` (what is built), ``build``, ``smoke`` and ``push`` (the
steps), ``labels`` (metadata and tags) and ``publish`` (the order they run in).
The docker SDK is imported only inside these functions, never at start-up.
"""

from __future__ import annotations

from .publish import PublishRequest, PublishResult, UngatedVersion, publish_image

__all__ = ["PublishRequest", "PublishResult", "UngatedVersion", "publish_image"]
