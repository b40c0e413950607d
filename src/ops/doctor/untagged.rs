//! `create` commits whose version tag was never written (the writer was killed between the
//! commit and the tag): found on HEAD's first-parent history, and tagged as `create` would have.

use std::path::PathBuf;

use super::{Finding, Kind};
use crate::store::{CommitView, ObjectId, Store, WriteGuard};
use crate::{Error, PromptName, Result, Version};

/// A `create` commit on HEAD's first-parent history whose version tag does not exist.
pub(super) struct Untagged {
    pub(super) finding: Finding,
    name: PromptName,
    version: Version,
    commit: ObjectId,
}

/// The `create` commits (subject `create <name> <version>` with `Prompt:` and `Version:`
/// trailers) on HEAD's first-parent history whose tag is missing, for a version above every
/// released one of that prompt.
pub(super) fn untagged_creates(store: &Store) -> Result<Vec<Untagged>> {
    let Some(mut commit) = store.head_commit() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    // Only the newest create of each prompt (the walk goes newest first): a kill leaves at most
    // that one untagged, and one tag listing per prompt keeps long histories cheap.
    let mut seen = std::collections::HashSet::new();
    loop {
        if let Some((name, version)) =
            created_release(&commit).filter(|(name, _)| seen.insert(name.clone()))
        {
            // Only above every released version: what a kill leaves. An older missing tag is
            // more likely deleted on purpose, and not brought back.
            let newest = store.versions(&name)?.last().map(|(v, _)| v.clone());
            if !store.version_exists(&name, &version) && newest.is_none_or(|n| version > n) {
                let short = crate::store::short_id(commit.id());
                let tag = version.tag_name(&name);
                out.push(Untagged {
                    finding: Finding {
                        kind: Kind::UntaggedCreate,
                        path: PathBuf::from(version.tag_ref(&name)),
                        detail: format!(
                            "commit {short} releases {name} {version}, but its tag `{tag}` was \
                             never written (its writer stopped in between); the fix creates it"
                        ),
                        fixable: true,
                        fixed: false,
                    },
                    name,
                    version,
                    commit: commit.id(),
                });
            }
        }
        match commit.parent(0) {
            Ok(parent) => commit = parent,
            Err(_) => break,
        }
    }
    Ok(out)
}

/// The release a `create` commit made, from its subject and trailers.
fn created_release(commit: &CommitView<'_>) -> Option<(PromptName, Version)> {
    let summary = std::str::from_utf8(commit.summary_bytes()?).ok()?;
    if !summary.starts_with("create ") || !commit.is_promptreg_commit() {
        return None;
    }
    let message = std::str::from_utf8(commit.raw_message_bytes()).ok()?;
    crate::model::trailers::parse_created(message)
}

/// Writes the missing tags, as `create` would have: the commit's committer as tagger, the
/// commit's body as the changelog.
pub(super) fn fix_untagged(store: &Store, guard: &WriteGuard, items: &mut [Untagged]) {
    for item in items.iter_mut().filter(|i| i.finding.fixable) {
        let result = (|| {
            let commit = store
                .find_commit(item.commit)
                .map_err(Error::git("cannot read the commit"))?;
            let tagger = commit.committer().identity();
            let description = crate::model::trailers::reason_of(&String::from_utf8_lossy(
                commit.raw_message_bytes(),
            ));
            let reservation = store.reserve_tag(guard, &item.name, &item.version)?;
            store.create_release_tag(
                reservation,
                &item.name,
                &item.version,
                item.commit,
                &tagger,
                &description,
            )
        })();
        match result {
            Ok(_) => item.finding.fixed = true,
            Err(e) => item
                .finding
                .detail
                .push_str(&format!("; cannot create it: {e}")),
        }
    }
}
