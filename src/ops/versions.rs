//! `versions`: every release of one prompt, semver-ordered, with its status.

use serde::{Deserialize, Serialize};

use crate::store::{ObjectId, Store};
use crate::{Error, PromptName, Result, Version};
use promptreg_wire::record::VersionRecord;

use crate::read::{not_found, registry_at, revision_label};

/// What a release tag records, as cached for a whole set of tags.
#[derive(Deserialize, Serialize)]
struct Tagged {
    version: String,
    created_by: String,
    created_at: String,
    description: String,
    commit: String,
    tag: String,
}

/// One tag of a listing: what it records, or why it is not a valid release (tag name, reason).
type Entry = std::result::Result<Tagged, (String, String)>;

/// The cache kind of tag listings (bump the suffix when `Entry` changes).
const VERSIONS_CACHE: &str = "versions-v2";

/// A prompt's releases, and what the listing passed over.
pub struct Listing {
    pub rows: Vec<VersionRecord>,
    /// The error of a results file that does not parse (pass rates then show as never tested).
    pub results_error: Option<Error>,
    /// Version tags that are not valid releases ([`Error::BadTag`]: a tag of a tree, a blob or
    /// another tag, a lightweight tag), left out so one bad tag does not take the prompt
    /// offline; `validate` reports them as errors.
    pub skipped: Vec<Error>,
}

/// The releases of `name`, ascending by semver; status comes from the index at `revision`.
/// A results file that does not parse shows as "never tested" (see [`versions_checked`]).
pub fn versions(
    store: &Store,
    name: &PromptName,
    revision: Option<&str>,
) -> Result<Vec<VersionRecord>> {
    versions_checked(store, name, revision).map(|listing| listing.rows)
}

/// [`versions`], plus what was passed over: the error of a results file that does not parse
/// (its pass rates are then shown as never tested) and the version tags that are not valid
/// releases, so the listing itself still works.
pub fn versions_checked(
    store: &Store,
    name: &PromptName,
    revision: Option<&str>,
) -> Result<Listing> {
    let commit = store.commit(revision)?;
    let registry = registry_at(store, &commit, revision_label(revision), Some(name))?;
    let tags = store.versions(name)?;
    let lightweight = store.lightweight_version_tags(name)?;
    if tags.is_empty() {
        // The index points at versions none of which has a tag here: the clone lacks them.
        return Err(crate::read::tag_missing(store, &registry, name, None)
            .unwrap_or_else(|| not_found(store, name)));
    }
    let mut skipped: Vec<(Version, Error)> = lightweight;
    let mut good = Vec::with_capacity(tags.len());
    for (entry, (version, _)) in tagged(store, name, &tags)?.into_iter().zip(&tags) {
        match entry {
            Ok(t) => good.push((t, version)),
            Err((tag, reason)) => skipped.push((version.clone(), Error::BadTag { tag, reason })),
        }
    }
    skipped.sort_by(|a, b| a.0.cmp(&b.0));
    let (results, results_error) = match crate::read::results_at(store, name, revision) {
        Ok(results) => (results, None),
        Err(e) => (Default::default(), Some(e)),
    };
    let rows = good
        .into_iter()
        .map(|(t, version)| {
            let environments = registry.holders(name, version);
            let tests = results.summaries(version);
            let worst = crate::model::results::worst_pass_rate(&tests);
            VersionRecord {
                version: t.version,
                status: environments
                    .last()
                    .cloned()
                    .unwrap_or_else(|| crate::model::registry::DRAFT.to_owned()),
                environments,
                created_by: t.created_by,
                created_at: t.created_at,
                description: t.description,
                commit: t.commit,
                tag: t.tag,
                pass_rate: crate::model::results::overall_pass_rate(&tests),
                tests: tests.len(),
                worst_pass_rate: worst.map(|s| s.pass_rate),
                worst_test: worst.map(|s| s.test.clone()),
                percent: registry.status_share(name, version),
            }
        })
        .collect();
    Ok(Listing {
        rows,
        results_error,
        skipped: skipped.into_iter().map(|(_, e)| e).collect(),
    })
}

/// The tag objects' contents, or why a tag is not a valid release. Tag objects never change, so
/// the listing is cached under a key derived from the exact set of (version, tag object id):
/// one small read instead of one object read per version; any new, deleted or re-made tag
/// changes the key.
fn tagged(store: &Store, name: &PromptName, tags: &[(Version, ObjectId)]) -> Result<Vec<Entry>> {
    let listing: String = tags
        .iter()
        .map(|(v, id)| format!("{name} {v} {id}\n"))
        .collect();
    let key = crate::store::hash_blob(listing.as_bytes())
        .map_err(Error::git("cannot hash the tag listing"))?;
    let cached = store.cache_get(VERSIONS_CACHE, key);
    if let Some(list) = cached.and_then(|text| serde_json::from_str::<Vec<Entry>>(&text).ok()) {
        if list.len() == tags.len() {
            return Ok(list);
        }
    }
    let mut list = Vec::with_capacity(tags.len());
    for (version, target) in tags {
        let release = match store.release_from(name, version, *target) {
            Ok(release) => release,
            Err(Error::BadTag { tag, reason }) => {
                list.push(Err((tag, reason)));
                continue;
            }
            Err(e) => return Err(e),
        };
        list.push(Ok(Tagged {
            version: version.to_string(),
            created_by: release.created_by,
            created_at: release.created_at.to_rfc3339(),
            description: release.description,
            commit: release.commit.to_string(),
            tag: release.tag,
        }));
    }
    if let Ok(text) = serde_json::to_string(&list) {
        store.cache_put(VERSIONS_CACHE, key, &text, 1024);
    }
    Ok(list)
}
