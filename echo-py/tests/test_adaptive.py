"""Adaptive runs: sampling each target to a precision instead of a fixed count."""

from __future__ import annotations

import pytest

import echo_ai
from echo_ai import AdaptiveGoal, AdaptiveOptions, Echo, Principal

from support import crm_spec

#: ±15 points: reached after a few dozen answers per target, far below the maximum.
GOAL = AdaptiveGoal(half_width=0.15, min_samples=20, max_samples=200, confidence=0.95)


def test_adaptive_run_stops_when_the_goal_is_reached(echo: Echo, me: Principal, experiment: echo_ai.Experiment) -> None:
    report = echo.run(me, experiment.id, seed=3, adaptive=GOAL)
    assert report.status == "completed" and report.adaptive is not None
    assert report.adaptive.options == AdaptiveOptions(goal=GOAL)
    assert len(report.adaptive.targets) == 2
    for target in report.adaptive.targets:
        assert target.state == "goal_reached"
        assert GOAL.min_samples <= target.answered < GOAL.max_samples
        assert target.widest_half_width <= GOAL.half_width
    # Far fewer answers than the 2 x 200 reserved (the unused part is refunded).
    assert report.counts.succeeded == sum(t.answered for t in report.adaptive.targets) < 400
    run = echo.get_run(me, report.run_id)
    assert run.adaptive is not None and run.adaptive.goal == GOAL and run.planned_samples == 400
    # A fixed run has no adaptive part.
    assert echo.run(me, experiment.id, seed=3).adaptive is None


def test_adaptive_options_forms_and_validation(echo: Echo, me: Principal, experiment: echo_ai.Experiment) -> None:
    # A half-width alone takes the core's defaults: 95%, 20 answers up to the worst case.
    run = echo.enqueue_run(me, experiment.id, adaptive=0.1)
    assert run.adaptive is not None and run.adaptive.goal.half_width == 0.1
    assert run.adaptive.goal.min_samples == 20 and run.adaptive.goal.max_samples > 20
    planned = echo.plan(me, experiment.id, 0.1).adaptive
    assert echo.enqueue_run(me, experiment.id, adaptive=planned).adaptive.goal == planned  # type: ignore[union-attr]
    targets_only = echo.enqueue_run(me, experiment.id, adaptive=AdaptiveOptions(GOAL, brands="targets"))
    assert targets_only.adaptive is not None and targets_only.adaptive.brands == "targets"

    with pytest.raises(echo_ai.InvalidInputError) as info:
        echo.enqueue_run(me, experiment.id, adaptive=AdaptiveGoal(0.1, min_samples=50, max_samples=10, confidence=0.95))
    assert info.value.field == "options.adaptive.goal.max_samples"
    # Below 20 answers the stopping rule's coverage is not verified: refused before anything runs.
    with pytest.raises(echo_ai.InvalidInputError) as info:
        echo.enqueue_run(me, experiment.id, adaptive=AdaptiveGoal(0.05, min_samples=10, max_samples=381, confidence=0.95))
    assert info.value.field == "options.adaptive.goal.min_samples"
    with pytest.raises(echo_ai.InvalidInputError) as info:
        echo.start_run(me, experiment.id, adaptive=0.5)
    assert info.value.field == "options.adaptive.goal.half_width"
    with pytest.raises(echo_ai.InvalidInputError) as info:
        echo.enqueue_run(me, experiment.id, adaptive={"goal": GOAL.to_dict(), "brands": "some"})
    assert info.value.field == "adaptive"


def test_estimate_adaptive(echo: Echo, me: Principal, experiment: echo_ai.Experiment) -> None:
    estimate = echo.estimate_adaptive(me, experiment.id, 0.05, expected_rate=0.1)
    assert estimate.worst_case.planned_samples == 2 * 381
    assert estimate.expected_rate == 0.1
    assert 0 < estimate.expected_samples_per_target < 381
    assert estimate.expected.planned_samples < estimate.worst_case.planned_samples
    worst = echo.estimate_adaptive(me, experiment.id, GOAL)
    assert worst.worst_case.planned_samples == 2 * GOAL.max_samples
    with pytest.raises(echo_ai.InvalidInputError) as info:
        echo.estimate_adaptive(me, experiment.id, GOAL, expected_rate=1.5)
    assert info.value.field == "expected_rate"


@pytest.mark.asyncio
async def test_adaptive_run_async(echo: Echo, me: Principal) -> None:
    aecho = echo.aio
    experiment = await aecho.create_experiment(me, crm_spec(repeats=1))
    report = await aecho.run(me, experiment.id, seed=4, adaptive=GOAL)
    assert report.adaptive is not None
    assert all(t.state == "goal_reached" for t in report.adaptive.targets)
    assert report.counts.succeeded < 400
    handle = await aecho.start_run(me, experiment.id, adaptive=GOAL)
    assert (await handle.wait_async()).adaptive is not None
    estimate = await aecho.estimate_adaptive(me, experiment.id, GOAL)
    assert estimate.worst_case.planned_samples == 400
