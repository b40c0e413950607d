//! `list`: one row per prompt with its latest version and what each environment serves.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;

use crate::model::version::latest;
use crate::store::tags::ReleaseTrees;
use crate::store::Store;
use crate::{Error, PromptName, Result};
use promptreg_wire::record::ListRecord;

use crate::read::{registry_at, revision_label};

/// Which prompts to show.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Only prompts this environment holds a version of.
    pub environment: Option<String>,
    /// Only prompts in this domain.
    pub domain: Option<String>,
}

/// Just the summary of a `prompt.yaml` (the rest is skipped, not validated).
#[derive(Deserialize)]
struct SummaryOnly {
    summary: Option<String>,
}

/// Every prompt that has a version tag or an entry in the index at `revision`.
pub fn list(
    store: &Store,
    filter: &Filter,
    revision: Option<&str>,
) -> Result<(Vec<String>, Vec<ListRecord>)> {
    let commit = store.commit(revision)?;
    let registry = registry_at(store, &commit, revision_label(revision), None)?;
    if let Some(env) = &filter.environment {
        registry.check_environment(env)?;
    }
    let all = store.all_versions()?;
    let names: BTreeSet<&PromptName> = all.keys().chain(registry.prompts.keys()).collect();
    let mut trees = store.release_trees()?;
    let mut rows = Vec::new();
    for name in names {
        if filter
            .domain
            .as_deref()
            .is_some_and(|d| name.domain() != Some(d))
        {
            continue;
        }
        let pointers = registry.pointers(name);
        if filter
            .environment
            .as_ref()
            .is_some_and(|env| !pointers.contains_key(env))
        {
            continue;
        }
        let versions = all.get(name).map(Vec::as_slice).unwrap_or_default();
        let newest = latest(versions);
        let summary = match newest {
            Some(version) => match summary_of(store, &mut trees, name, version) {
                Ok(summary) => summary,
                // A tag shaped like a version but not a release (a lightweight `docs/v1.0.0`)
                // does not make a prompt; one the index names is still listed.
                Err(Error::BadTag { .. }) if !registry.prompts.contains_key(name) => continue,
                Err(Error::BadTag { .. }) => None,
                Err(e) => return Err(e),
            },
            None => None,
        };
        let environments = registry
            .environments
            .iter()
            .filter_map(|env| {
                pointers
                    .get(env)
                    .map(|v| (env.clone(), v.to_string().into()))
            })
            .collect();
        rows.push(ListRecord {
            name: name.to_string(),
            domain: name.domain().map(str::to_owned),
            latest: newest.map(ToString::to_string),
            versions: versions.len(),
            environments,
            summary,
        });
    }
    Ok((registry.environments.clone(), rows))
}

/// The summary of a release, read through `trees` so that each release commit's `prompts/` tree
/// is read once for the whole list (many versions share a commit, and libgit2 does not cache
/// large trees: a `prompts/` tree of 10,000 entries is ~350 KiB).
fn summary_of(
    store: &Store,
    trees: &mut ReleaseTrees<'_>,
    name: &PromptName,
    version: &crate::Version,
) -> Result<Option<String>> {
    let Some(release) = store.release(name, version)? else {
        return Ok(None);
    };
    let Some(file) = trees.prompt_file(release.commit, name)? else {
        return Ok(None);
    };
    let bytes = store.blob(file)?;
    // A malformed release should not hide the rest of the list; `validate` reports it.
    Ok(
        crate::model::yaml::parse::<SummaryOnly>(&bytes, Path::new(&name.file()))
            .ok()
            .and_then(|s| s.summary),
    )
}
