//! The write routes: `POST /api/prompts` (create) and `PATCH /api/prompts/NAME@VERSION/promote`,
//! each authorized, run through the same operation as the CLI's, answering the new record.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::access_log::{with_info, LogInfo};
use super::auth::{authorize, Writer};
use super::merge::merged_prompt;
use super::query::{split, Kind};
use super::read::record_json;
use super::response::{json_response, PREFIX};
use super::{ApiError, Shared};
use crate::model::version::Bump;
use crate::ops::create::{CreateRequest, PromptSource, VersionChoice};
use crate::ops::promote::PromoteRequest;
use crate::store::Store;
use crate::{PromptName, Version};

/// The request body as a JSON object.
fn parse_body(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request("the body must be a JSON object")),
        Err(e) => Err(ApiError::bad_request(format!("the body is not JSON: {e}"))),
    }
}

/// The string at `key`, removed from `map` (null or absent: `None`).
fn take_string(map: &mut Map<String, Value>, key: &str) -> Result<Option<String>, ApiError> {
    match map.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::bad_request(format!("`{key}` must be a string"))),
    }
}

/// The non-blank string at `key`, removed from `map`.
fn required(map: &mut Map<String, Value>, key: &str) -> Result<String, ApiError> {
    take_string(map, key)?
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request(format!("`{key}` is required")))
}

/// `POST /api/prompts`: releases a version whose `prompt.yaml` is the request's fields laid
/// over the working tree's (see [`merged_prompt`]); 201 with its record.
pub(super) async fn create(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut info = LogInfo::default();
    let result = async {
        let writer = authorize(&shared, &headers)?;
        info.identity = Some(writer.label());
        let mut map = parse_body(&body)?;
        info.prompt = map.get("name").and_then(Value::as_str).map(str::to_owned);
        info.version = map
            .get("version")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let shared = shared.clone();
        tokio::task::spawn_blocking(move || create_blocking(&shared, &writer, &mut map))
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?
    }
    .await;
    let response = match result {
        Ok((version, body)) => {
            info.version = Some(version);
            json_response(StatusCode::CREATED, body)
        }
        Err(e) => e.into_response(),
    };
    with_info(response, info)
}

/// The create itself, on the blocking pool: the version choice and the merged content, then
/// [`crate::ops::create::create`]; the new version and its record.
fn create_blocking(
    shared: &Shared,
    writer: &Writer,
    map: &mut Map<String, Value>,
) -> Result<(String, Bytes), ApiError> {
    let name = PromptName::parse(&required(map, "name")?)?;
    let description = required(map, "description")?;
    let version = match (take_string(map, "version")?, take_string(map, "bump")?) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request("give `version` or `bump`, not both"))
        }
        (Some(v), None) => VersionChoice::Exact(Version::parse(&v)?),
        (None, Some(b)) => match b.as_str() {
            "major" => VersionChoice::Bump(Bump::Major),
            "minor" => VersionChoice::Bump(Bump::Minor),
            "patch" => VersionChoice::Bump(Bump::Patch),
            "auto" => VersionChoice::Auto,
            _ => {
                return Err(ApiError::bad_request(
                    "`bump` is one of major, minor, patch, auto",
                ))
            }
        },
        (None, None) => return Err(ApiError::bad_request("`version` (or `bump`) is required")),
    };
    let allow_unchanged = match map.remove("allow_unchanged") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => b,
        Some(_) => return Err(ApiError::bad_request("`allow_unchanged` must be a boolean")),
    };
    let store = Store::discover(&shared.repo)?;
    let workdir = store.workdir("create")?.to_owned();
    let merged = merged_prompt(&workdir, &name, std::mem::take(map))?;
    let signatures = writer.signatures(shared, &store)?;
    // What the client's fields became is the prompt's `prompt.yaml`: errors about it name that
    // file, never a path of the server's.
    let request = CreateRequest {
        name: name.clone(),
        version,
        message: description,
        source: PromptSource::Content(merged.into_bytes()),
        allow_unchanged,
    };
    let created = crate::ops::create::create(&store, &request, &signatures)?;
    let body = record_json(shared, &store, &name, &created.version)?;
    Ok((created.version.to_string(), body))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PromoteBody {
    environment: String,
    reason: String,
    #[serde(default)]
    force: bool,
}

/// `PATCH /api/prompts/NAME@VERSION/promote`: moves an environment to the version; 200 with its
/// record.
pub(super) async fn promote(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let rest = uri.path().strip_prefix(PREFIX).unwrap_or_default();
    let (id, kind) = split(rest);
    let (name, version) = id.rsplit_once('@').unwrap_or((id, ""));
    let mut info = LogInfo {
        prompt: Some(name.to_owned()),
        version: Some(version.to_owned()).filter(|v| !v.is_empty()),
        ..LogInfo::default()
    };
    let result = async {
        if kind != Kind::Promote {
            return Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                format!("{method} is only for /api/prompts/NAME@VERSION/promote"),
            ));
        }
        let writer = authorize(&shared, &headers)?;
        info.identity = Some(writer.label());
        if version.is_empty() {
            return Err(ApiError::bad_request(
                "name the version: /api/prompts/NAME@VERSION/promote",
            ));
        }
        let name = PromptName::parse(name)?;
        let version = Version::parse(version)?;
        let body: PromoteBody = serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("bad body: {e}")))?;
        info.environment = Some(body.environment.clone());
        let shared = shared.clone();
        tokio::task::spawn_blocking(move || {
            let store = Store::discover(&shared.repo)?;
            let signatures = writer.signatures(&shared, &store)?;
            let request = PromoteRequest {
                name: name.clone(),
                version: version.clone(),
                environment: body.environment,
                reason: body.reason,
                force: body.force,
                canary: None,
            };
            crate::ops::promote::promote(&store, &request, &signatures)?;
            record_json(&shared, &store, &name, &version)
        })
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
    }
    .await;
    let response = match result {
        Ok(body) => json_response(StatusCode::OK, body),
        Err(e) => e.into_response(),
    };
    with_info(response, info)
}
