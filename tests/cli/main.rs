//! Integration tests: drive the built `promptreg` binary against temporary Git repositories.

mod harness;

mod cache;
mod create;
mod doctor;
mod fetch;
mod init;
mod integrity;
mod list;
mod promote;
mod safety;
mod versions;
