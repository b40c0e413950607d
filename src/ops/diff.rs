//! `diff`: what differs between two versions of a prompt (released versions, what environments
//! serve, or the working tree), and between what two environments serve across the registry.
//!
//! The prompt text (system prompt and messages, laid out as `render` prints them but with the
//! templates unrendered) is compared as a unified diff; every other setting field by field.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;
use similar::TextDiff;

use crate::model::prompt::{Prompt, Variable};
use crate::model::selector::Target;
use crate::store::Store;
use crate::{PromptName, Result, Version};

use super::render::{layout, role_name, worktree_prompt};
use crate::read::{missing_version, read_prompt, resolve_version};
use crate::read::{registry_at, revision_label};

/// One side of a comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Side {
    /// A version, an environment, or `latest`, resolved as `fetch` resolves it.
    Target(Target),
    /// The working-tree content of `prompts/<name>/`.
    Worktree,
}

impl Side {
    /// `worktree`, `latest`, a version (`1.2.0`) or an environment (`production`).
    pub fn parse(text: &str) -> Result<Self> {
        if text == "worktree" {
            Ok(Side::Worktree)
        } else {
            Target::parse(text).map(Side::Target)
        }
    }
}

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

/// One resolved side: how to name it and its content.
struct Resolved {
    label: String,
    prompt: Prompt,
}

/// Compares two sides of prompt `name`; environments are read from the index at `revision`.
pub fn diff(
    store: &Store,
    name: &PromptName,
    a: &Side,
    b: &Side,
    revision: Option<&str>,
) -> Result<PromptDiff> {
    let needs_index = [a, b].iter().any(|side| {
        matches!(
            side,
            Side::Target(Target::Environment(_)) | Side::Target(Target::Latest)
        )
    });
    let registry = if needs_index {
        let commit = store.commit(revision)?;
        Some(registry_at(
            store,
            &commit,
            revision_label(revision),
            Some(name),
        )?)
    } else {
        None
    };
    let resolve = |side: &Side| -> Result<Resolved> {
        match side {
            Side::Worktree => Ok(Resolved {
                label: "worktree".into(),
                prompt: worktree_prompt(store, name)?,
            }),
            Side::Target(target) => {
                let version = match (target, &registry) {
                    (Target::Version(v), _) => v.clone(),
                    (_, Some(registry)) => resolve_version(store, registry, name, Some(target))?,
                    (_, None) => unreachable!("the index is read for environments and latest"),
                };
                Ok(Resolved {
                    label: version.to_string(),
                    prompt: released(store, name, &version)?,
                })
            }
        }
    };
    let (a, b) = (resolve(a)?, resolve(b)?);
    Ok(compare(
        &format!("{name}@{}", a.label),
        &a.prompt,
        &format!("{name}@{}", b.label),
        &b.prompt,
    ))
}

fn released(store: &Store, name: &PromptName, version: &Version) -> Result<Prompt> {
    let release = store
        .release(name, version)?
        .ok_or_else(|| missing_version(store, name, version))?;
    read_prompt(store, &release)
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

/// One prompt whose versions differ between two environments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EnvironmentChange {
    pub name: String,
    /// The version the first environment serves, if any.
    pub a: Option<String>,
    pub b: Option<String>,
    /// `only in staging`, `same content`, or what differs (`text, model`).
    pub change: String,
    /// The comparison, when both environments serve a version.
    pub diff: Option<PromptDiff>,
}

/// What differs between two environments across the registry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EnvironmentDiff {
    pub a: String,
    pub b: String,
    pub equal: bool,
    pub prompts: Vec<EnvironmentChange>,
}

/// Every prompt whose version differs between environments `a` and `b` (including prompts only
/// one of them serves), in name order, read from the index at `revision`.
pub fn diff_environments(
    store: &Store,
    a: &str,
    b: &str,
    revision: Option<&str>,
) -> Result<EnvironmentDiff> {
    let commit = store.commit(revision)?;
    let registry = registry_at(store, &commit, revision_label(revision), None)?;
    registry.check_environment(a)?;
    registry.check_environment(b)?;
    let mut prompts = Vec::new();
    for (name, pointers) in &registry.prompts {
        let (x, y) = (pointers.get(a), pointers.get(b));
        if x == y {
            continue;
        }
        let (change, diff) = match (x, y) {
            (Some(x), Some(y)) => {
                let diff = compare(
                    &format!("{name}@{x}"),
                    &released(store, name, x)?,
                    &format!("{name}@{y}"),
                    &released(store, name, y)?,
                );
                let change = if diff.equal {
                    "same content".to_owned()
                } else {
                    diff.changed().join(", ")
                };
                (change, Some(diff))
            }
            (Some(_), None) => (format!("only in {a}"), None),
            (None, _) => (format!("only in {b}"), None),
        };
        prompts.push(EnvironmentChange {
            name: name.to_string(),
            a: x.map(ToString::to_string),
            b: y.map(ToString::to_string),
            change,
            diff,
        });
    }
    Ok(EnvironmentDiff {
        a: a.to_owned(),
        b: b.to_owned(),
        equal: prompts.is_empty(),
        prompts,
    })
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

    #[test]
    fn sides() {
        assert_eq!(Side::parse("worktree").unwrap(), Side::Worktree);
        assert_eq!(Side::parse("latest").unwrap(), Side::Target(Target::Latest));
        assert!(matches!(
            Side::parse("1.2.0").unwrap(),
            Side::Target(Target::Version(_))
        ));
        assert!(Side::parse("1.2").is_err());
    }
}
