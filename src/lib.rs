//! promptreg: a prompt registry stored in a Git repository.
//!
//! The library holds the whole domain: prompt names and versions, the `prompt.yaml` model, the
//! `registry.yaml` index with its promotion pointers, and the operations (`ops`) the CLI calls.
//! [`store`] is the only module that talks to Git. Nothing here prints: every operation returns
//! data or an [`Error`], and the binary decides how to show it.

pub mod bridge;
pub mod error;
pub mod fsread;
pub mod import;
pub mod model;
pub mod ops;
pub mod read;
#[cfg(feature = "server")]
pub mod server;
pub mod store;
pub mod validate;

pub use error::{Error, Result, YamlProblem};
pub use model::name::PromptName;
pub use model::version::Version;

/// The file at the repository root that indexes the registry.
pub const REGISTRY_FILE: &str = "registry.yaml";
/// The directory that holds one sub-directory per prompt.
pub const PROMPTS_DIR: &str = "prompts";
/// The file that defines a prompt inside its directory.
pub const PROMPT_FILE: &str = "prompt.yaml";
