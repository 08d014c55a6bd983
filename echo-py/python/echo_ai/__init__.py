"""Echo: measure how large language models talk about brands.

The heavy lifting happens in Rust (``echo_ai._native``); this package re-exports it and
defines the exception hierarchy in :mod:`echo_ai.errors`.
"""

from __future__ import annotations

from . import errors
from ._native import __version__, error_kinds, validate_target
from .errors import (
    CancelledError,
    ConfigError,
    ConflictError,
    EchoError,
    InternalError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
    QuotaExceededError,
    RateLimitedError,
    StorageError,
    UnauthenticatedError,
)

__all__ = [
    "__version__",
    "error_kinds",
    "validate_target",
    "errors",
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
]
