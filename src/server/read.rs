//! The GET routes: `/api/prompts` (the list) and under `/api/prompts/` a prompt's record, its
//! versions, its history and its test results, each read at the served ref's tip through
//! [`crate::read`] (or the command operation the CLI prints) and cached under the tip and the
//! prompt's tags (all tags, for the list).

use std::path::Path;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::access_log::{with_info, LogInfo};
use super::cache::{Cached, Key, Served};
use super::health::{health, unavailable};
use super::query::{self, split, Kind, Params, Query};
use super::response::PREFIX;
use super::{with_reader, ApiError, Shared};
use crate::model::selector::{Selector, Target};
use crate::read::fetch;
use crate::read::record::prompt_record;
use crate::store::Store;
use crate::{PromptName, Version};

/// `GET /api/prompts/…`: the read the path and query name, with an `ETag` (304 when it matches
/// `If-None-Match`) and `Cache-Control: no-cache`. With `wait=SECONDS` (on `/latest`) and an
/// `If-None-Match` that names the current answer, a long poll: the request is held until the
/// answer changes (then `200` with it) or the wait runs out (`304`); it is woken by the refs
/// watch, not by a timer.
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
        let name = PromptName::parse(name)?;
        let query = query::parse(kind, &uri)?;
        info.version = query.params.version.clone();
        info.environment = query.params.environment.clone();
        let held = headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok());
        let (Some(wait), Some(held)) = (query.wait, held) else {
            return answer(&shared, &name, kind, &query, None).await;
        };
        // A long poll: subscribed before the first answer is made, so a move of the tip while
        // it is being made still wakes the wait.
        let mut tips = shared.tips.clone();
        tips.mark_unchanged();
        let mut answer = answer(&shared, &name, kind, &query, None).await?;
        let deadline = tokio::time::Instant::now() + wait;
        let mut stop = shared.stop.subscribe();
        let mut watching = true;
        while etag_matches(held, &answer.cached.etag_for(answer.bucket)) {
            let moved = tokio::select! {
                changed = tips.changed(), if watching => match changed {
                    Ok(()) => Some(*tips.borrow_and_update()),
                    Err(_) => None,
                },
                () = tokio::time::sleep_until(deadline) => break,
                // Shutting down: the client is told nothing changed, and asks again elsewhere.
                _ = stop.wait_for(|stopping| *stopping) => break,
            };
            if let Some(tip) = moved {
                answer = self::answer(&shared, &name, kind, &query, tip).await?;
            } else {
                // No watch (an in-process router): only the deadline ends the wait.
                watching = false;
            }
        }
        Ok(answer)
    }
    .await;
    let response = match result {
        Ok(Answer { cached, bucket }) => {
            // The access log says what was served: the resolved version and the key's bucket,
            // never the key.
            if let Some(served) = &cached.served {
                info.version = Some(served.version.clone());
                info.environment = served.environment.clone().or(info.environment);
            }
            info.bucket = bucket;
            cached_response(&headers, &cached, bucket)
        }
        Err(e) => e.into_response(),
    };
    with_info(response, info)
}

/// The answer to a read at the served tip: from the cache on the connection's task when the
/// tip and the tags' stamps are settled (four `stat`s), else on the blocking pool. `watched`
/// is the tip the refs watch just published, when that is what woke a long poll: it was read
/// after the change, so it is trusted as the tip however young the ref's stamp (and the many
/// polls it wakes at once are answered from the cache on their own tasks, not one ref read each
/// on the blocking pool).
async fn answer(
    shared: &Arc<Shared>,
    name: &PromptName,
    kind: Kind,
    query: &Query,
    watched: Option<crate::store::ObjectId>,
) -> Result<Answer, ApiError> {
    let tip = watched.or_else(|| shared.state.tip());
    let stamp = tip.zip(shared.state.tags(name));
    if let Some(stamp) = stamp {
        if let Some(hit) = cached_read(shared, None, stamp, name, kind, query)? {
            return Ok(hit);
        }
    }
    let (shared, name, query) = (shared.clone(), name.clone(), query.clone());
    tokio::task::spawn_blocking(move || {
        with_reader(&shared.repo.clone(), |store| {
            let stamp = match stamp {
                Some(stamp) => stamp,
                None => stamp_of(&shared, store, &name)?,
            };
            cached_read(&shared, Some(store), stamp, &name, kind, &query)?
                .ok_or_else(|| ApiError::internal("a read with a store always answers"))
        })
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
}

/// `GET /api/prompts`: every prompt, exactly as `promptreg list --format json` lists them at the
/// tip (`?environment=` and `?domain=` as `--env` and `--domain`), cached and tagged as the
/// other reads.
pub(super) async fn list(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let mut info = LogInfo::default();
    let result = async {
        let query = query::parse(Kind::List, &uri)?;
        info.environment = query.params.environment.clone();
        // A hit is answered here: the tip and every tag directory from their stamps.
        if let Some(stamp) = shared.state.tip().zip(shared.state.all_tags()) {
            if let Some(hit) = shared.cache.get(&list_key(stamp, &query.params)) {
                return Ok(hit);
            }
        }
        let shared = shared.clone();
        tokio::task::spawn_blocking(move || {
            with_reader(&shared.repo.clone(), |store| {
                cached_list(&shared, store, &query.params)
            })
        })
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
    }
    .await;
    let response = match result {
        Ok(cached) => cached_response(&headers, &cached, None),
        Err(e) => e.into_response(),
    };
    with_info(response, info)
}

/// A cached answer as sent: `304` when `If-None-Match` names its tag, else the body; with its
/// `ETag` and `Cache-Control: no-cache` either way.
fn cached_response(headers: &HeaderMap, cached: &Cached, bucket: Option<u32>) -> Response {
    let etag = cached.etag_for(bucket);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| etag_matches(v, &etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            cached.body_for(bucket),
        )
            .into_response()
    };
    let h = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, etag);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// A read's answer: the cached body and, for a keyed read of a split, the key's bucket (which
/// goes into the body's hole).
pub(super) struct Answer {
    pub cached: Arc<Cached>,
    pub bucket: Option<u32>,
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

/// A fingerprint of every version tag: what [`tags_fingerprint`] takes of one prompt's, for all
/// of them (`packed-refs`, and the loose refs under `refs/tags/`).
fn all_tags_fingerprint(store: &Store) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let common = store.common_dir();
    if let Ok(meta) = std::fs::metadata(common.join("packed-refs")) {
        meta.len().hash(&mut hasher);
        meta.modified().ok().hash(&mut hasher);
    }
    let mut names = Vec::new();
    let mut pending = vec![common.join("refs/tags")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push(path);
            } else {
                names.push(path);
            }
        }
    }
    names.sort();
    names.hash(&mut hasher);
    hasher.finish()
}

/// What keys a read of `name` now: the served ref's tip (from memory when its files are
/// unchanged, else read and remembered) and a fingerprint of the prompt's tags (their stamps
/// when settled, else a listing of `refs/tags/<name>/`).
pub(super) fn stamp_of(
    shared: &Shared,
    store: &Store,
    name: &PromptName,
) -> Result<(crate::store::ObjectId, u64), ApiError> {
    let tip = match shared.state.tip() {
        Some(tip) => tip,
        None => served_tip(shared, store)?,
    };
    let tags = shared
        .state
        .tags(name)
        .unwrap_or_else(|| tags_fingerprint(store, name));
    Ok((tip, tags))
}

/// The served ref's tip, read from the repository and remembered in the served state: `503`
/// when it is missing or cannot be read (as `/healthz` says).
pub(super) fn served_tip(
    shared: &Shared,
    store: &Store,
) -> Result<crate::store::ObjectId, ApiError> {
    let stamp = shared.state.stamp_before_read();
    match store.ref_target(&shared.refname) {
        Ok(Some(tip)) => {
            shared.state.remember(stamp, tip);
            Ok(tip)
        }
        Ok(None) => Err(unavailable(
            "ref-missing",
            format!(
                "`{}` does not exist (deleted, or no commit yet); nothing to serve",
                shared.refname
            ),
        )),
        Err(e) => Err(unavailable(
            "repository-unreadable",
            format!("cannot read `{}`: {}", shared.refname, e.message()),
        )),
    }
}

/// The cache key of the list at `tip` with the tags' fingerprint `tags`.
fn list_key((tip, tags): (crate::store::ObjectId, u64), params: &Params) -> Key {
    Key {
        tip,
        tags,
        kind: Kind::List,
        name: String::new(),
        params: params.clone(),
        entry: None,
    }
}

/// The list at the served ref's tip, from the cache when the tip and the tags are unchanged.
pub(super) fn cached_list(
    shared: &Shared,
    store: &Store,
    params: &Params,
) -> Result<Arc<Cached>, ApiError> {
    let tip = match shared.state.tip() {
        Some(tip) => tip,
        None => served_tip(shared, store)?,
    };
    let tags = (shared.state.all_tags())
        .or_else(|| {
            // One walk: its stamps' fingerprint when they can be trusted, else its listing's.
            let walk = shared.state.walk_tags()?;
            Some(walk.stamped.unwrap_or(walk.listed))
        })
        .unwrap_or_else(|| all_tags_fingerprint(store));
    let key = list_key((tip, tags), params);
    if let Some(hit) = shared.cache.get(&key) {
        return Ok(hit);
    }
    let filter = crate::ops::list::Filter {
        environment: params.environment.clone(),
        domain: params.domain.clone(),
    };
    let revision = tip.to_string();
    let listing = crate::ops::list::list(store, &filter, Some(&revision))
        .map_err(|e| read_error(shared, store, e))?;
    let body = pretty(&listing.rows)?;
    let cached = Arc::new(Cached::new(body.as_bytes(), etag_of(&body)?, None));
    shared.cache.put(key, cached.clone());
    Ok(cached)
}

/// The answer to a read at the served ref's tip, from the cache when the tip and the prompt's
/// tags are unchanged. A keyed read of a split environment takes the environment's unkeyed
/// answer (cached as any other), assigns the key with the split rule, and serves that entry's
/// answer, cached once per entry; a key on an environment that does not split changes nothing.
/// `stamp` is the tip and tags fingerprint to read at ([`stamp_of`]). Without a `store`, only
/// the cache answers: `None` on a miss.
pub(super) fn cached_read(
    shared: &Shared,
    store: Option<&Store>,
    (tip, tags): (crate::store::ObjectId, u64),
    name: &PromptName,
    kind: Kind,
    query: &Query,
) -> Result<Option<Answer>, ApiError> {
    let params = &query.params;
    let key = Key {
        tip,
        tags,
        // `/latest` answers exactly what the bare route answers for the same environment.
        kind: if kind == Kind::Latest {
            Kind::Record
        } else {
            kind
        },
        name: name.to_string(),
        params: params.clone(),
        entry: None,
    };
    let unkeyed = match (shared.cache.get(&key), store) {
        (Some(hit), _) => hit,
        (None, None) => return Ok(None),
        (None, Some(store)) => {
            let cached = Arc::new(uncached_read(store, shared, name, &key)?);
            shared.cache.put(key.clone(), cached.clone());
            cached
        }
    };
    let split_key = query.key.as_deref();
    let (Some(split_key), Some(served)) = (split_key, unkeyed.served.as_ref()) else {
        return Ok(Some(Answer {
            cached: unkeyed,
            bucket: None,
        }));
    };
    let (Some(split), Some(environment)) = (&served.split, &served.environment) else {
        return Ok(Some(Answer {
            cached: unkeyed,
            bucket: None,
        }));
    };
    let bucket = promptreg_wire::split::bucket(name.as_str(), environment, split_key);
    let entry = promptreg_wire::split::assign(split, bucket)
        .ok_or_else(|| {
            ApiError::internal(format!(
                "the split of {environment} leaves bucket {bucket} unassigned"
            ))
        })?
        .version
        .clone();
    let entry_key = Key {
        entry: Some(entry.clone()),
        ..key
    };
    if let Some(hit) = shared.cache.get(&entry_key) {
        return Ok(Some(Answer {
            cached: hit,
            bucket: Some(bucket),
        }));
    }
    let Some(store) = store else {
        return Ok(None);
    };
    let cached = Arc::new(entry_read(
        store,
        shared,
        name,
        environment,
        split_key,
        &entry,
        tip,
    )?);
    shared.cache.put(entry_key, cached.clone());
    Ok(Some(Answer {
        cached,
        bucket: Some(bucket),
    }))
}

/// The answer of a keyed read whose key falls in `entry` of `environment`'s split: the record
/// `fetch NAME@ENV --key K` gives, kept with a hole where the bucket goes (its tag is the hash
/// of the body without a bucket, which any key assigned the entry shares).
fn entry_read(
    store: &Store,
    shared: &Shared,
    name: &PromptName,
    environment: &str,
    split_key: &str,
    entry: &str,
    tip: crate::store::ObjectId,
) -> Result<Cached, ApiError> {
    let revision = tip.to_string();
    let selector = Selector {
        name: name.clone(),
        target: Some(Target::Environment(environment.to_owned())),
    };
    let served = |e| read_error(shared, store, e);
    let fetched = fetch(store, &selector, Some(&revision), Some(split_key)).map_err(served)?;
    if fetched.release.version.to_string() != entry {
        return Err(ApiError::internal(format!(
            "the split rule assigned {entry} but the read resolved {}",
            fetched.release.version
        )));
    }
    let mut full = prompt_record(store, &fetched, Some(&revision)).map_err(served)?;
    full.record.bucket = None;
    let body = pretty(&full.record)?;
    // Pretty JSON puts every top-level key on its own line, two spaces in, and escapes line
    // breaks inside strings: this line is the record's own `bucket`.
    const FIELD: &str = "\n  \"bucket\": null";
    let at = body
        .find(FIELD)
        .ok_or_else(|| ApiError::internal("a record without `bucket`"))?
        + FIELD.len()
        - "null".len();
    let served = Served {
        version: full.record.version.clone(),
        environment: Some(environment.to_owned()),
        split: full.record.split.clone(),
    };
    Ok(Cached::with_hole(
        body.as_bytes(),
        at,
        "null".len(),
        etag_of(&body)?,
        Some(served),
    ))
}

/// The entity tag of a body: its Git blob id, the same on every replica serving the commit.
fn etag_of(body: &str) -> Result<String, ApiError> {
    crate::store::hash_blob(body.as_bytes())
        .map(|id| format!("\"{id}\""))
        .map_err(|e| ApiError::internal(e.to_string()))
}

/// The answer to the read `key` names, made afresh (no split key).
fn uncached_read(
    store: &Store,
    shared: &Shared,
    name: &PromptName,
    key: &Key,
) -> Result<Cached, ApiError> {
    let params = &key.params;
    let served = |e| read_error(shared, store, e);
    let revision = key.tip.to_string();
    let revision = Some(revision.as_str());
    let mut what = None;
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
            let environment = match &selector.target {
                Some(Target::Environment(env)) => Some(env.clone()),
                None => Some(fetched.registry.last_environment().to_owned()),
                Some(_) => None,
            };
            // A results file that does not parse does not take prompts offline: the record
            // comes without results (`validate` and `promote` report the file).
            let full = prompt_record(store, &fetched, revision).map_err(served)?;
            what = Some(Served {
                version: full.record.version.clone(),
                environment,
                split: full.record.split.clone(),
            });
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
        Kind::Promote | Kind::Split | Kind::Rollback | Kind::List | Kind::Events => {
            unreachable!("not a read of one prompt: routed elsewhere")
        }
    };
    Ok(Cached::new(body.as_bytes(), etag_of(&body)?, what))
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

/// What a write answers with.
pub(super) enum Moved<'a> {
    /// The record of a version, with the split of the environment named (a canary's), if it
    /// splits now.
    Version(&'a Version, Option<&'a str>),
    /// The record of what an environment serves without a key (with its split).
    Environment(&'a str),
}

/// The record a write answers with, at the served ref's tip, as JSON.
pub(super) fn record_json(
    shared: &Shared,
    store: &Store,
    name: &PromptName,
    moved: &Moved<'_>,
) -> Result<Bytes, ApiError> {
    let tip = store
        .ref_target(&shared.refname)
        .map_err(|e| ApiError::internal(e.to_string()))?
        .ok_or_else(|| ApiError::internal(format!("`{}` does not exist", shared.refname)))?
        .to_string();
    let (target, split_of) = match moved {
        Moved::Version(version, environment) => (Target::Version((*version).clone()), *environment),
        Moved::Environment(environment) => (Target::Environment((*environment).to_owned()), None),
    };
    let selector = Selector {
        name: name.clone(),
        target: Some(target),
    };
    let fetched = fetch(store, &selector, Some(&tip), None)?;
    let mut full = prompt_record(store, &fetched, Some(&tip))?;
    if let Some(environment) = split_of {
        full.record.split = fetched
            .registry
            .pointer(name, environment)
            .and_then(|pointer| pointer.split())
            .map(|split| split.to_wire());
    }
    Ok(Bytes::from(pretty(&full.record)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::Mutex;

    use crate::model::registry::{Percent, Share};
    use crate::ops::split::{split, SplitRequest};
    use crate::server::cache::ResponseCache;
    use crate::server::error::Redact;
    use crate::server::query::Params;
    use crate::store::identity::{Identity, Signatures};

    fn signatures() -> Signatures {
        let who = Identity {
            name: "T".into(),
            email: "t@example.com".into(),
            when: chrono::Utc::now().fixed_offset(),
        };
        Signatures {
            author: who.clone(),
            committer: who,
        }
    }

    fn shared_for(repo: std::path::PathBuf) -> Shared {
        Shared {
            state: crate::server::state::ServedState::new(&repo, "refs/heads/main"),
            repo,
            refname: "refs/heads/main".into(),
            tokens: BTreeMap::new(),
            read_tokens: BTreeMap::new(),
            cors: Vec::new(),
            local_identity: None,
            cache: ResponseCache::new(crate::server::CACHE_BUDGET),
            health: Mutex::new(None),
            redact: Redact::default(),
            notify: Arc::new(|_: &str| {}),
            log: None,
            tips: tokio::sync::watch::channel(None).1,
            events: crate::server::events::EventHub::default(),
            stop: tokio::sync::watch::channel(false).0,
        }
    }

    /// Dates every file and directory under `dir` a minute back, as if the refs had settled.
    fn settle(dir: &Path) {
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            if entry.file_type().unwrap().is_dir() {
                settle(&entry.path());
            }
        }
        std::fs::File::open(dir).unwrap().set_modified(old).unwrap();
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            if entry.file_type().unwrap().is_file() {
                std::fs::File::options()
                    .write(true)
                    .open(entry.path())
                    .unwrap()
                    .set_modified(old)
                    .unwrap();
            }
        }
    }

    /// Once the refs have settled, a read seen before is answered from memory alone (no
    /// repository handle: what the connection's task does); a promotion makes it a miss.
    #[cfg(unix)]
    #[test]
    fn a_settled_hit_needs_no_repository_and_a_promotion_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("ex");
        crate::ops::example::init_example(&repo, &signatures()).unwrap();
        let store = Store::discover(&repo).unwrap();
        settle(&store.common_dir().join("refs"));
        if store.common_dir().join("packed-refs").exists() {
            settle(store.common_dir());
        }
        let shared = shared_for(repo);
        let name = PromptName::parse("support/refund-agent").unwrap();
        let query = Query {
            params: Params {
                version: None,
                environment: Some("production".into()),
                domain: None,
                prompt: None,
            },
            key: None,
            wait: None,
        };
        assert_eq!(shared.state.tip(), None, "nothing read yet");
        let stamp = stamp_of(&shared, &store, &name).unwrap();
        let first = cached_read(&shared, Some(&store), stamp, &name, Kind::Latest, &query)
            .unwrap()
            .unwrap();
        let tip = shared.state.tip().expect("the tip is in memory");
        let tags = shared.state.tags(&name).expect("the tags are settled");
        assert_eq!((tip, tags), stamp);
        let hit = cached_read(&shared, None, (tip, tags), &name, Kind::Versions, &query).unwrap();
        assert!(hit.is_none(), "a read not seen before needs the repository");
        let hit = cached_read(&shared, None, (tip, tags), &name, Kind::Latest, &query)
            .unwrap()
            .expect("a hit without a store");
        assert!(Arc::ptr_eq(&hit.cached, &first.cached));

        let request = crate::ops::promote::PromoteRequest {
            name: name.clone(),
            version: Version::parse("1.2.0").unwrap(),
            environment: "production".into(),
            reason: "next".into(),
            force: true,
            canary: None,
        };
        crate::ops::promote::promote(&store, &request, &signatures()).unwrap();
        assert_eq!(shared.state.tip(), None, "the ref file was replaced");
        let moved = stamp_of(&shared, &store, &name).unwrap();
        assert_ne!(moved.0, tip);
        let answer = cached_read(&shared, Some(&store), moved, &name, Kind::Latest, &query)
            .unwrap()
            .unwrap();
        assert_eq!(answer.cached.served.as_ref().unwrap().version, "1.2.0");
    }

    /// A million user ids must not make a million cache entries: keyed reads of a split keep
    /// the environment's answer and one per entry, and the body of each carries its key's
    /// bucket and the version the rule assigns.
    #[tokio::test]
    async fn keyed_reads_cache_one_answer_per_entry_not_per_key() {
        let dir = tempfile::tempdir().unwrap();
        let signatures = signatures();
        let repo = dir.path().join("ex");
        crate::ops::example::init_example(&repo, &signatures).unwrap();
        let store = Store::discover(&repo).unwrap();
        let name = PromptName::parse("support/refund-agent").unwrap();
        let share = |version: &str, percent: &str| Share {
            version: Version::parse(version).unwrap(),
            percent: Percent::parse(percent).unwrap(),
        };
        let request = SplitRequest {
            name: name.clone(),
            environment: "staging".into(),
            shares: vec![share("1.1.0", "90"), share("1.2.0", "10")],
            reason: "canary".into(),
            force: false,
        };
        split(&store, &request, &signatures).unwrap();
        let shared = shared_for(repo);
        let mut served = BTreeSet::new();
        for i in 0..1000 {
            let key = format!("user-{i}");
            let query = Query {
                params: Params {
                    version: None,
                    environment: Some("staging".into()),
                    domain: None,
                    prompt: None,
                },
                key: Some(key.clone()),
                wait: None,
            };
            let stamp = stamp_of(&shared, &store, &name).unwrap();
            let answer = cached_read(&shared, Some(&store), stamp, &name, Kind::Latest, &query)
                .unwrap()
                .unwrap();
            let bucket = promptreg_wire::split::bucket(name.as_str(), "staging", &key);
            assert_eq!(answer.bucket, Some(bucket));
            let expected = if bucket < 9000 { "1.1.0" } else { "1.2.0" };
            let version = answer.cached.served.as_ref().unwrap().version.clone();
            assert_eq!(version, expected, "{key}");
            if i % 100 == 0 || version == "1.2.0" {
                let body = axum::body::to_bytes(answer.cached.body_for(answer.bucket), 1 << 20)
                    .await
                    .unwrap();
                let record: serde_json::Value = serde_json::from_slice(&body).unwrap();
                assert_eq!(record["bucket"], bucket);
                assert_eq!(record["version"], expected);
            }
            served.insert(version);
        }
        assert_eq!(served.len(), 2, "both entries were served");
        assert_eq!(
            shared.cache.len(),
            3,
            "the environment's answer and one per entry"
        );
    }

    #[test]
    fn etags() {
        assert!(etag_matches("\"x\", W/\"y\"", "\"y\""));
        assert!(etag_matches("*", "\"y\""));
        assert!(!etag_matches("\"x\"", "\"y\""));
    }
}
