//! The write routes: `POST /api/prompts` (create), `PATCH /api/prompts/NAME@VERSION/promote`
//! (a promotion, or a canary), `PUT /api/prompts/NAME/split` and `PATCH
//! /api/prompts/NAME/rollback`, each authorized, run through the same operation as the CLI's,
//! answering the new record. A write moves the served ref's tip, which empties the response
//! cache, so the next read sees it.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::access_log::{with_info, LogInfo};
use super::auth::{authorize, Writer};
use super::merge::{check_fields, merged_prompt};
use super::query::{split, Kind};
use super::read::{record_json, Moved};
use super::response::{json_response, PREFIX};
use super::{ApiError, Shared};
use crate::model::registry::{Percent, Share};
use crate::model::version::Bump;
use crate::ops::create::{CreateRequest, PromptSource, VersionChoice};
use crate::ops::promote::PromoteRequest;
use crate::ops::rollback::RollbackRequest;
use crate::ops::split::SplitRequest;
use crate::store::Store;
use crate::{Error, PromptName, Version};

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
/// over the working tree's (see [`merged_prompt`]); 201 with its record. The body can be a whole
/// prompt definition (variables, messages, model, the system prompt and examples as content):
/// it is checked as `create` checks a file, and a field no request or `prompt.yaml` has is a
/// 400 naming the nearest known one.
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
    respond(
        result.map(|(v, body)| (Some(v), body)),
        StatusCode::CREATED,
        info,
    )
}

/// The create itself, on the blocking pool: the version choice and the merged content, then
/// [`crate::ops::create::create`]; the new version and its record.
fn create_blocking(
    shared: &Shared,
    writer: &Writer,
    map: &mut Map<String, Value>,
) -> Result<(String, Bytes), ApiError> {
    check_fields(map)?;
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
    let body = record_json(
        shared,
        &store,
        &name,
        &Moved::Version(&created.version, None),
    )?;
    Ok((created.version.to_string(), body))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PromoteBody {
    environment: String,
    reason: String,
    #[serde(default)]
    force: bool,
    /// Start or re-weight a canary with this share (a JSON number, at most two decimals).
    #[serde(default)]
    canary: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SplitBody {
    environment: String,
    split: Vec<EntryBody>,
    reason: String,
    #[serde(default)]
    force: bool,
}

/// One entry of a split as sent: `percent` is kept as JSON so a bad share is an `invalid-split`
/// refusal naming it, as the CLI's, not a body that does not parse.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryBody {
    version: String,
    percent: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RollbackBody {
    environment: String,
    reason: String,
    #[serde(default)]
    to: Option<String>,
}

/// A share of traffic as JSON gives it: a number, 0.01 to 100 with at most two decimals
/// (0 and 100 are left to the operation, which says why each is refused).
fn percent(value: &Value, what: &str) -> Result<Percent, ApiError> {
    let refuse = |message: String| ApiError::from(Error::InvalidSplit { message });
    let number = value.as_f64().ok_or_else(|| {
        refuse(format!(
            "{what} must be a number (a percentage, e.g. 10 or 2.5), not {value}"
        ))
    })?;
    Percent::from_number(number).map_err(|message| refuse(format!("{what}: {message}")))
}

/// The reason of a pointer move: the why of the audit trail, refused when blank as the CLI does.
fn reason(text: String) -> Result<String, ApiError> {
    if text.trim().is_empty() {
        return Err(ApiError::bad_request(
            "`reason` is empty; say why the pointer moves (it is the why of `promptreg history`)",
        ));
    }
    Ok(text)
}

/// The body of a pointer move, parsed as `T` (400 with serde's message otherwise).
fn move_body<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("bad body: {e}")))
}

/// `PATCH` under `/api/prompts/`: `NAME@VERSION/promote` or `NAME/rollback`.
pub(super) async fn patch(
    state: State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let rest = uri.path().strip_prefix(PREFIX).unwrap_or_default();
    match split(rest).1 {
        Kind::Rollback => rollback(state, uri, headers, body).await,
        _ => promote(state, method, uri, headers, body).await,
    }
}

/// `PATCH /api/prompts/NAME@VERSION/promote`: moves an environment to the version, or with
/// `canary` starts or re-weights a canary of it; 200 with its record, whose `split` is the
/// environment's split when it splits now.
async fn promote(
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
                format!(
                    "{method} is only for /api/prompts/NAME@VERSION/promote and \
                     /api/prompts/NAME/rollback"
                ),
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
        let body: PromoteBody = move_body(&body)?;
        info.environment = Some(body.environment.clone());
        let canary = body
            .canary
            .as_ref()
            .filter(|v| !v.is_null())
            .map(|v| percent(v, "`canary`"))
            .transpose()?;
        let request = PromoteRequest {
            name: name.clone(),
            version: version.clone(),
            environment: body.environment,
            reason: reason(body.reason)?,
            force: body.force,
            canary,
        };
        let shared = shared.clone();
        tokio::task::spawn_blocking(move || {
            let store = Store::discover(&shared.repo)?;
            let signatures = writer.signatures(&shared, &store)?;
            crate::ops::promote::promote(&store, &request, &signatures)?;
            record_json(
                &shared,
                &store,
                &name,
                &Moved::Version(&version, Some(&request.environment)),
            )
        })
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
    }
    .await;
    respond(result.map(|body| (None, body)), StatusCode::OK, info)
}

/// `PUT /api/prompts/NAME/split`: sets an environment to a split (an A/B/n test), each version
/// entering it admitted as `promote` admits one; 200 with the record of the split's first entry
/// (what the environment serves without a key), carrying the split.
pub(super) async fn put_split(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let rest = uri.path().strip_prefix(PREFIX).unwrap_or_default();
    let (name, kind) = split(rest);
    let mut info = LogInfo {
        prompt: Some(name.to_owned()),
        ..LogInfo::default()
    };
    let result = async {
        if kind != Kind::Split {
            return Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                format!("{method} is only for /api/prompts/NAME/split"),
            ));
        }
        let writer = authorize(&shared, &headers)?;
        info.identity = Some(writer.label());
        let name = PromptName::parse(name)?;
        let body: SplitBody = move_body(&body)?;
        info.environment = Some(body.environment.clone());
        let mut shares = Vec::new();
        for (i, entry) in body.split.iter().enumerate() {
            shares.push(Share {
                version: Version::parse(&entry.version)?,
                percent: percent(&entry.percent, &format!("the percent of entry {}", i + 1))?,
            });
        }
        let request = SplitRequest {
            name: name.clone(),
            environment: body.environment,
            shares,
            reason: reason(body.reason)?,
            force: body.force,
        };
        let shared = shared.clone();
        tokio::task::spawn_blocking(move || {
            let store = Store::discover(&shared.repo)?;
            let signatures = writer.signatures(&shared, &store)?;
            crate::ops::split::split(&store, &request, &signatures)?;
            record_json(
                &shared,
                &store,
                &name,
                &Moved::Environment(&request.environment),
            )
        })
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
    }
    .await;
    respond(result.map(|body| (None, body)), StatusCode::OK, info)
}

/// `PATCH /api/prompts/NAME/rollback`: moves an environment back (to `to`, or the version it
/// held before; a split goes back to its first entry), as `promptreg rollback`; 200 with the
/// record of the version it holds now.
async fn rollback(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let rest = uri.path().strip_prefix(PREFIX).unwrap_or_default();
    let (name, _) = split(rest);
    let mut info = LogInfo {
        prompt: Some(name.to_owned()),
        ..LogInfo::default()
    };
    let result = async {
        let writer = authorize(&shared, &headers)?;
        info.identity = Some(writer.label());
        let name = PromptName::parse(name)?;
        let body: RollbackBody = move_body(&body)?;
        info.environment = Some(body.environment.clone());
        let request = RollbackRequest {
            name: name.clone(),
            environment: body.environment,
            to: body.to.as_deref().map(Version::parse).transpose()?,
            reason: reason(body.reason)?,
        };
        let shared = shared.clone();
        tokio::task::spawn_blocking(move || {
            let store = Store::discover(&shared.repo)?;
            let signatures = writer.signatures(&shared, &store)?;
            let done = crate::ops::rollback::rollback(&store, &request, &signatures)?;
            let body = record_json(
                &shared,
                &store,
                &name,
                &Moved::Environment(&request.environment),
            )?;
            Ok::<_, ApiError>((done.to.to_string(), body))
        })
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
    }
    .await;
    respond(
        result.map(|(v, body)| (Some(v), body)),
        StatusCode::OK,
        info,
    )
}

/// A write's answer: `status` with the record it produced, or the refusal's JSON body; the
/// version the write names, when it returns one, goes into the access log line.
fn respond(
    result: Result<(Option<String>, Bytes), ApiError>,
    status: StatusCode,
    mut info: LogInfo,
) -> Response {
    let response = match result {
        Ok((version, body)) => {
            if version.is_some() {
                info.version = version;
            }
            json_response(status, body)
        }
        Err(e) => e.into_response(),
    };
    with_info(response, info)
}
