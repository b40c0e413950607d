//! The read layer: a snapshot of one revision of the registry — its index, version resolution,
//! releases, results and the caches that make repeated reads cost a small file read — and the
//! one function ([`record::prompt_record`]) that builds a version's full record.
//!
//! Everything here only reads; operations ([`crate::ops`]) and the server build on it, and none
//! of them reads `registry.yaml`, a release or a results file any other way.

pub mod files;
pub mod gaps;
pub mod holdings;
pub mod keyed_lines;
pub mod missing;
pub mod record;
mod registry;
pub mod release;
pub mod results;
pub mod steps;
pub mod summaries;
mod update_cache;

pub use gaps::{tag_missing, MissingTag};
pub use missing::{missing_version, nearby_environments, nearby_names, not_found};
pub use registry::{
    pointers_of_blob, registry_at, registry_blob, registry_of_blob, remember_registry,
};
pub use release::{
    fetch, read_prompt, resolve, resolve_version, resolve_version_checked, Fetched, Resolved,
};
pub use results::{results_at, results_in};

/// How a revision is named in messages.
pub fn revision_label(revision: Option<&str>) -> &str {
    revision.unwrap_or("HEAD")
}
