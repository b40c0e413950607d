//! Operations: what each command does, as library calls that return records or errors — one
//! file per command or write. Reads go through [`crate::read`]; writes through
//! [`crate::store`]'s write protocol (`write_start` begins one).

pub mod access;
pub mod access_log;
pub mod archive;
pub mod audit;
pub mod create;
pub mod diff;
pub mod doctor;
pub mod example;
pub mod export;
pub mod history;
mod history_cache;
mod history_merges;
pub mod import;
pub mod init;
pub mod list;
mod pointer;
pub mod promote;
pub mod render;
pub mod results;
pub mod rollback;
pub mod split;
mod tested;
pub mod versions;
mod write_start;
