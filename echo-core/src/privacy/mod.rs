//! Privacy: how long answers are kept, what personal data is taken out of them before they
//! are stored, and the consent a host records for its accounts. `docs/privacy.md` is the
//! host-facing description.
//!
//! - [`retention`]: [`RetentionPolicy`] (raw answers 90 days, audit events 2 years, deletion
//!   grace 30 days) and [`apply_retention`], which anonymizes old samples in bounded batches
//!   while keeping every fact reports are computed from; [`RetentionSweep`] runs it daily
//!   under the worker leader.
//! - [`redact`]: the [`Redactor`] (emails, phone numbers, card numbers → typed placeholders
//!   of the same length), applied per account when [`PrivacySettings::redact_pii`] is on.
//! - [`consent`]: append-only consent records, the latest per purpose wins; runs refuse to
//!   start without the consents the host requires.

pub mod consent;
pub mod redact;
pub mod retention;
pub mod settings;

pub use consent::{Consent, ConsentRecord, Consents};
pub use redact::{PiiKind, RedactionCounts, Redactor};
pub use retention::{RetentionPolicy, RetentionReport, RetentionSweep, apply_retention};
pub use settings::PrivacySettings;
