//! What differs between two contents of one prompt: the prompt text (system prompt and
//! messages, laid out as `render` prints them but with the templates unrendered) as a unified
//! diff, every other setting field by field.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;
use similar::TextDiff;

use crate::model::prompt::{Prompt, Variable};
use crate::model::render::{layout, role_name};

/// One setting that differs; `None` where a side does not have it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// `model`, `variables.tone`, `metadata.owner`, `examples[0]`, …
    pub field: String,
    pub a: Option<String>,
    pub b: Option<String>,
}

/// What differs between two contents of one prompt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PromptDiff {
    /// `name@version` or `name@worktree`.
    pub a: String,
    pub b: String,
    pub equal: bool,
    /// A unified diff of the prompt text (empty when the text is the same).
    pub text_diff: String,
    pub fields: Vec<FieldChange>,
}

impl PromptDiff {
    /// What kinds of things differ: `text`, then the top-level fields, without repeats.
    pub fn changed(&self) -> Vec<&str> {
        let mut kinds = Vec::new();
        if !self.text_diff.is_empty() {
            kinds.push("text");
        }
        for change in &self.fields {
            let kind = change
                .field
                .split(['.', '['])
                .next()
                .unwrap_or(&change.field);
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        kinds
    }
}

/// The prompt text as it is compared: the system prompt, then `[role]` message blocks.
pub fn text_of(prompt: &Prompt) -> String {
    layout(
        &prompt.system_prompt,
        prompt.messages.iter().map(|m| (m.role, m.content.as_str())),
    )
}

/// Compares two prompts; `a_id` and `b_id` (`name@x`) head the unified diff as `a/…`, `b/…`.
pub fn compare(a_id: &str, a: &Prompt, b_id: &str, b: &Prompt) -> PromptDiff {
    let (a_text, b_text) = (text_of(a), text_of(b));
    let text_diff = TextDiff::from_lines(&a_text, &b_text)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{a_id}"), &format!("b/{b_id}"))
        .to_string();
    let fields = fields(a, b);
    PromptDiff {
        a: a_id.to_owned(),
        b: b_id.to_owned(),
        equal: text_diff.is_empty() && fields.is_empty(),
        text_diff,
        fields,
    }
}

/// The settings that differ, in a fixed order.
fn fields(a: &Prompt, b: &Prompt) -> Vec<FieldChange> {
    let mut out = Vec::new();
    let mut push = |field: String, x: Option<String>, y: Option<String>| {
        if x != y {
            out.push(FieldChange { field, a: x, b: y });
        }
    };
    push("model".into(), a.model.clone(), b.model.clone());
    push(
        "temperature".into(),
        Some(a.temperature.to_string()),
        Some(b.temperature.to_string()),
    );
    push(
        "token_budget".into(),
        Some(a.token_budget.to_string()),
        Some(b.token_budget.to_string()),
    );
    let names: BTreeSet<&String> = a.variables.keys().chain(b.variables.keys()).collect();
    for name in names {
        let (x, y) = (a.variables.get(name), b.variables.get(name));
        push(
            format!("variables.{name}"),
            x.map(contract),
            y.map(contract),
        );
        if let (Some(x), Some(y)) = (x, y) {
            push(
                format!("variables.{name}.description"),
                x.description.clone(),
                y.description.clone(),
            );
        }
    }
    push("messages".into(), Some(roles(a)), Some(roles(b)));
    for i in 0..a.examples.len().max(b.examples.len()) {
        push(
            format!("examples[{i}]"),
            a.examples.get(i).map(compact),
            b.examples.get(i).map(compact),
        );
    }
    push(
        "tags".into(),
        Some(compact(&Value::from(a.tags.clone()))),
        Some(compact(&Value::from(b.tags.clone()))),
    );
    push("summary".into(), a.summary.clone(), b.summary.clone());
    let keys: BTreeSet<&String> = a.metadata.keys().chain(b.metadata.keys()).collect();
    for key in keys {
        push(
            format!("metadata.{key}"),
            a.metadata.get(key).map(compact),
            b.metadata.get(key).map(compact),
        );
    }
    out
}

/// `required`, `optional`, `optional, default: "30"`.
fn contract(variable: &Variable) -> String {
    let kind = if variable.required {
        "required"
    } else {
        "optional"
    };
    match &variable.default {
        Some(default) => format!("{kind}, default: {}", compact(default)),
        None => kind.to_owned(),
    }
}

/// `2: system, user`.
fn roles(prompt: &Prompt) -> String {
    let roles: Vec<&str> = prompt.messages.iter().map(|m| role_name(m.role)).collect();
    if roles.is_empty() {
        "0".into()
    } else {
        format!("{}: {}", roles.len(), roles.join(", "))
    }
}

/// Compact JSON, cut at 120 characters.
fn compact(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(120) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::prompt::{Message, Role};

    fn prompt() -> Prompt {
        let mut variables = BTreeMap::new();
        variables.insert(
            "tone".to_owned(),
            Variable {
                description: Some("How".into()),
                required: false,
                default: Some("calm".into()),
            },
        );
        Prompt {
            summary: Some("s".into()),
            system_prompt: "one\ntwo\n".into(),
            messages: vec![Message {
                role: Role::User,
                content: "{{ q }}".into(),
            }],
            examples: Vec::new(),
            model: Some("m".into()),
            temperature: 0.7,
            token_budget: 100,
            variables,
            tags: vec!["a".into()],
            metadata: serde_json::Map::new(),
        }
    }

    #[test]
    fn equal_prompts() {
        let d = compare("x@1.0.0", &prompt(), "x@worktree", &prompt());
        assert!(d.equal);
        assert_eq!(d.text_diff, "");
        assert!(d.fields.is_empty());
        assert!(d.changed().is_empty());
    }

    #[test]
    fn text_and_fields() {
        let mut b = prompt();
        b.system_prompt = "one\nTWO\n".into();
        b.model = None;
        b.variables.get_mut("tone").unwrap().required = true;
        b.variables.get_mut("tone").unwrap().default = None;
        b.tags.push("b".into());
        b.metadata.insert("owner".into(), "me".into());
        b.messages.push(Message {
            role: Role::Assistant,
            content: "ok".into(),
        });
        let d = compare("x@1.0.0", &prompt(), "x@2.0.0", &b);
        assert!(!d.equal);
        assert!(
            d.text_diff.starts_with("--- a/x@1.0.0\n+++ b/x@2.0.0\n"),
            "{}",
            d.text_diff
        );
        assert!(d.text_diff.contains("\n-two\n+TWO\n"), "{}", d.text_diff);
        let fields: Vec<(&str, Option<&str>, Option<&str>)> = d
            .fields
            .iter()
            .map(|f| (f.field.as_str(), f.a.as_deref(), f.b.as_deref()))
            .collect();
        assert_eq!(
            fields,
            [
                ("model", Some("m"), None),
                (
                    "variables.tone",
                    Some("optional, default: \"calm\""),
                    Some("required")
                ),
                ("messages", Some("1: user"), Some("2: user, assistant")),
                ("tags", Some("[\"a\"]"), Some("[\"a\",\"b\"]")),
                ("metadata.owner", None, Some("\"me\"")),
            ]
        );
        assert_eq!(
            d.changed(),
            ["text", "model", "variables", "messages", "tags", "metadata"]
        );
    }
}
