"""Workers, mirroring ``echo_core::engine::worker``: start one with
``Echo.start_worker(...)``, stop it with ``WorkerHandle.shutdown()``."""

from __future__ import annotations

from dataclasses import dataclass

from ._convert import Record, register
from ._native import WorkerHandle

__all__ = ["WorkerHandle", "WorkerReport"]


@register
@dataclass(frozen=True)
class WorkerReport(Record):
    """A worker's account of its work (a snapshot while it runs, final after shutdown)."""

    owner: str
    claimed: int
    succeeded: int
    failed: int
    retried: int
    not_applied: int
    released: int
    runs_finalized: int
    scheduled_runs: int
    maintenance_passes: int
    elapsed_ms: int
