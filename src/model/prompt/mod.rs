//! The prompt model: `prompt.yaml` as written ([`PromptFile`]), its rules ([`rules`]), and the resolved
//! [`Prompt`] with file components (`system_prompt_file`, `examples_file`) read in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::yaml;

pub mod rules;

use crate::{Error, Result};
pub use rules::{check_component_path, is_identifier, Violation};

/// Default sampling temperature.
pub const DEFAULT_TEMPERATURE: f64 = 0.7;
/// Default token budget.
pub const DEFAULT_TOKEN_BUDGET: u64 = 4096;
/// Largest component file (system prompt, examples) promptreg reads.
pub const MAX_COMPONENT_BYTES: usize = 1 << 20;

/// `prompt.yaml` exactly as written. Unknown keys are errors so that typos cannot pass silently.
#[derive(Clone, Debug, Default, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "promptreg prompt.yaml")]
pub struct PromptFile {
    /// What the prompt is for, in one line.
    pub summary: Option<String>,
    /// The system prompt template (MiniJinja / Jinja2 syntax: `{{ variable }}`). Give this or
    /// `system_prompt_file`, not both.
    pub system_prompt: Option<String>,
    /// A file in the prompt directory holding the system prompt (UTF-8, at most 1 MiB): a
    /// relative path using `/`, with no empty, `.` or `..` part, not `prompt.yaml`. Give this or
    /// `system_prompt`, not both.
    #[schemars(transform = crate::model::patterns::component_path)]
    pub system_prompt_file: Option<String>,
    /// Chat message templates sent after the system prompt.
    #[serde(default)]
    pub messages: Vec<Message>,
    /// Free-form examples, e.g. `{input, output}` maps. Give this or `examples_file`, not both.
    pub examples: Option<Vec<Value>>,
    /// A YAML file in the prompt directory holding the `examples` list: a relative path using
    /// `/`, with no empty, `.` or `..` part, not `prompt.yaml`. Give this or `examples`, not both.
    #[schemars(transform = crate::model::patterns::component_path)]
    pub examples_file: Option<String>,
    /// The model the prompt is written for, e.g. `gpt-4o`.
    pub model: Option<String>,
    /// Sampling temperature, between 0 and 2 inclusive (default 0.7).
    #[schemars(range(min = rules::MIN_TEMPERATURE, max = rules::MAX_TEMPERATURE), extend("default" = DEFAULT_TEMPERATURE))]
    pub temperature: Option<f64>,
    /// The token budget, greater than 0 (default 4096).
    #[schemars(range(min = rules::MIN_TOKEN_BUDGET), extend("default" = DEFAULT_TOKEN_BUDGET))]
    pub token_budget: Option<u64>,
    /// The template variables, by name (letters, digits and `_`, not starting with a digit).
    #[serde(default)]
    #[schemars(extend("propertyNames" = {"pattern": crate::model::patterns::VARIABLE_NAME}))]
    pub variables: BTreeMap<String, Variable>,
    /// Free-form tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Free-form metadata, e.g. `owner: support-team`.
    #[serde(default)]
    pub metadata: serde_json::Map<String, Value>,
}

/// One chat message template.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Message {
    /// Who speaks: `system`, `user` or `assistant`.
    pub role: Role,
    /// The message template (MiniJinja / Jinja2 syntax: `{{ variable }}`).
    pub content: String,
}

/// Who speaks a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

/// A template variable's contract.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    /// What the variable holds.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether rendering needs a value (default true).
    #[serde(default = "yes")]
    pub required: bool,
    /// The value used when none is given: a string, number or boolean.
    #[serde(default)]
    #[schemars(extend("type" = ["string", "number", "boolean", "null"]))]
    pub default: Option<Value>,
}

fn yes() -> bool {
    true
}

/// A prompt with its components resolved and defaults applied.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct Prompt {
    pub summary: Option<String>,
    pub system_prompt: String,
    pub messages: Vec<Message>,
    pub examples: Vec<Value>,
    pub model: Option<String>,
    pub temperature: f64,
    pub token_budget: u64,
    pub variables: BTreeMap<String, Variable>,
    pub tags: Vec<String>,
    pub metadata: serde_json::Map<String, Value>,
}

/// Where a prompt's component files come from: the working tree or a committed tree.
pub trait Components {
    /// The content of `relative` (a path inside the prompt directory), `None` when absent.
    fn read(&self, relative: &str) -> Result<Option<Vec<u8>>>;
    /// How to name `relative` in messages (`prompts/x/system.md`).
    fn display(&self, relative: &str) -> PathBuf;
}

impl PromptFile {
    /// Parses and checks `prompt.yaml` content; `file` names it in errors.
    pub fn parse(bytes: &[u8], file: &Path) -> Result<Self> {
        let parsed: PromptFile = yaml::parse(bytes, file)?;
        match rules::violations(&parsed).into_iter().next() {
            None => Ok(parsed),
            Some(first) => Err(Error::Invalid {
                file: file.to_owned(),
                message: first.message,
            }),
        }
    }

    /// The component keys given, with their paths.
    pub(crate) fn component_keys(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("system_prompt_file", self.system_prompt_file.as_deref()),
            ("examples_file", self.examples_file.as_deref()),
        ]
        .into_iter()
        .filter_map(|(key, path)| path.map(|p| (key, p)))
    }

    /// The component files this prompt names, relative to its directory.
    pub fn component_paths(&self) -> impl Iterator<Item = &str> {
        [&self.system_prompt_file, &self.examples_file]
            .into_iter()
            .flatten()
            .map(String::as_str)
    }

    /// Reads the component files and applies defaults.
    pub fn resolve(&self, components: &dyn Components) -> Result<Prompt> {
        let system_prompt = match (&self.system_prompt, &self.system_prompt_file) {
            (Some(text), _) => text.clone(),
            (None, Some(path)) => {
                let bytes = read_component(components, path)?;
                yaml::utf8(&bytes, &components.display(path))?.to_owned()
            }
            (None, None) => String::new(),
        };
        let examples = match (&self.examples, &self.examples_file) {
            (Some(list), _) => list.clone(),
            (None, Some(path)) => yaml::parse(
                &read_component(components, path)?,
                &components.display(path),
            )?,
            (None, None) => Vec::new(),
        };
        Ok(Prompt {
            summary: self.summary.clone(),
            system_prompt,
            messages: self.messages.clone(),
            examples,
            model: self.model.clone(),
            temperature: self.temperature.unwrap_or(DEFAULT_TEMPERATURE),
            token_budget: self.token_budget.unwrap_or(DEFAULT_TOKEN_BUDGET),
            variables: self.variables.clone(),
            tags: self.tags.clone(),
            metadata: self.metadata.clone(),
        })
    }
}

fn read_component(components: &dyn Components, path: &str) -> Result<Vec<u8>> {
    let bytes = components.read(path)?.ok_or_else(|| Error::Invalid {
        file: components.display(path),
        message: "not found (referenced from prompt.yaml)".into(),
    })?;
    if bytes.len() > MAX_COMPONENT_BYTES {
        return Err(Error::TooLarge {
            file: components.display(path),
            size: bytes.len() as u64,
            limit: MAX_COMPONENT_BYTES,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A prompt directory holding no component files.
    pub(crate) struct NoComponents;

    impl Components for NoComponents {
        fn read(&self, _relative: &str) -> Result<Option<Vec<u8>>> {
            Ok(None)
        }

        fn display(&self, relative: &str) -> PathBuf {
            PathBuf::from(relative)
        }
    }

    fn parse(text: &str) -> Result<PromptFile> {
        PromptFile::parse(text.as_bytes(), Path::new("prompts/x/prompt.yaml"))
    }

    #[test]
    fn minimal_prompt_gets_defaults() {
        let file = parse("system_prompt: hello\n").unwrap();
        let prompt = file.resolve(&NoComponents).unwrap();
        assert_eq!(prompt.temperature, DEFAULT_TEMPERATURE);
        assert_eq!(prompt.token_budget, DEFAULT_TOKEN_BUDGET);
        assert_eq!(prompt.system_prompt, "hello");
    }

    #[test]
    fn typo_is_an_error_with_position() {
        let err = parse("system_prompt: hi\ntemprature: 0.5\n").unwrap_err();
        match err {
            Error::Yaml {
                line,
                column,
                message,
                ..
            } => {
                assert_eq!((line, column), (2, 1));
                assert!(message.contains("temprature"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn rule_violations() {
        for (text, needle) in [
            ("system_prompt: a\nsystem_prompt_file: b.md\n", "not both"),
            ("summary: nothing\n", "needs"),
            ("system_prompt: a\ntemperature: 2.5\n", "between 0 and 2"),
            ("system_prompt: a\ntoken_budget: 0\n", "greater than 0"),
            (
                "system_prompt_file: ../x.md\n",
                "inside the prompt directory",
            ),
            ("system_prompt_file: /etc/passwd\n", "relative"),
            (
                "system_prompt: a\nvariables:\n  1x: {}\n",
                "not a valid name",
            ),
            (
                "system_prompt: a\nvariables:\n  x: {default: [1]}\n",
                "string, number or boolean",
            ),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text:?}: {err}");
        }
    }

    #[test]
    fn wrong_types_and_duplicates_are_yaml_errors() {
        for text in [
            "system_prompt: a\ntoken_budget: -1\n",
            "system_prompt: a\ntemperature: hot\n",
            "system_prompt: a\nsystem_prompt: b\n",
            "messages:\n  - role: robot\n    content: x\n",
            "- a\n",
        ] {
            assert!(matches!(parse(text), Err(Error::Yaml { .. })), "{text:?}");
        }
    }

    #[test]
    fn bad_utf8_names_position() {
        let err = PromptFile::parse(b"system_prompt: ok\nsummary: \xff\n", Path::new("p.yaml"))
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Yaml {
                    line: 2,
                    column: 10,
                    ..
                }
            ),
            "{err:?}"
        );
    }
}
