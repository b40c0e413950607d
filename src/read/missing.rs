//! The errors for what a read did not find, with what exists instead: similar prompt names for a
//! prompt that has no versions, the released versions for a version that has no tag.

use crate::store::Store;
use crate::{Error, PromptName, Version};

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

/// The error for a version that has no tag.
pub fn missing_version(store: &Store, name: &PromptName, version: &Version) -> Error {
    match store.versions(name) {
        Ok(versions) if !versions.is_empty() => Error::VersionNotFound {
            name: name.to_string(),
            version: version.to_string(),
            existing: versions.into_iter().map(|(v, _)| v.to_string()).collect(),
        },
        _ => not_found(store, name),
    }
}
