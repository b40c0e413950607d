//! The rules of `prompt.yaml` beyond its types, written once. [`violations`] lists every rule a
//! parsed file breaks, each with its stable finding code, the key it is about and its message;
//! from that one list come [`PromptFile::parse`](super::PromptFile::parse)'s error (the first
//! violation), `validate`'s findings (every violation, at its key's place) and the `allOf` of
//! the `prompt.yaml` schema ([`Rule::schema`]). The bounds of single keys are constants here,
//! used by the checks below and by the schema attributes of [`PromptFile`]'s fields.

use serde_json::{json, Value};

use super::PromptFile;

/// The lowest `temperature`.
pub const MIN_TEMPERATURE: f64 = 0.0;
/// The highest `temperature`.
pub const MAX_TEMPERATURE: f64 = 2.0;
/// The lowest `token_budget`.
pub const MIN_TOKEN_BUDGET: u64 = 1;

/// One rule of `prompt.yaml`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Not both `system_prompt` and `system_prompt_file`.
    OneSystemPrompt,
    /// At least one of `system_prompt`, `system_prompt_file` and `messages`.
    NeedsTemplate,
    /// Not both `examples` and `examples_file`.
    OneExamples,
    /// `temperature` between [`MIN_TEMPERATURE`] and [`MAX_TEMPERATURE`].
    TemperatureRange,
    /// `token_budget` at least [`MIN_TOKEN_BUDGET`].
    PositiveBudget,
    /// A component path stays inside the prompt directory.
    ComponentInside,
    /// A variable's name is an identifier.
    VariableName,
    /// A variable's default is a string, number or boolean.
    ScalarDefault,
}

impl Rule {
    /// Every rule, in the order [`violations`] checks them.
    pub const ALL: [Rule; 8] = [
        Rule::OneSystemPrompt,
        Rule::NeedsTemplate,
        Rule::OneExamples,
        Rule::TemperatureRange,
        Rule::PositiveBudget,
        Rule::ComponentInside,
        Rule::VariableName,
        Rule::ScalarDefault,
    ];

    /// The stable code `validate` reports a violation with (docs/VALIDATE.md).
    pub fn code(self) -> &'static str {
        match self {
            Rule::OneSystemPrompt | Rule::OneExamples => "conflicting-keys",
            Rule::NeedsTemplate => "no-template",
            Rule::TemperatureRange | Rule::PositiveBudget => "out-of-range",
            Rule::ComponentInside => "component-outside",
            Rule::VariableName => "bad-variable-name",
            Rule::ScalarDefault => "bad-type",
        }
    }

    /// The rule as an entry of the schema's `allOf`, for the rules between keys. `None` for the
    /// rules of single keys: the schema states those on the key itself (`minimum`, `pattern` …,
    /// from the constants above and `model::patterns`).
    pub fn schema(self) -> Option<Value> {
        let strings = |a: &str, b: &str| json!({"properties": {a: {"type": "string"}, b: {"type": "string"}}, "required": [a, b]});
        match self {
            Rule::OneSystemPrompt => Some(json!({
                "description": "`system_prompt` and `system_prompt_file` must not both be given",
                "not": strings("system_prompt", "system_prompt_file"),
            })),
            Rule::OneExamples => Some(json!({
                "description": "`examples` and `examples_file` must not both be given",
                "not": {
                    "properties": {"examples": {"type": "array"}, "examples_file": {"type": "string"}},
                    "required": ["examples", "examples_file"],
                },
            })),
            Rule::NeedsTemplate => Some(json!({
                "description": NEEDS_TEMPLATE,
                "anyOf": [
                    {"properties": {"system_prompt": {"type": "string"}}, "required": ["system_prompt"]},
                    {"properties": {"system_prompt_file": {"type": "string"}}, "required": ["system_prompt_file"]},
                    {"properties": {"messages": {"minItems": 1}}, "required": ["messages"]},
                ],
            })),
            Rule::TemperatureRange
            | Rule::PositiveBudget
            | Rule::ComponentInside
            | Rule::VariableName
            | Rule::ScalarDefault => None,
        }
    }
}

const NEEDS_TEMPLATE: &str = "a prompt needs `system_prompt`, `system_prompt_file` or `messages`";

/// What a violation is about, for its place in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    /// The file as a whole.
    Document,
    /// A top-level key (its place is the key).
    Key(&'static str),
    /// A top-level key's value (its place is the value).
    Value(&'static str),
    /// An entry of `variables`.
    Variable(String),
}

/// One broken rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    pub rule: Rule,
    pub subject: Subject,
    /// What is wrong, for the person who wrote the file.
    pub message: String,
}

impl Violation {
    /// The stable finding code.
    pub fn code(&self) -> &'static str {
        self.rule.code()
    }
}

/// Every rule `prompt` breaks, in [`Rule::ALL`] order (all variable names before any default).
pub fn violations(prompt: &PromptFile) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut push = |rule, subject, message: String| {
        out.push(Violation {
            rule,
            subject,
            message,
        })
    };
    if prompt.system_prompt.is_some() && prompt.system_prompt_file.is_some() {
        push(
            Rule::OneSystemPrompt,
            Subject::Key("system_prompt_file"),
            "give `system_prompt` or `system_prompt_file`, not both".into(),
        );
    }
    if prompt.system_prompt.is_none()
        && prompt.system_prompt_file.is_none()
        && prompt.messages.is_empty()
    {
        push(
            Rule::NeedsTemplate,
            Subject::Document,
            NEEDS_TEMPLATE.into(),
        );
    }
    if prompt.examples.is_some() && prompt.examples_file.is_some() {
        push(
            Rule::OneExamples,
            Subject::Key("examples_file"),
            "give `examples` or `examples_file`, not both".into(),
        );
    }
    if let Some(t) = prompt.temperature {
        if !(MIN_TEMPERATURE..=MAX_TEMPERATURE).contains(&t) {
            push(
                Rule::TemperatureRange,
                Subject::Value("temperature"),
                format!("`temperature` is {t}; it must be between {MIN_TEMPERATURE} and {MAX_TEMPERATURE}"),
            );
        }
    }
    if prompt.token_budget.is_some_and(|b| b < MIN_TOKEN_BUDGET) {
        push(
            Rule::PositiveBudget,
            Subject::Value("token_budget"),
            format!(
                "`token_budget` must be greater than {}",
                MIN_TOKEN_BUDGET - 1
            ),
        );
    }
    for (key, path) in prompt.component_keys() {
        if let Err(reason) = check_component_path(path) {
            push(
                Rule::ComponentInside,
                Subject::Value(key),
                format!("`{key}: {path}` {reason}"),
            );
        }
    }
    for name in prompt.variables.keys() {
        if !is_identifier(name) {
            push(
                Rule::VariableName,
                Subject::Variable(name.clone()),
                format!("variable `{name}` is not a valid name (letters, digits and `_`, not starting with a digit)"),
            );
        }
    }
    for (name, variable) in &prompt.variables {
        if matches!(variable.default, Some(Value::Array(_) | Value::Object(_))) {
            push(
                Rule::ScalarDefault,
                Subject::Variable(name.clone()),
                format!("the default of variable `{name}` must be a string, number or boolean"),
            );
        }
    }
    out
}

/// A component path must stay inside the prompt directory: relative, no `.`/`..`, no empty parts.
pub fn check_component_path(path: &str) -> std::result::Result<(), &'static str> {
    if path.starts_with('/') || path.contains('\\') {
        return Err("must be a relative path inside the prompt directory");
    }
    if path
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Err("must stay inside the prompt directory (no `..`, `.` or empty parts)");
    }
    if path.rsplit('/').next() == Some(crate::PROMPT_FILE) {
        return Err("cannot be prompt.yaml itself");
    }
    Ok(())
}

/// Whether `name` can name a variable: letters, digits and `_`, not starting with a digit.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(text: &str) -> Vec<(&'static str, Subject)> {
        let prompt: PromptFile =
            crate::model::yaml::parse(text.as_bytes(), std::path::Path::new("p")).unwrap();
        violations(&prompt)
            .into_iter()
            .map(|v| (v.code(), v.subject))
            .collect()
    }

    #[test]
    fn every_broken_rule_is_listed_with_its_subject() {
        assert_eq!(of("system_prompt: a\n"), []);
        assert_eq!(
            of("system_prompt: a\nsystem_prompt_file: ../b\nexamples: []\nexamples_file: e\ntemperature: 3\ntoken_budget: 0\nvariables:\n  1x: {default: [1]}\n"),
            [
                ("conflicting-keys", Subject::Key("system_prompt_file")),
                ("conflicting-keys", Subject::Key("examples_file")),
                ("out-of-range", Subject::Value("temperature")),
                ("out-of-range", Subject::Value("token_budget")),
                ("component-outside", Subject::Value("system_prompt_file")),
                ("bad-variable-name", Subject::Variable("1x".into())),
                ("bad-type", Subject::Variable("1x".into())),
            ]
        );
        assert_eq!(of("summary: s\n"), [("no-template", Subject::Document)]);
    }

    #[test]
    fn the_schema_states_the_rules_between_keys() {
        let stated: Vec<Rule> = Rule::ALL
            .into_iter()
            .filter(|r| r.schema().is_some())
            .collect();
        assert_eq!(
            stated,
            [
                Rule::OneSystemPrompt,
                Rule::NeedsTemplate,
                Rule::OneExamples
            ]
        );
    }
}
