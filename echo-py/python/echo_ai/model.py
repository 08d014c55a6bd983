"""Plain data, mirroring ``echo_core::model``: accounts, brands, experiments, runs.

Ids are UUID strings. Times are timezone-aware ``datetime`` objects in UTC. Every class has
``to_dict()`` (JSON-compatible) and ``from_dict()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, Iterator, List, Optional, TypeVar

from ._convert import Record, register
from ._native import validate_target

__all__ = [
    "Account",
    "BrandSpec",
    "Target",
    "ExperimentSpec",
    "Experiment",
    "Page",
    "Run",
    "SampleCounts",
    "AdaptiveGoal",
    "AdaptiveOptions",
    "AdaptiveTargetSummary",
    "AdaptiveSummary",
    "RUN_STATUSES",
]

#: Run statuses, in lifecycle order; the last four are terminal.
RUN_STATUSES = ("pending", "running", "completed", "partial", "failed", "cancelled")

T = TypeVar("T")


@register
@dataclass(frozen=True)
class Account(Record):
    """A tenant: every experiment, run and key belongs to exactly one account."""

    id: str
    name: str
    external_id: Optional[str]
    tier: str
    created_at: datetime


@register
@dataclass(frozen=True)
class BrandSpec(Record):
    """A tracked brand: canonical name, aliases, web domains and a case rule.

    ``role`` is ``"target"`` for your own brand (at least one per experiment) and
    ``"competitor"`` otherwise; ``case`` is ``"auto"``, ``"sensitive"`` or ``"insensitive"``.
    """

    name: str
    aliases: List[str] = field(default_factory=list)
    domains: List[str] = field(default_factory=list)
    case: str = "auto"
    role: str = "competitor"

    @classmethod
    def target(cls, name: str, *, aliases: Optional[List[str]] = None, domains: Optional[List[str]] = None) -> "BrandSpec":
        """Your own brand."""
        return cls(name, list(aliases or []), list(domains or []), role="target")


@register
@dataclass(frozen=True)
class Target(Record):
    """One model at one provider, e.g. ``Target.parse("openai/gpt-4o-mini")``."""

    provider: str
    model: str

    @classmethod
    def parse(cls, text: str) -> "Target":
        """Parses ``provider/model`` with the core's rules (``InvalidInputError`` otherwise)."""
        provider, model = validate_target(text)
        return cls(provider, model)

    def __str__(self) -> str:
        return f"{self.provider}/{self.model}"


@register
@dataclass(frozen=True)
class ExperimentSpec(Record):
    """What to ask, of which models, how often, about which brands.

    ``targets`` may be ``Target`` objects or ``"provider/model"`` strings. The core
    validates the spec on ``create_experiment`` and names the culprit field of any error.
    """

    name: str
    prompts: List[str]
    brands: List[BrandSpec]
    targets: List[Target]
    repeats: int
    system_prompt: Optional[str] = None
    temperature: Optional[float] = None
    max_output_tokens: Optional[int] = None
    web_search: bool = False

    def __post_init__(self) -> None:
        # "provider/model" strings are parsed by the core's rules.
        targets = [Target.parse(t) if isinstance(t, str) else t for t in self.targets]
        object.__setattr__(self, "targets", targets)
        object.__setattr__(self, "brands", [BrandSpec(b) if isinstance(b, str) else b for b in self.brands])


@register
@dataclass(frozen=True)
class Experiment(Record):
    """A stored experiment."""

    id: str
    account_id: str
    spec: ExperimentSpec
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing, newest first; pass ``next_cursor`` as ``after`` for the next."""

    items: List[T]
    next_cursor: Optional[str]

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


@register
@dataclass(frozen=True)
class SampleCounts(Record):
    """A run's samples by status."""

    pending: int
    leased: int
    succeeded: int
    failed: int
    cancelled: int

    @property
    def total(self) -> int:
        return self.pending + self.leased + self.succeeded + self.failed + self.cancelled


@register
@dataclass(frozen=True)
class AdaptiveGoal(Record):
    """The precision an adaptive run samples each target to: until every goal brand's
    visibility interval (at ``confidence``) is within ±``half_width``, never before
    ``min_samples`` answers per target and never past ``max_samples``.

    ``Echo.plan(...).adaptive`` proposes one; build your own to cap the cost
    (``AdaptiveGoal(0.05, min_samples=20, max_samples=200, confidence=0.95)``). The core
    validates it when the run starts (``InvalidInputError`` naming
    ``options.adaptive.goal.max_samples``, ...).
    """

    half_width: float
    min_samples: int
    max_samples: int
    confidence: float


@register
@dataclass(frozen=True)
class AdaptiveOptions(Record):
    """An adaptive run: its ``goal``; which brands it applies to (``brands``: ``"all"``, or
    ``"targets"`` for only your own brands, so a competitor near 50% does not cost the whole
    saving); and the ``method`` (``"wilson"``, the report's intervals, or
    ``"confidence_sequence"``, valid at any stopping time but wider)."""

    goal: AdaptiveGoal
    brands: str = "all"
    method: str = "wilson"


@register
@dataclass(frozen=True)
class AdaptiveTargetSummary(Record):
    """How one target of an adaptive run was sampled: ``state`` is ``"sampling"``,
    ``"goal_reached"``, ``"max_samples"`` or ``"cancelled"``; ``widest_half_width`` the
    widest interval among the goal brands on all its answers."""

    target: Target
    state: str
    enqueued: int
    answered: int
    failed: int
    widest_half_width: float


@register
@dataclass(frozen=True)
class AdaptiveSummary(Record):
    """The adaptive part of a report: the options the run sampled to, and each target."""

    options: AdaptiveOptions
    targets: List[AdaptiveTargetSummary]


@register
@dataclass(frozen=True)
class Run(Record):
    """A stored run, with the experiment spec it snapshotted when it was enqueued."""

    id: str
    account_id: str
    experiment_id: str
    spec: ExperimentSpec
    status: str
    planned_samples: int
    seed: int
    created_at: datetime
    started_at: Optional[datetime]
    finished_at: Optional[datetime]
    #: For an adaptive run, the precision it samples to (``planned_samples`` is then the
    #: maximum, which quota reserves); ``None`` for a run of the spec's fixed repeats.
    adaptive: Optional[AdaptiveOptions] = None
    #: The host's id for the work the run belongs to (``correlation_id=`` when it was
    #: started, else the principal's ``with_request(correlation_id=...)``); it is on the
    #: run's ``run.enqueue`` audit event and on the logs of every process executing it.
    #: ``None`` when the run was started without one.
    correlation_id: Optional[str] = None

    @property
    def is_terminal(self) -> bool:
        """Whether no more samples will execute."""
        return self.status in RUN_STATUSES[2:]

