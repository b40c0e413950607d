//! LangSmith: a prompt's manifest, LangChain's serialisation of the prompt (`{"lc": 1, "type":
//! "constructor", "id": [..., "ChatPromptTemplate"], "kwargs": {"messages": [...]}}`), as
//! `pull_prompt` / the hub's commits give it; with the model (`include_model`) it is a
//! `RunnableSequence` whose `first` is the prompt and `last` the model. A file holds one manifest
//! (one version), or its commits: `{"commits": [{"commit_hash", "created_at", "tags",
//! "manifest"}]}` or a list of those, which become versions 1.0.0, 2.0.0 … oldest first (by
//! `created_at` when every commit has one, else in file order).
//!
//! Messages: `SystemMessagePromptTemplate` / `HumanMessagePromptTemplate` /
//! `AIMessagePromptTemplate` / `ChatMessagePromptTemplate` (a `PromptTemplate` inside, with its
//! `template_format`: `f-string` or `jinja2`), and plain `SystemMessage` / `HumanMessage` /
//! `AIMessage` (text, no template). `MessagesPlaceholder` and `mustache` are refused.

use std::path::Path;

use serde_json::{Map, Value};

use super::{
    grouped, refused, Body, ForeignMessage, ForeignPrompt, ForeignVersion, Syntax, VersionId,
};
use crate::model::prompt::Role;
use crate::Result;

pub fn parse(bytes: &[u8], file: &Path) -> Result<Vec<ForeignPrompt>> {
    let items = super::json_items(bytes, file, &["commits"])?;
    let single = items.len() == 1 && items[0].1.get("lc").is_some();
    let mut commits: Vec<(String, Value)> = items;
    if !single
        && commits
            .iter()
            .all(|(_, c)| c.get("created_at").and_then(Value::as_str).is_some())
    {
        commits.sort_by(|a, b| {
            let date = |c: &Value| c["created_at"].as_str().unwrap_or_default().to_owned();
            date(&a.1).cmp(&date(&b.1))
        });
    }
    let stem = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("prompt")
        .to_owned();
    let mut versions = Vec::new();
    for (i, (field, commit)) in commits.iter().enumerate() {
        let (manifest, mfield) = if single {
            (commit, field.clone())
        } else {
            let m = commit
                .get("manifest")
                .ok_or_else(|| refused(file, format!("{field}.manifest"), "missing"))?;
            (m, format!("{field}.manifest"))
        };
        let mut version = read_manifest(manifest, &mfield, file, i as u64 + 1)?;
        if !single {
            if let Some(hash) = commit.get("commit_hash").and_then(Value::as_str) {
                version
                    .metadata
                    .insert("langsmith_commit".into(), hash.into());
            }
            if let Some(date) = commit.get("created_at").and_then(Value::as_str) {
                // LangSmith writes times without an offset: they are UTC.
                let parsed = chrono::DateTime::parse_from_rfc3339(date).ok().or_else(|| {
                    chrono::NaiveDateTime::parse_from_str(date, "%Y-%m-%dT%H:%M:%S%.f")
                        .ok()
                        .map(|d| d.and_utc().fixed_offset())
                });
                version.created_at =
                    Some(parsed.ok_or_else(|| {
                        refused(file, format!("{field}.created_at"), "not a date")
                    })?);
            }
            if let Some(Value::Array(tags)) = commit.get("tags") {
                version.labels = tags
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect();
            }
        }
        let name = manifest
            .pointer("/kwargs/metadata/lc_hub_repo")
            .or_else(|| manifest.pointer("/kwargs/first/kwargs/metadata/lc_hub_repo"))
            .and_then(Value::as_str)
            .map_or_else(|| stem.clone(), str::to_owned);
        versions.push((name, field.clone(), version));
    }
    grouped(file, versions)
}

fn class(value: &Value) -> Option<&str> {
    value.get("id")?.as_array()?.last()?.as_str()
}

fn kwargs<'v>(value: &'v Value, field: &str, file: &Path) -> Result<&'v Map<String, Value>> {
    value
        .get("kwargs")
        .and_then(Value::as_object)
        .ok_or_else(|| refused(file, format!("{field}.kwargs"), "missing or not an object"))
}

fn read_manifest(
    manifest: &Value,
    field: &str,
    file: &Path,
    number: u64,
) -> Result<ForeignVersion> {
    let (prompt, pfield, model) = match class(manifest) {
        Some("RunnableSequence") => {
            let k = kwargs(manifest, field, file)?;
            let first = k
                .get("first")
                .ok_or_else(|| refused(file, format!("{field}.kwargs.first"), "missing"))?;
            (first, format!("{field}.kwargs.first"), k.get("last"))
        }
        _ => (manifest, field.to_owned(), None),
    };
    let (body, syntax) = match class(prompt) {
        Some("ChatPromptTemplate") => {
            let k = kwargs(prompt, &pfield, file)?;
            let Some(Value::Array(messages)) = k.get("messages") else {
                return Err(refused(
                    file,
                    format!("{pfield}.kwargs.messages"),
                    "missing or not a list",
                ));
            };
            let list = messages
                .iter()
                .enumerate()
                .map(|(i, m)| message(m, &format!("{pfield}.kwargs.messages[{i}]"), file))
                .collect::<Result<Vec<_>>>()?;
            (Body::Chat(list), Syntax::FString)
        }
        Some("PromptTemplate") => {
            let (text, syntax) = template(prompt, &pfield, file)?;
            (
                Body::Text {
                    content: text,
                    field: format!("{pfield}.kwargs.template"),
                },
                syntax,
            )
        }
        other => {
            return Err(refused(
                file,
                format!("{pfield}.id"),
                format!(
                    "`{}` is not a prompt promptreg reads (ChatPromptTemplate, PromptTemplate)",
                    other.unwrap_or("?")
                ),
            ))
        }
    };
    let mut version =
        ForeignVersion::new(VersionId::Number(number), field.to_owned(), syntax, body);
    if let Some(model) = model {
        let k = kwargs(model, &format!("{field}.kwargs.last"), file)?;
        if let Some(c) = class(model) {
            version.config.insert("class".into(), c.into());
        }
        for (key, value) in k {
            match (key.as_str(), value) {
                ("model" | "model_name", Value::String(m)) => version.model = Some(m.clone()),
                ("temperature", Value::Number(t)) if t.as_f64().is_some() => {
                    version.temperature = t.as_f64()
                }
                // Credentials are serialised as secrets: never carried.
                (_, Value::Object(o))
                    if o.get("type").and_then(Value::as_str) == Some("secret") =>
                {
                    version
                        .dropped
                        .push(format!("{field}.kwargs.last.kwargs.{key}: a secret"));
                }
                _ => {
                    version.config.insert(key.clone(), value.clone());
                }
            }
        }
    }
    if let Some(Value::Object(meta)) = prompt.pointer("/kwargs/metadata") {
        for (k, v) in meta {
            if k == "lc_hub_commit_hash" {
                version
                    .metadata
                    .insert("langsmith_commit".into(), v.clone());
            }
        }
    }
    if let Some(Value::Array(tags)) = prompt.pointer("/kwargs/tags") {
        version.tags = tags
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
    }
    Ok(version)
}

/// A `PromptTemplate`'s text and syntax.
fn template(value: &Value, field: &str, file: &Path) -> Result<(String, Syntax)> {
    let k = kwargs(value, field, file)?;
    let text = k.get("template").and_then(Value::as_str).ok_or_else(|| {
        refused(
            file,
            format!("{field}.kwargs.template"),
            "missing or not a string",
        )
    })?;
    let syntax = match k.get("template_format").and_then(Value::as_str) {
        None | Some("f-string") => Syntax::FString,
        Some("jinja2") => Syntax::Jinja2,
        Some(other) => {
            return Err(refused(
                file,
                format!("{field}.kwargs.template_format"),
                format!("`{other}` templates are not imported (f-string and jinja2 are)"),
            ))
        }
    };
    Ok((text.to_owned(), syntax))
}

fn message(value: &Value, field: &str, file: &Path) -> Result<ForeignMessage> {
    let role_of = |name: &str| match name {
        "SystemMessagePromptTemplate" | "SystemMessage" => Some(Role::System),
        "HumanMessagePromptTemplate" | "HumanMessage" => Some(Role::User),
        "AIMessagePromptTemplate" | "AIMessage" => Some(Role::Assistant),
        _ => None,
    };
    let kind = class(value).unwrap_or("?");
    if kind == "MessagesPlaceholder" {
        return Err(refused(
            file,
            field,
            "a MessagesPlaceholder (messages filled in at run time) has no promptreg equivalent",
        ));
    }
    let k = kwargs(value, field, file)?;
    let role = match kind {
        "ChatMessagePromptTemplate" => {
            let name = k.get("role").and_then(Value::as_str).unwrap_or("?");
            super::role(name).ok_or_else(|| {
                refused(
                    file,
                    format!("{field}.kwargs.role"),
                    format!("`{name}` is not a role promptreg has"),
                )
            })?
        }
        other => role_of(other).ok_or_else(|| {
            refused(
                file,
                format!("{field}.id"),
                format!("`{other}` is not a message promptreg reads"),
            )
        })?,
    };
    if kind.ends_with("Message") {
        let content = k.get("content").and_then(Value::as_str).ok_or_else(|| {
            refused(
                file,
                format!("{field}.kwargs.content"),
                "missing or not text",
            )
        })?;
        return Ok(ForeignMessage {
            role,
            syntax: Some(Syntax::Literal),
            content: content.to_owned(),
            field: format!("{field}.kwargs.content"),
        });
    }
    let prompt = k
        .get("prompt")
        .ok_or_else(|| refused(file, format!("{field}.kwargs.prompt"), "missing"))?;
    if prompt.is_array() {
        return Err(refused(
            file,
            format!("{field}.kwargs.prompt"),
            "a message of several parts (images) has no promptreg equivalent",
        ));
    }
    let pfield = format!("{field}.kwargs.prompt");
    let (text, syntax) = template(prompt, &pfield, file)?;
    Ok(ForeignMessage {
        role,
        syntax: Some(syntax),
        content: text,
        field: format!("{pfield}.kwargs.template"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt_template(text: &str, format: &str) -> Value {
        serde_json::json!({"lc": 1, "type": "constructor", "id": ["langchain", "prompts", "prompt", "PromptTemplate"],
            "kwargs": {"input_variables": [], "template": text, "template_format": format}})
    }

    #[test]
    fn reads_a_chat_manifest_with_its_model() {
        let system = serde_json::json!({"lc": 1, "type": "constructor", "id": ["langchain", "prompts", "chat", "SystemMessagePromptTemplate"], "kwargs": {"prompt": prompt_template("You answer about {topic}.", "f-string")}});
        let human = serde_json::json!({"lc": 1, "type": "constructor", "id": ["langchain", "prompts", "chat", "HumanMessagePromptTemplate"], "kwargs": {"prompt": prompt_template("{question}", "f-string")}});
        let ai = serde_json::json!({"lc": 1, "type": "constructor", "id": ["langchain_core", "messages", "AIMessage"], "kwargs": {"content": "Literal {braces}"}});
        let chat = serde_json::json!({"lc": 1, "type": "constructor", "id": ["langchain", "prompts", "chat", "ChatPromptTemplate"],
            "kwargs": {"input_variables": ["question", "topic"], "messages": [system, human, ai], "metadata": {"lc_hub_repo": "qa-bot"}}});
        let model = serde_json::json!({"lc": 1, "type": "constructor", "id": ["langchain", "chat_models", "openai", "ChatOpenAI"],
            "kwargs": {"model_name": "gpt-4o", "temperature": 0.0, "openai_api_key": {"lc": 1, "type": "secret", "id": ["OPENAI_API_KEY"]}}});
        let seq = serde_json::json!({"lc": 1, "type": "constructor", "id": ["langchain", "schema", "runnable", "RunnableSequence"], "kwargs": {"first": chat, "last": model}});
        let p = parse(seq.to_string().as_bytes(), Path::new("qa.json")).unwrap();
        assert_eq!(p[0].name, "qa-bot");
        let v = &p[0].versions[0];
        assert_eq!(
            (v.model.as_deref(), v.temperature),
            (Some("gpt-4o"), Some(0.0))
        );
        assert!(v.dropped.iter().any(|d| d.contains("openai_api_key")));
        let Body::Chat(m) = &v.body else { panic!() };
        assert_eq!((m.len(), m[2].syntax), (3, Some(Syntax::Literal)));
    }

    #[test]
    fn placeholders_and_mustache_are_refused() {
        let placeholder = serde_json::json!({"lc": 1, "id": ["x", "ChatPromptTemplate"], "kwargs": {"messages": [{"lc": 1, "id": ["x", "MessagesPlaceholder"], "kwargs": {"variable_name": "history"}}]}});
        match parse(placeholder.to_string().as_bytes(), Path::new("p.json")) {
            Err(crate::Error::Bridge { field, .. }) => assert_eq!(field, "[0].kwargs.messages[0]"),
            other => panic!("{other:?}"),
        }
        let mustache = prompt_template("{{x}}", "mustache");
        assert!(parse(mustache.to_string().as_bytes(), Path::new("p.json")).is_err());
    }
}
