"""Recurring runs, mirroring ``echo_core::engine::Schedule`` (always UTC)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Dict, Optional, Union

from ._convert import Record, parse_duration, register

__all__ = ["Schedule", "ScheduleInfo"]


@register
@dataclass(frozen=True)
class Schedule(Record):
    """Every ``interval`` (from the moment it is set; at least a minute, whole seconds), or
    at the instants a 5-field ``cron`` expression matches (UTC). Exactly one is set."""

    interval: Optional[timedelta] = None
    cron: Optional[str] = None

    @classmethod
    def every(cls, interval: Union[float, timedelta]) -> "Schedule":
        """Every ``interval`` (seconds or timedelta)."""
        return cls(interval=interval if isinstance(interval, timedelta) else timedelta(seconds=interval))

    @classmethod
    def from_cron(cls, expression: str) -> "Schedule":
        """At each match of ``expression`` (``"0 9 * * 1"``, ``"@daily"``...), UTC."""
        return cls(cron=expression)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Schedule":
        # The core's form is {"interval": {"secs", "nanos"}} or {"cron": "..."}.
        if data.get("interval") is not None:
            return cls(interval=parse_duration(data["interval"]))
        return cls(cron=data.get("cron"))


@register
@dataclass(frozen=True)
class ScheduleInfo(Record):
    """An experiment's schedule and when its next run is due."""

    schedule: Schedule
    next_run_at: datetime
