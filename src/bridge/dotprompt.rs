//! Google dotprompt `.prompt`: YAML front matter (`model`, `config`, `input.schema` in
//! Picoschema or JSON Schema, `input.default`, `output`, `tools`) and a Handlebars body whose
//! `{{role "system"}}` markers start the messages (text before any marker is the user's).
//!
//! Export writes the same shape from a release whose templates only read variables.

use std::path::Path;

use serde_json::{Map, Value};

use super::{
    refused, Body, Declared, ForeignMessage, ForeignPrompt, ForeignVersion, Syntax, VersionId,
};
use crate::model::prompt::{Prompt, Role};
use crate::{Result, Version};

const KNOWN: [&str; 8] = [
    "name",
    "model",
    "config",
    "input",
    "output",
    "tools",
    "description",
    "version",
];

/// dotprompt's own helpers: none has a MiniJinja equivalent.
const HELPERS: [&str; 6] = [
    "history",
    "section",
    "media",
    "json",
    "ifEquals",
    "unlessEquals",
];

/// Reads one `.prompt` file: one prompt, one version.
pub fn parse(bytes: &[u8], file: &Path) -> Result<ForeignPrompt> {
    let (meta, body, body_line) = super::front_matter_map(bytes, file)?;
    let messages = messages(body, body_line, file)?;
    let id =
        match meta.get("version").and_then(Value::as_str) {
            None => VersionId::Semver(Version::parse("1.0.0").expect("a version")),
            Some(v) => VersionId::Semver(Version::parse(v).map_err(|_| {
                refused(file, "version", format!("`{v}` is not a semantic version"))
            })?),
        };
    let mut version = ForeignVersion::new(
        id,
        "front matter".into(),
        Syntax::Handlebars,
        Body::Chat(messages),
    );
    version.model = meta.get("model").and_then(Value::as_str).map(str::to_owned);
    version.summary = meta
        .get("description")
        .and_then(Value::as_str)
        .map(str::to_owned);
    match meta.get("config") {
        None | Some(Value::Null) => {}
        Some(Value::Object(config)) => {
            for (k, v) in config {
                match (k.as_str(), v.as_f64()) {
                    ("temperature", Some(t)) => version.temperature = Some(t),
                    _ => {
                        version.config.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        Some(_) => return Err(refused(file, "config", "expected a map")),
    }
    for key in ["output", "tools"] {
        if let Some(v) = meta.get(key) {
            version.config.insert(key.into(), v.clone());
        }
    }
    if let Some(input) = meta.get("input") {
        let Value::Object(input) = input else {
            return Err(refused(file, "input", "expected a map (schema, default)"));
        };
        let defaults = input
            .get("default")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        match input.get("schema") {
            None | Some(Value::Null) => {}
            Some(Value::Object(schema)) => {
                for (name, description) in schema_fields(schema) {
                    let default = defaults.get(&name).cloned();
                    version.declared.insert(
                        name,
                        Declared {
                            description,
                            default,
                        },
                    );
                }
            }
            Some(_) => return Err(refused(file, "input.schema", "expected a map")),
        }
        for (name, default) in defaults {
            version.declared.entry(name).or_insert(Declared {
                description: None,
                default: Some(default),
            });
        }
    }
    for key in meta.keys().filter(|k| !KNOWN.contains(&k.as_str())) {
        version
            .dropped
            .push(format!("{key}: not a dotprompt field promptreg knows"));
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

/// The fields of an input schema, Picoschema (`name?: string, a description`) or JSON Schema
/// (`{type: object, properties}`), with their descriptions.
fn schema_fields(schema: &Map<String, Value>) -> Vec<(String, Option<String>)> {
    if let Some(Value::Object(props)) = schema.get("properties") {
        return props
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.get("description")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                )
            })
            .collect();
    }
    schema
        .iter()
        .map(|(key, value)| {
            // `name?`, `name(type, description)`.
            let (bare, in_key) = match key.split_once('(') {
                Some((bare, rest)) => (
                    bare,
                    rest.trim_end_matches(')')
                        .split_once(',')
                        .map(|(_, d)| d.trim().to_owned()),
                ),
                None => (key.as_str(), None),
            };
            let bare = bare.trim().trim_end_matches('?').to_owned();
            let in_value = value
                .as_str()
                .and_then(|s| s.split_once(','))
                .map(|(_, d)| d.trim().to_owned());
            (bare, in_key.or(in_value))
        })
        .collect()
}

/// The `{{role "…"}}` marker at the start of `text`: its role and length.
fn marker(text: &str) -> Option<(Option<Role>, &str, usize)> {
    let inner = text.strip_prefix("{{")?;
    let end = inner.find("}}")?;
    let tag = inner[..end].trim();
    let arg = tag.strip_prefix("role")?.trim();
    let name = arg
        .strip_prefix('"')
        .and_then(|a| a.strip_suffix('"'))
        .or_else(|| arg.strip_prefix('\'').and_then(|a| a.strip_suffix('\'')))?;
    Some((super::role(name), name, end + 4))
}

fn messages(body: &str, first_line: usize, file: &Path) -> Result<Vec<ForeignMessage>> {
    let mut out = Vec::new();
    let mut role = Role::User;
    let mut start = 0;
    let mut start_line = first_line + 1;
    let mut at = 0;
    let line_of = |offset: usize| first_line + 1 + body[..offset].matches('\n').count();
    let push = |role: Role, text: &str, line: usize, out: &mut Vec<ForeignMessage>| {
        if !text.trim().is_empty() {
            out.push(ForeignMessage {
                role,
                syntax: None,
                content: text.trim().to_owned(),
                field: format!(
                    "body, the {} message at line {line}",
                    crate::model::render::role_name(role)
                ),
            });
        }
    };
    while let Some(found) = body[at..].find("{{") {
        let open = at + found;
        let rest = &body[open..];
        if let Some(word) = HELPERS.iter().find(|h| {
            rest[2..].trim_start().starts_with(**h)
                && rest[2..].trim_start()[h.len()..].starts_with([' ', '}'])
        }) {
            return Err(refused(
                file,
                format!("body, line {}", line_of(open)),
                format!("dotprompt's `{word}` helper has no promptreg equivalent"),
            ));
        }
        match marker(rest) {
            Some((Some(next), _, len)) => {
                push(role, &body[start..open], start_line, &mut out);
                role = next;
                start = open + len;
                start_line = line_of(start);
                at = start;
            }
            Some((None, name, _)) => {
                return Err(refused(
                    file,
                    format!("body, line {}", line_of(open)),
                    format!("`{name}` is not a role promptreg has (system, user, model)"),
                ))
            }
            None => at = open + 2,
        }
    }
    push(role, &body[start..], start_line, &mut out);
    if out.is_empty() {
        return Err(refused(file, "body", "the prompt has no text"));
    }
    Ok(out)
}

/// A release as a `.prompt` file, or `None` when a template does more than print variables.
pub fn render(name: &str, version: &str, prompt: &Prompt) -> Result<Option<String>> {
    let mut meta = Map::new();
    meta.insert("name".into(), name.into());
    meta.insert("version".into(), version.into());
    if let Some(summary) = &prompt.summary {
        meta.insert("description".into(), summary.clone().into());
    }
    if let Some(model) = &prompt.model {
        meta.insert("model".into(), model.clone().into());
    }
    meta.insert(
        "config".into(),
        serde_json::json!({"temperature": prompt.temperature}),
    );
    if !prompt.variables.is_empty() {
        let mut schema = Map::new();
        let mut defaults = Map::new();
        for (var, spec) in &prompt.variables {
            let key = if spec.required {
                var.clone()
            } else {
                format!("{var}?")
            };
            let value = match &spec.description {
                Some(d) => format!("string, {d}"),
                None => "string".into(),
            };
            schema.insert(key, value.into());
            if let Some(d) = &spec.default {
                defaults.insert(var.clone(), d.clone());
            }
        }
        let mut input = Map::new();
        input.insert("schema".into(), schema.into());
        if !defaults.is_empty() {
            input.insert("default".into(), defaults.into());
        }
        meta.insert("input".into(), input.into());
    }
    let front = crate::model::yaml::to_string(&Value::Object(meta))?;
    let mut body = String::new();
    let mut block = |role: &str, text: &str| -> bool {
        let Some(text) = super::template::export_template(text, Syntax::Handlebars) else {
            return false;
        };
        if !body.is_empty() {
            body.push('\n');
        }
        body.push_str(&format!("{{{{role \"{role}\"}}}}\n"));
        body.push_str(text.trim_end_matches('\n'));
        body.push('\n');
        true
    };
    if !prompt.system_prompt.is_empty() && !block("system", &prompt.system_prompt) {
        return Ok(None);
    }
    for m in &prompt.messages {
        let role = match m.role {
            Role::Assistant => "model",
            other => crate::model::render::role_name(other),
        };
        if !block(role, &m.content) {
            return Ok(None);
        }
    }
    Ok(Some(format!("---\n{front}---\n{body}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_roles_schema_and_config() {
        let text = "---\nmodel: googleai/gemini-1.5-flash\nconfig:\n  temperature: 0.3\n  maxOutputTokens: 200\ninput:\n  schema:\n    city: string, the city\n    style?: string\n  default:\n    style: brief\noutput:\n  format: json\n---\n{{role \"system\"}}\nYou are a guide.\n{{role \"user\"}}\nTell me about {{city}} in a {{style}} way.\n";
        let p = parse(text.as_bytes(), Path::new("guide.prompt")).unwrap();
        assert_eq!(p.name, "guide");
        let v = &p.versions[0];
        assert_eq!(v.temperature, Some(0.3));
        assert_eq!(v.declared["city"].description.as_deref(), Some("the city"));
        assert_eq!(v.declared["style"].default, Some("brief".into()));
        let Body::Chat(m) = &v.body else { panic!() };
        assert_eq!(
            (m.len(), m[0].role, m[1].role),
            (2, Role::System, Role::User)
        );
        assert!(v.config.contains_key("output"));
    }

    #[test]
    fn helpers_are_refused_with_their_line() {
        let e = parse(
            b"---\nmodel: m\n---\nhi\n{{history}}\n",
            Path::new("h.prompt"),
        )
        .unwrap_err();
        match e {
            crate::Error::Bridge { field, .. } => assert_eq!(field, "body, line 5"),
            other => panic!("{other:?}"),
        }
    }
}
