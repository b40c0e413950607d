//! Routes, request parsing, caching headers, writes and the access log.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::cache::{Cached, Key};
use super::query::{self, split, Kind, Params};
use super::{csrf, with_reader, ApiError, Shared};
use crate::model::selector::{Selector, Target};
use crate::model::version::Bump;
use crate::ops::create::{CreateRequest, PromptSource, VersionChoice};
use crate::ops::promote::PromoteRequest;
use crate::read::fetch;
use crate::read::record::prompt_record;
use crate::store::identity::{Identity, Signatures};
use crate::store::Store;
use crate::{PromptName, Version};

const PREFIX: &str = "/api/prompts/";

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/prompts", post(create))
        .route("/api/prompts/{*rest}", get(read).patch(promote))
        .fallback(not_found)
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            super::BODY_LIMIT,
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            super::REQUEST_TIMEOUT,
        ))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            redact_errors,
        ))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            access_log,
        ))
        .with_state(shared)
}

/// Largest error body rewritten by [`redact_errors`]; error bodies are a few hundred bytes.
const ERROR_BODY_LIMIT: usize = 64 << 10;

/// Every error body on its way out: the server's own paths are shown relative to the
/// repository, and a 500 says only that the log has the details (which go to the log).
async fn redact_errors(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !status.is_client_error() && !status.is_server_error() {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, ERROR_BODY_LIMIT).await else {
        return ApiError::internal("the error could not be shown").into_response();
    };
    let text = String::from_utf8_lossy(&bytes);
    let shown = if status == StatusCode::INTERNAL_SERVER_ERROR {
        (shared.notify)(&format!("internal error: {text}"));
        ApiError::internal("the server could not answer this request; its log has the details")
            .body()
    } else {
        shared.redact.apply(&text)
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(shown))
}

/// What the access log records beyond the request line; handlers attach it to responses.
#[derive(Clone, Debug, Default)]
struct LogInfo {
    prompt: Option<String>,
    version: Option<String>,
    environment: Option<String>,
    identity: Option<String>,
}

async fn access_log(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.to_string());
    let response = next.run(request).await;
    let info = response
        .extensions()
        .get::<LogInfo>()
        .cloned()
        .unwrap_or_default();
    let line = crate::ops::access_log::AccessLine {
        time: crate::ops::access_log::AccessLine::now(),
        method,
        path,
        prompt: info.prompt,
        version: info.version,
        environment: info.environment,
        identity: info.identity,
        client,
        status: response.status().as_u16(),
        duration_ms: (start.elapsed().as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
    };
    shared.log(line.to_json());
    response
}

/// 200 when prompts can be served from the tip of the served ref, else 503 with the reason:
/// the ref is gone (a deleted branch, no commit yet), the tip has no `registry.yaml` or one that
/// does not parse, or the repository cannot be read.
async fn healthz(State(shared): State<Arc<Shared>>) -> Response {
    let checked = shared.clone();
    let verdict = tokio::task::spawn_blocking(move || {
        with_reader(&checked.repo.clone(), |store| health(&checked, store)).map_err(|e| {
            match e.status {
                StatusCode::SERVICE_UNAVAILABLE => e,
                _ => unavailable("repository-unreadable", e.message),
            }
        })
    })
    .await
    .unwrap_or_else(|e| Err(unavailable("repository-unreadable", e.to_string())));
    let (status, body) = match verdict {
        Ok(tip) => (
            StatusCode::OK,
            serde_json::json!({"status": "ok", "ref": shared.refname, "commit": tip.to_string()}),
        ),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({"status": "unavailable", "error": e.code, "message": e.message}),
        ),
    };
    let body = serde_json::to_string_pretty(&body).unwrap_or_default() + "\n";
    json_response(status, body.into())
}

fn unavailable(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
}

/// The tip of the served ref when its index parses; the verdict is kept per tip.
fn health(shared: &Shared, store: &Store) -> Result<git2::Oid, ApiError> {
    let refname = &shared.refname;
    let tip = match store.repo().refname_to_id(refname) {
        Ok(tip) => tip,
        Err(e) if e.code() == git2::ErrorCode::NotFound => {
            return Err(unavailable(
                "ref-missing",
                format!("`{refname}` does not exist (deleted, or no commit yet); nothing to serve"),
            ))
        }
        Err(e) => {
            return Err(unavailable(
                "repository-unreadable",
                format!("cannot read `{refname}`: {}", e.message()),
            ))
        }
    };
    if let Some((seen, verdict)) = shared.health.lock().ok().and_then(|h| h.clone()) {
        if seen == tip {
            return verdict.map(|()| tip);
        }
    }
    let short = &tip.to_string()[..12];
    let verdict = (|| {
        let commit = store
            .commit(Some(&tip.to_string()))
            .map_err(|e| unavailable("repository-unreadable", ApiError::from(e).message))?;
        let tree = commit.tree().map_err(|e| {
            unavailable(
                "repository-unreadable",
                format!("cannot read {short}: {}", e.message()),
            )
        })?;
        let id = store.entry_id(&tree, crate::REGISTRY_FILE).ok_or_else(|| {
            unavailable(
                "registry-missing",
                format!("the tip of `{refname}` ({short}) has no registry.yaml"),
            )
        })?;
        crate::read::registry_of_blob(store, id).map_err(|e| {
            unavailable(
                "registry-invalid",
                format!(
                    "registry.yaml at the tip of `{refname}` ({short}) is invalid: {}",
                    ApiError::from(e).message
                ),
            )
        })?;
        Ok(())
    })();
    if let Ok(mut health) = shared.health.lock() {
        *health = Some((tip, verdict.clone()));
    }
    verdict.map(|()| tip)
}

async fn not_found(uri: Uri) -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not-found",
        format!("no such endpoint: {}", uri.path()),
    )
    .into_response()
}

fn json_response(status: StatusCode, body: Bytes) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn with_info(mut response: Response, info: LogInfo) -> Response {
    response.extensions_mut().insert(info);
    response
}

async fn read(State(shared): State<Arc<Shared>>, uri: Uri, headers: HeaderMap) -> Response {
    let rest = uri.path().strip_prefix(PREFIX).unwrap_or_default();
    let (name, kind) = split(rest);
    let mut info = LogInfo {
        prompt: Some(name.to_owned()),
        ..LogInfo::default()
    };
    let result = async {
        if kind == Kind::Promote {
            return Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "promote with PATCH",
            ));
        }
        let name = PromptName::parse(name)?;
        let params = query::parse(kind, &uri)?;
        info.version = params.version.clone();
        info.environment = params.environment.clone();
        let shared = shared.clone();
        tokio::task::spawn_blocking(move || {
            with_reader(&shared.repo.clone(), |store| {
                cached_read(&shared, store, &name, kind, &params)
            })
        })
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
    }
    .await;
    let response = match result {
        Ok(cached) => {
            let fresh = headers
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| etag_matches(v, &cached.etag));
            let mut response = if fresh {
                StatusCode::NOT_MODIFIED.into_response()
            } else {
                (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "application/json")],
                    cached.body(),
                )
                    .into_response()
            };
            let h = response.headers_mut();
            if let Ok(etag) = HeaderValue::from_str(&cached.etag) {
                h.insert(header::ETAG, etag);
            }
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            response
        }
        Err(e) => e.into_response(),
    };
    with_info(response, info)
}

fn etag_matches(header: &str, etag: &str) -> bool {
    header.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == etag
    })
}

/// A fingerprint of the tags `name` can have: `packed-refs`' size and time, and the loose refs
/// in `refs/tags/<name>/`. A new, deleted or packed tag changes it.
fn tags_fingerprint(store: &Store, name: &PromptName) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let common = store.common_dir();
    if let Ok(meta) = std::fs::metadata(common.join("packed-refs")) {
        meta.len().hash(&mut hasher);
        meta.modified().ok().hash(&mut hasher);
    }
    if let Ok(entries) = std::fs::read_dir(common.join("refs/tags").join(name.as_str())) {
        let mut names: Vec<_> = entries.flatten().map(|e| e.file_name()).collect();
        names.sort();
        names.hash(&mut hasher);
    }
    hasher.finish()
}

fn cached_read(
    shared: &Shared,
    store: &Store,
    name: &PromptName,
    kind: Kind,
    params: &Params,
) -> Result<Arc<Cached>, ApiError> {
    let tip = store.repo().refname_to_id(&shared.refname).map_err(|e| {
        let code = match e.code() {
            git2::ErrorCode::NotFound => "ref-missing",
            _ => "repository-unreadable",
        };
        unavailable(
            code,
            format!("cannot read `{}`: {}", shared.refname, e.message()),
        )
    })?;
    let key = Key {
        tip,
        tags: tags_fingerprint(store, name),
        // `/latest` answers exactly what the bare route answers for the same environment.
        kind: if kind == Kind::Latest {
            Kind::Record
        } else {
            kind
        },
        name: name.to_string(),
        params: params.clone(),
    };
    if let Some(hit) = shared.cache.get(&key) {
        return Ok(hit);
    }
    let served = |e| read_error(shared, store, e);
    let revision = tip.to_string();
    let revision = Some(revision.as_str());
    let body = match key.kind {
        Kind::Record | Kind::Latest => {
            let target = match (&params.version, &params.environment) {
                (Some(_), Some(_)) => {
                    return Err(ApiError::bad_request(
                        "give `version` or `environment`, not both",
                    ))
                }
                (Some(v), None) if v == "latest" => Some(Target::Latest),
                (Some(v), None) => Some(Target::Version(Version::parse(v)?)),
                (None, Some(env)) => Some(Target::Environment(env.clone())),
                (None, None) => None,
            };
            let selector = Selector {
                name: name.clone(),
                target,
            };
            let fetched = fetch(store, &selector, revision).map_err(served)?;
            // A results file that does not parse does not take prompts offline: the record
            // comes without results (`validate` and `promote` report the file).
            let full = prompt_record(store, &fetched, revision).map_err(served)?;
            pretty(&full.record)?
        }
        Kind::Versions => {
            pretty(&crate::ops::versions::versions(store, name, revision).map_err(served)?)?
        }
        Kind::History => {
            let query = crate::ops::history::Query {
                name: Some(name.clone()),
                environment: params.environment.clone(),
                since: None,
                revision: revision.map(str::to_owned),
            };
            pretty(&crate::ops::history::history(store, &query).map_err(served)?)?
        }
        Kind::Tests => {
            let version = match (&params.version, &params.environment) {
                (Some(_), Some(_)) => {
                    return Err(ApiError::bad_request(
                        "give `version` or `environment`, not both",
                    ))
                }
                (Some(v), None) => Some(Version::parse(v)?),
                (None, Some(env)) => {
                    let selector = Selector {
                        name: name.clone(),
                        target: Some(Target::Environment(env.clone())),
                    };
                    Some(
                        crate::ops::results::tested_version(store, &selector, revision)
                            .map_err(served)?,
                    )
                }
                (None, None) => None,
            };
            pretty(
                &crate::ops::results::show(store, name, version.as_ref(), revision)
                    .map_err(served)?,
            )?
        }
        Kind::Promote => unreachable!("refused before"),
    };
    let etag = git2::Oid::hash_object(git2::ObjectType::Blob, body.as_bytes())
        .map(|id| format!("\"{id}\""))
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let cached = Arc::new(Cached::new(body.as_bytes(), etag));
    shared.cache.put(key, cached.clone());
    Ok(cached)
}

/// An error of the served index (missing, or not parsing) is the server's problem, not the
/// request's: the 503 `/healthz` answers, with its reason.
fn read_error(shared: &Shared, store: &Store, error: crate::Error) -> ApiError {
    let of_index = match &error {
        crate::Error::RegistryMissing { .. } => true,
        crate::Error::Yaml { file, .. } | crate::Error::Invalid { file, .. } => {
            file == Path::new(crate::REGISTRY_FILE)
        }
        _ => false,
    };
    if of_index {
        if let Err(unhealthy) = health(shared, store) {
            return unhealthy;
        }
    }
    ApiError::from(error)
}

/// Exactly what `--format json` prints.
fn pretty<T: serde::Serialize>(value: &T) -> Result<String, ApiError> {
    serde_json::to_string_pretty(value)
        .map(|s| s + "\n")
        .map_err(|e| ApiError::internal(e.to_string()))
}

// ---- writes ----

/// Who is writing.
enum Writer {
    Token { name: String, email: String },
    Local,
}

impl Writer {
    fn label(&self) -> String {
        match self {
            Writer::Token { name, .. } => name.clone(),
            Writer::Local => "local".into(),
        }
    }

    fn signatures(&self, shared: &Shared, store: &Store) -> Result<Signatures, ApiError> {
        match self {
            Writer::Token { name, email } => {
                let who = Identity {
                    name: name.clone(),
                    email: email.clone(),
                    when: chrono::Local::now().fixed_offset(),
                };
                Ok(Signatures {
                    author: who.clone(),
                    committer: who,
                })
            }
            Writer::Local => match &shared.local_identity {
                Some(resolve) => Ok(resolve(store)?),
                None => Err(ApiError::internal("no local identity")),
            },
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Who may write this request: the checks against browsers first (see `csrf`), then the token.
/// With `--tokens`, every write needs one, `--allow-local-writes` or not: a request without a
/// token is never taken for the server's own identity then.
fn authorize(shared: &Shared, headers: &HeaderMap) -> Result<Writer, ApiError> {
    if !shared.writes_enabled() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "writes-disabled",
            "this server is read-only; start it with `--tokens FILE` (or `--allow-local-writes` \
             on a loopback address) to accept writes",
        ));
    }
    csrf::require_json(headers)?;
    csrf::require_same_origin(headers)?;
    let given = headers.get(header::AUTHORIZATION);
    if shared.tokens.is_empty() {
        // Writes enabled without tokens: the local identity, for requests sent to loopback.
        csrf::require_loopback_host(headers)?;
        return Ok(Writer::Local);
    }
    let Some(given) = given else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing `Authorization: Bearer <token>`; this server takes writes with a token only",
        ));
    };
    let token = given
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or_default();
    let mut found = None;
    for (known, who) in &shared.tokens {
        if constant_time_eq(known.as_bytes(), token.as_bytes()) {
            found = Some(who);
        }
    }
    match found {
        Some(who) => Ok(Writer::Token {
            name: who.name.clone(),
            email: who.email.clone(),
        }),
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "unknown token",
        )),
    }
}

fn parse_body(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request("the body must be a JSON object")),
        Err(e) => Err(ApiError::bad_request(format!("the body is not JSON: {e}"))),
    }
}

fn take_string(map: &mut Map<String, Value>, key: &str) -> Result<Option<String>, ApiError> {
    match map.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::bad_request(format!("`{key}` must be a string"))),
    }
}

fn required(map: &mut Map<String, Value>, key: &str) -> Result<String, ApiError> {
    take_string(map, key)?
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request(format!("`{key}` is required")))
}

/// The record of `name@version` at the served ref's tip, as JSON.
fn record_json(
    shared: &Shared,
    store: &Store,
    name: &PromptName,
    version: &Version,
) -> Result<Bytes, ApiError> {
    let tip = store
        .repo()
        .refname_to_id(&shared.refname)
        .map_err(|e| ApiError::internal(e.to_string()))?
        .to_string();
    let selector = Selector {
        name: name.clone(),
        target: Some(Target::Version(version.clone())),
    };
    let fetched = fetch(store, &selector, Some(&tip))?;
    let full = prompt_record(store, &fetched, Some(&tip))?;
    Ok(Bytes::from(pretty(&full.record)?))
}

async fn create(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
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

/// The working tree's `prompt.yaml` of `name` (if any) with `fields` laid over it: a field set
/// to null is removed, and giving `system_prompt` (`examples`) drops `system_prompt_file`
/// (`examples_file`) unless that is given too.
fn merged_prompt(
    workdir: &Path,
    name: &PromptName,
    fields: Map<String, Value>,
) -> Result<String, ApiError> {
    let known = prompt_fields();
    for key in fields.keys() {
        if !known.iter().any(|k| k == key) {
            return Err(unknown_field(key, known));
        }
    }
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

/// 422 for a request field that is not a `prompt.yaml` field, with the nearest one.
fn unknown_field(key: &str, known: &[String]) -> ApiError {
    let shown: String = key.chars().take(64).collect();
    let nearest = known
        .iter()
        .map(|candidate| (strsim::levenshtein(key, candidate), candidate))
        .filter(|(distance, _)| *distance <= 3)
        .min();
    let message = match nearest {
        Some((_, candidate)) => format!("unknown field `{shown}` (did you mean `{candidate}`?)"),
        None => format!(
            "unknown field `{shown}`; a release takes name, version or bump, description, \
             allow_unchanged and the prompt.yaml fields {}",
            known.join(", ")
        ),
    };
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-prompt", message)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PromoteBody {
    environment: String,
    reason: String,
    #[serde(default)]
    force: bool,
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags() {
        assert!(etag_matches("\"x\", W/\"y\"", "\"y\""));
        assert!(etag_matches("*", "\"y\""));
        assert!(!etag_matches("\"x\"", "\"y\""));
    }
}
