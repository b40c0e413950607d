//! The index at a revision: `registry.yaml` read from a commit, whole or cut down to one prompt's
//! entry, through the parsed-index cache.

use std::path::Path;

use crate::model::registry::Registry;
use crate::store::{CommitView, ObjectId, Store};
use crate::{Error, PromptName, Result, REGISTRY_FILE};

/// The index as committed at `commit`; with `only`, just that prompt's entry is kept.
///
/// A full parse of a large index takes tens of milliseconds (75 ms at 10,000 prompts), so parsed
/// indexes are cached by blob id (see `store::cache`): the first read of an index pays for the
/// parse once, later reads cost a small file read. `promote` caches the index it writes, so
/// only indexes that arrive by other means (a pull, a hand edit) are ever parsed on a read.
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
    if let Some(registry) = cached_entry(store, id, name) {
        return Ok(registry);
    }
    let mut registry = registry_of_blob(store, id)?;
    registry.prompts.retain(|n, _| n == name);
    Ok(registry)
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

/// The blob id of `registry.yaml` in a commit.
pub fn registry_blob(store: &Store, commit: &CommitView<'_>) -> Option<ObjectId> {
    store.entry_id(&commit.tree().ok()?, REGISTRY_FILE)
}
