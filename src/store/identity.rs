//! Who and when, resolved the way git does it: `GIT_AUTHOR_*` / `GIT_COMMITTER_*` from the
//! environment first, then `user.name` / `user.email` from the configuration. libgit2 reads only
//! the configuration, so promptreg does this itself. The caller supplies the environment lookup,
//! keeping the library free of process-global state.

use chrono::{DateTime, FixedOffset, Local, NaiveDateTime, TimeZone};

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
            None => Local::now().fixed_offset(),
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

/// Parses the date formats git accepts in `GIT_*_DATE`: `@<seconds> <±hhmm>`, `<seconds> <±hhmm>`,
/// RFC 2822, and ISO 8601 / RFC 3339 (with `T` or a space, offset optional, UTC assumed).
pub fn parse_date(text: &str) -> Option<DateTime<FixedOffset>> {
    let text = text.trim();
    let raw = text.strip_prefix('@').unwrap_or(text);
    let mut parts = raw.split_whitespace();
    if let (Some(secs), offset, None) = (parts.next(), parts.next(), parts.next()) {
        if let Ok(secs) = secs.parse::<i64>() {
            let offset = match offset {
                None => FixedOffset::east_opt(0)?,
                Some(o) => parse_offset(o)?,
            };
            return offset.timestamp_opt(secs, 0).single();
        }
    }
    if let Ok(t) = DateTime::parse_from_rfc2822(text) {
        return Some(t);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t);
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%z",
        "%Y-%m-%d %H:%M:%S %z",
        "%Y-%m-%d %H:%M:%S%z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(text, format) {
            return Some(t);
        }
    }
    for format in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc().fixed_offset());
        }
    }
    None
}

fn parse_offset(text: &str) -> Option<FixedOffset> {
    let (sign, digits) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = digits[2..].parse().ok()?;
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
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
    fn parses_git_date_formats() {
        let expect = "2005-04-07T22:13:13+02:00";
        for input in [
            "@1112904793 +0200",
            "1112904793 +0200",
            "Thu, 07 Apr 2005 22:13:13 +0200",
            "2005-04-07T22:13:13+02:00",
            "2005-04-07 22:13:13 +0200",
        ] {
            assert_eq!(
                parse_date(input).map(|d| d.to_rfc3339()),
                Some(expect.to_owned()),
                "{input}"
            );
        }
        assert_eq!(
            parse_date("2005-04-07T20:13:13").unwrap().timestamp(),
            1112904793
        );
        for bad in ["", "yesterday", "123 +99", "123 0200", "2005-13-40"] {
            assert!(parse_date(bad).is_none(), "{bad}");
        }
    }

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
