"""A Kubernetes API emulator for tests (a test double; see README.md)."""

from .server import Emulator

__all__ = ["Emulator"]
