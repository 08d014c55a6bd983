//! The tamper-evident audit trail (issue 6).
//!
//! Every state-changing operation and every sensitive read appends an event — actor,
//! action, target, result, the host's request context — in the same transaction as the
//! change it records. Events form a SHA-256 hash chain ([`chain`]) that
//! [`verify`] re-walks; retention removes whole old prefixes and leaves a checkpoint;
//! erasure nulls the personal columns, which the chain covers only through a salted
//! digest. See `docs/audit.md`.

mod action;
pub mod chain;
mod event;
mod query;
pub mod verify;

pub use action::{AUDITED_OPERATIONS, AuditAction};
pub use chain::{AuditCheckpoint, AuditHead};
pub use event::{ActorKind, AuditActor, AuditEvent, AuditRecord, AuditResult, AuditTarget, StoredAuditRow};
pub use query::{AuditPage, AuditPurgeReport, AuditQuery, DEFAULT_AUDIT_PAGE, MAX_AUDIT_PAGE};
pub use verify::{AuditVerification, BrokenLink, ChainProblem, Verifier};
