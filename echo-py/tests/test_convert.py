"""The conversion helpers of echo_ai._convert."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import echo_ai
from echo_ai._convert import parse_datetime, parse_duration


def test_rfc3339_with_any_fraction_and_z() -> None:
    expected = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=timezone.utc)
    assert parse_datetime("2026-01-02T03:04:05.123456789Z") == expected
    assert parse_datetime("2026-01-02T03:04:05.123Z") == expected.replace(microsecond=123000)
    assert parse_datetime("2026-01-02T05:04:05+02:00") == expected.replace(microsecond=0)


def test_durations() -> None:
    assert parse_duration({"secs": 2, "nanos": 500_000_000}) == timedelta(seconds=2.5)
    assert parse_duration(1.5) == timedelta(seconds=1.5)


def test_spec_targets_accept_strings() -> None:
    spec = echo_ai.ExperimentSpec(
        name="x", prompts=["q"], brands=["Acme"], targets=["openai/gpt-4o", echo_ai.Target("a", "b")], repeats=1
    )
    assert spec.targets == [echo_ai.Target("openai", "gpt-4o"), echo_ai.Target("a", "b")]
    assert spec.brands == [echo_ai.BrandSpec("Acme")]
    assert echo_ai.ExperimentSpec.from_dict(spec.to_dict()) == spec
