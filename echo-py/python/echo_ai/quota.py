"""Quotas and rate limits, mirroring ``echo_core::quota`` (see ``docs/quotas.md``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Dict, Optional, Union

from ._convert import Record, register

__all__ = ["QuotaStatus", "RateLimitPolicy", "RateLimitDecision", "TierLimits"]


@register
@dataclass(frozen=True)
class QuotaStatus(Record):
    """An account's allowance in the current period (samples, i.e. LLM calls)."""

    tier: str
    used: int
    reserved: int
    limit: int
    remaining: int
    period_start: datetime
    resets_at: datetime
    active_runs: int
    max_concurrent_runs: int
    max_samples_per_run: int


@dataclass(frozen=True)
class RateLimitPolicy:
    """At most ``limit`` requests per ``window`` (seconds or timedelta) under ``name``,
    as a GCRA bucket shared by every process on the database. Validated by the core when
    used (``InvalidInputError`` naming ``rate_limit.limit``, ...)."""

    name: str
    limit: int
    window: Union[float, timedelta] = 60.0


@register
@dataclass(frozen=True)
class RateLimitDecision(Record):
    """The limiter's answer to one request, with the HTTP headers to send
    (``RateLimit-Limit``, ``RateLimit-Remaining``, ``RateLimit-Reset``, and
    ``Retry-After`` when refused)."""

    allowed: bool
    limit: int
    remaining: int
    retry_after: timedelta
    reset_after: timedelta
    headers: Dict[str, str]

    @classmethod
    def from_dict(cls, data: Dict[str, object]) -> "RateLimitDecision":
        headers = data.get("headers") or []
        data = dict(data, headers={k: v for k, v in headers} if isinstance(headers, list) else headers)
        return super().from_dict(data)


@dataclass(frozen=True)
class TierLimits:
    """What one tier allows, for ``Echo.open(quota={"free": TierLimits(...), ...})``.
    ``run_starts_per_minute=None`` leaves run starts unlimited."""

    period_samples: int
    max_samples_per_run: int
    max_concurrent_runs: int
    run_starts_per_minute: Optional[int] = 10
