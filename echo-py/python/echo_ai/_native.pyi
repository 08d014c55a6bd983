"""Type stubs for the compiled extension module ``echo_ai._native``."""

from typing import List, Tuple

__version__: str

def error_kinds() -> List[str]:
    """The names of all error kinds, as carried by ``EchoError.kind``."""

def validate_target(target: str) -> Tuple[str, str]:
    """Parse ``"provider/model"`` into ``(provider, model)``; raises ``InvalidInputError``."""
