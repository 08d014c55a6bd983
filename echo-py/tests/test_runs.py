"""Runs: blocking and awaitable, progress, reports, statistics, workers."""

from __future__ import annotations

import asyncio
from typing import List

import pytest

import echo_ai
from echo_ai import Echo, Principal, Progress, Provider

from support import crm_spec


def test_run_blocking_with_progress_callback(echo: Echo, me: Principal, experiment: echo_ai.Experiment) -> None:
    seen: List[Progress] = []
    report = echo.run(me, experiment.id, seed=1, progress=seen.append)
    assert report.status == "completed"
    assert report.counts.succeeded == 20 and report.counts.total == 20
    assert seen, "the callback saw no progress"
    assert seen[-1].is_finished and seen[-1].done == 20 and seen[-1].remaining == 0
    assert all(a.done <= b.done for a, b in zip(seen, seen[1:]))
    assert echo.get_run(me, report.run_id).status == "completed"


def test_report_is_typed_and_round_trips(echo: Echo, me: Principal, experiment: echo_ai.Experiment) -> None:
    report = echo.run(me, experiment.id, seed=3)
    hubspot = report.target("simulated/sim-default").brand("HubSpot")  # type: ignore[union-attr]
    assert hubspot is not None and hubspot.role == "target"
    v = hubspot.visibility
    assert v.trials == 10 and 0 <= v.interval.lower <= v.estimate <= v.interval.upper <= 1
    assert isinstance(report.overall.cost, echo_ai.CostSummary)
    as_dict = report.to_dict()
    assert as_dict["run_id"] == report.run_id and isinstance(as_dict["generated_at"], str)
    assert echo_ai.Report.from_dict(as_dict) == report
    # The stored report is the same one.
    assert echo.report(me, report.run_id).counts == report.counts


def test_report_to_pandas(echo: Echo, me: Principal, experiment: echo_ai.Experiment) -> None:
    pd = pytest.importorskip("pandas")
    report = echo.run(me, experiment.id, seed=3)
    frame = report.to_pandas(level="target")
    brands = len(report.overall.brands)
    assert len(frame) == 2 * brands
    assert set(frame["target"]) == {"simulated/sim-default", "simulated/sim-enterprise"}
    assert (frame["visibility_lower"] <= frame["visibility"]).all()
    everything = report.to_pandas()
    assert len(everything) == (1 + 2 + 4) * brands
    assert isinstance(everything, pd.DataFrame)


def test_start_run_handle_and_cancel() -> None:
    # Slow calls so the run is still going when it is cancelled.
    slow = Provider.simulated(
        [echo_ai.SimulatedBrand("HubSpot", 0.5)], id="slow", latency_median=0.05, max_concurrency=1
    )
    echo = Echo.open(providers=[slow], quota="unmetered")
    account = echo.create_account(Principal.admin(), "Acme")
    me = Principal.host(account.id)
    spec = echo_ai.ExperimentSpec(
        name="slow", prompts=["q?"], brands=[echo_ai.BrandSpec.target("HubSpot")], targets=["slow/m"], repeats=200
    )
    experiment = echo.create_experiment(me, spec)
    handle = echo.start_run(me, experiment.id, concurrency=1)
    assert handle.progress().planned == 200 and not handle.done()
    handle.cancel()
    report = handle.wait()
    assert report.status == "cancelled"
    assert report.counts.cancelled > 0
    assert report.counts.succeeded + report.counts.cancelled + report.counts.failed == 200
    assert handle.done() and handle.wait() == report  # waiting again returns the same report
    echo.close()


def test_async_api_runs_with_progress_updates(echo: Echo, me: Principal, experiment: echo_ai.Experiment) -> None:
    async def main() -> None:
        aecho = echo.aio
        assert (await aecho.get_experiment(me, experiment.id)) == experiment
        handle = await aecho.start_run(me, experiment.id, seed=5)
        updates = [p async for p in handle.updates()]
        assert updates[-1].is_finished and updates[-1].done == 20
        report = await handle.wait_async()
        assert report.status == "completed"
        again = await aecho.run(me, experiment.id, seed=5)
        # Same seed, same simulated answers: the same counts.
        assert again.overall.brands == report.overall.brands
        with pytest.raises(echo_ai.NotFoundError):
            await aecho.report(me, "01900000-0000-7000-8000-000000000000")

    asyncio.run(main())


def test_async_open_and_context_manager() -> None:
    async def main() -> List[str]:
        async with await echo_ai.AsyncEcho.open(providers=[Provider.crm_demo()]) as aecho:
            account = await aecho.create_account(Principal.admin(), "Acme")
            assert (await aecho.get_account(Principal.host(account.id))).name == "Acme"
            return aecho.providers

    assert asyncio.run(main()) == ["simulated"]


def test_compare_plan_series_reanalyze(echo: Echo, me: Principal, experiment: echo_ai.Experiment) -> None:
    first = echo.run(me, experiment.id, seed=1)
    second = echo.run(me, experiment.id, seed=2)
    comparison = echo.compare_runs(me, first.run_id, second.run_id)
    assert comparison.before == first.run_id and comparison.alpha == 0.05
    assert {c.brand for c in comparison.changes} >= {"HubSpot", "Salesforce"}
    assert all(isinstance(c.visibility.p_value, float) for c in comparison.changes)

    series = echo.visibility_series(me, experiment.id, limit=5)
    overall = [s for s in series if s.target is None and s.brand == "HubSpot"]
    assert len(overall) == 1 and [p.run_id for p in overall[0].points] == [first.run_id, second.run_id]
    assert overall[0].points[0].change is None and overall[0].points[1].change is not None
    with pytest.raises(echo_ai.InvalidInputError) as info:
        echo.visibility_series(me, experiment.id, limit=0)
    assert info.value.field == "limit"

    plan = echo.plan(me, experiment.id, 0.05, expected_rate=0.2)
    assert plan.worst_case.repeats >= plan.expected.repeats >= 1
    with pytest.raises(echo_ai.InvalidInputError):
        echo.plan(me, experiment.id, 0.05, scope="everything")

    only_hubspot = echo.reanalyze(me, first.run_id, [echo_ai.BrandSpec.target("HubSpot", aliases=["HubSpot CRM"])])
    assert [b.brand for b in only_hubspot.overall.brands] == ["HubSpot"]
    assert only_hubspot.overall.brands[0].visibility == first.overall.brand("HubSpot").visibility  # type: ignore[union-attr]


def test_enqueued_runs_are_executed_by_a_worker(echo: Echo, me: Principal, experiment: echo_ai.Experiment) -> None:
    run = echo.enqueue_run(me, experiment.id, seed=4)
    assert run.status == "pending" and run.planned_samples == 20
    worker = echo.start_worker(concurrency=8, poll_interval=0.05, run_scheduler=False)
    try:
        import time

        deadline = time.monotonic() + 30
        while not echo.get_run(me, run.id).is_terminal and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        final = worker.shutdown(grace=5)
    assert echo.get_run(me, run.id).status == "completed"
    assert final.succeeded == 20 and final.runs_finalized == 1 and worker.stopped
    assert worker.shutdown() == final
    assert worker.report() == final


def test_resume_run_executes_an_enqueued_run(echo: Echo, me: Principal, experiment: echo_ai.Experiment) -> None:
    run = echo.enqueue_run(me, experiment.id)
    report = echo.resume_run(me, run.id).wait()
    assert report.run_id == run.id and report.counts.succeeded == 20
    runs = echo.list_runs(me, experiment.id)
    assert [r.id for r in runs] == [run.id]


def test_progress_true_draws_a_tqdm_bar(echo: Echo, me: Principal, experiment: echo_ai.Experiment, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tqdm")
    report = echo.run(me, experiment.id, progress=True)
    assert report.status == "completed"
    err = capsys.readouterr().err
    assert "20/20" in err and "completed" in err
    with pytest.raises(TypeError, match="progress must be"):
        echo.run(me, experiment.id, progress="yes")
    assert len(echo.list_runs(me, experiment.id)) == 1, "a bad progress argument must not start a run"
