//! Integration tests: drive the built `promptreg` binary against temporary Git repositories.

mod harness;

mod create;
mod fetch;
mod init;
mod list;
mod promote;
mod safety;
mod versions;
