"""The audit trail: the operator's query (filters, pages), chain verification and anchoring,
retention of the trail and erasure of its personal data."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import List

import pytest

import echo_ai
from echo_ai import AuditEvent, Echo, ManualClock, Principal, Provider

from support import crm_spec

START = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)


def all_events(echo: Echo, **filters: object) -> List[AuditEvent]:
    events: List[AuditEvent] = []
    after = None
    while True:
        page = echo.audit_events(Principal.admin(), after_seq=after, limit=3, **filters)  # type: ignore[arg-type]
        assert len(page) <= 3
        events.extend(page)
        if page.next_after_seq is None:
            return events
        after = page.next_after_seq


def test_audit_query_filters_pages_and_verifies() -> None:
    clock = ManualClock(START)
    with Echo.open(providers=[Provider.crm_demo()], quota="unmetered", clock=clock) as echo:
        admin = Principal.admin()
        acme = echo.create_account(admin, "Acme")
        me = Principal.host(acme.id).with_request(ip="203.0.113.7", user_agent="pytest", request_id="req-1")
        echo.create_experiment(me, crm_spec(name="first"))
        clock.advance(timedelta(hours=1))
        later = clock.now()
        globex = echo.create_account(admin, "Globex")
        echo.create_experiment(Principal.host(globex.id), crm_spec(name="other"))
        echo.create_experiment(me, crm_spec(name="second"))

        mine = all_events(echo, account=acme.id)
        assert [e.action for e in mine] == ["account.create", "experiment.create", "experiment.create"]
        assert all(e.account_id == acme.id and e.result == "success" for e in mine)
        created = mine[1]
        assert created.actor == echo_ai.AuditActor(kind="host", id=None)
        assert created.target is not None and created.target.kind == "experiment"
        assert created.request.ip == "203.0.113.7" and created.request.request_id == "req-1"
        assert created.occurred_at == START and len(created.hash) == 64

        # Filters combine; pages follow each other without gaps or repeats.
        experiments = all_events(echo, action="experiment.create")
        assert len(experiments) == 3
        seqs = [e.seq for e in experiments]
        assert seqs == sorted(set(seqs))
        recent = all_events(echo, action="experiment.create", since=later)
        assert [e.account_id for e in recent] == [globex.id, acme.id]
        assert [e.seq for e in all_events(echo, action="experiment.create", before=later)] == [seqs[0]]
        assert "experiment.create" in echo_ai.audit_actions()

        with pytest.raises(echo_ai.InvalidInputError) as info:
            echo.audit_events(admin, action="run.explode")
        assert info.value.field == "audit.action" and "experiment.create" in str(info.value)
        with pytest.raises(echo_ai.InvalidInputError) as info:
            echo.audit_events(admin, limit=0)
        assert info.value.field == "audit.limit"
        with pytest.raises(echo_ai.PermissionDeniedError):
            echo.audit_events(me)
        # Queries are audited too, refusals included.
        reads = echo.audit_events(admin, action="audit.read", limit=1000).events
        assert any(e.result == "denied" and e.account_id == acme.id for e in reads)

        verification = echo.verify_audit_chain(admin)
        assert verification.ok and verification.first_broken is None
        assert verification.events_checked == verification.last_seq
        head = echo.audit_head(admin)
        assert echo.verify_audit_chain(admin, anchor=head).ok
        forged = echo_ai.AuditHead(seq=head.seq, hash="0" * 64)
        broken = echo.verify_audit_chain(admin, anchor=forged)
        assert not broken.ok and broken.first_broken is not None
        assert broken.first_broken.problem["kind"] == "anchor_mismatch"
        assert "anchored" in broken.first_broken.description
        with pytest.raises(echo_ai.PermissionDeniedError):
            echo.audit_head(me)


def test_erasing_personal_data_keeps_the_chain_verifiable(echo: Echo, account: echo_ai.Account) -> None:
    me = Principal.host(account.id).with_request(ip="198.51.100.1", user_agent="Mozilla/5.0")
    echo.create_experiment(me, crm_spec())
    assert echo.erase_audit_personal_data(account.id) >= 1
    events = all_events(echo, account=account.id)
    with_request = [e for e in events if e.action == "experiment.create"]
    assert with_request[0].request.ip is None and with_request[0].request.user_agent is None
    assert with_request[0].personal_data_erased
    assert events[-1].action == "audit.erase_personal_data" and events[-1].actor.kind == "system"
    assert echo.verify_audit_chain(Principal.admin()).ok


def test_purging_old_events_leaves_a_verifiable_checkpoint() -> None:
    clock = ManualClock(START)
    with Echo.open(clock=clock) as echo:
        admin = Principal.admin()
        echo.create_account(admin, "Old")
        echo.create_account(admin, "Older")
        clock.advance(timedelta(days=10))
        newer = echo.create_account(admin, "New")
        report = echo.purge_audit_events(START + timedelta(days=1))
        assert report.events_deleted == 2 and report.checkpoint_seq == 2
        assert [e.account_id for e in all_events(echo, action="account.create")] == [newer.id]
        verification = echo.verify_audit_chain(admin)
        assert verification.ok and verification.from_checkpoint == 2
        assert echo.purge_audit_events(START + timedelta(days=1)).events_deleted == 0
        with pytest.raises(echo_ai.InvalidInputError, match="future"):
            echo.purge_audit_events(clock.now() + timedelta(days=1))


@pytest.mark.asyncio
async def test_audit_async(echo: Echo, account: echo_ai.Account) -> None:
    aecho, admin = echo.aio, Principal.admin()
    page = await aecho.audit_events(admin, account=account.id)
    assert [e.action for e in page] == ["account.create"] and page.next_after_seq is None
    head = await aecho.audit_head(admin)
    assert (await aecho.verify_audit_chain(admin, anchor=head.to_dict())).ok
    me = Principal.host(account.id).with_request(ip="192.0.2.1")
    await aecho.create_experiment(me, crm_spec())
    assert (await aecho.erase_audit_personal_data(account.id)) >= 1
    assert all(e.request.ip is None for e in (await aecho.audit_events(admin, account=account.id)).events)
    assert (await aecho.purge_audit_events(datetime(2000, 1, 1, tzinfo=timezone.utc))).events_deleted == 0
