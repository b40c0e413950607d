//! PromptLayer: prompt template versions as its REST API returns them (`GET
//! /prompt-templates/{name}`): `prompt_name`, `version`, `prompt_template` (`type: chat` with
//! `messages`, each `{role, content: [{type: text, text}], template_format}`; or `type:
//! completion` with `content` and `template_format`), `metadata.model` (`name`, `parameters`),
//! `commit_message`, `tags`, `release_labels`, `created_at`. A file holds one, a list, or
//! `{"items": [...]}` / `{"prompt_templates": [...]}`. Templates are f-strings or Jinja2.

use std::path::Path;

use serde_json::{Map, Value};

use super::{
    grouped, json_items, number_at, refused, string_at, Body, ForeignMessage, ForeignPrompt,
    ForeignVersion, Syntax, VersionId,
};
use crate::Result;

const KNOWN: [&str; 11] = [
    "prompt_name",
    "name",
    "version",
    "prompt_template",
    "metadata",
    "commit_message",
    "tags",
    "release_labels",
    "created_at",
    "id",
    "llm_kwargs",
];

pub fn parse(bytes: &[u8], file: &Path) -> Result<Vec<ForeignPrompt>> {
    let mut versions = Vec::new();
    for (field, item) in json_items(bytes, file, &["items", "prompt_templates"])? {
        let Some(object) = item.as_object() else {
            return Err(refused(file, &field, "expected a prompt template object"));
        };
        let at = |key: &str| format!("{field}.{key}");
        let name = match object.get("prompt_name") {
            Some(_) => string_at(object, "prompt_name", &field, file)?,
            None => string_at(object, "name", &field, file)?,
        }
        .to_owned();
        let number = number_at(object, "version", &field, file)?;
        let Some(Value::Object(template)) = object.get("prompt_template") else {
            return Err(refused(
                file,
                at("prompt_template"),
                "missing or not an object",
            ));
        };
        let here = at("prompt_template");
        let syntax_of = |t: &Map<String, Value>, where_: &str| -> Result<Syntax> {
            match t.get("template_format").and_then(Value::as_str) {
                None | Some("f-string") => Ok(Syntax::FString),
                Some("jinja2") => Ok(Syntax::Jinja2),
                Some(other) => Err(refused(
                    file,
                    format!("{where_}.template_format"),
                    format!("`{other}` is neither f-string nor jinja2"),
                )),
            }
        };
        let (body, syntax) = match template.get("type").and_then(Value::as_str) {
            Some("completion") => {
                let syntax = syntax_of(template, &here)?;
                let text = content_text(template.get("content"), &format!("{here}.content"), file)?;
                (
                    Body::Text {
                        content: text,
                        field: format!("{here}.content"),
                    },
                    syntax,
                )
            }
            Some("chat") => {
                let Some(Value::Array(messages)) = template.get("messages") else {
                    return Err(refused(
                        file,
                        format!("{here}.messages"),
                        "missing or not a list",
                    ));
                };
                let mut out = Vec::new();
                for (i, m) in messages.iter().enumerate() {
                    let mfield = format!("{here}.messages[{i}]");
                    let Some(m) = m.as_object() else {
                        return Err(refused(file, mfield, "expected a message object"));
                    };
                    let role_name = string_at(m, "role", &mfield, file)?;
                    let role = super::role(role_name).ok_or_else(|| {
                        refused(file, format!("{mfield}.role"), format!("`{role_name}` has no promptreg equivalent (system, user, assistant)"))
                    })?;
                    let content =
                        content_text(m.get("content"), &format!("{mfield}.content"), file)?;
                    out.push(ForeignMessage {
                        role,
                        syntax: Some(syntax_of(m, &mfield)?),
                        content,
                        field: format!("{mfield}.content"),
                    });
                }
                (Body::Chat(out), Syntax::FString)
            }
            _ => {
                return Err(refused(
                    file,
                    format!("{here}.type"),
                    "expected `chat` or `completion`",
                ))
            }
        };
        let mut version =
            ForeignVersion::new(VersionId::Number(number), field.clone(), syntax, body);
        version.message = object
            .get("commit_message")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let Some(Value::Array(tags)) = object.get("tags") {
            version.tags = tags
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
        }
        if let Some(Value::Array(labels)) = object.get("release_labels") {
            version.labels = labels
                .iter()
                .filter_map(|l| {
                    l.as_str()
                        .or_else(|| l.get("label").and_then(Value::as_str))
                })
                .map(str::to_owned)
                .collect();
        }
        if let Some(date) = object.get("created_at").filter(|v| !v.is_null()) {
            let parsed = date
                .as_str()
                .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
                .ok_or_else(|| refused(file, at("created_at"), "not an RFC 3339 date"))?;
            version.created_at = Some(parsed);
        }
        if let Some(Value::Object(model)) = object.get("metadata").and_then(|m| m.get("model")) {
            version.model = model.get("name").and_then(Value::as_str).map(str::to_owned);
            if let Some(provider) = model.get("provider") {
                version.config.insert("provider".into(), provider.clone());
            }
            if let Some(Value::Object(params)) = model.get("parameters") {
                for (k, v) in params {
                    match (k.as_str(), v.as_f64()) {
                        ("temperature", Some(t)) => version.temperature = Some(t),
                        _ => {
                            version.config.insert(k.clone(), v.clone());
                        }
                    }
                }
            }
        }
        for key in ["functions", "tools"] {
            if template
                .get(key)
                .is_some_and(|v| v.as_array().is_some_and(|a| !a.is_empty()))
            {
                version.dropped.push(format!(
                    "{here}.{key}: tool definitions have no promptreg field"
                ));
            }
        }
        for key in object.keys().filter(|k| !KNOWN.contains(&k.as_str())) {
            version
                .dropped
                .push(format!("{}: not a field promptreg knows", at(key)));
        }
        versions.push((name, field, version));
    }
    grouped(file, versions)
}

/// A message's text: a string, or content parts of which only `text` ones exist.
fn content_text(content: Option<&Value>, field: &str, file: &Path) -> Result<String> {
    match content {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(parts)) => {
            let mut text = String::new();
            for (i, part) in parts.iter().enumerate() {
                match (
                    part.get("type").and_then(Value::as_str),
                    part.get("text").and_then(Value::as_str),
                ) {
                    (Some("text"), Some(t)) => text.push_str(t),
                    (kind, _) => {
                        return Err(refused(
                            file,
                            format!("{field}[{i}]"),
                            format!(
                                "a `{}` part has no promptreg equivalent (text only)",
                                kind.unwrap_or("?")
                            ),
                        ))
                    }
                }
            }
            Ok(text)
        }
        _ => Err(refused(
            file,
            field,
            "missing, or neither text nor a list of parts",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_chat_and_completion_templates() {
        let json = br#"[
          {"prompt_name": "triage", "version": 1, "prompt_template": {"type": "completion", "content": [{"type": "text", "text": "Triage {ticket}"}], "template_format": "f-string"}},
          {"prompt_name": "triage", "version": 2, "release_labels": ["production"], "metadata": {"model": {"provider": "openai", "name": "gpt-4o", "parameters": {"temperature": 0.3, "max_tokens": 50}}},
           "prompt_template": {"type": "chat", "messages": [{"role": "system", "content": [{"type": "text", "text": "You triage {{product}} tickets."}], "template_format": "f-string"}, {"role": "user", "content": [{"type": "text", "text": "{{ ticket }}"}], "template_format": "jinja2"}]}}
        ]"#;
        let p = parse(json, Path::new("pl.json")).unwrap();
        let v2 = &p[0].versions[1];
        assert_eq!(
            (v2.model.as_deref(), v2.temperature),
            (Some("gpt-4o"), Some(0.3))
        );
        let Body::Chat(m) = &v2.body else { panic!() };
        assert_eq!(
            (m[0].syntax, m[1].syntax),
            (Some(Syntax::FString), Some(Syntax::Jinja2))
        );
    }

    #[test]
    fn images_and_unknown_roles_are_refused() {
        let json = br#"{"prompt_name": "x", "version": 1, "prompt_template": {"type": "chat", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "u"}}]}]}}"#;
        match parse(json, Path::new("pl.json")) {
            Err(crate::Error::Bridge { field, .. }) => {
                assert_eq!(field, "[0].prompt_template.messages[0].content[0]")
            }
            other => panic!("{other:?}"),
        }
    }
}
