//! Data-subject rights (GDPR articles 15, 17 and 20): exporting everything Echo holds about
//! an account, and erasing it.
//!
//! - [`export`]: the versioned JSON bundle, streamed section by section
//!   ([`Echo::export_account`](crate::engine::Echo::export_account)).
//! - [`deletion`]: who may request and cancel a deletion, and what a request returns
//!   ([`Echo::request_deletion`](crate::engine::Echo::request_deletion),
//!   [`Echo::cancel_deletion`](crate::engine::Echo::cancel_deletion)).
//! - [`erasure`]: the [`ErasureSweep`] maintenance task that erases accounts whose grace
//!   period is over, in bounded batches, and verifies that nothing remains.
//!
//! The storage side is [`GdprStore`](crate::store::GdprStore); the whole story, with the
//! bundle schema, is `docs/privacy.md (Export and erasure)`.

pub mod deletion;
pub mod erasure;
pub mod export;
pub mod export_records;

pub use deletion::{DEFAULT_DELETION_GRACE, DeletionRequest};
pub use erasure::{ErasurePass, ErasureSweep, erase_due};
pub use export::{EXPORT_FORMAT, EXPORT_VERSION, ExportSection, ExportSummary, SectionPage, default_sections};
