"""API keys, quotas and rate limits, schedules."""

from __future__ import annotations

import pickle
from datetime import datetime, timedelta, timezone

import pytest

import echo_ai
from echo_ai import Echo, Principal, Provider, RateLimitPolicy, Schedule, TierLimits

from support import crm_spec


def test_key_lifecycle(echo: Echo, me: Principal, account: echo_ai.Account) -> None:
    created = echo.create_api_key(me, "CI", ["experiments:read", "runs:write"])
    assert created.secret.startswith("echo_live_")
    assert created.secret not in repr(created), "the plaintext must stay out of repr"
    assert created.secret.startswith(created.key.display_prefix.rstrip("…"))
    principal = echo.authenticate(created.secret)
    assert principal.actor == "api_key" and principal.api_key_id == created.key.id
    assert principal.account_id == account.id
    assert principal.scopes == ["experiments:read", "runs:write"]

    keys = echo.list_api_keys(me)
    assert [k.id for k in keys] == [created.key.id]
    assert not hasattr(keys.items[0], "secret")
    revoked = echo.revoke_api_key(me, created.key.id)
    assert revoked.revoked_at is not None
    with pytest.raises(echo_ai.UnauthenticatedError) as info:
        echo.authenticate(created.secret)
    assert info.value.reason == "revoked"
    assert str(info.value) == "invalid or expired API key"
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is echo_ai.UnauthenticatedError and copy.reason == "revoked"


def test_key_requests_are_validated(echo: Echo, me: Principal) -> None:
    with pytest.raises(echo_ai.InvalidInputError):
        echo.create_api_key(me, "k", ["experiments:read"], expires_at=datetime(2030, 1, 1))  # naive
    with pytest.raises(echo_ai.InvalidInputError) as info:
        echo.create_api_key(me, "k", ["admin"])
    assert info.value.field == "key.scopes"
    with pytest.raises(echo_ai.InvalidInputError) as info:
        echo.create_api_key(me, "k", ["everything"])
    assert info.value.field == "scope"
    with pytest.raises(echo_ai.InvalidInputError):
        echo.create_api_key(me, "k", ["experiments:read"], environment="staging")
    later = datetime.now(timezone.utc) + timedelta(days=1)
    key = echo.create_api_key(me, "test key", ["experiments:read"], expires_at=later, environment="test")
    assert key.secret.startswith("echo_test_") and key.key.expires_at is not None
    with pytest.raises(echo_ai.UnauthenticatedError) as info:
        echo.authenticate("echo_live_nonsense")
    assert info.value.reason == "malformed"
    # A key cannot widen its creator's scopes.
    reader = echo.authenticate(key.secret)
    with pytest.raises(echo_ai.PermissionDeniedError):
        echo.create_api_key(reader, "k", ["experiments:read"])
    assert echo.flush_key_usage() == 1


def test_quota_status_and_denial() -> None:
    tiers = {"tiny": TierLimits(period_samples=30, max_samples_per_run=25, max_concurrent_runs=2)}
    with Echo.open(providers=[Provider.crm_demo()], quota=tiers) as echo:
        account = echo.create_account(Principal.admin(), "Acme", tier="tiny")
        me = Principal.host(account.id)
        experiment = echo.create_experiment(me, crm_spec(repeats=5))  # 20 samples
        status = echo.quota_status(me)
        assert (status.tier, status.used, status.limit, status.remaining) == ("tiny", 0, 30, 30)
        assert status.resets_at > status.period_start
        echo.run(me, experiment.id)
        assert echo.quota_status(me).used == 20
        with pytest.raises(echo_ai.QuotaExceededError) as info:
            echo.start_run(me, experiment.id)
        err = info.value
        assert (err.limit_kind, err.requested, err.remaining, err.limit) == ("period_samples", 20, 10, 30)
        assert isinstance(err.resets_at, datetime) and err.resets_at == status.resets_at
        copy = pickle.loads(pickle.dumps(err))
        assert (copy.limit_kind, copy.requested, copy.resets_at) == (err.limit_kind, err.requested, err.resets_at)
        big = echo.create_experiment(me, crm_spec(repeats=10))  # 40 samples > 25 per run
        with pytest.raises(echo_ai.QuotaExceededError) as info:
            echo.enqueue_run(me, big.id)
        assert info.value.limit_kind == "samples_per_run" and info.value.resets_at is None


def test_run_start_rate_limit_raises_with_retry_after() -> None:
    tiers = {"free": TierLimits(1000, 500, 50, run_starts_per_minute=2)}
    with Echo.open(providers=[Provider.crm_demo()], quota=tiers) as echo:
        me = Principal.host(echo.create_account(Principal.admin(), "Acme").id)
        experiment = echo.create_experiment(me, crm_spec(repeats=1))
        echo.enqueue_run(me, experiment.id)
        echo.enqueue_run(me, experiment.id)
        with pytest.raises(echo_ai.RateLimitedError) as info:
            echo.enqueue_run(me, experiment.id)
        err = info.value
        assert err.policy == "runs.start" and err.limit == 2 and err.window == 60.0
        assert err.retry_after is not None and 0 < err.retry_after <= 60
        assert pickle.loads(pickle.dumps(err)).retry_after == err.retry_after


def test_check_rate_limit_returns_headers(echo: Echo, me: Principal) -> None:
    policy = RateLimitPolicy("api.reports", limit=2, window=timedelta(minutes=1))
    first = echo.check_rate_limit(me, policy)
    assert first.allowed and first.remaining == 1
    assert first.headers["RateLimit-Limit"] == "2" and "Retry-After" not in first.headers
    echo.check_rate_limit(me, policy)
    refused = echo.check_rate_limit(me, policy)
    assert not refused.allowed and refused.retry_after > timedelta(0)
    assert int(refused.headers["Retry-After"]) >= 1
    with pytest.raises(echo_ai.InvalidInputError) as info:
        echo.check_rate_limit(me, RateLimitPolicy("x", limit=0))
    assert info.value.field == "rate_limit.limit"
    assert echo.expire_reservations() == 0
    assert echo.purge_rate_limits() >= 0


def test_schedules(echo: Echo, me: Principal, experiment: echo_ai.Experiment) -> None:
    assert echo.schedule(me, experiment.id) is None
    first = echo.set_schedule(me, experiment.id, Schedule.every(timedelta(hours=1)))
    assert first is not None and first > datetime.now(timezone.utc)
    info = echo.schedule(me, experiment.id)
    assert info is not None and info.schedule == Schedule.every(3600) and info.next_run_at == first
    echo.set_schedule(me, experiment.id, Schedule.from_cron("0 9 * * 1"))
    assert echo.schedule(me, experiment.id).schedule.cron == "0 9 * * 1"  # type: ignore[union-attr]
    with pytest.raises(echo_ai.InvalidInputError) as err:
        echo.set_schedule(me, experiment.id, Schedule.every(5))
    assert err.value.field == "schedule.interval"
    with pytest.raises(echo_ai.InvalidInputError) as err:
        echo.set_schedule(me, experiment.id, Schedule.from_cron("0 25 * * *"))
    assert err.value.field is not None and err.value.field.startswith("schedule.cron")
    assert echo.scheduled_run(me, experiment.id, first) is None
    assert echo.set_schedule(me, experiment.id, None) is None
    assert echo.schedule(me, experiment.id) is None
