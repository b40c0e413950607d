//! The wire format of promptreg: the JSON records the CLI prints with `--format json`, the HTTP
//! API serves, `export` writes into a bundle and the access log appends — one definition each,
//! shared by the `promptreg` crate (which builds them) and every client (which reads them).
//!
//! This crate is serde only: no git, no HTTP, no I/O beyond what a caller hands it. Field order
//! in each struct is the order in the JSON; the shapes are documented in docs/FORMAT.md §7 and do
//! not change without a new `format` number.

pub mod access_log;
pub mod bundle;
pub mod name;
pub mod record;
pub mod split;
pub mod tests;

pub use access_log::AccessLine;
pub use bundle::{Bundle, BUNDLE_FORMAT};
pub use record::{ListRecord, Message, PromptRecord, Role, Variable, VersionRecord};
pub use split::{Percent, SplitEntry};
pub use tests::TestSummary;
