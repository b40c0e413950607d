//! MLflow's prompt registry: one object per prompt version with the fields of MLflow's
//! `PromptVersion` (`mlflow.genai.load_prompt`): `name`, `version`, `template` (a string, or a
//! list of `{role, content}` for a chat prompt), `commit_message`, `tags` (a map), `aliases`,
//! `creation_timestamp` (milliseconds), `model_config`, `response_format`, `user_id`. A file
//! holds one, a list, or `{"prompts": [...]}` / `{"prompt_versions": [...]}`.
//!
//! MLflow's `format()` fills every `{{ … }}` (whatever is inside), so a `{{` that does not hold a
//! variable name is refused rather than read as text; `{%` is refused too (recent MLflow
//! versions render such templates with Jinja2).

use std::path::Path;

use serde_json::Value;

use super::{
    grouped, json_items, number_at, refused, string_at, Body, ForeignMessage, ForeignPrompt,
    ForeignVersion, Syntax, VersionId,
};
use crate::Result;

const KNOWN: [&str; 10] = [
    "name",
    "version",
    "template",
    "commit_message",
    "tags",
    "aliases",
    "creation_timestamp",
    "model_config",
    "response_format",
    "user_id",
];

pub fn parse(bytes: &[u8], file: &Path) -> Result<Vec<ForeignPrompt>> {
    let mut versions = Vec::new();
    for (field, item) in json_items(bytes, file, &["prompts", "prompt_versions"])? {
        let Some(object) = item.as_object() else {
            return Err(refused(file, &field, "expected a prompt version object"));
        };
        let at = |key: &str| format!("{field}.{key}");
        let name = string_at(object, "name", &field, file)?.to_owned();
        let number = number_at(object, "version", &field, file)?;
        let body = match object.get("template") {
            Some(Value::String(text)) => {
                check(text, &at("template"), file)?;
                Body::Text {
                    content: text.clone(),
                    field: at("template"),
                }
            }
            Some(Value::Array(messages)) => {
                let mut out = Vec::new();
                for (i, m) in messages.iter().enumerate() {
                    let here = format!("{}[{i}]", at("template"));
                    let role_name = m.get("role").and_then(Value::as_str).ok_or_else(|| {
                        refused(file, format!("{here}.role"), "missing or not a string")
                    })?;
                    let role = super::role(role_name).ok_or_else(|| {
                        refused(
                            file,
                            format!("{here}.role"),
                            format!("`{role_name}` is not a role promptreg has"),
                        )
                    })?;
                    let content = m.get("content").and_then(Value::as_str).ok_or_else(|| {
                        refused(file, format!("{here}.content"), "missing or not a string")
                    })?;
                    check(content, &format!("{here}.content"), file)?;
                    out.push(ForeignMessage {
                        role,
                        syntax: None,
                        content: content.to_owned(),
                        field: format!("{here}.content"),
                    });
                }
                Body::Chat(out)
            }
            _ => {
                return Err(refused(
                    file,
                    at("template"),
                    "missing, or neither a string nor a list of messages",
                ))
            }
        };
        let mut version = ForeignVersion::new(
            VersionId::Number(number),
            field.clone(),
            Syntax::Mustache,
            body,
        );
        version.message = object
            .get("commit_message")
            .and_then(Value::as_str)
            .map(str::to_owned);
        version.author = object
            .get("user_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let Some(ms) = object.get("creation_timestamp").filter(|v| !v.is_null()) {
            let date = ms
                .as_i64()
                .and_then(chrono::DateTime::from_timestamp_millis)
                .ok_or_else(|| {
                    refused(file, at("creation_timestamp"), "not a time in milliseconds")
                })?;
            version.created_at = Some(date.fixed_offset());
        }
        match object.get("aliases") {
            None | Some(Value::Null) => {}
            Some(Value::Array(a)) => {
                version.labels = a
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            }
            Some(_) => return Err(refused(file, at("aliases"), "expected a list of strings")),
        }
        match object.get("tags") {
            None | Some(Value::Null) => {}
            Some(Value::Object(tags)) => {
                // MLflow's own tags (`mlflow.…`) are bookkeeping.
                let kept: serde_json::Map<String, Value> = tags
                    .iter()
                    .filter(|(k, _)| !k.starts_with("mlflow."))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if !kept.is_empty() {
                    version.metadata.insert("tags".into(), kept.into());
                }
            }
            Some(_) => return Err(refused(file, at("tags"), "expected a map")),
        }
        if let Some(Value::Object(config)) = object.get("model_config") {
            for (k, v) in config {
                match (k.as_str(), v) {
                    ("model_name" | "model", Value::String(m)) => version.model = Some(m.clone()),
                    ("temperature", Value::Number(t)) if t.as_f64().is_some() => {
                        version.temperature = t.as_f64()
                    }
                    _ => {
                        version.config.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        if let Some(format) = object.get("response_format").filter(|v| !v.is_null()) {
            version
                .config
                .insert("response_format".into(), format.clone());
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

/// What MLflow's `format()` would read otherwise than `{{name}}` substitution.
fn check(text: &str, field: &str, file: &Path) -> Result<()> {
    if let Some(at) = text.find("{%") {
        let (line, column) = super::template::position(text, at);
        return Err(refused(file, field, format!("line {line}, column {column}: `{{%` makes MLflow render the template with Jinja2; import it as Jinja2 by hand")));
    }
    let mut search = 0;
    while let Some(found) = text[search..].find("{{") {
        let open = search + found;
        let Some(close) = text[open + 2..].find("}}") else {
            break;
        };
        let inner = text[open + 2..open + 2 + close].trim();
        if !super::template::is_variable_name(inner) {
            let (line, column) = super::template::position(text, open);
            return Err(refused(file, field, format!("line {line}, column {column}: MLflow fills `{{{{ {inner} }}}}` as a variable, which has no promptreg name")));
        }
        search = open + 2 + close + 2;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_versions_aliases_and_model_config() {
        let json = br#"{"prompts": [
          {"name": "summarization", "version": 2, "template": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Summarize {{ text }}"}], "aliases": ["production"], "creation_timestamp": 1735689600000, "model_config": {"model_name": "gpt-4o", "temperature": 0.1, "max_tokens": 100}, "tags": {"task": "summary", "mlflow.prompt.is_prompt": "true"}},
          {"name": "summarization", "version": 1, "template": "Summarize {{text}} in {{ num_sentences }} sentences.", "commit_message": "first"}
        ]}"#;
        let p = parse(json, Path::new("m.json")).unwrap();
        assert_eq!(p[0].versions.len(), 2);
        let v2 = &p[0].versions[1];
        assert_eq!(
            (v2.model.as_deref(), v2.temperature),
            (Some("gpt-4o"), Some(0.1))
        );
        assert_eq!(v2.labels, ["production"]);
        assert_eq!(
            v2.created_at.unwrap().to_rfc3339(),
            "2025-01-01T00:00:00+00:00"
        );
        assert!(v2.metadata["tags"].get("mlflow.prompt.is_prompt").is_none());
    }

    #[test]
    fn jinja_and_odd_placeholders_are_refused() {
        for bad in [
            r#"{"name": "a", "version": 1, "template": "{% if x %}y{% endif %}"}"#,
            r#"{"name": "a", "version": 1, "template": "{{ a b }}"}"#,
        ] {
            match parse(bad.as_bytes(), Path::new("m.json")) {
                Err(crate::Error::Bridge { field, .. }) => assert_eq!(field, "[0].template"),
                other => panic!("{other:?}"),
            }
        }
    }
}
