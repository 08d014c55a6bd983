"""Providers, mirroring ``echo_core::provider``: ``Provider.simulated`` (offline, with known
ground truth), ``Provider.replay`` (recorded answers) and ``Provider.from_env`` (the real
APIs whose keys are set)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

from ._native import Provider

__all__ = ["Provider", "SimulatedBrand"]


@dataclass(frozen=True)
class SimulatedBrand:
    """How one brand behaves in simulated answers: named with ``mention_probability``
    (its true visibility), listed early in proportion to ``rank_weight``."""

    name: str
    mention_probability: float
    rank_weight: float = 1.0
    aliases: List[str] = field(default_factory=list)
    domain: Optional[str] = None
