from . import errors as errors
from ._native import __version__ as __version__
from ._native import error_kinds as error_kinds
from ._native import validate_target as validate_target
from .errors import CancelledError as CancelledError
from .errors import ConfigError as ConfigError
from .errors import ConflictError as ConflictError
from .errors import EchoError as EchoError
from .errors import InternalError as InternalError
from .errors import InvalidInputError as InvalidInputError
from .errors import NotFoundError as NotFoundError
from .errors import PermissionDeniedError as PermissionDeniedError
from .errors import ProviderError as ProviderError
from .errors import QuotaExceededError as QuotaExceededError
from .errors import RateLimitedError as RateLimitedError
from .errors import StorageError as StorageError
from .errors import UnauthenticatedError as UnauthenticatedError

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
