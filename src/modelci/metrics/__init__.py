"""The pipeline's own health from the registry's event log: MUS, MTS, MDS, MQ and DORA."""

from .compute import EnvironmentHealth, ModelHealth, Ratio, Timing, compute_health

__all__ = ["EnvironmentHealth", "ModelHealth", "Ratio", "Timing", "compute_health"]
