"""Privacy, mirroring ``echo_core::privacy``: per-account settings (PII redaction), consent
records, and retention (see ``docs/privacy.md``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import List, Optional

from ._convert import Record, register

__all__ = ["PrivacySettings", "Consent", "Consents", "RetentionPolicy", "RetentionReport", "DATA_PROCESSING"]

#: The purpose a host typically requires before running anything (``Echo.open(
#: require_consent=DATA_PROCESSING)``): processing the account's prompts, brands and the
#: answers about them.
DATA_PROCESSING = "data_processing"


@register
@dataclass(frozen=True)
class PrivacySettings(Record):
    """An account's privacy settings: whether answers are redacted before they are stored,
    and which regions' national phone formats are recognized (ISO 3166-1 alpha-2)."""

    redact_pii: bool
    phone_regions: List[str]


@register
@dataclass(frozen=True)
class Consent(Record):
    """A recorded consent decision. ``recorded_by`` is ``"host"``, ``"admin"`` or
    ``"key:<id>"``; ``at`` is when it was recorded."""

    id: str
    account_id: str
    purpose: str
    policy_version: str
    granted: bool
    at: datetime
    source: Optional[str]
    recorded_by: str


@register
@dataclass(frozen=True)
class Consents(Record):
    """An account's consents: the latest record of each purpose (``current``, the ones in
    force) and every record ever made (``history``, oldest first)."""

    current: List[Consent]
    history: List[Consent]

    def is_granted(self, purpose: str) -> bool:
        """Whether ``purpose`` is currently granted (as the core's ``Consents::is_granted``)."""
        return any(c.purpose == purpose and c.granted for c in self.current)


@register
@dataclass(frozen=True)
class RetentionPolicy(Record):
    """How long Echo keeps what it keeps, for ``Echo.open(retention=...)``.

    Fields left ``None`` keep the core's defaults: raw answers 90 days, audit events 2
    years, deletion grace 30 days, 500 samples per batch, 200 batches per pass. Periods are
    ``timedelta``s of at least a day (retention runs daily); the core checks them on
    ``open``. ``Echo.retention_policy()`` returns the policy in force with every field set.
    """

    raw_answer_ttl: Optional[timedelta] = None
    audit_ttl: Optional[timedelta] = None
    deletion_grace: Optional[timedelta] = None
    batch_size: Optional[int] = None
    max_batches: Optional[int] = None


@register
@dataclass(frozen=True)
class RetentionReport(Record):
    """What one ``apply_retention`` call did. ``complete`` is ``False`` when it stopped at
    ``max_batches`` with samples still due: call again."""

    now: datetime
    raw_answer_cutoff: datetime
    samples_anonymized: int
    batches: int
    audit_cutoff: datetime
    audit_events_purged: int
    complete: bool
