"""Values across the boundary with the Rust core.

Results arrive as JSON text (the core's ``serde`` form) and become the dataclasses of
``echo_ai.model``, ``echo_ai.report`` ... through :func:`load`; inputs leave through
:func:`dump`. :class:`Record` gives every result class ``from_dict`` and ``to_dict``,
driven by the dataclass's type hints, so each class is only a declaration of its fields.
"""

from __future__ import annotations

import dataclasses
import json
import re
import typing
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, ClassVar, Dict, List, Optional, Tuple, Type, TypeVar, Union

R = TypeVar("R", bound="Record")

#: Result classes by the name the native module gives them (``"Report"``, ...).
_REGISTRY: Dict[str, Type["Record"]] = {}

_FRACTION = re.compile(r"(\.\d+)")


def parse_datetime(text: str) -> datetime:
    """An RFC 3339 instant as an aware ``datetime`` (any number of fraction digits, ``Z``)."""
    text = text.replace("Z", "+00:00").replace("z", "+00:00")
    match = _FRACTION.search(text)
    if match:
        # Python < 3.11 reads exactly 3 or 6 digits; the core writes up to 9.
        digits = match.group(1)[1:7].ljust(6, "0")
        text = text[: match.start()] + "." + digits + text[match.end() :]
    return datetime.fromisoformat(text).astimezone(timezone.utc)


def parse_duration(value: Any) -> timedelta:
    """A Rust ``Duration`` (``{"secs", "nanos"}``) or a number of seconds."""
    if isinstance(value, dict):
        return timedelta(seconds=value["secs"], microseconds=value["nanos"] // 1000)
    return timedelta(seconds=float(value))


def register(cls: Type[R]) -> Type[R]:
    """Class decorator: makes ``cls`` loadable by name."""
    _REGISTRY[cls.__name__] = cls
    return cls


def _hints(cls: type) -> Dict[str, Any]:
    cached = cls.__dict__.get("_echo_hints")
    if cached is None:
        # Each class's annotations are resolved in its own module's namespace.
        cached = typing.get_type_hints(cls)
        setattr(cls, "_echo_hints", cached)
    return cached


def _build(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin is Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _build(args[0], value) if len(args) == 1 else value
    if origin in (list, List):
        (item,) = typing.get_args(tp)
        return [_build(item, v) for v in value]
    if origin in (tuple, Tuple):
        return tuple(value)
    if origin in (dict, Dict):
        _, item = typing.get_args(tp)
        return {k: _build(item, v) for k, v in value.items()}
    if isinstance(tp, type):
        if issubclass(tp, Record):
            return tp.from_dict(value)
        if tp is datetime:
            return parse_datetime(value)
        if tp is timedelta:
            return parse_duration(value)
        if tp is float:
            return float(value)
    return value


def _plain(value: Any) -> Any:
    """A JSON-compatible copy: datetimes as RFC 3339 text, durations as seconds."""
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class Record:
    """Base of Echo's result and input classes (frozen dataclasses)."""

    #: Fields renamed between Python and the core's serde form (python name → core name).
    _core_names: ClassVar[Dict[str, str]] = {}

    @classmethod
    def from_dict(cls: Type[R], data: Dict[str, Any]) -> R:
        """Builds the object from its dict form (as ``to_dict`` returns, or the core sends)."""
        hints = _hints(cls)
        kwargs = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            key = cls._core_names.get(f.name, f.name)
            if key in data:
                kwargs[f.name] = _build(hints[f.name], data[key])
        return cls(**kwargs)

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-compatible dict (datetimes as RFC 3339 text, durations in seconds)."""
        return {
            self._core_names.get(f.name, f.name): _plain(getattr(self, f.name))
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
        }


def load(text: str, name: str, shape: str) -> Any:
    """Called by the native module: JSON text of a core value → Echo's Python type."""
    data = json.loads(text)
    if data is None:
        return None
    if name == "datetime":
        return parse_datetime(data)
    cls = _REGISTRY[name]
    if shape == "one":
        return cls.from_dict(data)
    if shape == "list":
        return [cls.from_dict(d) for d in data]
    from .model import Page

    return Page(items=[cls.from_dict(d) for d in data["items"]], next_cursor=data.get("next_cursor"))


def _core_form(value: Any) -> Any:
    if isinstance(value, Record):
        to_core: Optional[Callable[[], Any]] = getattr(value, "_to_core", None)
        return to_core() if to_core is not None else _core_form(value.to_dict())
    if isinstance(value, dict):
        return {k: _core_form(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_core_form(v) for v in value]
    return _plain(value)


def dump(value: Any) -> str:
    """Called by the native module: an input (a Record or plain dicts) → JSON for the core."""
    return json.dumps(_core_form(value))
