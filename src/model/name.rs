//! Prompt names: 1–4 `/`-separated segments of `[a-z0-9][a-z0-9_-]*`, each at most 64 bytes
//! (the grammar is [`promptreg_wire::name`]).
//! The first segment of a nested name is its domain (`support/refund-agent` → `support`).

use std::fmt;

use crate::{Error, Result};

pub use promptreg_wire::name::{MAX_SEGMENTS, MAX_SEGMENT_LEN};

/// A validated prompt name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PromptName(String);

impl PromptName {
    /// Validates `input` as a prompt name.
    pub fn parse(input: &str) -> Result<Self> {
        // The grammar is the wire format's, so clients check names exactly as the registry does.
        promptreg_wire::name::check(input).map_err(|reason| Error::InvalidName {
            name: input.to_owned(),
            reason,
        })?;
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
    fn parse_applies_the_wire_grammar_and_names_the_input() {
        // The grammar's cases are tested where it lives (promptreg_wire::name).
        assert!(PromptName::parse("support/refund-agent").is_ok());
        let Err(Error::InvalidName { name, reason }) = PromptName::parse("a//b") else {
            panic!("a//b is not a name");
        };
        assert_eq!(name, "a//b");
        assert!(reason.contains("empty segment"), "{reason}");
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
