"""Data-subject rights: export, deletion request and cancellation, erasure after the deadline."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import echo_ai
from echo_ai import Echo, ManualClock, Principal, Provider

from support import crm_spec

START = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)


def test_export_bundle_holds_the_account_and_not_another(echo: Echo, tmp_path: Path) -> None:
    admin = Principal.admin()
    acme = echo.create_account(admin, "Acme")
    globex = echo.create_account(admin, "Globex")
    me, them = Principal.host(acme.id), Principal.host(globex.id)
    mine = echo.create_experiment(me, crm_spec(repeats=2, name="Acme study"))
    theirs = echo.create_experiment(them, crm_spec(repeats=3, name="Globex study"))
    run = echo.run(me, mine.id, seed=1)
    echo.run(them, theirs.id, seed=2)
    echo.create_api_key(me, "ci", ["experiments:read"])
    echo.record_consent(me, "data_processing", "v1")

    path = tmp_path / "acme.json"
    summary = echo.export_account(me, path)
    text = path.read_text("utf-8")
    assert summary.account_id == acme.id and summary.bytes == len(text.encode("utf-8"))
    assert [p.name for p in tmp_path.iterdir()] == ["acme.json"], "no partial file is left behind"

    bundle = json.loads(text)
    assert bundle["format"] == "echo-account-export" and bundle["complete"] is True
    assert bundle["account"]["id"] == acme.id and bundle["account"]["name"] == "Acme"
    assert [e["spec"]["name"] for e in bundle["experiments"]] == ["Acme study"]
    assert [r["id"] for r in bundle["runs"]] == [run.run_id]
    assert len(bundle["samples"]) == 8 and all(s["raw_answer"] for s in bundle["samples"])
    assert [k["name"] for k in bundle["api_keys"]] == ["ci"]
    assert [c["purpose"] for c in bundle["consents"]] == ["data_processing"]
    assert bundle["audit_events"] and all(e["account_id"] == acme.id for e in bundle["audit_events"])
    assert bundle["counts"] == summary.counts and summary.counts["samples"] == 8
    # Nothing of the other account, anywhere in the text.
    assert globex.id not in text and "Globex" not in text and theirs.id not in text

    # The same bundle streams into a binary file object (the export's own audit event,
    # recorded after the first export, is the one difference).
    buffer = io.BytesIO()
    streamed = echo.export_account(me, buffer)
    again = json.loads(buffer.getvalue())
    assert streamed.bytes == len(buffer.getvalue())
    assert again["experiments"] == bundle["experiments"] and again["samples"] == bundle["samples"]
    assert not buffer.closed, "the caller's file is left open"


def test_export_destinations_and_who_may_export(echo: Echo, me: Principal, tmp_path: Path) -> None:
    with open(tmp_path / "text.json", "w") as text_file:
        with pytest.raises(echo_ai.InvalidInputError, match="binary mode") as info:
            echo.export_account(me, text_file)
    assert info.value.field == "destination"
    with pytest.raises(echo_ai.InvalidInputError) as info:
        echo.export_account(me, 42)  # type: ignore[arg-type]
    assert info.value.field == "destination"

    class Full(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data: Any) -> int:
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        echo.export_account(me, Full())

    key = echo.create_api_key(me, "ci", ["experiments:read", "experiments:write"])
    with pytest.raises(echo_ai.PermissionDeniedError):
        echo.export_account(echo.authenticate(key.secret), io.BytesIO())


def test_request_deletion_blocks_the_account_and_cancel_restores_it(echo: Echo, me: Principal) -> None:
    key = echo.create_api_key(me, "ci", ["experiments:read"])
    assert echo.authenticate(key.secret).account_id == me.account_id

    request = echo.request_deletion(me)
    assert request.account_id == me.account_id and request.keys_revoked == 1
    assert request.deadline - request.requested_at == timedelta(days=30)

    # The key is revoked at once, and every operation of the account is refused.
    with pytest.raises(echo_ai.UnauthenticatedError) as refused:
        echo.authenticate(key.secret)
    assert refused.value.reason == "revoked"
    with pytest.raises(echo_ai.PermissionDeniedError) as blocked:
        echo.get_account(me)
    assert blocked.value.account_status == "deletion_pending"
    assert blocked.value.deadline == request.deadline
    assert "cancel" in str(blocked.value)
    with pytest.raises(echo_ai.PermissionDeniedError):
        echo.create_experiment(me, crm_spec())
    with pytest.raises(echo_ai.ConflictError):
        echo.request_deletion(me)
    # Only the operator acting for the account may cancel.
    with pytest.raises(echo_ai.PermissionDeniedError):
        echo.cancel_deletion(me)

    record = echo.cancel_deletion(Principal.admin().acting_for(me.account_id))
    assert record.id == request.id and record.status == "cancelled" and record.cancelled_by == "admin"
    assert echo.get_account(me).id == me.account_id
    # Keys stay revoked; new ones work.
    with pytest.raises(echo_ai.UnauthenticatedError):
        echo.authenticate(key.secret)
    fresh = echo.create_api_key(me, "new", ["experiments:read"])
    assert echo.authenticate(fresh.secret).account_id == me.account_id
    assert [r.status for r in echo.deletion_requests(me)] == ["cancelled"]


def test_erasure_runs_after_the_deadline_only() -> None:
    clock = ManualClock(START)
    with Echo.open(providers=[Provider.crm_demo()], quota="unmetered", clock=clock, deletion_grace=timedelta(days=1)) as echo:
        admin = Principal.admin()
        me = Principal.host(echo.create_account(admin, "Acme").id)
        other = Principal.host(echo.create_account(admin, "Globex").id)
        kept = echo.create_experiment(other, crm_spec(repeats=1))
        echo.run(me, echo.create_experiment(me, crm_spec(repeats=1)).id)
        request = echo.request_deletion(me)
        assert request.deadline == START + timedelta(days=1)

        early = echo.erase_due_accounts()
        assert early.completed == [] and early.batches == 0 and not early.more

        clock.advance(timedelta(days=1, seconds=1))
        erased = echo.erase_due_accounts()
        assert [r.account_id for r in erased.completed] == [me.account_id]
        report = erased.completed[0]
        assert report.rows_deleted["samples"] == 4 and set(report.remaining.values()) == {0}
        assert "audit_events" in report.retained and erased.rows_deleted > 0

        with pytest.raises(echo_ai.NotFoundError):
            echo.get_account(me)
        (completed,) = echo.deletion_requests(me)
        assert completed.status == "completed" and completed.completed_at is not None
        assert completed.details["request_id"] == request.id
        # The other account is untouched.
        assert echo.get_experiment(other, kept.id).id == kept.id
        # Nothing is left to erase.
        assert echo.erase_due_accounts(max_batches=1).completed == []


@pytest.mark.asyncio
async def test_deletion_and_export_async(echo: Echo, me: Principal) -> None:
    aecho = echo.aio
    buffer = io.BytesIO()
    summary = await aecho.export_account(me, buffer)
    assert json.loads(buffer.getvalue())["account"]["id"] == me.account_id == summary.account_id
    request = await aecho.request_deletion(me)
    assert [r.id for r in await aecho.deletion_requests(me)] == [request.id]
    with pytest.raises(echo_ai.PermissionDeniedError):
        await aecho.get_account(me)
    await aecho.cancel_deletion(Principal.admin().acting_for(me.account_id))
    assert (await aecho.get_account(me)).id == me.account_id
    assert (await aecho.erase_due_accounts()).completed == []
