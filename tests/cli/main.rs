//! Integration tests: drive the built `promptreg` binary against temporary Git repositories.

mod support;

mod access;
mod atomic;
mod audit;
mod broken_releases;
mod cache;
mod concurrency;
mod create;
mod diff;
mod doctor;
mod exit_status;
mod export;
mod fetch;
mod gates;
mod history;
mod init;
mod integrity;
mod invalid;
mod limits;
mod list;
mod output_and_hints;
mod promote;
mod render;
mod results;
mod rollback;
mod safety;
mod schema;
mod serve;
mod serve_create;
mod serve_safety;
mod snapshots;
mod symlinks;
mod test_files;
mod validate;
mod versions;
