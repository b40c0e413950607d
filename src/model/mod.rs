//! The domain model, pure: names, versions, selectors, `prompt.yaml`, `registry.yaml` with its
//! access rules and gates, test results, the trailers promptreg writes on its commits, templates,
//! token counts, the JSON Schemas and dates (git's formats, `--since`'s relative ones). Nothing
//! here knows about Git or the file system: every function takes bytes or values and returns
//! values or an [`crate::Error`].
//!
//! The one exception is [`template`]'s isolation, which hands renders to a worker process with a
//! memory cap — still no files and no Git, only a pipe to a copy of this binary.

pub mod access;
pub mod date;
pub mod diff;
pub mod history;
pub mod name;
pub mod patterns;
pub mod policy;
pub mod prompt;
pub mod registry;
pub mod render;
pub mod results;
pub mod schema;
pub mod selector;
pub mod template;
pub mod tokens;
pub mod trailers;
pub mod version;
pub mod yaml;
