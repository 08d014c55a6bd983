"""Echo: measure how large language models talk about brands.

The engine runs in Rust (``echo_ai._native``); this package re-exports it with typed
result classes and the exception hierarchy. Start with :class:`Echo` (blocking, for
notebooks and scripts) or :class:`AsyncEcho` (awaitables, for asyncio servers); see
``docs/python.md``.
"""

from __future__ import annotations

import os as _os

from . import errors
from ._native import (
    AsyncEcho,
    Echo,
    ManualClock,
    Principal,
    Provider,
    RunHandle,
    WorkerHandle,
    __version__,
    audit_actions,
    error_kinds,
    validate_target,
)
from ._native import _reset_runtime_after_fork
from .analysis import (
    AdaptiveEstimate,
    AdaptiveGoal,
    BrandChange,
    Estimate,
    Plan,
    PlanPoint,
    PlanRequest,
    ProportionChange,
    RankStability,
    RunComparison,
    SeriesPoint,
    TargetEstimate,
    VisibilitySeries,
)
from .audit import (
    AuditActor,
    AuditEvent,
    AuditHead,
    AuditPage,
    AuditPurgeReport,
    AuditTarget,
    AuditVerification,
    BrokenLink,
    RequestContext,
)
from .auth import ApiKey, CreatedApiKey, Scope, scopes
from .errors import (
    CancelledError,
    ConfigError,
    ConflictError,
    ConsentRequiredError,
    EchoError,
    InternalError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
    QuotaExceededError,
    RateLimitedError,
    StorageError,
    UnauthenticatedError,
)
from .gdpr import DeletionRecord, DeletionRequest, ErasurePass, ErasureReport, ExportSummary
from .model import (
    Account,
    AdaptiveOptions,
    AdaptiveSummary,
    AdaptiveTargetSummary,
    BrandSpec,
    Experiment,
    ExperimentSpec,
    Page,
    Run,
    SampleCounts,
    Target,
)
from .privacy import DATA_PROCESSING, Consent, Consents, PrivacySettings, RetentionPolicy, RetentionReport
from .progress import Progress, ProgressUpdates, TqdmProgress
from .provider import SimulatedBrand
from .quota import QuotaStatus, RateLimitDecision, RateLimitPolicy, TierLimits
from .report import BrandMetrics, ClusteredInterval, CostSummary, DomainShare, Interval, Proportion, Report, ReportGroup
from .schedule import Schedule, ScheduleInfo
from .worker import WorkerReport

# The runtime's threads do not survive fork(): the child builds its own on first use.
if hasattr(_os, "register_at_fork"):
    _os.register_at_fork(after_in_child=_reset_runtime_after_fork)

__all__ = [
    "__version__",
    "error_kinds",
    "audit_actions",
    "validate_target",
    "scopes",
    "errors",
    # engine
    "Echo",
    "AsyncEcho",
    "RunHandle",
    "WorkerHandle",
    "Provider",
    "SimulatedBrand",
    "Principal",
    "Scope",
    "ManualClock",
    # model
    "Account",
    "BrandSpec",
    "Target",
    "ExperimentSpec",
    "Experiment",
    "Page",
    "Run",
    "SampleCounts",
    "AdaptiveOptions",
    "AdaptiveSummary",
    "AdaptiveTargetSummary",
    # reports and statistics
    "Report",
    "ReportGroup",
    "BrandMetrics",
    "Proportion",
    "Interval",
    "ClusteredInterval",
    "DomainShare",
    "CostSummary",
    "Estimate",
    "TargetEstimate",
    "Plan",
    "PlanPoint",
    "PlanRequest",
    "AdaptiveGoal",
    "AdaptiveEstimate",
    "RunComparison",
    "BrandChange",
    "ProportionChange",
    "RankStability",
    "VisibilitySeries",
    "SeriesPoint",
    # progress, keys, quotas, schedules, workers
    "Progress",
    "ProgressUpdates",
    "TqdmProgress",
    "ApiKey",
    "CreatedApiKey",
    "QuotaStatus",
    "RateLimitPolicy",
    "RateLimitDecision",
    "TierLimits",
    "Schedule",
    "ScheduleInfo",
    "WorkerReport",
    # privacy, data-subject rights, audit
    "DATA_PROCESSING",
    "PrivacySettings",
    "Consent",
    "Consents",
    "RetentionPolicy",
    "RetentionReport",
    "ExportSummary",
    "DeletionRequest",
    "DeletionRecord",
    "ErasureReport",
    "ErasurePass",
    "AuditActor",
    "AuditTarget",
    "RequestContext",
    "AuditEvent",
    "AuditPage",
    "AuditHead",
    "BrokenLink",
    "AuditVerification",
    "AuditPurgeReport",
    # errors
    "EchoError",
    "InvalidInputError",
    "NotFoundError",
    "PermissionDeniedError",
    "UnauthenticatedError",
    "ConflictError",
    "QuotaExceededError",
    "RateLimitedError",
    "ProviderError",
    "StorageError",
    "CancelledError",
    "ConfigError",
    "InternalError",
    "ConsentRequiredError",
]
