//! A create request's fields laid over the working tree's `prompt.yaml`: the content
//! `POST /api/prompts` releases.

use std::path::Path;

use axum::http::StatusCode;
use serde_json::{Map, Value};

use super::ApiError;
use crate::PromptName;

/// The working tree's `prompt.yaml` of `name` (if any) with `fields` laid over it: a field set
/// to null is removed, and giving `system_prompt` (`examples`) drops `system_prompt_file`
/// (`examples_file`) unless that is given too.
pub(super) fn merged_prompt(
    workdir: &Path,
    name: &PromptName,
    fields: Map<String, Value>,
) -> Result<String, ApiError> {
    let known = prompt_fields();
    check_fields(&fields)?;
    // Never through a link: the target's keys would come back in the error for an unknown one.
    let on_disk = crate::fsread::WorkTree::new(workdir)
        .read_bounded(&name.file(), crate::model::yaml::MAX_DOCUMENT_BYTES)?;
    let mut current: Map<String, Value> = match on_disk {
        Some(bytes) => crate::model::yaml::parse(&bytes, Path::new(&name.file()))?,
        None => Map::new(),
    };
    for (inline, file) in [
        ("system_prompt", "system_prompt_file"),
        ("examples", "examples_file"),
    ] {
        if fields.contains_key(inline) && !fields.contains_key(file) {
            current.remove(file);
        }
        if fields.contains_key(file) && !fields.contains_key(inline) {
            current.remove(inline);
        }
    }
    for (key, value) in fields {
        if value.is_null() {
            current.remove(&key);
        } else {
            current.insert(key, value);
        }
    }
    // A field the request did not give came from the server's working copy: say so without
    // echoing it (it is not the client's to read).
    let foreign = current.keys().filter(|k| !known.contains(k)).count();
    if foreign > 0 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-prompt",
            format!(
                "the server's working copy of {} has {foreign} field(s) promptreg does not know; \
                 fix that file on the server (`promptreg validate` names them) or set them to \
                 null in the request",
                name.file()
            ),
        ));
    }
    Ok(crate::model::yaml::to_string(&current)?)
}

/// The fields of `prompt.yaml` (from its schema, so they follow the type that parses it).
fn prompt_fields() -> &'static [String] {
    static FIELDS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    FIELDS.get_or_init(|| {
        crate::model::schema::prompt()["properties"]
            .as_object()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default()
    })
}

/// The fields of a create request that are not `prompt.yaml` fields.
const REQUEST_FIELDS: [&str; 5] = ["name", "version", "bump", "description", "allow_unchanged"];

/// 400 `bad-request` for the first field of a create request (`fields`) that is neither a
/// request field nor a `prompt.yaml` field, with the nearest known one: checked before anything
/// else, so a mistyped `descripton` is named as such, not reported as a missing `description`.
pub(super) fn check_fields(fields: &Map<String, Value>) -> Result<(), ApiError> {
    let known = prompt_fields();
    let is_known = |key: &str| REQUEST_FIELDS.contains(&key) || known.iter().any(|k| k == key);
    match fields.keys().find(|key| !is_known(key)) {
        Some(key) => Err(unknown_field(key, known)),
        None => Ok(()),
    }
}

/// 400 for a request field that is not a known one, with the nearest one.
fn unknown_field(key: &str, known: &[String]) -> ApiError {
    let shown: String = key.chars().take(64).collect();
    let nearest = REQUEST_FIELDS
        .iter()
        .copied()
        .chain(known.iter().map(String::as_str))
        .map(|candidate| (strsim::levenshtein(key, candidate), candidate))
        .filter(|(distance, _)| *distance <= 3)
        .min();
    let message = match nearest {
        Some((_, candidate)) => format!("unknown field `{shown}` (did you mean `{candidate}`?)"),
        None => format!(
            "unknown field `{shown}`; a release takes {} and the prompt.yaml fields {}",
            REQUEST_FIELDS.join(", "),
            known.join(", ")
        ),
    };
    ApiError::bad_request(message)
}
