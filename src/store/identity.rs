//! Who and when, resolved the way git does it: `GIT_AUTHOR_*` / `GIT_COMMITTER_*` from the
//! environment first, then `user.name` / `user.email` from the configuration. libgit2 reads only
//! the configuration, so promptreg does this itself. The caller supplies the environment lookup,
//! keeping the library free of process-global state.

use chrono::{DateTime, FixedOffset, Local, SubsecRound, TimeZone};

pub use crate::model::date::parse_date;

use crate::{Error, Result};

/// A name, an e-mail address and a moment, as in a commit or tag header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub email: String,
    pub when: DateTime<FixedOffset>,
}

/// The author and committer of a write (the committer also tags).
#[derive(Clone, Debug)]
pub struct Signatures {
    pub author: Identity,
    pub committer: Identity,
}

impl Identity {
    /// As a libgit2 signature.
    pub(super) fn signature(&self) -> Result<git2::Signature<'static>> {
        let time = git2::Time::new(
            self.when.timestamp(),
            self.when.offset().local_minus_utc() / 60,
        );
        git2::Signature::new(&self.name, &self.email, &time).map_err(Error::git("invalid identity"))
    }
}

/// A value (`user.name`) from the git configuration outside any repository (global, XDG and
/// system files), as `git config --get` reads it there; `None` when unset.
pub fn user_config_value(key: &str) -> Option<String> {
    git2::Config::open_default().ok()?.get_string(key).ok()
}

/// Resolves author and committer. `env` looks up environment variables, `config` looks up
/// git configuration keys (`user.name`).
pub fn resolve(
    env: &dyn Fn(&str) -> Option<String>,
    config: &dyn Fn(&str) -> Option<String>,
) -> Result<Signatures> {
    let one = |role: &str| -> Result<Identity> {
        let var = |suffix: &str| env(&format!("GIT_{role}_{suffix}")).filter(|v| !v.is_empty());
        let name = var("NAME")
            .or_else(|| config("user.name"))
            .filter(|v| !v.trim().is_empty());
        let email = var("EMAIL")
            .or_else(|| config("user.email"))
            .or_else(|| env("EMAIL"))
            .filter(|v| !v.trim().is_empty());
        let (no_name, no_email) = (name.is_none(), email.is_none());
        let (Some(name), Some(email)) = (name, email) else {
            return Err(Error::NoIdentity {
                missing: missing(role == "AUTHOR", no_name, no_email),
            });
        };
        let when = match var("DATE") {
            Some(text) => parse_date(&text).ok_or(Error::BadIdentity {
                variable: if role == "AUTHOR" {
                    "GIT_AUTHOR_DATE"
                } else {
                    "GIT_COMMITTER_DATE"
                },
                value: text,
            })?,
            // Whole seconds: git records no more, and the same instant is written beside the
            // commit (a recorded run's `tested_at`), where nanoseconds of the clock would be
            // noise that the commit contradicts.
            None => Local::now().fixed_offset().trunc_subsecs(0),
        };
        Ok(Identity { name, email, when })
    };
    Ok(Signatures {
        author: one("AUTHOR")?,
        committer: one("COMMITTER")?,
    })
}

/// What [`Error::NoIdentity`] says is missing: whose (author or committer) and which part, with
/// the variables and keys that would give it.
fn missing(author: bool, name: bool, email: bool) -> &'static str {
    match (author, name, email) {
        (true, true, true) => "the author's name and e-mail are not set (GIT_AUTHOR_NAME / GIT_AUTHOR_EMAIL, or user.name / user.email)",
        (true, true, false) => "the author's name is not set (GIT_AUTHOR_NAME, or user.name)",
        (true, false, _) => "the author's e-mail is not set (GIT_AUTHOR_EMAIL, user.email or EMAIL)",
        (false, true, true) => "the committer's name and e-mail are not set (GIT_COMMITTER_NAME / GIT_COMMITTER_EMAIL, or user.name / user.email)",
        (false, true, false) => "the committer's name is not set (GIT_COMMITTER_NAME, or user.name)",
        (false, false, _) => "the committer's e-mail is not set (GIT_COMMITTER_EMAIL, user.email or EMAIL)",
    }
}

/// A git time as a chrono time with its offset.
pub(super) fn from_git_time(time: git2::Time) -> DateTime<FixedOffset> {
    let offset = FixedOffset::east_opt(time.offset_minutes() * 60)
        .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset"));
    offset
        .timestamp_opt(time.seconds(), 0)
        .single()
        .unwrap_or_else(|| DateTime::UNIX_EPOCH.fixed_offset())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_wins_over_config() {
        let env = |k: &str| match k {
            "GIT_AUTHOR_NAME" => Some("Env Author".to_owned()),
            "GIT_AUTHOR_DATE" => Some("@0 +0000".to_owned()),
            _ => None,
        };
        let config = |k: &str| match k {
            "user.name" => Some("Config Name".to_owned()),
            "user.email" => Some("config@example.com".to_owned()),
            _ => None,
        };
        let sigs = resolve(&env, &config).unwrap();
        assert_eq!(sigs.author.name, "Env Author");
        assert_eq!(sigs.author.email, "config@example.com");
        assert_eq!(sigs.author.when.timestamp(), 0);
        assert_eq!(sigs.committer.name, "Config Name");
    }

    #[test]
    fn the_missing_identity_says_whose_and_which_part() {
        let author_only = |k: &str| match k {
            "GIT_AUTHOR_NAME" => Some("A".to_owned()),
            "GIT_AUTHOR_EMAIL" => Some("a@example.com".to_owned()),
            _ => None,
        };
        let Err(Error::NoIdentity { missing }) = resolve(&author_only, &|_| None) else {
            panic!("a committer is missing");
        };
        assert!(
            missing.starts_with("the committer's name and e-mail"),
            "{missing}"
        );
        let no_email = |k: &str| (k == "user.name").then(|| "N".to_owned());
        let Err(Error::NoIdentity { missing }) = resolve(&|_| None, &no_email) else {
            panic!("an e-mail is missing");
        };
        assert!(missing.starts_with("the author's e-mail"), "{missing}");
    }

    #[test]
    fn missing_identity_is_refused() {
        assert!(matches!(
            resolve(&|_| None, &|_| None),
            Err(Error::NoIdentity { .. })
        ));
        let env = |k: &str| (k == "GIT_AUTHOR_DATE").then(|| "soon".to_owned());
        let config = |_: &str| Some("x".to_owned());
        assert!(matches!(
            resolve(&env, &config),
            Err(Error::BadIdentity { .. })
        ));
    }
}
