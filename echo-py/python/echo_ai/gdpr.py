"""Data-subject rights, mirroring ``echo_core::gdpr``: the export bundle's summary, deletion
requests and the erasure of accounts (see ``docs/privacy.md``, "Export and erasure")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List, Optional

from ._convert import Record, register

__all__ = ["ExportSummary", "DeletionRequest", "DeletionRecord", "ErasureReport", "ErasurePass"]


@register
@dataclass(frozen=True)
class ExportSummary(Record):
    """What an export wrote: ``bytes`` handed to the destination and the items per section
    (``counts``: ``api_keys``, ``consents``, ``experiments``, ``runs``, ``samples``,
    ``audit_events``)."""

    account_id: str
    exported_at: datetime
    bytes: int
    counts: Dict[str, int]


@register
@dataclass(frozen=True)
class DeletionRequest(Record):
    """What ``request_deletion`` did: the account is blocked until ``deadline``, when its
    data is erased (cancellable before); the keys it revoked, the runs it cancelled and the
    schedules it paused."""

    id: str
    account_id: str
    requested_at: datetime
    deadline: datetime
    keys_revoked: int
    runs_cancelled: List[str]
    schedules_paused: int


@register
@dataclass(frozen=True)
class DeletionRecord(Record):
    """A stored deletion request. ``status`` is ``"pending"``, ``"cancelled"`` or
    ``"completed"``; a completed one is the record of the erasure (``details`` holds its
    ``ErasureReport`` as a dict) and names only the account id."""

    id: str
    account_id: str
    requested_by: str
    requested_at: datetime
    deadline: datetime
    status: str
    completed_at: Optional[datetime]
    cancelled_at: Optional[datetime]
    cancelled_by: Optional[str]
    details: Dict[str, Any]


@register
@dataclass(frozen=True)
class ErasureReport(Record):
    """The verified end of one account's erasure: rows deleted per table, the rows left
    per table (all zero, or it would not have completed) and the tables deliberately kept
    (audit events, consents, deletion requests)."""

    request_id: str
    account_id: str
    requested_at: datetime
    erased_at: datetime
    rows_deleted: Dict[str, int]
    remaining: Dict[str, int]
    retained: List[str]


@register
@dataclass(frozen=True)
class ErasurePass(Record):
    """What one ``erase_due_accounts`` call did; ``more`` is ``True`` when it stopped at
    ``max_batches`` with work left: call again."""

    batches: int
    rows_deleted: int
    completed: List[ErasureReport]
    more: bool
