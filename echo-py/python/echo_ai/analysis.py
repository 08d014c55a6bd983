"""Decision statistics, mirroring ``echo_core::analysis`` and ``engine::estimate``:
estimates, precision plans, comparisons of runs, and visibility over time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import List, Optional

from ._convert import Record, register
from .model import AdaptiveGoal, Target
from .report import ClusteredInterval, Interval, Proportion

__all__ = [
    "TargetEstimate",
    "Estimate",
    "PlanRequest",
    "PlanPoint",
    "AdaptiveGoal",
    "AdaptiveEstimate",
    "Plan",
    "ProportionChange",
    "BrandChange",
    "RankStability",
    "RunComparison",
    "SeriesPoint",
    "VisibilitySeries",
]


@register
@dataclass(frozen=True)
class TargetEstimate(Record):
    """The expected samples, tokens and cost of one target in a run."""

    target: Target
    samples: int
    input_tokens: int
    output_tokens: int
    cost_usd: Optional[float]


@register
@dataclass(frozen=True)
class Estimate(Record):
    """The expected cost of a run before anything is spent (``total_cost_usd`` is ``None``
    when a target is unpriced; ``priced_cost_usd`` sums the priced ones)."""

    planned_samples: int
    targets: List[TargetEstimate]
    total_cost_usd: Optional[float]
    priced_cost_usd: float


@register
@dataclass(frozen=True)
class AdaptiveEstimate(Record):
    """What an adaptive run may cost before it starts: ``worst_case`` (every target sampled
    to ``max_samples``, which quota reserves) and ``expected`` at ``expected_rate``
    (``expected_samples_per_target`` answers per target)."""

    worst_case: Estimate
    expected_rate: float
    expected_samples_per_target: float
    expected: Estimate


@register
@dataclass(frozen=True)
class PlanRequest(Record):
    """What precision was planned for."""

    half_width: float
    expected_rate: Optional[float]
    scope: str


@register
@dataclass(frozen=True)
class PlanPoint(Record):
    """The run that delivers the precision at one assumed rate."""

    rate: float
    samples_needed: int
    repeats: int
    estimate: Estimate
    fits_one_run: bool


@register
@dataclass(frozen=True)
class Plan(Record):
    """A precision plan: at the expected rate, at the worst case, and adaptively."""

    request: PlanRequest
    expected: PlanPoint
    worst_case: PlanPoint
    #: The adaptive alternative: pass it as ``adaptive=`` to ``run`` / ``start_run``.
    adaptive: AdaptiveGoal


@register
@dataclass(frozen=True)
class ProportionChange(Record):
    """The change of a proportion between two runs, with Newcombe's 95% interval."""

    before: Proportion
    after: Proportion
    difference: float
    interval: Interval
    p_value: float
    test: str
    significant: bool


@register
@dataclass(frozen=True)
class BrandChange(Record):
    """One brand's visibility change, overall (``target`` is ``None``) or for one target."""

    brand: str
    target: Optional[Target]
    visibility: ProportionChange


@register
@dataclass(frozen=True)
class RankStability(Record):
    """How the order of brands by visibility changed between two runs."""

    target: Optional[Target]
    before: List[str]
    after: List[str]
    kendall_tau_b: Optional[float]
    rank_biased_overlap: Optional[float]


@register
@dataclass(frozen=True)
class RunComparison(Record):
    """Every brand's visibility change between two runs."""

    before: str
    after: str
    alpha: float
    changes: List[BrandChange]
    rank_stability: List[RankStability]

    def significant(self) -> List[BrandChange]:
        """The changes the test finds significant at ``alpha``."""
        return [c for c in self.changes if c.visibility.significant]


@register
@dataclass(frozen=True)
class SeriesPoint(Record):
    """One run's visibility of one brand in one slice."""

    run_id: str
    at: datetime
    visibility: Proportion
    change: Optional[ProportionChange]
    visibility_clustered: Optional[ClusteredInterval] = None


@register
@dataclass(frozen=True)
class VisibilitySeries(Record):
    """The visibility of one brand in one slice (a target, or overall) across runs."""

    brand: str
    target: Optional[Target]
    points: List[SeriesPoint]
