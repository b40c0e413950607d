//! Operations: what each command does, as library calls that return records or errors.

pub mod create;
pub mod example;
pub mod fetch;
pub mod init;
pub mod list;
pub mod promote;
pub mod versions;

use std::path::Path;

use git2::Commit;

use crate::registry::Registry;
use crate::store::Store;
use crate::{Error, PromptName, Result, REGISTRY_FILE};

/// The index as committed at `commit`; with `only`, just that prompt's entry is kept.
/// Parsed indexes are cached by blob id (see `store::cache`), so a repeated read of an unchanged
/// index costs a small file read instead of a parse.
pub fn registry_at(
    store: &Store,
    commit: &Commit<'_>,
    revision: &str,
    only: Option<&PromptName>,
) -> Result<Registry> {
    let tree = commit
        .tree()
        .map_err(Error::git("cannot read the commit's tree"))?;
    let id = store
        .entry_id(&tree, REGISTRY_FILE)
        .ok_or_else(|| Error::RegistryMissing {
            revision: revision.to_owned(),
        })?;
    if let Some(registry) = store
        .cache_get(REGISTRY_CACHE, id)
        .and_then(|text| Registry::from_cache(&text, only))
    {
        return Ok(registry);
    }
    let bytes = store
        .read_file(&tree, REGISTRY_FILE)?
        .ok_or_else(|| Error::RegistryMissing {
            revision: revision.to_owned(),
        })?;
    let mut registry = Registry::parse(&bytes, Path::new(REGISTRY_FILE))?;
    store.cache_put(REGISTRY_CACHE, id, &registry.to_cache());
    if let Some(name) = only {
        registry.prompts.retain(|n, _| n == name);
    }
    Ok(registry)
}

/// The cache kind of parsed indexes.
const REGISTRY_CACHE: &str = "registry";

/// How a revision is named in messages.
pub fn revision_label(revision: Option<&str>) -> &str {
    revision.unwrap_or("HEAD")
}

/// Up to five known prompt names that look like `name` (for "not found" messages).
pub fn nearby_names(store: &Store, name: &PromptName) -> Vec<String> {
    let Ok(all) = store.all_versions() else {
        return Vec::new();
    };
    let wanted = name.as_str();
    let mut scored: Vec<(usize, String)> = all
        .keys()
        .map(|known| known.as_str())
        .filter_map(|known| {
            let distance = strsim::levenshtein(known, wanted);
            let related = known.contains(wanted)
                || wanted.contains(known)
                || name
                    .domain()
                    .is_some_and(|d| known.starts_with(&format!("{d}/")));
            (distance <= 3 || related).then(|| (distance, known.to_owned()))
        })
        .collect();
    scored.sort();
    let mut names: Vec<String> = scored.into_iter().map(|(_, n)| n).take(5).collect();
    if names.is_empty() {
        names = all.keys().take(5).map(ToString::to_string).collect();
    }
    names
}

/// The error for a prompt with no versions.
pub fn not_found(store: &Store, name: &PromptName) -> Error {
    Error::PromptNotFound {
        name: name.to_string(),
        nearby: nearby_names(store, name),
    }
}
