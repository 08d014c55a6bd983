"""Smoke tests: the extension builds, imports, and maps core errors onto the hierarchy."""

from __future__ import annotations

import importlib.metadata
import pickle

import pytest

import echo_ai
from echo_ai import errors


def test_version_matches_installed_distribution() -> None:
    assert echo_ai.__version__ == importlib.metadata.version("echo-ai")
    assert echo_ai.__version__.count(".") == 2


def test_native_module_is_the_compiled_extension() -> None:
    from echo_ai import _native

    assert _native.__file__ is not None
    assert _native.__file__.endswith((".so", ".pyd"))


def test_error_kinds_are_the_core_names() -> None:
    kinds = echo_ai.error_kinds()
    assert kinds[0] == "invalid_input"
    assert {"not_found", "rate_limited", "provider", "storage", "internal", "consent_required"} <= set(kinds)
    assert len(kinds) == len(set(kinds))


def test_every_core_kind_has_its_own_class() -> None:
    for kind in echo_ai.error_kinds():
        cls = errors.error_class_for_kind(kind)
        assert cls is not errors.EchoError, f"no exception class for kind {kind!r}"
        assert cls.kind == kind
        assert issubclass(cls, echo_ai.EchoError)


def test_unknown_kind_falls_back_to_the_base_class() -> None:
    assert errors.error_class_for_kind("something_new") is errors.EchoError


@pytest.mark.parametrize("cls", [getattr(errors, name) for name in errors.__all__ if name.endswith("Error")])
def test_hierarchy_roots_at_echo_error(cls: type) -> None:
    assert issubclass(cls, echo_ai.EchoError)
    assert issubclass(cls, Exception)


def test_invalid_input_is_also_a_value_error() -> None:
    assert issubclass(echo_ai.InvalidInputError, ValueError)
    assert issubclass(echo_ai.InvalidInputError, echo_ai.EchoError)
    assert not issubclass(echo_ai.NotFoundError, ValueError)


def test_validate_target_splits_provider_and_model() -> None:
    assert echo_ai.validate_target("openai/gpt-4o-mini") == ("openai", "gpt-4o-mini")
    # The model part may contain '/', and both parts are trimmed.
    assert echo_ai.validate_target(" openrouter / meta-llama/llama-3 ") == ("openrouter", "meta-llama/llama-3")


@pytest.mark.parametrize("bad", ["gpt-4o", "openai/", "/gpt-4o", " / ", ""])
def test_validate_target_rejects_malformed_input(bad: str) -> None:
    with pytest.raises(echo_ai.InvalidInputError) as info:
        echo_ai.validate_target(bad)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.kind == "invalid_input"
    assert err.field == "target"
    assert "provider/model" in str(err)
    assert str(err) == err.message


def test_invalid_input_can_be_caught_as_value_error() -> None:
    with pytest.raises(ValueError, match="not of the form provider/model"):
        echo_ai.validate_target("no-slash")


def test_errors_raised_by_the_core_pickle() -> None:
    with pytest.raises(echo_ai.InvalidInputError) as info:
        echo_ai.validate_target("no-slash")
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is echo_ai.InvalidInputError
    assert str(copy) == str(info.value)
    assert copy.field == "target"
    assert copy.kind == "invalid_input"


def test_rate_limited_error_carries_retry_after_through_pickle() -> None:
    err = echo_ai.RateLimitedError("rate limited: retry after 2s", retry_after=2.0)
    copy = pickle.loads(pickle.dumps(err))
    assert copy.retry_after == 2.0
    assert copy.kind == "rate_limited"


def test_privacy_errors_carry_their_details_through_pickle() -> None:
    err = echo_ai.ConsentRequiredError("consent required", purpose="data_processing", withdrawn=True)
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.kind, copy.purpose, copy.withdrawn) == ("consent_required", "data_processing", True)
    blocked = echo_ai.PermissionDeniedError(
        "account is scheduled for erasure", account_status="deletion_pending", deadline="2025-04-01T00:00:00Z"
    )
    copy = pickle.loads(pickle.dumps(blocked))
    assert copy.account_status == "deletion_pending"
    assert copy.deadline is not None and copy.deadline.isoformat() == "2025-04-01T00:00:00+00:00"
