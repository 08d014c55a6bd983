"""The audit trail, mirroring ``echo_core::audit``: events, pages of the operator's query,
the chain's head and its verification (see ``docs/audit.md``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Dict, Iterator, List, Optional

from ._convert import Record, register
from ._native import audit_actions

__all__ = [
    "AuditActor",
    "AuditTarget",
    "RequestContext",
    "AuditEvent",
    "AuditPage",
    "AuditHead",
    "BrokenLink",
    "AuditVerification",
    "AuditPurgeReport",
    "audit_actions",
]


@register
@dataclass(frozen=True)
class AuditActor(Record):
    """Who acted: ``kind`` is ``"api_key"`` (``id`` is the key's id, never the key),
    ``"host"``, ``"admin"`` or ``"system"`` (``id`` names the component: ``scheduler``,
    ``retention``, ``erasure``...)."""

    kind: str
    id: Optional[str]


@register
@dataclass(frozen=True)
class AuditTarget(Record):
    """What an event is about: ``kind`` (``account``, ``experiment``, ``run``,
    ``api_key``...; ``type`` in the core's JSON) and its id."""

    _core_names: ClassVar[Dict[str, str]] = {"kind": "type"}

    kind: str
    id: str


@register
@dataclass(frozen=True)
class RequestContext(Record):
    """The host's request an operation served (``Principal.with_request``). ``ip`` and
    ``user_agent`` are personal data and ``None`` once erased."""

    ip: Optional[str] = None
    user_agent: Optional[str] = None
    request_id: Optional[str] = None
    correlation_id: Optional[str] = None


@register
@dataclass(frozen=True)
class AuditEvent(Record):
    """One event of the trail. ``seq`` numbers the chain without gaps (retention removes a
    prefix); ``result`` is ``"success"``, ``"denied"`` or ``"failed"`` (with
    ``error_kind``); ``hash`` chains it to ``prev_hash``."""

    seq: int
    occurred_at: datetime
    account_id: Optional[str]
    actor: AuditActor
    action: str
    target: Optional[AuditTarget]
    result: str
    error_kind: Optional[str]
    request: RequestContext
    details: Dict[str, Any]
    personal_data_erased: bool
    prev_hash: str
    hash: str


@register
@dataclass(frozen=True)
class AuditPage(Record):
    """One page of events, oldest first; pass ``next_after_seq`` as ``after_seq`` for the
    next page (``None`` on the last)."""

    events: List[AuditEvent]
    next_after_seq: Optional[int]

    def __iter__(self) -> Iterator[AuditEvent]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)


@register
@dataclass(frozen=True)
class AuditHead(Record):
    """The newest event's ``seq`` and ``hash`` (0 and 64 zeros before the first event):
    keep it outside the database and pass it to ``verify_audit_chain(anchor=...)``."""

    seq: int
    hash: str
    updated_at: Optional[datetime] = None


@register
@dataclass(frozen=True)
class BrokenLink(Record):
    """The first broken event: ``problem`` is the core's description as a dict (``kind``:
    ``gap``, ``prev_hash_mismatch``, ``hash_mismatch``, ``personal_data_altered``,
    ``unreadable``, ``truncated``, ``head_mismatch``, ``anchor_mismatch``, with its fields),
    ``description`` the sentence to show an operator."""

    seq: int
    problem: Dict[str, Any]
    description: str


@register
@dataclass(frozen=True)
class AuditVerification(Record):
    """The outcome of ``verify_audit_chain``: ``ok``, how many events were checked from
    which checkpoint, the last one checked, and the first broken link if any."""

    ok: bool
    events_checked: int
    from_checkpoint: Optional[int]
    last_seq: int
    last_hash: str
    first_broken: Optional[BrokenLink]


@register
@dataclass(frozen=True)
class AuditPurgeReport(Record):
    """What ``purge_audit_events`` removed, and the checkpoint verification now starts from."""

    events_deleted: int
    checkpoint_seq: Optional[int]
