"""Helpers of the gate tests (a distinct module name: several test folders have a conftest.py)."""

from __future__ import annotations

from modelci_testing import edit_config

__all__ = ["HEAD_SHA", "edit_config"]

HEAD_SHA = "0123456789abcdef0123456789abcdef01234567"
