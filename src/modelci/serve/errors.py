"""HTTP-facing errors: a status, a stable ``error_code`` and a message that says what to fix."""

from __future__ import annotations


class ApiError(Exception):
    """Answered as ``{"error_code": ..., "message": ...}`` with ``status``."""

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message


def malformed(message: str) -> ApiError:
    return ApiError(400, "MALFORMED_REQUEST", message)


def schema_error(error_code: str, message: str) -> ApiError:
    """The body parsed but does not fit the model's signature (422)."""
    return ApiError(422, error_code, message)
