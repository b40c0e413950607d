//! What the pages show, read as the API reads it: through the response cache at the served tip
//! (`read::cached_list`, `read::cached_read`), or, for what the API has no route for (the whole
//! registry's history, a comparison), through the command's operation at the same tip.
//!
//! Runs on the blocking pool ([`blocking`]): a cache miss is Git work.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::Value;

use super::super::cache::Cached;
use super::super::query::{Kind, Params, Query};
use super::super::{read, with_reader, ApiError, Shared};
use crate::ops::diff::{PromptDiff, Side};
use crate::store::{ObjectId, Store};
use crate::PromptName;
use promptreg_wire::record::ListRecord;

/// One prompt of the index page: its list row, its tags (of its latest version) and the text
/// the filter searches (lower-case).
pub(crate) struct Row {
    pub record: ListRecord,
    pub tags: Vec<String>,
    pub search: String,
}

/// The list at one tip, parsed once: kept while the cached list's entity tag is the same.
pub(crate) struct Index {
    etag: String,
    pub environments: Vec<String>,
    pub rows: Vec<Row>,
    pub domains: Vec<String>,
    pub tags: Vec<String>,
}

/// What the UI derived from the served tip, kept until it moves, and the tags of each release
/// (a release never changes, so they are kept across tips).
#[derive(Default)]
pub(crate) struct Derived {
    index: Mutex<Option<Arc<Index>>>,
    history: Mutex<Option<(ObjectId, Arc<Events>)>>,
    tags: Mutex<HashMap<(String, String), Vec<String>>>,
    /// Held while the index is looked up or made: a request that comes while the refs watch's
    /// warm-up (or another request) makes it waits for that one instead of making it again.
    making: Mutex<()>,
}

/// Audit-trail events as the API serializes them, with what the history page filters on read
/// out once: each event's environment and its day (UTC); for the registry's, its pipeline.
pub(crate) struct Events {
    pub events: Vec<Value>,
    pub pipeline: Vec<String>,
    pub environments: Vec<Option<String>>,
    pub days: Vec<Option<chrono::NaiveDate>>,
}

impl Events {
    pub fn new(events: Vec<Value>, pipeline: Vec<String>) -> Self {
        let environments = events
            .iter()
            .map(|e| {
                e.get("environment")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .collect();
        let days = events
            .iter()
            .map(|e| {
                e.get("at")
                    .and_then(Value::as_str)
                    .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
                    .map(|at| at.with_timezone(&chrono::Utc).date_naive())
            })
            .collect();
        Events {
            events,
            pipeline,
            environments,
            days,
        }
    }
}

/// Runs `f` with this pool thread's repository handle, on the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    shared: &Arc<Shared>,
    f: impl FnOnce(&Shared, &Store) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let shared = shared.clone();
    tokio::task::spawn_blocking(move || {
        with_reader(&shared.repo.clone(), |store| f(&shared, store))
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
}

/// A cached body's bytes (it is in memory: the body is ready at once).
fn bytes(cached: &Cached) -> Result<Vec<u8>, ApiError> {
    let body = cached.body_for(None);
    tokio::runtime::Handle::current()
        .block_on(axum::body::to_bytes(body, usize::MAX))
        .map(|b| b.to_vec())
        .map_err(|e| ApiError::internal(e.to_string()))
}

#[derive(Deserialize)]
struct TagsOnly {
    #[serde(default)]
    tags: Vec<String>,
}

/// Every prompt at the served tip: `GET /api/prompts`'s cached answer, parsed (and the tags of
/// each latest version read) once per answer.
pub(crate) fn index(
    shared: &Shared,
    store: &Store,
    derived: &Derived,
) -> Result<Arc<Index>, ApiError> {
    let _making = derived.making.lock().expect("index lock");
    let cached = read::cached_list(shared, store, &Params::default())?;
    if let Some(index) = derived.index.lock().expect("index lock").as_ref() {
        if index.etag == cached.etag {
            return Ok(index.clone());
        }
    }
    let records: Vec<ListRecord> = serde_json::from_slice(&bytes(&cached)?)
        .map_err(|e| ApiError::internal(format!("the cached list: {e}")))?;
    let environments = records
        .first()
        .map(|r| r.environments.keys().cloned().collect())
        .unwrap_or_default();
    let mut trees = store.release_trees().map_err(ApiError::from)?;
    let mut known = derived.tags.lock().expect("tags lock");
    let mut domains = BTreeSet::new();
    let mut all_tags = BTreeSet::new();
    let mut rows = Vec::with_capacity(records.len());
    for record in records {
        let tags = match &record.latest {
            Some(latest) => known
                .entry((record.name.clone(), latest.clone()))
                .or_insert_with(|| latest_tags(store, &mut trees, &record).unwrap_or_default())
                .clone(),
            None => Vec::new(),
        };
        let mut search = format!(
            "{} {} {}",
            record.name,
            record.summary.as_deref().unwrap_or_default(),
            tags.join(" ")
        );
        search.make_ascii_lowercase();
        if let Some(domain) = &record.domain {
            domains.insert(domain.clone());
        }
        all_tags.extend(tags.iter().cloned());
        rows.push(Row {
            record,
            tags,
            search,
        });
    }
    drop(known);
    let index = Arc::new(Index {
        etag: cached.etag.clone(),
        environments,
        rows,
        domains: domains.into_iter().collect(),
        tags: all_tags.into_iter().collect(),
    });
    *derived.index.lock().expect("index lock") = Some(index.clone());
    Ok(index)
}

/// The tags of a row's latest version, read as `list` reads its summary (each release commit's
/// `prompts/` tree once); none when it has no release or its file does not parse.
fn latest_tags(
    store: &Store,
    trees: &mut crate::store::tags::ReleaseTrees<'_>,
    record: &ListRecord,
) -> Option<Vec<String>> {
    let name = PromptName::parse(&record.name).ok()?;
    let version = crate::Version::parse(record.latest.as_deref()?).ok()?;
    let release = store.release(&name, &version).ok()??;
    let file = trees.prompt_file(release.commit, &name).ok()??;
    let bytes = store.blob(file).ok()?;
    crate::model::yaml::parse::<TagsOnly>(&bytes, Path::new(&name.file()))
        .ok()
        .map(|t| t.tags)
}

/// The API's answer to a read of `name` (`kind`, with `params`), from the response cache at
/// the served tip, as JSON.
pub(crate) fn api_read(
    shared: &Shared,
    store: &Store,
    name: &PromptName,
    kind: Kind,
    params: Params,
) -> Result<Value, ApiError> {
    let stamp = read::stamp_of(shared, store, name)?;
    let query = Query {
        params,
        key: None,
        wait: None,
    };
    let answer = read::cached_read(shared, Some(store), stamp, name, kind, &query)?
        .ok_or_else(|| ApiError::internal("a read with a store always answers"))?;
    serde_json::from_slice(&bytes(&answer.cached)?)
        .map_err(|e| ApiError::internal(format!("a cached answer: {e}")))
}

/// The served tip (from memory when its ref files are unchanged).
fn tip(shared: &Shared, store: &Store) -> Result<ObjectId, ApiError> {
    match shared.state.tip() {
        Some(tip) => Ok(tip),
        None => read::served_tip(shared, store),
    }
}

/// The whole registry's audit trail at the served tip (`promptreg history --format json`),
/// kept until the tip moves.
pub(crate) fn registry_history(
    shared: &Shared,
    store: &Store,
    derived: &Derived,
) -> Result<Arc<Events>, ApiError> {
    let tip = tip(shared, store)?;
    if let Some((at, events)) = derived.history.lock().expect("history lock").as_ref() {
        if *at == tip {
            return Ok(events.clone());
        }
    }
    let query = crate::ops::history::Query {
        name: None,
        environment: None,
        since: None,
        revision: Some(tip.to_string()),
    };
    let history = crate::ops::history::history(store, &query)?;
    let events = history
        .events
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let pipeline = pipeline(shared, store, None)?.0;
    let events = Arc::new(Events::new(events, pipeline));
    *derived.history.lock().expect("history lock") = Some((tip, events.clone()));
    Ok(events)
}

/// `promptreg diff NAME A B` at the served tip; `a` and `b` are versions, environments or
/// `latest` (never the server's working tree).
pub(crate) fn compare(
    shared: &Shared,
    store: &Store,
    name: &PromptName,
    a: &str,
    b: &str,
) -> Result<PromptDiff, ApiError> {
    let side = |text: &str| match Side::parse(text)? {
        Side::Worktree => Err(ApiError::bad_request(
            "the web UI compares released versions and environments, not the server's working tree",
        )),
        side => Ok(side),
    };
    let (a, b) = (side(a)?, side(b)?);
    let tip = tip(shared, store)?.to_string();
    Ok(crate::ops::diff::diff(store, name, &a, &b, Some(&tip))?)
}

#[derive(Deserialize)]
struct ComponentsOnly {
    system_prompt_file: Option<String>,
    examples_file: Option<String>,
}

/// The component files a release's `prompt.yaml` names (`system_prompt_file`, `examples_file`)
/// as `(key, path)`: the record has their content read in, not their names.
pub(crate) fn components(
    store: &Store,
    name: &PromptName,
    version: &str,
) -> Result<Vec<(&'static str, String)>, ApiError> {
    let version = crate::Version::parse(version)?;
    let Some(release) = store.release(name, &version)? else {
        return Ok(Vec::new());
    };
    let mut trees = store.release_trees()?;
    let Some(file) = trees.prompt_file(release.commit, name)? else {
        return Ok(Vec::new());
    };
    let bytes = store.blob(file)?;
    let Ok(named) = crate::model::yaml::parse::<ComponentsOnly>(&bytes, Path::new(&name.file()))
    else {
        return Ok(Vec::new());
    };
    Ok([
        ("system_prompt_file", named.system_prompt_file),
        ("examples_file", named.examples_file),
    ]
    .into_iter()
    .filter_map(|(key, path)| path.map(|p| (key, p)))
    .collect())
}

/// What one environment serves: a version, or a split (each version with its share).
#[derive(serde::Serialize)]
pub(crate) struct Serves {
    pub environment: String,
    pub version: Option<String>,
    pub split: Option<Vec<Share>>,
}

#[derive(serde::Serialize)]
pub(crate) struct Share {
    pub version: String,
    pub percent: f64,
}

/// The pipeline and, with `name`, what each environment serves of it, from the index at the
/// served tip — for one prompt only its entry is read, as `fetch` reads it.
pub(crate) fn pipeline(
    shared: &Shared,
    store: &Store,
    name: Option<&PromptName>,
) -> Result<(Vec<String>, Vec<Serves>), ApiError> {
    let tip = tip(shared, store)?.to_string();
    let commit = store.commit(Some(&tip))?;
    let registry = crate::read::registry_at(store, &commit, &tip, name)?;
    let Some(name) = name else {
        return Ok((registry.environments, Vec::new()));
    };
    let pointers = registry.pointers(name);
    let serves = registry
        .environments
        .iter()
        .map(|env| {
            let pointer = pointers.get(env);
            Serves {
                environment: env.clone(),
                version: pointer.map(|p| p.first().to_string()),
                split: pointer.and_then(|p| p.split()).map(|split| {
                    split
                        .to_wire()
                        .into_iter()
                        .map(|e| Share {
                            version: e.version,
                            percent: e.percent.as_number(),
                        })
                        .collect()
                }),
            }
        })
        .collect();
    Ok((registry.environments, serves))
}
