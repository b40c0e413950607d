//! Selectors name one version of a prompt: `name`, `name@2.1.0`, `name@production`, `name@latest`.

use std::fmt;

use crate::{Error, PromptName, Result, Version};

/// Which version of a prompt is meant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// An exact version.
    Version(Version),
    /// Whatever version an environment holds.
    Environment(String),
    /// The highest release (see [`crate::model::version::latest`]).
    Latest,
}

/// A prompt name with an optional target; no target means the last environment of the pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    pub name: PromptName,
    pub target: Option<Target>,
}

impl Selector {
    /// Parses `name[@version|@environment|@latest]`. After `@`, anything that starts with a digit
    /// (or `v` and a digit) is a version; `latest` is the latest release; the rest are environments.
    pub fn parse(input: &str) -> Result<Self> {
        let invalid = |reason: &str| Error::InvalidSelector {
            input: input.to_owned(),
            reason: reason.to_owned(),
        };
        let (name, target) = match input.split_once('@') {
            None => (input, None),
            Some((_, "")) => {
                return Err(invalid(
                    "nothing after `@` (write name@VERSION or name@ENVIRONMENT)",
                ))
            }
            Some((name, target)) => (name, Some(Target::parse(target)?)),
        };
        if target.is_some() && input.matches('@').count() > 1 {
            return Err(invalid("more than one `@`"));
        }
        Ok(Self {
            name: PromptName::parse(name)?,
            target,
        })
    }
}

impl Target {
    /// Parses what follows `@`, or the value of `--version` / `--env`.
    pub fn parse(text: &str) -> Result<Self> {
        let looks_like_version = {
            let digits = text.strip_prefix('v').unwrap_or(text);
            digits.starts_with(|c: char| c.is_ascii_digit())
        };
        if looks_like_version {
            Ok(Target::Version(Version::parse(text)?))
        } else if text == "latest" {
            Ok(Target::Latest)
        } else {
            Ok(Target::Environment(text.to_owned()))
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Version(v) => write!(f, "{v}"),
            Target::Environment(e) => f.write_str(e),
            Target::Latest => f.write_str("latest"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(s: &str) -> Selector {
        Selector::parse(s).unwrap()
    }

    #[test]
    fn parses_every_form() {
        assert_eq!(sel("a").target, None);
        assert_eq!(
            sel("a/b@2.1.0").target,
            Some(Target::Version(Version::parse("2.1.0").unwrap()))
        );
        assert_eq!(
            sel("a@v2.1.0").target,
            Some(Target::Version(Version::parse("2.1.0").unwrap()))
        );
        assert_eq!(
            sel("a@production").target,
            Some(Target::Environment("production".into()))
        );
        assert_eq!(sel("a@latest").target, Some(Target::Latest));
        assert_eq!(sel("support/refund@dev").name.as_str(), "support/refund");
    }

    #[test]
    fn refuses_malformed() {
        for bad in [
            "",
            "@1.0.0",
            "a@",
            "a@1.0",
            "a@1.0.0@x",
            "A@1.0.0",
            "a@1.0.0+b",
        ] {
            assert!(Selector::parse(bad).is_err(), "{bad:?}");
        }
    }
}
