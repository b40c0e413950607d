//! The index at a revision: `registry.yaml` read from a commit, whole or cut down to one prompt's
//! entry, through the parsed-index cache.

use std::path::Path;
use std::sync::Mutex;

use crate::model::registry::Registry;
use crate::store::memo::Memo;
use crate::store::{CommitView, ObjectId, Store};
use crate::{Error, PromptName, Result, REGISTRY_FILE};

/// The index as committed at `commit`; with `only`, just that prompt's entry is kept.
///
/// A one-prompt read of an index with no cache entry takes the entry alone from the text (one
/// pass over its lines, `Registry::parse_for`) and caches that entry by blob id and name;
/// whole indexes are cached by blob id (see `store::cache`), so later reads of one cost a small
/// file read. `promote` caches the index it writes; `list` and the server cache the ones they
/// read whole.
pub fn registry_at(
    store: &Store,
    commit: &CommitView<'_>,
    revision: &str,
    only: Option<&PromptName>,
) -> Result<Registry> {
    let tree = commit
        .tree()
        .map_err(Error::git("cannot read the commit's tree"))?;
    let missing = || Error::RegistryMissing {
        revision: revision.to_owned(),
    };
    let id = store.entry_id(&tree, REGISTRY_FILE).ok_or_else(missing)?;
    let Some(name) = only else {
        return registry_of_blob(store, id);
    };
    if let Some(parsed) = PARSED.peek(id) {
        return Ok(one_entry(&parsed, name));
    }
    // The first read of an index in this process takes the one entry from the disk cache; a
    // process that reads the same index again (the server, a loop over prompts) keeps it whole.
    if first_sight(id) {
        if let Some(registry) = cached_entry(store, id, name) {
            return Ok(registry);
        }
        if let Some(registry) = cached_one(store, id, name) {
            return Ok(registry);
        }
        // Not cached (a fresh clone, a pull): one pass over the text finds the entry, without
        // parsing the others; a process that comes back for more parses it whole below. The
        // entry is kept on its own, so the next process reading this prompt (a script, the
        // next `fetch`) does not read the 650 KiB index again.
        let blob = store
            .read_blob(id)
            .map_err(Error::git("cannot read registry.yaml"))?;
        let registry = Registry::parse_for(&blob, Path::new(REGISTRY_FILE), name)?;
        remember_one(store, id, name, &registry);
        return Ok(registry);
    }
    let parsed = PARSED.get(id, || {
        let registry = registry_of_blob(store, id).ok()?;
        let cost = estimated_bytes(&registry);
        Some((registry, cost))
    });
    match parsed {
        Some(parsed) => Ok(one_entry(&parsed, name)),
        // It does not parse: the direct path reports why.
        None => {
            let mut registry = registry_of_blob(store, id)?;
            registry.prompts.retain(|n, _| n == name);
            Ok(registry)
        }
    }
}

/// Parsed indexes by blob id, shared by the process's threads (each is made once, however many
/// threads need it at the same moment), up to about 64 MiB: a 10,000-prompt index is about
/// 4 MiB, and only the newest one or two are hot.
static PARSED: Memo<Registry> = Memo::new(64 << 20);

/// The blob ids of the last few indexes a one-prompt read saw in this process.
static SEEN: Mutex<Vec<ObjectId>> = Mutex::new(Vec::new());

/// Whether this is the first one-prompt read of index `id` in this process (of late); notes it.
fn first_sight(id: ObjectId) -> bool {
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    if seen.contains(&id) {
        return false;
    }
    if seen.len() >= 8 {
        seen.remove(0);
    }
    seen.push(id);
    true
}

/// `parsed` cut down to `name`'s entry: what a read for one prompt gets.
fn one_entry(parsed: &Registry, name: &PromptName) -> Registry {
    Registry {
        format: parsed.format,
        environments: parsed.environments.clone(),
        prompts: parsed
            .prompts
            .get_key_value(name)
            .map(|(name, pointers)| (name.clone(), pointers.clone()))
            .into_iter()
            .collect(),
        access: parsed.access.clone(),
        policy: parsed.policy.clone(),
    }
}

/// About how many bytes a parsed index holds (names, pointers and the maps around them).
fn estimated_bytes(registry: &Registry) -> usize {
    let entries: usize = registry
        .prompts
        .iter()
        .map(|(name, pointers)| 96 + name.as_str().len() + 96 * pointers.len())
        .sum();
    4096 + entries
}

/// One prompt's entry of the cached index of blob `id`, found by binary search in the cached
/// file instead of reading all of it; `None` when that index is not cached.
fn cached_entry(store: &Store, id: ObjectId, name: &PromptName) -> Option<Registry> {
    let hit = store.cache_find(
        REGISTRY_CACHE,
        id,
        crate::model::registry::CACHE_HEAD_LINES,
        name.as_str(),
        crate::model::registry::cache_key,
    )?;
    Registry::from_cache_lines(&hit.head, &hit.last, hit.found.as_deref())
}

/// One prompt's entry of index `id` as an earlier one-prompt read kept it (see
/// [`remember_one`]); `None` when none did.
fn cached_one(store: &Store, id: ObjectId, name: &PromptName) -> Option<Registry> {
    let text = store.cache_get(ENTRY_CACHE, one_key(id, name)?)?;
    let registry = Registry::from_cache(&text)?;
    // A key is a hash: the entry it names must be this prompt's (or none).
    registry
        .prompts
        .keys()
        .all(|n| n == name)
        .then_some(registry)
}

/// Keeps `registry` (index `id` cut down to `name`'s entry) for the next one-prompt read.
fn remember_one(store: &Store, id: ObjectId, name: &PromptName, registry: &Registry) {
    if let Some(key) = one_key(id, name) {
        // Small (the head and one line); a few hundred cover the prompts read lately.
        store.cache_put(ENTRY_CACHE, key, &registry.to_cache(), 512);
    }
}

/// The key of `name`'s entry of index `id`: the hash of `<blob id> <name>`.
fn one_key(id: ObjectId, name: &PromptName) -> Option<ObjectId> {
    crate::store::hash_blob(format!("{id} {name}").as_bytes()).ok()
}

/// The whole index in blob `id` (cached by blob id).
pub fn registry_of_blob(store: &Store, id: ObjectId) -> Result<Registry> {
    if let Some(registry) = store
        .cache_get(REGISTRY_CACHE, id)
        .and_then(|text| Registry::from_cache(&text))
    {
        return Ok(registry);
    }
    let blob = store
        .read_blob(id)
        .map_err(Error::git("cannot read registry.yaml"))?;
    let registry = Registry::parse(&blob, Path::new(REGISTRY_FILE))?;
    remember_registry(store, id, &registry);
    Ok(registry)
}

/// The pipeline and one prompt's pointers in blob `id`: from the cache when it has the blob,
/// else by cutting the document down to that entry (no cache write: history walks thousands of
/// old indexes that will not be read again).
pub fn pointers_of_blob(
    store: &Store,
    id: ObjectId,
    name: &PromptName,
) -> Result<(Vec<String>, crate::model::registry::Pointers)> {
    let cached = cached_entry(store, id, name);
    let registry = match cached {
        Some(registry) => registry,
        None => {
            let blob = store
                .read_blob(id)
                .map_err(Error::git("cannot read registry.yaml"))?;
            Registry::parse_for(&blob, Path::new(REGISTRY_FILE), name)?
        }
    };
    let pointers = registry.pointers(name);
    Ok((registry.environments, pointers))
}

/// Caches a parsed index under its blob id.
pub fn remember_registry(store: &Store, id: ObjectId, registry: &Registry) {
    // A few: each is about 50 bytes per prompt, and only the newest index is hot.
    store.cache_put(REGISTRY_CACHE, id, &registry.to_cache(), 4);
}

/// The cache kind of parsed indexes.
const REGISTRY_CACHE: &str = "registry";
/// The cache kind of one prompt's entry of an index, with its head.
const ENTRY_CACHE: &str = "entry";

/// The blob id of `registry.yaml` in a commit.
pub fn registry_blob(store: &Store, commit: &CommitView<'_>) -> Option<ObjectId> {
    store.entry_id(&commit.tree().ok()?, REGISTRY_FILE)
}
