//! Resolving a selector to one released version and reading its content: `NAME`,
//! `NAME@ENVIRONMENT`, `NAME@X.Y.Z` and `NAME@latest` against the index at a revision, and the
//! resolved prompt of a release (cached by tag object id: a release never changes).

use crate::model::prompt::{Prompt, PromptFile};
use crate::model::registry::{Registry, Split};
use crate::model::selector::{Selector, Target};
use crate::model::version::latest;
use crate::store::{Release, Store};
use crate::{Error, PromptName, Result, Version};

use super::gaps::tag_missing;
use super::missing::{missing_version, not_found};
use super::{registry_at, revision_label};

/// A resolved version: its release metadata, content and the index it was resolved against.
pub struct Fetched {
    pub release: Release,
    pub prompt: Prompt,
    pub registry: Registry,
    /// Version tags passed over while resolving `@latest` because they are not valid releases
    /// ([`Error::BadTag`]): the caller warns about them, `validate` reports them.
    pub skipped: Vec<Error>,
    /// The split of the environment asked for, when it splits (`release` is the entry the key
    /// was assigned, or the first without a key).
    pub split: Option<Split>,
    /// The key's bucket in that split.
    pub bucket: Option<u32>,
}

/// Resolves `selector` against the index at `revision` (HEAD by default) and reads the version.
/// `key` picks the entry of a split environment (docs/FORMAT.md §3.3); without one, a split
/// serves its first entry.
pub fn fetch(
    store: &Store,
    selector: &Selector,
    revision: Option<&str>,
    key: Option<&str>,
) -> Result<Fetched> {
    let commit = store.commit(revision)?;
    let registry = registry_at(
        store,
        &commit,
        revision_label(revision),
        Some(&selector.name),
    )?;
    let name = &selector.name;
    let resolved = resolve(store, &registry, name, selector.target.as_ref(), key);
    let Resolved {
        version,
        skipped,
        split,
        bucket,
    } = match resolved {
        Ok(found) => found,
        // No tag at all although the index points at versions: the clone lacks its tags.
        Err(e @ Error::PromptNotFound { .. }) => {
            return Err(tag_missing(store, &registry, name, None).unwrap_or(e))
        }
        Err(e) => return Err(e),
    };
    let release = store.release(name, &version)?.ok_or_else(|| {
        tag_missing(store, &registry, name, Some(&version))
            .unwrap_or_else(|| missing_version(store, name, &version))
    })?;
    let prompt = read_prompt(store, &release)?;
    Ok(Fetched {
        release,
        prompt,
        registry,
        skipped,
        split,
        bucket,
    })
}

/// Which version a target means, and how it was chosen.
pub struct Resolved {
    pub version: Version,
    /// Version tags `@latest` passed over (see [`resolve_version_checked`]).
    pub skipped: Vec<Error>,
    /// The environment's split, when the target is a split environment.
    pub split: Option<Split>,
    /// The key's bucket in that split.
    pub bucket: Option<u32>,
}

/// Which version a target means for `name`, assigning `key` when the environment splits.
pub fn resolve(
    store: &Store,
    registry: &Registry,
    name: &PromptName,
    target: Option<&Target>,
    key: Option<&str>,
) -> Result<Resolved> {
    if let Some(key) = key {
        promptreg_wire::split::check_key(key).map_err(|reason| Error::InvalidKey {
            reason: reason.to_owned(),
        })?;
    }
    let (version, skipped) = resolve_version_checked(store, registry, name, target)?;
    let environment = match target {
        Some(Target::Environment(env)) => env.as_str(),
        None => registry.last_environment(),
        Some(Target::Version(_) | Target::Latest) => {
            return Ok(Resolved {
                version,
                skipped,
                split: None,
                bucket: None,
            })
        }
    };
    let pointer = registry.pointer(name, environment);
    let Some(split) = pointer.and_then(|p| p.split()) else {
        return Ok(Resolved {
            version,
            skipped,
            split: None,
            bucket: None,
        });
    };
    let (version, bucket) = match (key, pointer) {
        (Some(key), Some(pointer)) => {
            let (assigned, bucket) = pointer.assign(name.as_str(), environment, key);
            (assigned.clone(), bucket)
        }
        _ => (version, None),
    };
    Ok(Resolved {
        version,
        skipped,
        split: Some(split.clone()),
        bucket,
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

/// Which version a target means for `name` (a split environment's first entry), and the version
/// tags `@latest` passed over because they are not valid releases (one bad tag must not take
/// the whole prompt offline). An exact version or an environment's pointer is never replaced:
/// asking for a bad tag by name fails.
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
    if let Some(pointer) = pointers.get(environment) {
        return Ok((pointer.first().clone(), Vec::new()));
    }
    // A prompt the index points at elsewhere is known even when its tags are not here.
    if pointers.is_empty() && store.versions(name)?.is_empty() {
        return Err(not_found(store, name));
    }
    let elsewhere = registry
        .environments
        .iter()
        .filter_map(|env| pointers.get(env).map(|p| (env.clone(), p.describe())))
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
    // One process adds at most a pruning batch of releases: a short command's read is there
    // for the next command, while a long-running reader (the server's first read of each of
    // 100,000 versions, an export of the whole registry) neither pushes out what the others
    // cached nor creates and deletes a file per release (which on ext4 without a journal costs
    // more than the rest of the read: new inodes skip over recently deleted ones).
    let written = PROMPTS_WRITTEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if written < crate::store::prune_batch(PROMPT_KEEP) {
        if let Ok(text) = serde_json::to_string(&prompt) {
            store.cache_put(PROMPT_CACHE, release.tag_id, &text, PROMPT_KEEP);
        }
    }
    Ok(prompt)
}

/// How many resolved releases the disk cache keeps.
const PROMPT_KEEP: usize = 1024;

/// How many resolved releases this process has added to the disk cache (or tried to).
static PROMPTS_WRITTEN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The cache kind of resolved releases (bump the suffix when `Prompt` changes shape, or when
/// what a release resolves to changes: v2 refuses committed links that v1 served as text).
const PROMPT_CACHE: &str = "prompt-v2";

fn resolve_release(store: &Store, release: &Release) -> Result<Prompt> {
    let bad = |reason: String| Error::BadTag {
        tag: release.tag.clone(),
        reason,
    };
    let commit = store
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
    let bytes = crate::model::prompt::Components::read(&components, crate::PROMPT_FILE)?
        .ok_or_else(|| bad(format!("its commit has no `{}`", release.name.file())))?;
    let file = PromptFile::parse(&bytes, std::path::Path::new(&release.name.file()))?;
    file.resolve(&components)
}
