//! `list`: one row per prompt with its latest version and what each environment serves, and
//! the prompts that have files but no release yet.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;

use crate::model::version::latest_by;
use crate::store::tags::ReleaseTrees;
use crate::store::{ObjectId, Store};
use crate::{Error, PromptName, Result};
use promptreg_wire::record::ListRecord;

use crate::read::files::{prompt_files, read_prompt_file, FilesOf};
use crate::read::gaps::missing_tags;
use crate::read::summaries::SummaryCache;
use crate::read::{registry_at, revision_label, MissingTag};
use serde_json::Value;

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

/// What `list` found: the pipeline, one row per prompt, and what the clone lacks.
pub struct Listing {
    /// The pipeline of the revision's index, in order.
    pub environments: Vec<String>,
    pub rows: Vec<ListRecord>,
    /// Pointers of the index naming versions whose tags are not in this clone.
    pub missing_tags: Vec<MissingTag>,
}

/// Every prompt that has a version tag, an entry in the index, or a `prompt.yaml` at `revision`
/// (the working tree when no revision is given): released prompts first by name, those with
/// files only as `unreleased`.
pub fn list(store: &Store, filter: &Filter, revision: Option<&str>) -> Result<Listing> {
    let commit = store.commit(revision)?;
    let registry = registry_at(store, &commit, revision_label(revision), None)?;
    if let Some(env) = &filter.environment {
        registry.check_environment(env)?;
    }
    let all = store.all_version_tags()?;
    let files = prompt_files(
        store,
        match revision {
            Some(_) => FilesOf::Commit(&commit),
            None => FilesOf::WorkTree(&commit),
        },
    )?;
    let names: BTreeSet<&PromptName> = all
        .keys()
        .chain(registry.prompts.keys())
        .chain(files.keys())
        .collect();
    if let Some(domain) = &filter.domain {
        if !names.iter().any(|n| n.domain() == Some(domain.as_str())) {
            let known: BTreeSet<&str> = names.iter().filter_map(|n| n.domain()).collect();
            return Err(Error::UnknownDomain {
                domain: domain.clone(),
                known: known.into_iter().map(str::to_owned).collect(),
            });
        }
    }
    let mut trees = store.release_trees()?;
    let mut summaries = SummaryCache::load(store);
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
        let released = !versions.is_empty() || !pointers.is_empty();
        let newest = latest_by(versions, |(version, _)| version);
        let summary = match (newest, files.get(name)) {
            (Some((version, tag)), _) => {
                match summary_of(store, &mut trees, &mut summaries, name, version, *tag) {
                    Ok(summary) => summary,
                    // A tag shaped like a version but not a release (a lightweight `docs/v1.0.0`)
                    // does not make a prompt; one the index names or with files is still listed.
                    Err(Error::BadTag { .. })
                        if !registry.prompts.contains_key(name) && !files.contains_key(name) =>
                    {
                        continue
                    }
                    Err(Error::BadTag { .. }) => None,
                    Err(e) => return Err(e),
                }
            }
            (None, Some(file)) if !released => {
                read_prompt_file(store, file)?.and_then(|bytes| summary_in(&bytes, name))
            }
            (None, _) => None,
        };
        let environments = registry
            .environments
            .iter()
            .map(|env| {
                // A split shows its first entry here, as a reader without a key is served.
                let held = pointers
                    .get(env)
                    .map(|p| Value::String(p.first().to_string()));
                (env.clone(), held.unwrap_or(Value::Null))
            })
            .collect();
        let splits = pointers
            .iter()
            .filter_map(|(env, p)| p.split().map(|s| (env.clone(), s.to_wire())))
            .collect();
        rows.push(ListRecord {
            name: name.to_string(),
            domain: name.domain().map(str::to_owned),
            status: if released { "released" } else { "unreleased" }.to_owned(),
            latest: newest.map(|(version, _)| version.to_string()),
            versions: versions.len(),
            environments,
            summary,
            splits,
        });
    }
    summaries.save(store);
    Ok(Listing {
        missing_tags: missing_tags(&registry, &all, |(version, _)| version),
        environments: registry.environments.clone(),
        rows,
    })
}

/// The summary of a `prompt.yaml`'s bytes; `None` when it has none or does not parse (a
/// malformed file should not hide the rest of the list; `validate` reports it).
fn summary_in(bytes: &[u8], name: &PromptName) -> Option<String> {
    crate::model::yaml::parse::<SummaryOnly>(bytes, Path::new(&name.file()))
        .ok()
        .and_then(|s| s.summary)
}

/// The summary of the release `tag` names: from the cache of summaries by tag id, else read
/// through `trees` so that each release commit's `prompts/` tree is read once for the whole
/// list (many versions share a commit, and libgit2 does not cache large trees: a `prompts/`
/// tree of 10,000 entries is ~350 KiB), and cached.
fn summary_of(
    store: &Store,
    trees: &mut ReleaseTrees<'_>,
    summaries: &mut SummaryCache,
    name: &PromptName,
    version: &crate::Version,
    tag: ObjectId,
) -> Result<Option<String>> {
    if let Some(summary) = summaries.get(tag, name) {
        return Ok(summary);
    }
    let release = store.release_from(name, version, tag)?;
    let summary = match trees.prompt_file(release.commit, name)? {
        Some(file) => summary_in(&store.blob(file)?, name),
        None => None,
    };
    summaries.put(tag, name, summary.clone());
    Ok(summary)
}
