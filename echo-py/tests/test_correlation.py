"""Correlation ids: `correlation_id=` on run/start_run/enqueue_run (or the principal's
request's) is stored on the run and recorded in its `run.enqueue` audit event; and the
engine's clock (`now()`), which `apply_retention` uses when given no `now`."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Optional

import pytest

import echo_ai
from echo_ai import Echo, ManualClock, Principal, Provider, RetentionPolicy

from support import crm_spec

START = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)


def enqueue_correlation(echo: Echo, run_id: str) -> Optional[str]:
    """The correlation id of the run's `run.enqueue` audit event."""
    events = [
        e
        for e in echo.audit_events(Principal.admin(), action="run.enqueue", limit=1000)
        if e.target is not None and e.target.id == run_id
    ]
    assert len(events) == 1 and events[0].target is not None and events[0].target.kind == "run"
    return events[0].request.correlation_id


def test_explicit_correlation_id_is_on_the_run_and_its_audit_event(
    echo: Echo, me: Principal, experiment: echo_ai.Experiment
) -> None:
    handle = echo.start_run(me, experiment.id, seed=1, correlation_id="corr-py-1")
    report = handle.wait()
    assert report.status == "completed"
    run = echo.get_run(me, handle.run_id)
    assert run.correlation_id == "corr-py-1"
    assert enqueue_correlation(echo, run.id) == "corr-py-1"
    # Listed runs carry it too, and the record round-trips through its dict.
    listed = echo.list_runs(me, experiment.id).items
    assert [r.correlation_id for r in listed] == ["corr-py-1"]
    assert run.to_dict()["correlation_id"] == "corr-py-1"
    assert echo_ai.Run.from_dict(run.to_dict()) == run

    # `run` and `enqueue_run` take it as well.
    ran = echo.run(me, experiment.id, seed=2, correlation_id="corr-py-2")
    assert echo.get_run(me, ran.run_id).correlation_id == "corr-py-2"
    queued = echo.enqueue_run(me, experiment.id, correlation_id="corr-py-3")
    assert queued.correlation_id == "corr-py-3"
    assert echo.get_run(me, queued.id).correlation_id == "corr-py-3"
    assert enqueue_correlation(echo, queued.id) == "corr-py-3"


def test_a_run_without_correlation_id_has_none(echo: Echo, me: Principal, experiment: echo_ai.Experiment) -> None:
    report = echo.run(me, experiment.id, seed=1)
    assert echo.get_run(me, report.run_id).correlation_id is None
    assert enqueue_correlation(echo, report.run_id) is None
    # A blank one counts as none.
    queued = echo.enqueue_run(me, experiment.id, correlation_id="  ")
    assert echo.get_run(me, queued.id).correlation_id is None


def test_the_request_correlation_id_is_used_when_the_option_is_absent(
    echo: Echo, account: echo_ai.Account, experiment: echo_ai.Experiment
) -> None:
    traced = Principal.host(account.id).with_request(request_id="req-9", correlation_id="corr-req-1")
    report = echo.run(traced, experiment.id, seed=1)
    assert echo.get_run(traced, report.run_id).correlation_id == "corr-req-1"
    assert enqueue_correlation(echo, report.run_id) == "corr-req-1"
    # An explicit one wins over the request's.
    queued = echo.enqueue_run(traced, experiment.id, correlation_id="corr-explicit")
    assert echo.get_run(traced, queued.id).correlation_id == "corr-explicit"
    assert enqueue_correlation(echo, queued.id) == "corr-explicit"


@pytest.mark.asyncio
async def test_correlation_id_async(echo: Echo, me: Principal, experiment: echo_ai.Experiment) -> None:
    aecho = echo.aio
    report = await aecho.run(me, experiment.id, seed=1, correlation_id="corr-async-1")
    assert (await aecho.get_run(me, report.run_id)).correlation_id == "corr-async-1"
    handle = await aecho.start_run(me, experiment.id, seed=2, correlation_id="corr-async-2")
    await handle.wait_async()
    assert (await aecho.get_run(me, handle.run_id)).correlation_id == "corr-async-2"
    queued = await aecho.enqueue_run(me, experiment.id, correlation_id="corr-async-3")
    assert queued.correlation_id == "corr-async-3"
    assert enqueue_correlation(echo, queued.id) == "corr-async-3"


def test_now_is_the_engine_clock_and_apply_retention_defaults_to_it() -> None:
    clock = ManualClock(START)
    policy = RetentionPolicy(raw_answer_ttl=timedelta(days=1))
    with Echo.open(providers=[Provider.crm_demo()], quota="unmetered", retention=policy, clock=clock) as echo:
        assert echo.now() == START and echo.aio.now() == START
        admin = Principal.admin()
        me = Principal.host(echo.create_account(admin, "Acme").id)
        echo.run(me, echo.create_experiment(me, crm_spec()).id, seed=5)

        kept = echo.apply_retention(admin)
        assert kept.samples_anonymized == 0
        assert kept.raw_answer_cutoff == START - timedelta(days=1)

        clock.advance(timedelta(days=2))
        assert echo.now() == START + timedelta(days=2)
        applied = echo.apply_retention(admin)
        assert applied.samples_anonymized == 20 and applied.complete
        assert applied.raw_answer_cutoff == START + timedelta(days=1)
        # An explicit `now` still wins; None is the default.
        assert echo.apply_retention(admin, START).raw_answer_cutoff == START - timedelta(days=1)
        assert echo.apply_retention(admin, None).samples_anonymized == 0


@pytest.mark.asyncio
async def test_apply_retention_defaults_to_the_engine_clock_async() -> None:
    clock = ManualClock(START)
    aecho = await echo_ai.AsyncEcho.open(clock=clock)
    try:
        report = await aecho.apply_retention(Principal.admin())
        assert report.complete and report.raw_answer_cutoff == START - timedelta(days=90)
    finally:
        await aecho.close()
