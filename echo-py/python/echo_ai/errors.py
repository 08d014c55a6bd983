"""Exceptions raised by Echo.

Every error the core reports becomes one of these classes, chosen by the core's stable
error kind (``EchoError.kind``): catch ``EchoError`` for all of them, or a subclass for one
kind. ``InvalidInputError`` is also a ``ValueError``, so code that already guards against
bad values keeps working.

The classes are plain Python (not created in Rust) so they can use multiple inheritance,
carry typed attributes and pickle across processes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Dict, Optional, Type, Union

from ._convert import parse_datetime

__all__ = [
    "EchoError",
    "InvalidInputError",
    "NotFoundError",
    "PermissionDeniedError",
    "UnauthenticatedError",
    "ConflictError",
    "QuotaExceededError",
    "RateLimitedError",
    "ProviderError",
    "StorageError",
    "CancelledError",
    "ConfigError",
    "InternalError",
    "ConsentRequiredError",
    "error_class_for_kind",
]


class EchoError(Exception):
    """Base class of every error raised by Echo.

    ``kind`` is the core's error kind (``"invalid_input"``, ``"not_found"``, ...); each
    subclass sets its own, and an instance may override it when the core reports a kind
    this version of the package has no dedicated class for.
    """

    kind: str = "internal"

    def __init__(self, message: str = "", *, kind: Optional[str] = None) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind

    @property
    def message(self) -> str:
        """The human-readable message, including the cause chain."""
        return str(self.args[0]) if self.args else ""


class InvalidInputError(EchoError, ValueError):
    """The caller passed something invalid; nothing was written or spent.

    ``field`` names the culprit with a path such as ``spec.prompts[2]``.
    """

    kind = "invalid_input"

    def __init__(self, message: str = "", *, kind: Optional[str] = None, field: Optional[str] = None) -> None:
        super().__init__(message, kind=kind)
        self.field = field


class NotFoundError(EchoError):
    """The object does not exist, or belongs to another account."""

    kind = "not_found"


class PermissionDeniedError(EchoError):
    """The principal lacks a scope for the operation, or its account may not act.

    ``account_status`` is set when the account is the reason: ``"deletion_pending"`` (its
    erasure is scheduled for ``deadline``; the operator can still ``cancel_deletion``) or
    ``"blocked"`` (by the operator). It is ``None`` for a missing scope.
    """

    kind = "permission_denied"

    def __init__(
        self,
        message: str = "",
        *,
        kind: Optional[str] = None,
        account_status: Optional[str] = None,
        deadline: Union[datetime, str, None] = None,
    ) -> None:
        super().__init__(message, kind=kind)
        self.account_status = account_status
        if isinstance(deadline, str):
            deadline = parse_datetime(deadline)
        self.deadline: Optional[datetime] = deadline


class UnauthenticatedError(EchoError):
    """An API key did not authenticate.

    ``reason`` tells the host why: ``"malformed"``, ``"bad_checksum"``, ``"unknown"``,
    ``"revoked"`` or ``"expired"``. The message shown to callers is the same for the last
    three, so it does not reveal whether a key exists; do not show ``reason`` to them either.
    """

    kind = "unauthenticated"

    def __init__(self, message: str = "", *, kind: Optional[str] = None, reason: Optional[str] = None) -> None:
        super().__init__(message, kind=kind)
        self.reason = reason


class ConflictError(EchoError):
    """The operation conflicts with the current state (e.g. editing a running experiment)."""

    kind = "conflict"


class QuotaExceededError(EchoError):
    """A quota would be exceeded; nothing was reserved or written.

    ``limit_kind`` says which limit (``"period_samples"``, ``"samples_per_run"``,
    ``"concurrent_runs"``); ``requested`` is what the operation needed, ``remaining`` what
    is left, ``limit`` the tier's limit (samples, or runs for ``concurrent_runs``), and
    ``resets_at`` when the allowance resets (``None`` for limits that do not reset with time).
    """

    kind = "quota_exceeded"

    def __init__(
        self,
        message: str = "",
        *,
        kind: Optional[str] = None,
        limit_kind: Optional[str] = None,
        requested: Optional[int] = None,
        remaining: Optional[int] = None,
        limit: Optional[int] = None,
        resets_at: Union[datetime, str, None] = None,
    ) -> None:
        super().__init__(message, kind=kind)
        self.limit_kind = limit_kind
        self.requested = requested
        self.remaining = remaining
        self.limit = limit
        if isinstance(resets_at, str):
            resets_at = parse_datetime(resets_at)
        self.resets_at: Optional[datetime] = resets_at


class RateLimitedError(EchoError):
    """A rate limit refused the call; retry after ``retry_after`` seconds.

    ``policy`` names the limit (e.g. ``runs.start``), which admits ``limit`` requests per
    ``window`` seconds.
    """

    kind = "rate_limited"

    def __init__(
        self,
        message: str = "",
        *,
        kind: Optional[str] = None,
        retry_after: Optional[float] = None,
        policy: Optional[str] = None,
        limit: Optional[int] = None,
        window: Optional[float] = None,
    ) -> None:
        super().__init__(message, kind=kind)
        self.retry_after = retry_after
        self.policy = policy
        self.limit = limit
        self.window = window


class ProviderError(EchoError):
    """A language-model provider failed; ``provider`` is its id (``openai``, ...)."""

    kind = "provider"

    def __init__(self, message: str = "", *, kind: Optional[str] = None, provider: Optional[str] = None) -> None:
        super().__init__(message, kind=kind)
        self.provider = provider


class StorageError(EchoError):
    """The database failed."""

    kind = "storage"


class CancelledError(EchoError):
    """The operation was cancelled."""

    kind = "cancelled"


class ConfigError(EchoError):
    """A configuration problem in the host's setup of Echo."""

    kind = "config"


class InternalError(EchoError):
    """A bug in Echo; please report it with the message."""

    kind = "internal"


class ConsentRequiredError(EchoError):
    """The deployment requires consent for ``purpose`` before runs start (``Echo.open(
    require_consent=...)``), and the account has not given it (``withdrawn`` is ``False``)
    or has withdrawn it (``True``). Nothing was started, reserved or written: record the
    customer's consent with ``Echo.record_consent`` and start the run again.
    """

    kind = "consent_required"

    def __init__(
        self,
        message: str = "",
        *,
        kind: Optional[str] = None,
        purpose: Optional[str] = None,
        withdrawn: Optional[bool] = None,
    ) -> None:
        super().__init__(message, kind=kind)
        self.purpose = purpose
        self.withdrawn = withdrawn


_CLASS_BY_KIND: Dict[str, Type[EchoError]] = {
    cls.kind: cls
    for cls in (
        InvalidInputError,
        NotFoundError,
        PermissionDeniedError,
        UnauthenticatedError,
        ConflictError,
        QuotaExceededError,
        RateLimitedError,
        ProviderError,
        StorageError,
        CancelledError,
        ConfigError,
        InternalError,
        ConsentRequiredError,
    )
}


def error_class_for_kind(kind: str) -> Type[EchoError]:
    """The exception class raised for an error kind; ``EchoError`` for unknown kinds."""
    return _CLASS_BY_KIND.get(kind, EchoError)
