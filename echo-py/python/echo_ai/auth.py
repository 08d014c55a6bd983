"""Who calls, mirroring ``echo_core::auth``: principals, scopes and API keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import List, Optional

from ._convert import Record, register
from ._native import Principal, scopes

__all__ = ["Principal", "Scope", "ApiKey", "CreatedApiKey", "scopes"]


class Scope:
    """The scope names (plain strings) an operation requires and a key may hold."""

    EXPERIMENTS_READ = "experiments:read"
    EXPERIMENTS_WRITE = "experiments:write"
    RUNS_WRITE = "runs:write"
    KEYS_MANAGE = "keys:manage"
    ADMIN = "admin"


@register
@dataclass(frozen=True)
class ApiKey(Record):
    """What is known about a key, without its secret: safe to list, log and show."""

    id: str
    account_id: str
    name: str
    display_prefix: str
    environment: str
    scopes: List[str]
    created_at: datetime
    expires_at: Optional[datetime]
    revoked_at: Optional[datetime]
    last_used_at: Optional[datetime]


@register
@dataclass(frozen=True)
class CreatedApiKey(Record):
    """A new key and its plaintext ``secret``, which exists only here: hand it to the user
    once and drop it. It is left out of ``repr`` so it does not end up in logs."""

    key: ApiKey
    secret: str = field(repr=False)
