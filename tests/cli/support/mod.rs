//! The test support module: a hermetic test repository ([`TestRepo`]), what a command did
//! ([`Output`]), the one "refuses and leaves the repository unchanged" assertion
//! ([`TestRepo::refuses_unchanged`]), named fixture builders, and a reader of process memory.
//!
//! - `hermetic.rs`: the environment every git and promptreg process runs in (std only; shared).
//! - `repo.rs`: [`TestRepo`], running promptreg and git in it.
//! - `output.rs`: [`Output`] and its assertions.
//! - `snapshot.rs`: [`Snapshot`] and `refuses_unchanged` / `unchanged_by`.
//! - `fixtures.rs`: prompt files, releases, promotions, recorded runs.
//! - `redact.rs`: [`redactions`] for insta snapshots of human output.
//! - `memory.rs`: [`proc_memory_kib`].
//! - `library.rs`: the library paths the tests name, all in one place.

pub mod fixtures;
pub mod hermetic;
pub mod library;
pub mod memory;
pub mod output;
pub mod redact;
pub mod repo;
pub mod snapshot;

pub use fixtures::{promoted_through_pipeline, prompt_file, prompt_yaml, released_prompt};
pub use hermetic::{
    AUTHOR_EMAIL, AUTHOR_NAME, COMMITTER_EMAIL, COMMITTER_NAME, DATE, IDENTITY_VARS,
};
pub use memory::proc_memory_kib;
pub use output::Output;
pub use redact::redactions;
pub use repo::TestRepo;
