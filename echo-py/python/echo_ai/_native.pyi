"""Type stubs for the compiled extension module ``echo_ai._native``.

Checked against the module by mypy's stubtest (``make test-python``).
"""

import os
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Awaitable, BinaryIO, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Type, Union

from typing_extensions import Self, final

from .analysis import AdaptiveEstimate, Estimate, Plan, RunComparison, VisibilitySeries
from .audit import AuditHead, AuditPage, AuditPurgeReport, AuditVerification
from .auth import ApiKey, CreatedApiKey
from .gdpr import DeletionRecord, DeletionRequest, ErasurePass, ExportSummary
from .model import Account, AdaptiveGoal, AdaptiveOptions, BrandSpec, Experiment, ExperimentSpec, Page, Run
from .privacy import Consent, Consents, PrivacySettings, RetentionPolicy, RetentionReport
from .progress import Progress
from .provider import SimulatedBrand
from .quota import QuotaStatus, RateLimitDecision, RateLimitPolicy, TierLimits
from .report import Report
from .schedule import Schedule, ScheduleInfo
from .worker import WorkerReport

__all__ = [
    "audit_actions",
    "ManualClock",
    "Principal",
    "scopes",
    "AsyncEcho",
    "Echo",
    "error_kinds",
    "RunHandle",
    "ProgressUpdates",
    "Provider",
    "_reset_runtime_after_fork",
    "_runtime_pid",
    "validate_target",
    "WorkerHandle",
    "__version__",
]

__version__: str

Id = Union[str, Any]
"""An id: a UUID string (or a ``uuid.UUID``)."""
Seconds = Union[float, timedelta]
Database = Union[str, os.PathLike[str], None]
ProgressSink = Union[Callable[[Progress], Any], bool, None]
Adaptive = Union[float, AdaptiveGoal, AdaptiveOptions, Mapping[str, Any]]
"""An adaptive run's precision: a half-width (0.05 for ±5 points), a goal, or full options."""
Destination = Union[str, os.PathLike[str], BinaryIO]
"""Where an export goes: a path, or a binary file object with ``write``."""

def error_kinds() -> List[str]:
    """The names of all error kinds, as carried by ``EchoError.kind``."""

def validate_target(target: str) -> Tuple[str, str]:
    """Parse ``"provider/model"`` into ``(provider, model)``; raises ``InvalidInputError``."""

def scopes() -> List[str]:
    """Every scope name."""

def audit_actions() -> List[str]:
    """Every audit action's name (``experiment.create``, ...), for ``audit_events(action=...)``."""

def _reset_runtime_after_fork() -> None: ...
def _runtime_pid() -> Optional[int]: ...

@final
class Principal:
    """The caller of an operation: its account, its scopes, and how it was established."""

    @staticmethod
    def host(account_id: Id, scopes: Optional[Sequence[str]] = None) -> Principal: ...
    @staticmethod
    def admin() -> Principal: ...
    def acting_for(self, account_id: Id) -> Principal: ...
    def with_request(
        self,
        *,
        ip: Optional[str] = None,
        user_agent: Optional[str] = None,
        request_id: Optional[str] = None,
        correlation_id: Optional[str] = None,
    ) -> Principal: ...
    @property
    def account_id(self) -> Optional[str]: ...
    @property
    def scopes(self) -> List[str]: ...
    @property
    def actor(self) -> str: ...
    @property
    def api_key_id(self) -> Optional[str]: ...
    def has(self, scope: str) -> bool: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...

@final
class ManualClock:
    """A clock for tests that moves only with ``advance`` and ``set``: ``Echo.open(clock=...)``."""

    def __new__(cls, start: Optional[datetime] = None) -> ManualClock: ...
    def now(self) -> datetime: ...
    def advance(self, by: Seconds) -> datetime: ...
    def set(self, to: datetime) -> None: ...

@final
class Provider:
    """A language-model provider to register with ``Echo.open(providers=[...])``."""

    @staticmethod
    def simulated(
        brands: Sequence[Union[SimulatedBrand, Mapping[str, Any]]],
        *,
        seed: int = 42,
        id: str = ...,
        model_overrides: Optional[Mapping[Tuple[str, str], float]] = None,
        citation_probability: Optional[float] = None,
        rate_limited: float = 0.0,
        server_error: float = 0.0,
        timeout: float = 0.0,
        latency_median: Optional[Seconds] = None,
        latency_sigma: float = 0.0,
        max_concurrency: Optional[int] = None,
    ) -> Provider: ...
    @staticmethod
    def crm_demo(seed: int = 42) -> Provider: ...
    @staticmethod
    def replay(path: Union[str, os.PathLike[str]], provider_id: Optional[str] = None) -> Provider: ...
    @staticmethod
    def from_env(environ: Optional[Mapping[str, str]] = None) -> List[Provider]: ...
    @property
    def id(self) -> str: ...
    def true_visibility(self, model: str, brand: str, prompt: Optional[str] = None) -> Optional[float]: ...
    def brand_specs(self, target: str) -> List[BrandSpec]: ...

@final
class RunHandle:
    """A run executing in this process."""

    @property
    def run_id(self) -> str: ...
    def progress(self) -> Progress: ...
    def done(self) -> bool: ...
    def wait(self, progress: ProgressSink = None, *, cancel_on_interrupt: bool = True) -> Report: ...
    def wait_async(self) -> Awaitable[Report]: ...
    def updates(self) -> ProgressUpdates: ...
    def cancel(self) -> None: ...
    def cancel_async(self) -> Awaitable[None]: ...

@final
class ProgressUpdates:
    """``async for progress in handle.updates(): ...``"""

    def __aiter__(self) -> ProgressUpdates: ...
    def __anext__(self) -> Awaitable[Progress]: ...

@final
class WorkerHandle:
    """A running worker."""

    @property
    def owner(self) -> str: ...
    @property
    def stopped(self) -> bool: ...
    def report(self) -> WorkerReport: ...
    def shutdown(self, grace: Optional[Seconds] = None) -> WorkerReport: ...
    def shutdown_async(self, grace: Optional[Seconds] = None) -> Awaitable[WorkerReport]: ...

@final
class Echo:
    """The Echo engine with a blocking API (releases the GIL, stops on Ctrl-C)."""

    @staticmethod
    def open(
        database: Database = None,
        *,
        providers: Sequence[Provider] = ...,
        providers_from_env: bool = False,
        concurrency: Optional[int] = None,
        lease: Optional[Seconds] = None,
        max_attempts: Optional[int] = None,
        resilience: bool = True,
        quota: Union[str, Mapping[str, TierLimits], None] = None,
        key_usage_flush: Optional[Seconds] = None,
        reservation_hold: Optional[Seconds] = None,
        pool: Optional[Dict[str, Any]] = None,
        retention: Union[RetentionPolicy, Mapping[str, Any], None] = None,
        require_consent: Union[str, Sequence[str], None] = None,
        deletion_grace: Optional[Seconds] = None,
        erasure_batch: Optional[int] = None,
        clock: Optional[ManualClock] = None,
    ) -> Echo: ...
    @property
    def aio(self) -> AsyncEcho: ...
    @property
    def providers(self) -> List[str]: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *_args: Any) -> bool: ...
    # accounts and experiments
    def create_account(
        self, principal: Principal, name: str, *, external_id: Optional[str] = None, tier: Optional[str] = None
    ) -> Account: ...
    def get_account(self, principal: Principal) -> Account: ...
    def create_experiment(self, principal: Principal, spec: Union[ExperimentSpec, Mapping[str, Any]]) -> Experiment: ...
    def get_experiment(self, principal: Principal, experiment_id: Id) -> Experiment: ...
    def list_experiments(
        self, principal: Principal, *, limit: Optional[int] = None, after: Optional[str] = None
    ) -> Page[Experiment]: ...
    def update_experiment(
        self, principal: Principal, experiment_id: Id, spec: Union[ExperimentSpec, Mapping[str, Any]]
    ) -> Experiment: ...
    def delete_experiment(self, principal: Principal, experiment_id: Id) -> None: ...
    def estimate(self, principal: Principal, experiment_id: Id) -> Estimate: ...
    # runs and reports
    def enqueue_run(
        self,
        principal: Principal,
        experiment_id: Id,
        *,
        seed: Optional[int] = None,
        concurrency: Optional[int] = None,
        adaptive: Optional[Adaptive] = None,
        correlation_id: Optional[str] = None,
    ) -> Run: ...
    def start_run(
        self,
        principal: Principal,
        experiment_id: Id,
        *,
        seed: Optional[int] = None,
        concurrency: Optional[int] = None,
        adaptive: Optional[Adaptive] = None,
        correlation_id: Optional[str] = None,
    ) -> RunHandle: ...
    def resume_run(self, principal: Principal, run_id: Id) -> RunHandle: ...
    def run(
        self,
        principal: Principal,
        experiment_id: Id,
        *,
        seed: Optional[int] = None,
        concurrency: Optional[int] = None,
        adaptive: Optional[Adaptive] = None,
        progress: ProgressSink = None,
        correlation_id: Optional[str] = None,
    ) -> Report: ...
    def get_run(self, principal: Principal, run_id: Id) -> Run: ...
    def list_runs(
        self, principal: Principal, experiment_id: Id, *, limit: Optional[int] = None, after: Optional[str] = None
    ) -> Page[Run]: ...
    def cancel_run(self, principal: Principal, run_id: Id) -> None: ...
    def report(self, principal: Principal, run_id: Id) -> Report: ...
    def reanalyze(
        self, principal: Principal, run_id: Id, brands: Sequence[Union[BrandSpec, Mapping[str, Any]]]
    ) -> Report: ...
    # statistics
    def plan(
        self,
        principal: Principal,
        experiment_id: Id,
        half_width: float,
        *,
        expected_rate: Optional[float] = None,
        scope: str = "target",
    ) -> Plan: ...
    def visibility_series(self, principal: Principal, experiment_id: Id, *, limit: int = 10) -> List[VisibilitySeries]: ...
    def compare_runs(self, principal: Principal, before: Id, after: Id, *, alpha: float = 0.05) -> RunComparison: ...
    # API keys
    def create_api_key(
        self,
        principal: Principal,
        name: str,
        scopes: Sequence[str],
        *,
        expires_at: Optional[datetime] = None,
        environment: str = "live",
    ) -> CreatedApiKey: ...
    def list_api_keys(
        self, principal: Principal, *, limit: Optional[int] = None, after: Optional[str] = None
    ) -> Page[ApiKey]: ...
    def revoke_api_key(self, principal: Principal, key_id: Id) -> ApiKey: ...
    def authenticate(self, key: str) -> Principal: ...
    def flush_key_usage(self) -> int: ...
    # quotas and rate limits
    def quota_status(self, principal: Principal) -> QuotaStatus: ...
    def check_rate_limit(self, principal: Principal, policy: RateLimitPolicy) -> RateLimitDecision: ...
    def expire_reservations(self) -> int: ...
    def purge_rate_limits(self) -> int: ...
    # schedules
    def set_schedule(self, principal: Principal, experiment_id: Id, schedule: Optional[Schedule]) -> Optional[datetime]: ...
    def schedule(self, principal: Principal, experiment_id: Id) -> Optional[ScheduleInfo]: ...
    def scheduled_run(self, principal: Principal, experiment_id: Id, slot: datetime) -> Optional[str]: ...
    # workers
    def start_worker(
        self,
        *,
        concurrency: Optional[int] = None,
        owner: Optional[str] = None,
        poll_interval: Optional[Seconds] = None,
        shutdown_grace: Optional[Seconds] = None,
        run_scheduler: bool = True,
        maintenance_interval: Optional[Seconds] = None,
    ) -> WorkerHandle: ...
    def estimate_adaptive(
        self, principal: Principal, experiment_id: Id, adaptive: Adaptive, *, expected_rate: float = 0.5
    ) -> AdaptiveEstimate: ...
    # privacy: settings, consent, retention
    def set_privacy_settings(
        self, principal: Principal, *, redact_pii: bool, phone_regions: Optional[Sequence[str]] = None
    ) -> PrivacySettings: ...
    def privacy_settings(self, principal: Principal) -> PrivacySettings: ...
    def record_consent(
        self, principal: Principal, purpose: str, policy_version: str, *, granted: bool = True, source: Optional[str] = None
    ) -> Consent: ...
    def consents(self, principal: Principal) -> Consents: ...
    def retention_policy(self) -> RetentionPolicy: ...
    def now(self) -> datetime: ...
    def apply_retention(self, principal: Principal, now: Optional[datetime] = None) -> RetentionReport: ...
    # data-subject rights: export, deletion, erasure
    def export_account(self, principal: Principal, destination: Destination) -> ExportSummary: ...
    def request_deletion(self, principal: Principal) -> DeletionRequest: ...
    def cancel_deletion(self, principal: Principal) -> DeletionRecord: ...
    def deletion_requests(self, principal: Principal) -> List[DeletionRecord]: ...
    def erase_due_accounts(self, *, max_batches: Optional[int] = None) -> ErasurePass: ...
    # audit trail
    def audit_events(
        self,
        principal: Principal,
        *,
        account: Optional[Id] = None,
        action: Optional[str] = None,
        since: Optional[datetime] = None,
        before: Optional[datetime] = None,
        after_seq: Optional[int] = None,
        limit: Optional[int] = None,
    ) -> AuditPage: ...
    def verify_audit_chain(
        self, principal: Principal, anchor: Union[AuditHead, Mapping[str, Any], None] = None
    ) -> AuditVerification: ...
    def audit_head(self, principal: Principal) -> AuditHead: ...
    def purge_audit_events(self, before: datetime) -> AuditPurgeReport: ...
    def erase_audit_personal_data(self, account_id: Id) -> int: ...

@final
class AsyncEcho:
    """The Echo engine with an async API: every operation returns an awaitable."""

    @staticmethod
    def open(
        database: Database = None,
        *,
        providers: Sequence[Provider] = ...,
        providers_from_env: bool = False,
        concurrency: Optional[int] = None,
        lease: Optional[Seconds] = None,
        max_attempts: Optional[int] = None,
        resilience: bool = True,
        quota: Union[str, Mapping[str, TierLimits], None] = None,
        key_usage_flush: Optional[Seconds] = None,
        reservation_hold: Optional[Seconds] = None,
        pool: Optional[Dict[str, Any]] = None,
        retention: Union[RetentionPolicy, Mapping[str, Any], None] = None,
        require_consent: Union[str, Sequence[str], None] = None,
        deletion_grace: Optional[Seconds] = None,
        erasure_batch: Optional[int] = None,
        clock: Optional[ManualClock] = None,
    ) -> Awaitable[AsyncEcho]: ...
    @property
    def sync(self) -> Echo: ...
    @property
    def providers(self) -> List[str]: ...
    def close(self) -> Awaitable[None]: ...
    def __aenter__(self) -> Awaitable[Self]: ...
    def __aexit__(self, *_args: Any) -> Awaitable[bool]: ...
    # accounts and experiments
    def create_account(
        self, principal: Principal, name: str, *, external_id: Optional[str] = None, tier: Optional[str] = None
    ) -> Awaitable[Account]: ...
    def get_account(self, principal: Principal) -> Awaitable[Account]: ...
    def create_experiment(
        self, principal: Principal, spec: Union[ExperimentSpec, Mapping[str, Any]]
    ) -> Awaitable[Experiment]: ...
    def get_experiment(self, principal: Principal, experiment_id: Id) -> Awaitable[Experiment]: ...
    def list_experiments(
        self, principal: Principal, *, limit: Optional[int] = None, after: Optional[str] = None
    ) -> Awaitable[Page[Experiment]]: ...
    def update_experiment(
        self, principal: Principal, experiment_id: Id, spec: Union[ExperimentSpec, Mapping[str, Any]]
    ) -> Awaitable[Experiment]: ...
    def delete_experiment(self, principal: Principal, experiment_id: Id) -> Awaitable[None]: ...
    def estimate(self, principal: Principal, experiment_id: Id) -> Awaitable[Estimate]: ...
    # runs and reports
    def enqueue_run(
        self,
        principal: Principal,
        experiment_id: Id,
        *,
        seed: Optional[int] = None,
        concurrency: Optional[int] = None,
        adaptive: Optional[Adaptive] = None,
        correlation_id: Optional[str] = None,
    ) -> Awaitable[Run]: ...
    def start_run(
        self,
        principal: Principal,
        experiment_id: Id,
        *,
        seed: Optional[int] = None,
        concurrency: Optional[int] = None,
        adaptive: Optional[Adaptive] = None,
        correlation_id: Optional[str] = None,
    ) -> Awaitable[RunHandle]: ...
    def resume_run(self, principal: Principal, run_id: Id) -> Awaitable[RunHandle]: ...
    def run(
        self,
        principal: Principal,
        experiment_id: Id,
        *,
        seed: Optional[int] = None,
        concurrency: Optional[int] = None,
        adaptive: Optional[Adaptive] = None,
        correlation_id: Optional[str] = None,
    ) -> Awaitable[Report]: ...
    def get_run(self, principal: Principal, run_id: Id) -> Awaitable[Run]: ...
    def list_runs(
        self, principal: Principal, experiment_id: Id, *, limit: Optional[int] = None, after: Optional[str] = None
    ) -> Awaitable[Page[Run]]: ...
    def cancel_run(self, principal: Principal, run_id: Id) -> Awaitable[None]: ...
    def report(self, principal: Principal, run_id: Id) -> Awaitable[Report]: ...
    def reanalyze(
        self, principal: Principal, run_id: Id, brands: Sequence[Union[BrandSpec, Mapping[str, Any]]]
    ) -> Awaitable[Report]: ...
    # statistics
    def plan(
        self,
        principal: Principal,
        experiment_id: Id,
        half_width: float,
        *,
        expected_rate: Optional[float] = None,
        scope: str = "target",
    ) -> Awaitable[Plan]: ...
    def visibility_series(
        self, principal: Principal, experiment_id: Id, *, limit: int = 10
    ) -> Awaitable[List[VisibilitySeries]]: ...
    def compare_runs(
        self, principal: Principal, before: Id, after: Id, *, alpha: float = 0.05
    ) -> Awaitable[RunComparison]: ...
    # API keys
    def create_api_key(
        self,
        principal: Principal,
        name: str,
        scopes: Sequence[str],
        *,
        expires_at: Optional[datetime] = None,
        environment: str = "live",
    ) -> Awaitable[CreatedApiKey]: ...
    def list_api_keys(
        self, principal: Principal, *, limit: Optional[int] = None, after: Optional[str] = None
    ) -> Awaitable[Page[ApiKey]]: ...
    def revoke_api_key(self, principal: Principal, key_id: Id) -> Awaitable[ApiKey]: ...
    def authenticate(self, key: str) -> Awaitable[Principal]: ...
    def flush_key_usage(self) -> Awaitable[int]: ...
    # quotas and rate limits
    def quota_status(self, principal: Principal) -> Awaitable[QuotaStatus]: ...
    def check_rate_limit(self, principal: Principal, policy: RateLimitPolicy) -> Awaitable[RateLimitDecision]: ...
    def expire_reservations(self) -> Awaitable[int]: ...
    def purge_rate_limits(self) -> Awaitable[int]: ...
    # schedules
    def set_schedule(
        self, principal: Principal, experiment_id: Id, schedule: Optional[Schedule]
    ) -> Awaitable[Optional[datetime]]: ...
    def schedule(self, principal: Principal, experiment_id: Id) -> Awaitable[Optional[ScheduleInfo]]: ...
    def scheduled_run(self, principal: Principal, experiment_id: Id, slot: datetime) -> Awaitable[Optional[str]]: ...
    # workers
    def start_worker(
        self,
        *,
        concurrency: Optional[int] = None,
        owner: Optional[str] = None,
        poll_interval: Optional[Seconds] = None,
        shutdown_grace: Optional[Seconds] = None,
        run_scheduler: bool = True,
        maintenance_interval: Optional[Seconds] = None,
    ) -> WorkerHandle: ...
    def estimate_adaptive(
        self, principal: Principal, experiment_id: Id, adaptive: Adaptive, *, expected_rate: float = 0.5
    ) -> Awaitable[AdaptiveEstimate]: ...
    # privacy: settings, consent, retention
    def set_privacy_settings(
        self, principal: Principal, *, redact_pii: bool, phone_regions: Optional[Sequence[str]] = None
    ) -> Awaitable[PrivacySettings]: ...
    def privacy_settings(self, principal: Principal) -> Awaitable[PrivacySettings]: ...
    def record_consent(
        self, principal: Principal, purpose: str, policy_version: str, *, granted: bool = True, source: Optional[str] = None
    ) -> Awaitable[Consent]: ...
    def consents(self, principal: Principal) -> Awaitable[Consents]: ...
    def retention_policy(self) -> RetentionPolicy: ...
    def now(self) -> datetime: ...
    def apply_retention(
        self, principal: Principal, now: Optional[datetime] = None
    ) -> Awaitable[RetentionReport]: ...
    # data-subject rights: export, deletion, erasure
    def export_account(self, principal: Principal, destination: Destination) -> Awaitable[ExportSummary]: ...
    def request_deletion(self, principal: Principal) -> Awaitable[DeletionRequest]: ...
    def cancel_deletion(self, principal: Principal) -> Awaitable[DeletionRecord]: ...
    def deletion_requests(self, principal: Principal) -> Awaitable[List[DeletionRecord]]: ...
    def erase_due_accounts(self, *, max_batches: Optional[int] = None) -> Awaitable[ErasurePass]: ...
    # audit trail
    def audit_events(
        self,
        principal: Principal,
        *,
        account: Optional[Id] = None,
        action: Optional[str] = None,
        since: Optional[datetime] = None,
        before: Optional[datetime] = None,
        after_seq: Optional[int] = None,
        limit: Optional[int] = None,
    ) -> Awaitable[AuditPage]: ...
    def verify_audit_chain(
        self, principal: Principal, anchor: Union[AuditHead, Mapping[str, Any], None] = None
    ) -> Awaitable[AuditVerification]: ...
    def audit_head(self, principal: Principal) -> Awaitable[AuditHead]: ...
    def purge_audit_events(self, before: datetime) -> Awaitable[AuditPurgeReport]: ...
    def erase_audit_personal_data(self, account_id: Id) -> Awaitable[int]: ...
