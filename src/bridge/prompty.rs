//! Microsoft `.prompty`: YAML front matter (`name`, `description`, `authors`, `version`, `tags`,
//! `model.api/configuration/parameters`, `inputs`, `sample`, `template`) and a Jinja2 body whose
//! lines `system:`, `user:` and `assistant:` start the messages.
//!
//! Export writes the same shape from a release.

use std::path::Path;

use serde_json::{Map, Value};

use super::{
    refused, Body, Declared, ForeignMessage, ForeignPrompt, ForeignVersion, Syntax, VersionId,
};
use crate::model::prompt::{Prompt, Role};
use crate::{Result, Version};

/// Front-matter keys read; anything else is reported as not carried.
const KNOWN: [&str; 10] = [
    "name",
    "description",
    "authors",
    "version",
    "tags",
    "model",
    "inputs",
    "sample",
    "template",
    "metadata",
];

/// Reads one `.prompty` file: one prompt, one version.
pub fn parse(bytes: &[u8], file: &Path) -> Result<ForeignPrompt> {
    let (meta, body, body_line) = super::front_matter_map(bytes, file)?;
    let syntax = match meta.get("template") {
        None | Some(Value::Null) => Syntax::Jinja2,
        Some(Value::String(s)) if s == "jinja2" => Syntax::Jinja2,
        Some(Value::Object(t)) if t.get("format").and_then(Value::as_str).unwrap_or("jinja2") == "jinja2" => Syntax::Jinja2,
        Some(other) => {
            return Err(refused(
                file,
                "template",
                format!("only jinja2 templates are imported (found {other}); Mustache HTML-escapes values, which MiniJinja does not"),
            ))
        }
    };
    let messages = messages(body, body_line, file)?;
    let id = match meta.get("version") {
        None | Some(Value::Null) => VersionId::Semver(Version::parse("1.0.0").expect("a version")),
        Some(v) => VersionId::Semver(loose_version(v).ok_or_else(|| {
            refused(
                file,
                "version",
                format!("{v} is not a version (1, 1.2 or 1.2.3)"),
            )
        })?),
    };
    let body = if messages.len() == 1 && messages[0].role == Role::System {
        let only = messages.into_iter().next().expect("one message");
        Body::Text {
            content: only.content,
            field: only.field,
        }
    } else {
        Body::Chat(messages)
    };
    let mut version = ForeignVersion::new(id, "front matter".into(), syntax, body);
    version.summary = meta
        .get("description")
        .and_then(Value::as_str)
        .map(str::to_owned);
    version.message = version.summary.clone();
    if let Some(authors) = meta.get("authors") {
        let list: Vec<String> = match authors {
            Value::Array(items) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            Value::String(s) => vec![s.clone()],
            _ => return Err(refused(file, "authors", "expected a list of names")),
        };
        version.author = list.first().cloned();
        version.metadata.insert("authors".into(), list.into());
    }
    match meta.get("tags") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            version.tags = items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        }
        Some(_) => return Err(refused(file, "tags", "expected a list of strings")),
    }
    if let Some(model) = meta.get("model") {
        read_model(model, &mut version, file)?;
    }
    if let Some(inputs) = meta.get("inputs") {
        let Value::Object(inputs) = inputs else {
            return Err(refused(
                file,
                "inputs",
                "expected a map: name → {type, description, default}",
            ));
        };
        for (name, spec) in inputs {
            let declared = match spec {
                Value::Object(spec) => Declared {
                    description: spec
                        .get("description")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    default: spec.get("default").cloned().filter(|v| !v.is_null()),
                },
                _ => {
                    version.dropped.push(format!(
                        "inputs.{name}: not a map; only the name is carried"
                    ));
                    Declared::default()
                }
            };
            version.declared.insert(name.clone(), declared);
        }
    }
    match meta.get("sample") {
        None | Some(Value::Null) => {}
        Some(sample @ Value::Object(_)) => version.examples.push(sample.clone()),
        Some(_) => version
            .dropped
            .push("sample: a file reference; the file is not read".into()),
    }
    if let Some(Value::Object(extra)) = meta.get("metadata") {
        version.metadata.extend(extra.clone());
    }
    for key in meta.keys().filter(|k| !KNOWN.contains(&k.as_str())) {
        version
            .dropped
            .push(format!("{key}: not a .prompty field promptreg knows"));
    }
    let name = meta
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| file.file_stem().and_then(|s| s.to_str()).map(str::to_owned))
        .unwrap_or_default();
    Ok(ForeignPrompt {
        name,
        file: file.to_path_buf(),
        versions: vec![version],
    })
}

fn read_model(model: &Value, version: &mut ForeignVersion, file: &Path) -> Result<()> {
    let Value::Object(model) = model else {
        return Err(refused(
            file,
            "model",
            "expected a map (api, configuration, parameters)",
        ));
    };
    for (key, value) in model {
        match (key.as_str(), value) {
            ("configuration", Value::Object(conf)) => {
                let mut kept = Map::new();
                for (k, v) in conf {
                    let secret = v.as_str().is_some_and(|s| s.contains("${")) || k.contains("key");
                    match k.as_str() {
                        "name" | "model" | "azure_deployment"
                            if version.model.is_none() && v.is_string() =>
                        {
                            version.model = v.as_str().map(str::to_owned)
                        }
                        _ if secret => version.dropped.push(format!(
                            "model.configuration.{k}: a credential or environment reference"
                        )),
                        _ => {
                            kept.insert(k.clone(), v.clone());
                        }
                    }
                }
                if !kept.is_empty() {
                    version.config.insert("configuration".into(), kept.into());
                }
            }
            ("parameters", Value::Object(params)) => {
                for (k, v) in params {
                    match (k.as_str(), v.as_f64()) {
                        ("temperature", Some(t)) => version.temperature = Some(t),
                        _ => {
                            version.config.insert(k.clone(), v.clone());
                        }
                    }
                }
            }
            ("api", Value::String(api)) => {
                version.config.insert("api".into(), api.clone().into());
            }
            (other, _) => version
                .dropped
                .push(format!("model.{other}: not a model field promptreg knows")),
        }
    }
    Ok(())
}

/// `1`, `1.2`, `1.2.3` (YAML may read the first two as numbers) as a version.
fn loose_version(value: &Value) -> Option<Version> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let parts = text.trim().trim_start_matches('v').split('.').count();
    let padded = match parts {
        1 => format!("{text}.0.0"),
        2 => format!("{text}.0"),
        _ => text.clone(),
    };
    Version::parse(&padded).ok()
}

/// A role marker line (`system:`, `# user:`), as `.prompty` writes them.
fn marker(line: &str) -> Option<Role> {
    let t = line.trim();
    let t = t.strip_prefix('#').map_or(t, str::trim_start);
    let name = t.strip_suffix(':')?.trim();
    match name.to_ascii_lowercase().as_str() {
        "system" => Some(Role::System),
        "user" => Some(Role::User),
        "assistant" => Some(Role::Assistant),
        _ => None,
    }
}

fn messages(body: &str, first_line: usize, file: &Path) -> Result<Vec<ForeignMessage>> {
    let mut out = Vec::new();
    let mut current: Option<(Role, usize, String)> = None;
    let mut before = String::new();
    for (i, line) in body.split_inclusive('\n').enumerate() {
        let number = first_line + 1 + i;
        if let Some(role) = marker(line) {
            if let Some((role, at, text)) = current.take() {
                out.push(finish(role, at, &text));
            }
            current = Some((role, number, String::new()));
            continue;
        }
        match &mut current {
            Some((_, _, text)) => text.push_str(line),
            None => before.push_str(line),
        }
    }
    if let Some((role, at, text)) = current.take() {
        out.push(finish(role, at, &text));
    }
    if !before.trim().is_empty() {
        // Text before any marker is the system prompt.
        out.insert(0, finish(Role::System, first_line + 1, &before));
    }
    if out.is_empty() {
        return Err(refused(file, "body", "the prompt has no text"));
    }
    Ok(out)
}

fn finish(role: Role, line: usize, text: &str) -> ForeignMessage {
    ForeignMessage {
        role,
        syntax: None,
        content: text.trim().to_owned(),
        field: format!(
            "body, the {} message at line {line}",
            crate::model::render::role_name(role)
        ),
    }
}

/// Why a release cannot be written as `.prompty` exactly, if it cannot: a line of a template
/// that reads as a role marker would split the message there.
pub fn unsayable(prompt: &Prompt) -> Option<String> {
    let texts = std::iter::once(("system_prompt".to_owned(), prompt.system_prompt.as_str())).chain(
        prompt
            .messages
            .iter()
            .enumerate()
            .map(|(i, m)| (format!("messages[{i}]"), m.content.as_str())),
    );
    for (field, text) in texts {
        if let Some(line) = text.lines().find(|l| marker(l).is_some()) {
            return Some(format!(
                "{field} has the line `{}`, which .prompty reads as a role marker",
                line.trim()
            ));
        }
    }
    None
}

/// A release as a `.prompty` file (Jinja2 body; promptreg's templates are MiniJinja, the same
/// syntax).
pub fn render(name: &str, version: &str, prompt: &Prompt, author: &str) -> Result<String> {
    let mut meta = Map::new();
    meta.insert("name".into(), name.into());
    if let Some(summary) = &prompt.summary {
        meta.insert("description".into(), summary.clone().into());
    }
    meta.insert("version".into(), version.into());
    meta.insert("authors".into(), vec![Value::from(author)].into());
    if !prompt.tags.is_empty() {
        meta.insert("tags".into(), prompt.tags.clone().into());
    }
    // What an import kept under `metadata.config` goes back where it came from.
    let config = match prompt.metadata.get("config") {
        Some(Value::Object(c)) => c.clone(),
        _ => Map::new(),
    };
    let mut model = Map::new();
    let api = config.get("api").cloned().unwrap_or_else(|| "chat".into());
    model.insert("api".into(), api);
    let mut configuration = match config.get("configuration") {
        Some(Value::Object(c)) => c.clone(),
        _ => Map::new(),
    };
    if let Some(m) = &prompt.model {
        configuration.insert("name".into(), m.clone().into());
    }
    if !configuration.is_empty() {
        model.insert("configuration".into(), configuration.into());
    }
    let mut parameters = Map::new();
    parameters.insert("temperature".into(), prompt.temperature.into());
    for (k, v) in &config {
        if k != "api" && k != "configuration" {
            parameters.insert(k.clone(), v.clone());
        }
    }
    model.insert("parameters".into(), parameters.into());
    meta.insert("model".into(), model.into());
    if !prompt.variables.is_empty() {
        let mut inputs = Map::new();
        for (var, spec) in &prompt.variables {
            let mut input = Map::new();
            input.insert("type".into(), "string".into());
            if let Some(d) = &spec.description {
                input.insert("description".into(), d.clone().into());
            }
            if let Some(d) = &spec.default {
                input.insert("default".into(), d.clone());
            }
            inputs.insert(var.clone(), input.into());
        }
        meta.insert("inputs".into(), inputs.into());
    }
    if let Some(sample @ Value::Object(_)) = prompt.examples.first() {
        meta.insert("sample".into(), sample.clone());
    }
    let front = crate::model::yaml::to_string(&Value::Object(meta))?;
    let mut body = String::new();
    let mut block = |role: &str, text: &str| {
        if !body.is_empty() {
            body.push('\n');
        }
        body.push_str(role);
        body.push_str(":\n");
        body.push_str(text.trim_end_matches('\n'));
        body.push('\n');
    };
    if !prompt.system_prompt.is_empty() {
        block("system", &prompt.system_prompt);
    }
    for m in &prompt.messages {
        block(crate::model::render::role_name(m.role), &m.content);
    }
    Ok(format!("---\n{front}---\n{body}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_front_matter_and_roles() {
        let text = "---\nname: Basic Prompt\ndescription: Answers questions\nauthors: [sethjuarez]\nmodel:\n  api: chat\n  configuration:\n    type: azure_openai\n    azure_deployment: gpt-4o\n    api_key: ${env:KEY}\n  parameters:\n    temperature: 0.2\n    max_tokens: 128\ninputs:\n  question: {type: string, description: The question}\nsample:\n  question: Why?\n---\nsystem:\nYou answer {{ question }} briefly.\n\nuser:\n{{ question }}\n";
        let p = parse(text.as_bytes(), Path::new("basic.prompty")).unwrap();
        assert_eq!(p.name, "Basic Prompt");
        let v = &p.versions[0];
        assert_eq!(v.model.as_deref(), Some("gpt-4o"));
        assert_eq!(v.temperature, Some(0.2));
        assert!(v.config.contains_key("max_tokens"));
        assert!(v.dropped.iter().any(|d| d.contains("api_key")));
        let Body::Chat(messages) = &v.body else {
            panic!("chat")
        };
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].content, "You answer {{ question }} briefly.");
        assert!(
            messages[1].field.contains("line 22"),
            "{}",
            messages[1].field
        );
    }

    #[test]
    fn mustache_and_bad_versions_are_refused() {
        let e = parse(
            b"---\ntemplate: mustache\n---\nhi\n",
            Path::new("m.prompty"),
        )
        .unwrap_err();
        assert!(matches!(e, crate::Error::Bridge { ref field, .. } if field == "template"));
        let e = parse(b"---\nversion: soon\n---\nhi\n", Path::new("m.prompty")).unwrap_err();
        assert!(matches!(e, crate::Error::Bridge { ref field, .. } if field == "version"));
    }
}
