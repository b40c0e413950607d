//! Prompt names: 1–4 `/`-separated segments of `[a-z0-9][a-z0-9_-]*`, each at most 64 bytes.
//! The first segment of a nested name is its domain (`support/refund-agent` → `support`).

use std::fmt;

use crate::{Error, Result};

/// Most segments a name may have.
pub const MAX_SEGMENTS: usize = 4;
/// Longest segment, in bytes.
pub const MAX_SEGMENT_LEN: usize = 64;

/// A validated prompt name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PromptName(String);

impl PromptName {
    /// Validates `input` as a prompt name.
    pub fn parse(input: &str) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidName {
            name: input.to_owned(),
            reason,
        };
        if input.is_empty() {
            return Err(invalid("the name is empty".into()));
        }
        let segments: Vec<&str> = input.split('/').collect();
        if segments.len() > MAX_SEGMENTS {
            return Err(invalid(format!(
                "{} segments; at most {MAX_SEGMENTS} are allowed",
                segments.len()
            )));
        }
        for segment in segments {
            check_segment(segment).map_err(&invalid)?;
        }
        Ok(Self(input.to_owned()))
    }

    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The domain: the first segment of a nested name, `None` for a one-segment name.
    pub fn domain(&self) -> Option<&str> {
        self.0.split_once('/').map(|(domain, _)| domain)
    }

    /// The prompt's directory inside the repository, `prompts/<name>`.
    pub fn dir(&self) -> String {
        format!("{}/{}", crate::PROMPTS_DIR, self.0)
    }

    /// The path of its `prompt.yaml` inside the repository.
    pub fn file(&self) -> String {
        format!("{}/{}", self.dir(), crate::PROMPT_FILE)
    }

    /// The prefix under which its version tags live, `refs/tags/<name>/`.
    pub fn tag_prefix(&self) -> String {
        format!("refs/tags/{}/", self.0)
    }
}

fn check_segment(segment: &str) -> std::result::Result<(), String> {
    if segment.is_empty() {
        return Err("empty segment (leading, trailing or doubled `/`)".into());
    }
    if segment.len() > MAX_SEGMENT_LEN {
        return Err(format!(
            "segment `{segment}` is longer than {MAX_SEGMENT_LEN} characters"
        ));
    }
    let mut chars = segment.chars();
    let first = chars.next().unwrap_or('-');
    if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
        return Err(format!(
            "segment `{segment}` must start with a lower-case letter or digit"
        ));
    }
    if let Some(bad) =
        chars.find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-'))
    {
        return Err(format!(
            "`{bad}` is not allowed in `{segment}` (use a-z, 0-9, `_` and `-`)"
        ));
    }
    Ok(())
}

impl fmt::Display for PromptName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for PromptName {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_names() {
        for ok in ["a", "support/refund-agent", "a/b/c/d", "x_1-2", "0abc"] {
            assert!(PromptName::parse(ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(MAX_SEGMENT_LEN);
        assert!(PromptName::parse(&long).is_ok());
    }

    #[test]
    fn rejects_invalid_names() {
        let long = "a".repeat(MAX_SEGMENT_LEN + 1);
        for bad in [
            "",
            "/a",
            "a/",
            "a//b",
            "A",
            "-a",
            "_a",
            "a b",
            "a/b/c/d/e",
            "é",
            "a/../b",
            "..",
            &long,
        ] {
            assert!(
                PromptName::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn domain_is_first_segment_of_nested_names() {
        assert_eq!(
            PromptName::parse("support/refund").unwrap().domain(),
            Some("support")
        );
        assert_eq!(PromptName::parse("summarize").unwrap().domain(), None);
    }

    #[test]
    fn paths_and_prefix() {
        let name = PromptName::parse("support/refund").unwrap();
        assert_eq!(name.file(), "prompts/support/refund/prompt.yaml");
        assert_eq!(name.tag_prefix(), "refs/tags/support/refund/");
    }
}
