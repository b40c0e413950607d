//! `versions`: every release of one prompt, semver-ordered, with its status.

use crate::record::VersionRecord;
use crate::store::Store;
use crate::{PromptName, Result};

use super::{not_found, registry_at, revision_label};

/// The releases of `name`, ascending by semver; status comes from the index at `revision`.
pub fn versions(
    store: &Store,
    name: &PromptName,
    revision: Option<&str>,
) -> Result<Vec<VersionRecord>> {
    let commit = store.commit(revision)?;
    let registry = registry_at(store, &commit, revision_label(revision), Some(name))?;
    let tags = store.versions(name)?;
    if tags.is_empty() {
        return Err(not_found(store, name));
    }
    tags.into_iter()
        .map(|(version, target)| {
            let release = store.release_from(name, &version, target)?;
            let environments = registry.holders(name, &version);
            Ok(VersionRecord {
                version: version.to_string(),
                status: environments
                    .last()
                    .cloned()
                    .unwrap_or_else(|| crate::registry::DRAFT.to_owned()),
                environments,
                created_by: release.created_by,
                created_at: release.created_at.to_rfc3339(),
                description: release.description,
                commit: release.commit.to_string(),
                tag: release.tag,
            })
        })
        .collect()
}
