//! `fetch`: resolve a selector to one released version and read its content.

use crate::history::Trailers;
use crate::prompt::{Prompt, PromptFile};
use crate::record::PromptRecord;
use crate::registry::Registry;
use crate::results::TestSummary;
use crate::selector::{Selector, Target};
use crate::store::{Release, Store};
use crate::version::latest;
use crate::{Error, PromptName, Result, Version};

use super::history::registry_blob;
use super::{not_found, registry_at, revision_label};

/// A resolved version: its release metadata, content and the index it was resolved against.
pub struct Fetched {
    pub release: Release,
    pub prompt: Prompt,
    pub registry: Registry,
    /// Version tags passed over while resolving `@latest` because they are not valid releases
    /// ([`Error::BadTag`]): the caller warns about them, `validate` reports them.
    pub skipped: Vec<Error>,
}

/// Who last changed which environments hold a version.
#[derive(Clone, Debug)]
pub struct Update {
    pub by: String,
    pub at: String,
}

/// Resolves `selector` against the index at `revision` (HEAD by default) and reads the version.
pub fn fetch(store: &Store, selector: &Selector, revision: Option<&str>) -> Result<Fetched> {
    let commit = store.commit(revision)?;
    let registry = registry_at(
        store,
        &commit,
        revision_label(revision),
        Some(&selector.name),
    )?;
    let name = &selector.name;
    let (version, skipped) =
        resolve_version_checked(store, &registry, name, selector.target.as_ref())?;
    let release = store
        .release(name, &version)?
        .ok_or_else(|| missing_version(store, name, &version))?;
    let prompt = read_prompt(store, &release)?;
    Ok(Fetched {
        release,
        prompt,
        registry,
        skipped,
    })
}

/// Which version a target means for `name` (see [`resolve_version_checked`]; the tags it
/// passed over are dropped).
pub fn resolve_version(
    store: &Store,
    registry: &Registry,
    name: &PromptName,
    target: Option<&Target>,
) -> Result<Version> {
    resolve_version_checked(store, registry, name, target).map(|(version, _)| version)
}

/// Which version a target means for `name`, and the version tags `@latest` passed over because
/// they are not valid releases (one bad tag must not take the whole prompt offline). An exact
/// version or an environment's pointer is never replaced: asking for a bad tag by name fails.
pub fn resolve_version_checked(
    store: &Store,
    registry: &Registry,
    name: &PromptName,
    target: Option<&Target>,
) -> Result<(Version, Vec<Error>)> {
    let environment = match target {
        Some(Target::Version(v)) => return Ok((v.clone(), Vec::new())),
        Some(Target::Latest) => return latest_valid(store, name),
        Some(Target::Environment(env)) => env.as_str(),
        None => registry.last_environment(),
    };
    registry.check_environment(environment)?;
    let pointers = registry.pointers(name);
    if let Some(version) = pointers.get(environment) {
        return Ok((version.clone(), Vec::new()));
    }
    if store.versions(name)?.is_empty() {
        return Err(not_found(store, name));
    }
    let elsewhere = registry
        .environments
        .iter()
        .filter_map(|env| pointers.get(env).map(|v| (env.clone(), v.to_string())))
        .collect();
    Err(Error::NotInEnvironment {
        name: name.to_string(),
        environment: environment.to_owned(),
        elsewhere,
    })
}

/// The highest version of `name` whose tag is a valid release, and the version tags above it
/// that were passed over (annotated tags of a tree, a blob or another tag; lightweight tags).
fn latest_valid(store: &Store, name: &PromptName) -> Result<(Version, Vec<Error>)> {
    let mut candidates = store.versions(name)?;
    let mut skipped = Vec::new();
    loop {
        let versions: Vec<Version> = candidates.iter().map(|(v, _)| v.clone()).collect();
        let Some(best) = latest(&versions).cloned() else {
            return Err(not_found(store, name));
        };
        let at = candidates
            .iter()
            .position(|(v, _)| *v == best)
            .expect("latest is one of them");
        match store.release_from(name, &best, candidates[at].1) {
            Ok(_) => {
                // Lightweight tags are not versions (`store.versions` leaves them out); one
                // that would have been newer is worth a warning too.
                let lightweight = store.lightweight_version_tags(name)?;
                skipped.extend(
                    lightweight
                        .into_iter()
                        .filter(|(v, _)| *v > best)
                        .map(|(_, e)| e),
                );
                return Ok((best, skipped));
            }
            Err(e @ Error::BadTag { .. }) => {
                skipped.push(e);
                candidates.remove(at);
            }
            Err(e) => return Err(e),
        }
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

/// Reads and resolves the prompt a release holds.
///
/// A release never changes, so its resolved prompt is cached by tag object id: a repeated fetch
/// reads one small file instead of walking (and inflating) the release's trees.
pub fn read_prompt(store: &Store, release: &Release) -> Result<Prompt> {
    let cached = store.cache_get(PROMPT_CACHE, release.tag_id);
    if let Some(prompt) = cached.and_then(|text| serde_json::from_str(&text).ok()) {
        return Ok(prompt);
    }
    let prompt = resolve_release(store, release)?;
    if let Ok(text) = serde_json::to_string(&prompt) {
        store.cache_put(PROMPT_CACHE, release.tag_id, &text, 1024);
    }
    Ok(prompt)
}

/// The cache kind of resolved releases (bump the suffix when `Prompt` changes shape, or when
/// what a release resolves to changes: v2 refuses committed links that v1 served as text).
const PROMPT_CACHE: &str = "prompt-v2";

fn resolve_release(store: &Store, release: &Release) -> Result<Prompt> {
    let bad = |reason: String| Error::BadTag {
        tag: release.tag.clone(),
        reason,
    };
    let commit = store
        .repo()
        .find_commit(release.commit)
        .map_err(|_| bad("its commit is missing".into()))?;
    let tree = commit
        .tree()
        .map_err(Error::git("cannot read the release tree"))?;
    let Some(dir) = store.prompt_tree(&tree, &release.name)? else {
        // A committed link where the directory should be: say so, never read what it names.
        if let Some((path, reason)) = store.first_link(tree.id(), &release.name.dir())? {
            return Err(Error::NotRegular {
                path: path.into(),
                reason,
                committed: true,
            });
        }
        return Err(bad(format!("its commit has no `{}`", release.name.dir())));
    };
    let components = store.tree_components(dir, &release.name);
    let bytes = crate::prompt::Components::read(&components, crate::PROMPT_FILE)?
        .ok_or_else(|| bad(format!("its commit has no `{}`", release.name.file())))?;
    let file = PromptFile::parse(&bytes, std::path::Path::new(&release.name.file()))?;
    file.resolve(&components)
}

/// The latest run of each test of the fetched version, from the results at `revision`.
pub fn tests(store: &Store, fetched: &Fetched, revision: Option<&str>) -> Result<Vec<TestSummary>> {
    let results = super::results::results_at(store, &fetched.release.name, revision)?;
    Ok(results.summaries(&fetched.release.version))
}

/// The JSON record of a fetched version, with its latest test results.
pub fn record(fetched: &Fetched, update: Option<Update>, tests: Vec<TestSummary>) -> PromptRecord {
    let Fetched {
        release,
        prompt,
        registry,
        ..
    } = fetched;
    let environments = registry.holders(&release.name, &release.version);
    let environment = environments.last().cloned();
    PromptRecord {
        id: format!("{}@{}", release.name, release.version),
        name: release.name.to_string(),
        version: release.version.to_string(),
        created_by: release.created_by.clone(),
        created_at: release.created_at.to_rfc3339(),
        updated_by: update.as_ref().map(|u| u.by.clone()),
        updated_at: update.map(|u| u.at),
        description: release.description.clone(),
        system_prompt: prompt.system_prompt.clone(),
        token_budget: prompt.token_budget,
        temperature: prompt.temperature,
        status: environment
            .clone()
            .unwrap_or_else(|| crate::registry::DRAFT.to_owned()),
        environment,
        environments,
        domain: release.name.domain().map(str::to_owned),
        model: prompt.model.clone(),
        messages: prompt.messages.clone(),
        variables: prompt.variables.clone(),
        examples: prompt.examples.clone(),
        tags: prompt.tags.clone(),
        metadata: prompt.metadata.clone(),
        summary: prompt.summary.clone(),
        commit: release.commit.to_string(),
        tag: release.tag.clone(),
        tests,
    }
}

/// The most recent first-parent commit (from `revision`) that changed which environments hold
/// `version` of `name`, walking back no further than the version's own commit.
pub fn last_update(
    store: &Store,
    fetched: &Fetched,
    revision: Option<&str>,
) -> Result<Option<Update>> {
    let name = &fetched.release.name;
    let version = &fetched.release.version;
    let repo = store.repo();
    let mut commit = store.commit(revision)?;
    let mut holders = fetched.registry.holders(name, version);
    let mut blob = registry_blob(&commit);
    loop {
        if commit.id() == fetched.release.commit {
            return Ok(None);
        }
        let Ok(parent) = commit.parent(0) else {
            return Ok(None);
        };
        let parent_blob = registry_blob(&parent);
        if parent_blob != blob {
            // A move promptreg made names itself in its trailers (as `history` reads them):
            // no need to parse the 40,000-line index it started from.
            let message = String::from_utf8_lossy(commit.message_bytes());
            let moved = match commit.parent_count() {
                1 => Trailers::parse(&message),
                _ => None,
            };
            let before = match (moved, parent_blob) {
                (Some(moved), _) => {
                    holders_before(&holders, &moved, name, version, &fetched.registry)
                }
                (None, Some(id)) => {
                    let content = repo
                        .find_blob(id)
                        .map_err(Error::git("cannot read registry.yaml"))?;
                    match Registry::parse_for(
                        content.content(),
                        std::path::Path::new(crate::REGISTRY_FILE),
                        name,
                    ) {
                        Ok(registry) => registry.holders(name, version),
                        Err(_) => Vec::new(),
                    }
                }
                (None, None) => Vec::new(),
            };
            if before != holders {
                let author = commit.author();
                return Ok(Some(Update {
                    by: String::from_utf8_lossy(author.email_bytes()).into_owned(),
                    at: crate::identity::from_git_time(author.when()).to_rfc3339(),
                }));
            }
            holders = before;
            blob = parent_blob;
        }
        commit = parent;
    }
}

/// The environments that held `version` of `name` before the move `moved` (pipeline order),
/// given those that hold it after.
fn holders_before(
    after: &[String],
    moved: &Trailers,
    name: &PromptName,
    version: &Version,
    registry: &Registry,
) -> Vec<String> {
    if moved.prompt != name.as_str() {
        return after.to_vec();
    }
    registry
        .environments
        .iter()
        .filter(|env| match **env == moved.environment {
            true => moved.previous.as_ref() == Some(version),
            false => after.contains(env),
        })
        .cloned()
        .collect()
}
