"""The same API on PostgreSQL (ECHO_TEST_PG_URL; skipped loudly without it)."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone

import pytest

import echo_ai
from echo_ai import Echo, Principal, Provider

from support import crm_spec


def test_postgres_end_to_end(pg_url: str) -> None:
    with Echo.open(pg_url, providers=[Provider.crm_demo()], pool={"max_connections": 4, "acquire_timeout": 10}) as echo:
        account = echo.create_account(Principal.admin(), "Acme")
        me = Principal.host(account.id)
        experiment = echo.create_experiment(me, crm_spec(repeats=3))
        report = echo.run(me, experiment.id, seed=1)
        assert report.status == "completed" and report.counts.succeeded == 12
        assert echo.quota_status(me).used == 12
        other = Principal.host(echo.create_account(Principal.admin(), "Other").id)
        try:
            echo.report(other, report.run_id)
            raise AssertionError("another account read the report")
        except echo_ai.NotFoundError:
            pass
    with Echo.open(pg_url) as again:  # the data persisted, through the plain URL too
        assert again.get_account(me) == account


def test_postgres_privacy_export_deletion_and_audit(pg_url: str) -> None:
    """The privacy surface on the PostgreSQL store: consent gate, export, deletion and
    erasure past the deadline (a manual clock), retention, and the audit chain."""
    clock = echo_ai.ManualClock(datetime(2025, 3, 1, tzinfo=timezone.utc))
    with Echo.open(
        pg_url,
        providers=[Provider.crm_demo()],
        quota="unmetered",
        clock=clock,
        require_consent="data_processing",
        retention=echo_ai.RetentionPolicy(raw_answer_ttl=timedelta(days=1), deletion_grace=timedelta(days=2)),
    ) as echo:
        admin = Principal.admin()
        me = Principal.host(echo.create_account(admin, "Acme").id).with_request(ip="203.0.113.9")
        experiment = echo.create_experiment(me, crm_spec(repeats=1))
        with pytest.raises(echo_ai.ConsentRequiredError):
            echo.run(me, experiment.id)
        echo.record_consent(me, "data_processing", "v1")
        assert echo.run(me, experiment.id, seed=1).counts.succeeded == 4

        buffer = io.BytesIO()
        assert echo.export_account(me, buffer).counts["samples"] == 4
        assert json.loads(buffer.getvalue())["account"]["id"] == me.account_id

        clock.advance(timedelta(days=1, hours=1))
        assert echo.apply_retention(admin, clock.now()).samples_anonymized == 4

        echo.request_deletion(me)
        with pytest.raises(echo_ai.PermissionDeniedError):
            echo.get_account(me)
        clock.advance(timedelta(days=2))
        (erased,) = echo.erase_due_accounts().completed
        assert erased.account_id == me.account_id and set(erased.remaining.values()) == {0}

        events = echo.audit_events(admin, account=me.account_id, limit=1000).events
        assert events and all(e.request.ip is None for e in events), "the erasure clears audit personal data"
        assert echo.verify_audit_chain(admin, anchor=echo.audit_head(admin)).ok
