//! One module per subcommand: an `Args` struct (its doc comments are the `--help`) and a `run`
//! function that calls the library and prints the result.

pub mod access;
pub mod archive;
pub mod audit;
pub mod completions;
pub mod create;
pub mod diff;
pub mod doctor;
pub mod export;
pub mod fetch;
pub mod history;
pub mod import;
pub mod init;
pub mod list;
pub mod promote;
pub mod render;
pub mod results;
pub mod rollback;
pub mod schema;
pub mod serve;
pub mod split;
pub mod template_worker;
pub mod validate;
pub mod versions;
