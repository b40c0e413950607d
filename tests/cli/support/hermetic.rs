//! The hermetic environment every test process runs in: no user or system Git configuration, an
//! empty HOME of the test's own, the C locale, no colour, and fixed identities and dates, so that
//! commit ids and every output are the same on every machine.
//!
//! Std only, so that any test crate can share it: `tests/cli` has it as `support::hermetic`, and
//! another test file can include it with `#[path = "cli/support/hermetic.rs"] mod hermetic;`.
// A crate that includes this file may use only part of it.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Stdio};

pub const AUTHOR_NAME: &str = "Test Author";
pub const AUTHOR_EMAIL: &str = "author@example.com";
pub const COMMITTER_NAME: &str = "Test Committer";
pub const COMMITTER_EMAIL: &str = "committer@example.com";
/// The author and committer date of every commit a test makes.
pub const DATE: &str = "2026-01-01T00:00:00+00:00";

/// The variables that make git and promptreg resolve an identity.
pub const IDENTITY_VARS: [&str; 6] = [
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_AUTHOR_DATE",
    "GIT_COMMITTER_NAME",
    "GIT_COMMITTER_EMAIL",
    "GIT_COMMITTER_DATE",
];

/// Clears `command`'s environment and sets the hermetic one with `home` as HOME and the fixed
/// identities above; standard input is closed. PATH is kept so that `git` is found.
pub fn apply<'a>(command: &'a mut Command, home: &Path) -> &'a mut Command {
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("LANG", "C")
        .env("NO_COLOR", "1")
        .env("GIT_AUTHOR_NAME", AUTHOR_NAME)
        .env("GIT_AUTHOR_EMAIL", AUTHOR_EMAIL)
        .env("GIT_AUTHOR_DATE", DATE)
        .env("GIT_COMMITTER_NAME", COMMITTER_NAME)
        .env("GIT_COMMITTER_EMAIL", COMMITTER_EMAIL)
        .env("GIT_COMMITTER_DATE", DATE)
        .stdin(Stdio::null())
}

/// [`apply`], then one name and email for both author and committer (what `tests/model.rs`
/// commits as).
pub fn apply_as<'a>(
    command: &'a mut Command,
    home: &Path,
    name: &str,
    email: &str,
) -> &'a mut Command {
    apply(command, home)
        .env("GIT_AUTHOR_NAME", name)
        .env("GIT_AUTHOR_EMAIL", email)
        .env("GIT_COMMITTER_NAME", name)
        .env("GIT_COMMITTER_EMAIL", email)
}
