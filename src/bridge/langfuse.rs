//! Langfuse: the prompts API's JSON, as `GET /api/public/v2/prompts/{name}` returns it for one
//! version — `{name, version, type: text|chat, prompt, config, labels, tags, commitMessage,
//! createdAt, createdBy, …}`. A file holds one such object, a list of them, or a page
//! `{"data": [...]}`. Templates are Langfuse's `{{variable}}` substitution.
//!
//! Export writes the same shape: a list of version objects, one per release.

use std::path::Path;

use serde_json::{json, Map, Value};

use super::{refused, Body, ForeignMessage, ForeignPrompt, ForeignVersion, Syntax, VersionId};
use crate::Result;

/// Fields read and carried; anything else is reported as not carried.
const KNOWN: [&str; 10] = [
    "name",
    "version",
    "type",
    "prompt",
    "config",
    "labels",
    "tags",
    "commitMessage",
    "createdAt",
    "createdBy",
];

/// Langfuse's bookkeeping, which has no meaning in another registry.
const BOOKKEEPING: [&str; 5] = [
    "id",
    "projectId",
    "updatedAt",
    "isActive",
    "resolutionGraph",
];

/// The prompts (grouped by name, versions in order) of one export file.
pub fn parse(bytes: &[u8], file: &Path) -> Result<Vec<ForeignPrompt>> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        refused(
            file,
            format!("line {}, column {}", e.line(), e.column()),
            format!("not JSON: {e}"),
        )
    })?;
    let (items, prefix) = match value {
        Value::Array(items) => (items, String::new()),
        Value::Object(mut map) if map.get("data").is_some_and(Value::is_array) => {
            let Some(Value::Array(items)) = map.remove("data") else {
                unreachable!("checked above")
            };
            (items, "data".to_owned())
        }
        object @ Value::Object(_) => (vec![object], String::new()),
        _ => {
            return Err(refused(
                file,
                "(top level)",
                "expected a prompt object, a list of them, or {\"data\": [...]}",
            ))
        }
    };
    let mut versions = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field = format!("{prefix}[{i}]");
        let (name, version) = version(item, &field, file)?;
        versions.push((name, field, version));
    }
    super::grouped(file, versions)
}

fn string_list(value: Option<&Value>, field: &str, file: &Path) -> Result<Vec<String>> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| refused(file, format!("{field}[{i}]"), "expected a string"))
            })
            .collect(),
        Some(_) => Err(refused(file, field, "expected a list of strings")),
    }
}

fn version(item: &Value, field: &str, file: &Path) -> Result<(String, ForeignVersion)> {
    let Some(object) = item.as_object() else {
        return Err(refused(file, field, "expected a prompt object"));
    };
    let at = |key: &str| format!("{field}.{key}");
    let name = object
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| refused(file, at("name"), "missing or not a string"))?
        .to_owned();
    let number = object
        .get("version")
        .and_then(Value::as_u64)
        .filter(|n| *n >= 1)
        .ok_or_else(|| {
            refused(
                file,
                at("version"),
                "missing or not a whole number of at least 1",
            )
        })?;
    let prompt = object
        .get("prompt")
        .ok_or_else(|| refused(file, at("prompt"), "missing"))?;
    let kind = match object.get("type").and_then(Value::as_str) {
        Some(kind @ ("text" | "chat")) => kind,
        None if prompt.is_string() => "text",
        None => "chat",
        Some(other) => {
            return Err(refused(
                file,
                at("type"),
                format!("`{other}` is neither `text` nor `chat`"),
            ))
        }
    };
    let body = match (kind, prompt) {
        ("text", Value::String(text)) => Body::Text {
            content: text.clone(),
            field: at("prompt"),
        },
        ("chat", Value::Array(messages)) => Body::Chat(
            messages
                .iter()
                .enumerate()
                .map(|(i, m)| message(m, &format!("{}[{i}]", at("prompt")), file))
                .collect::<Result<_>>()?,
        ),
        ("text", _) => {
            return Err(refused(
                file,
                at("prompt"),
                "a text prompt's `prompt` must be a string",
            ))
        }
        _ => {
            return Err(refused(
                file,
                at("prompt"),
                "a chat prompt's `prompt` must be a list of messages",
            ))
        }
    };
    let mut version = ForeignVersion::new(
        VersionId::Number(number),
        field.to_owned(),
        Syntax::Mustache,
        body,
    );
    match object.get("config") {
        None | Some(Value::Null) => {}
        Some(Value::Object(config)) => {
            for (key, value) in config {
                match (key.as_str(), value) {
                    ("model", Value::String(m)) => version.model = Some(m.clone()),
                    ("temperature", Value::Number(t)) if t.as_f64().is_some() => {
                        version.temperature = t.as_f64()
                    }
                    _ => {
                        version.config.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        Some(_) => return Err(refused(file, at("config"), "expected an object")),
    }
    version.labels = string_list(object.get("labels"), &at("labels"), file)?;
    version.tags = string_list(object.get("tags"), &at("tags"), file)?;
    version.message = object
        .get("commitMessage")
        .and_then(Value::as_str)
        .map(str::to_owned);
    version.author = object
        .get("createdBy")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(date) = object.get("createdAt").filter(|v| !v.is_null()) {
        let parsed = date
            .as_str()
            .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
            .ok_or_else(|| refused(file, at("createdAt"), "not an RFC 3339 date"))?;
        version.created_at = Some(parsed);
    }
    let bookkeeping: Vec<&str> = object
        .keys()
        .map(String::as_str)
        .filter(|k| BOOKKEEPING.contains(k))
        .collect();
    if !bookkeeping.is_empty() {
        version.dropped.push(format!(
            "{field}: {}: Langfuse's own bookkeeping",
            bookkeeping.join(", ")
        ));
    }
    for key in object.keys() {
        if !KNOWN.contains(&key.as_str()) && !BOOKKEEPING.contains(&key.as_str()) {
            version
                .dropped
                .push(format!("{}: not a field promptreg knows", at(key)));
        }
    }
    Ok((name, version))
}

fn message(value: &Value, field: &str, file: &Path) -> Result<ForeignMessage> {
    let Some(object) = value.as_object() else {
        return Err(refused(file, field, "expected a message object"));
    };
    if object.get("type").and_then(Value::as_str) == Some("placeholder") {
        return Err(refused(
            file,
            field,
            "a message placeholder (a list of messages filled in at run time) has no promptreg equivalent",
        ));
    }
    let role_name = object
        .get("role")
        .and_then(Value::as_str)
        .ok_or_else(|| refused(file, format!("{field}.role"), "missing or not a string"))?;
    let role = super::role(role_name).ok_or_else(|| {
        refused(
            file,
            format!("{field}.role"),
            format!("`{role_name}` is not a role promptreg has (system, user, assistant)"),
        )
    })?;
    let content = object
        .get("content")
        .and_then(Value::as_str)
        .ok_or_else(|| refused(file, format!("{field}.content"), "missing or not a string"))?;
    Ok(ForeignMessage {
        role,
        syntax: None,
        content: content.to_owned(),
        field: format!("{field}.content"),
    })
}

/// One release in the API's shape. `prompt` is the text, or the chat messages as
/// `(role, content)`, already in `{{variable}}` syntax.
pub struct Release<'a> {
    pub name: &'a str,
    pub number: u64,
    pub text: Option<String>,
    pub chat: Vec<(&'static str, String)>,
    pub config: Map<String, Value>,
    pub labels: Vec<String>,
    pub tags: &'a [String],
    pub commit_message: &'a str,
    pub created_at: &'a str,
    pub created_by: &'a str,
}

/// The JSON of one version, as the API returns it.
pub fn to_json(release: &Release<'_>) -> Value {
    let (kind, prompt) = match &release.text {
        Some(text) if release.chat.is_empty() => ("text", Value::String(text.clone())),
        _ => {
            let mut messages: Vec<Value> = Vec::new();
            if let Some(system) = &release.text {
                messages.push(json!({"role": "system", "content": system}));
            }
            messages.extend(
                release
                    .chat
                    .iter()
                    .map(|(role, content)| json!({"role": role, "content": content})),
            );
            ("chat", Value::Array(messages))
        }
    };
    json!({
        "name": release.name,
        "version": release.number,
        "type": kind,
        "prompt": prompt,
        "config": release.config,
        "labels": release.labels,
        "tags": release.tags,
        "commitMessage": release.commit_message,
        "createdAt": release.created_at,
        "createdBy": release.created_by,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_text_and_chat_versions() {
        let json = br#"[
          {"name": "greet", "version": 2, "type": "text", "prompt": "Hi {{name}}", "labels": ["production"], "config": {"model": "gpt-4o", "temperature": 0.2, "max_tokens": 10}, "id": "x"},
          {"name": "greet", "version": 1, "type": "text", "prompt": "Hello {{name}}"},
          {"name": "chat", "version": 1, "type": "chat", "prompt": [{"role": "system", "content": "Be brief"}, {"role": "user", "content": "{{q}}"}]}
        ]"#;
        let prompts = parse(json, Path::new("x.json")).unwrap();
        assert_eq!(prompts.len(), 2);
        let greet = &prompts[1];
        assert_eq!(greet.versions.len(), 2);
        assert_eq!(greet.versions[0].id, VersionId::Number(1));
        assert_eq!(greet.versions[1].model.as_deref(), Some("gpt-4o"));
        assert!(greet.versions[1].config.contains_key("max_tokens"));
        assert_eq!(greet.versions[1].dropped.len(), 1);
    }

    #[test]
    fn refusals_name_the_field() {
        let cases: [(&[u8], &str); 5] = [
            (br#"{"name": "a", "version": 0, "prompt": "x"}"#, "[0].version"),
            (br#"{"name": "a", "version": 1, "type": "chat", "prompt": "x"}"#, "[0].prompt"),
            (br#"{"data": [{"name": "a", "version": 1, "prompt": [{"role": "tool", "content": "x"}]}]}"#, "data[0].prompt[0].role"),
            (br#"[{"name": "a", "version": 1, "prompt": [{"type": "placeholder", "name": "h"}]}]"#, "[0].prompt[0]"),
            (br#"{"name": "a", "version": 1, "prompt": "x", "createdAt": "yesterday"}"#, "[0].createdAt"),
        ];
        for (json, expected) in cases {
            match parse(json, Path::new("x.json")) {
                Err(crate::Error::Bridge { field, .. }) => assert_eq!(field, expected),
                other => panic!("{other:?}"),
            }
        }
    }
}
