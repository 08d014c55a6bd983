"""Reports, mirroring ``echo_core::model::report``: the numbers a run produces.

Metric names and formulas are those of ``docs/metrics.md``; every proportion carries its
Wilson 95% interval. ``Report.to_pandas()`` flattens a report into one row per (slice,
brand) when pandas is installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from ._convert import Record, register
from .model import AdaptiveSummary, SampleCounts, Target

if TYPE_CHECKING:  # pragma: no cover
    import pandas

__all__ = [
    "Interval",
    "Proportion",
    "ClusteredInterval",
    "BrandMetrics",
    "DomainShare",
    "CostSummary",
    "ReportGroup",
    "Report",
    "LEVELS",
]

#: The slices of a report, as ``to_pandas(level=...)`` names them.
LEVELS = ("overall", "target", "cell")


@register
@dataclass(frozen=True)
class Interval(Record):
    """A two-sided 95% confidence interval."""

    lower: float
    upper: float

    @property
    def half_width(self) -> float:
        """The "±" a reader sees."""
        return (self.upper - self.lower) / 2.0


@register
@dataclass(frozen=True)
class Proportion(Record):
    """``successes / trials`` with its Wilson 95% interval."""

    successes: int
    trials: int
    estimate: float
    interval: Interval


@register
@dataclass(frozen=True)
class ClusteredInterval(Record):
    """The cluster-robust 95% interval of a proportion pooled over prompts."""

    interval: Interval
    clusters: int
    design_effect: float
    effective_trials: float


@register
@dataclass(frozen=True)
class BrandMetrics(Record):
    """One brand's metrics within one slice of a report."""

    brand: str
    role: str
    visibility: Proportion
    mentions: int
    share_of_voice_mentions: float
    share_of_voice_answers: float
    mean_rank: Optional[float]
    top1: Proportion
    top3: Proportion
    mean_list_position: Optional[float]
    visibility_clustered: Optional[ClusteredInterval] = None


@register
@dataclass(frozen=True)
class DomainShare(Record):
    """The share of citations pointing at one domain."""

    domain: str
    citations: int
    share: float
    answers: int


@register
@dataclass(frozen=True)
class CostSummary(Record):
    """What a slice's answers cost; unpriced answers are counted apart, not as free."""

    total_usd: float
    priced_samples: int
    unpriced_samples: int


@register
@dataclass(frozen=True)
class ReportGroup(Record):
    """One slice: a (target, prompt) cell, a target over its prompts, or the whole run."""

    target: Optional[Target]
    prompt_index: Optional[int]
    answered: int
    failed: int
    brands: List[BrandMetrics]
    citations: List[DomainShare]
    cost: CostSummary

    def brand(self, name: str) -> Optional[BrandMetrics]:
        """The metrics of brand ``name`` (its canonical name) in this slice."""
        return next((b for b in self.brands if b.brand == name), None)


_COLUMNS = (
    "level",
    "target",
    "prompt_index",
    "brand",
    "role",
    "answered",
    "visibility",
    "visibility_lower",
    "visibility_upper",
    "visibility_clustered_lower",
    "visibility_clustered_upper",
    "mentions",
    "share_of_voice_mentions",
    "share_of_voice_answers",
    "mean_rank",
    "top1",
    "top3",
    "mean_list_position",
)


@register
@dataclass(frozen=True)
class Report(Record):
    """The report of a run: per (target, prompt) cell, per target, and overall."""

    run_id: str
    experiment_name: str
    status: str
    counts: SampleCounts
    prompts: List[str]
    cells: List[ReportGroup]
    by_target: List[ReportGroup]
    overall: ReportGroup
    generated_at: datetime
    #: For an adaptive run: per target, how many answered, why sampling stopped and the
    #: widest interval; ``None`` for a fixed run.
    adaptive: Optional[AdaptiveSummary] = None

    def target(self, target: Any) -> Optional[ReportGroup]:
        """The per-target slice of ``target`` (a ``Target`` or ``"provider/model"``)."""
        name = str(target)
        return next((g for g in self.by_target if str(g.target) == name), None)

    def groups(self, level: str = "all") -> List[ReportGroup]:
        """The slices of one level (``"overall"``, ``"target"``, ``"cell"``) or all of them."""
        if level == "overall":
            return [self.overall]
        if level == "target":
            return list(self.by_target)
        if level == "cell":
            return list(self.cells)
        if level == "all":
            return [self.overall, *self.by_target, *self.cells]
        raise ValueError(f"level must be one of {LEVELS + ('all',)}, got {level!r}")

    def rows(self, level: str = "all") -> Dict[str, List[Any]]:
        """The report as columns (one row per slice and brand), the input of ``to_pandas``."""
        columns: Dict[str, List[Any]] = {c: [] for c in _COLUMNS}
        for group in self.groups(level):
            slice_level = "overall" if group.target is None else ("target" if group.prompt_index is None else "cell")
            target = None if group.target is None else str(group.target)
            for b in group.brands:
                clustered = b.visibility_clustered
                values = (
                    slice_level,
                    target,
                    group.prompt_index,
                    b.brand,
                    b.role,
                    group.answered,
                    b.visibility.estimate,
                    b.visibility.interval.lower,
                    b.visibility.interval.upper,
                    None if clustered is None else clustered.interval.lower,
                    None if clustered is None else clustered.interval.upper,
                    b.mentions,
                    b.share_of_voice_mentions,
                    b.share_of_voice_answers,
                    b.mean_rank,
                    b.top1.estimate,
                    b.top3.estimate,
                    b.mean_list_position,
                )
                for column, value in zip(_COLUMNS, values):
                    columns[column].append(value)
        return columns

    def to_pandas(self, level: str = "all") -> "pandas.DataFrame":
        """A ``pandas.DataFrame`` with one row per slice and brand (see ``rows``).

        Raises ``ImportError`` with an install hint when pandas is missing.
        """
        try:
            import pandas as pd
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("Report.to_pandas needs pandas: pip install pandas") from e
        return pd.DataFrame(self.rows(level), columns=list(_COLUMNS))
