//! The GET routes under `/api/prompts/`: a prompt's record, its versions, its history and its
//! test results, each read at the served ref's tip through [`crate::read`] (or the command
//! operation the CLI prints) and cached under the tip and the prompt's tags.

use std::path::Path;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::access_log::{with_info, LogInfo};
use super::cache::{Cached, Key};
use super::health::{health, unavailable};
use super::query::{self, split, Kind, Params};
use super::response::PREFIX;
use super::{with_reader, ApiError, Shared};
use crate::model::selector::{Selector, Target};
use crate::read::fetch;
use crate::read::record::prompt_record;
use crate::store::Store;
use crate::{PromptName, Version};

/// `GET /api/prompts/…`: the read the path and query name, with an `ETag` (304 when it matches
/// `If-None-Match`) and `Cache-Control: no-cache`.
pub(super) async fn read(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
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

/// Whether an `If-None-Match` value names `etag` (weak or strong, or `*`).
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

/// The body of a read at the served ref's tip, from the cache when the tip and the prompt's tags
/// are unchanged.
fn cached_read(
    shared: &Shared,
    store: &Store,
    name: &PromptName,
    kind: Kind,
    params: &Params,
) -> Result<Arc<Cached>, ApiError> {
    let tip = match store.ref_target(&shared.refname) {
        Ok(Some(tip)) => tip,
        Ok(None) => {
            return Err(unavailable(
                "ref-missing",
                format!(
                    "`{}` does not exist (deleted, or no commit yet); nothing to serve",
                    shared.refname
                ),
            ))
        }
        Err(e) => {
            return Err(unavailable(
                "repository-unreadable",
                format!("cannot read `{}`: {}", shared.refname, e.message()),
            ))
        }
    };
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
            let fetched = fetch(store, &selector, revision, None).map_err(served)?;
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
            pretty(
                &crate::ops::history::history(store, &query)
                    .map_err(served)?
                    .events,
            )?
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
    let etag = crate::store::hash_blob(body.as_bytes())
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
        crate::Error::Yaml { file, .. }
        | crate::Error::Invalid { file, .. }
        | crate::Error::TooLarge { file, .. }
        | crate::Error::RegistryName { file, .. } => file == Path::new(crate::REGISTRY_FILE),
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
pub(super) fn pretty<T: serde::Serialize>(value: &T) -> Result<String, ApiError> {
    serde_json::to_string_pretty(value)
        .map(|s| s + "\n")
        .map_err(|e| ApiError::internal(e.to_string()))
}

/// The record of `name@version` at the served ref's tip, as JSON.
pub(super) fn record_json(
    shared: &Shared,
    store: &Store,
    name: &PromptName,
    version: &Version,
) -> Result<Bytes, ApiError> {
    let tip = store
        .ref_target(&shared.refname)
        .map_err(|e| ApiError::internal(e.to_string()))?
        .ok_or_else(|| ApiError::internal(format!("`{}` does not exist", shared.refname)))?
        .to_string();
    let selector = Selector {
        name: name.clone(),
        target: Some(Target::Version(version.clone())),
    };
    let fetched = fetch(store, &selector, Some(&tip), None)?;
    let full = prompt_record(store, &fetched, Some(&tip))?;
    Ok(Bytes::from(pretty(&full.record)?))
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
