//! Integration tests: drive the built `promptreg` binary against temporary Git repositories.

mod harness;

mod access;
mod audit;
mod cache;
mod create;
mod doctor;
mod fetch;
mod history;
mod init;
mod integrity;
mod list;
mod promote;
mod rollback;
mod safety;
mod versions;
