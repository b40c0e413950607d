//! Which merge brought each event's commit into the branch: a promotion written with
//! `promote --branch` and merged through a pull request is shown with its own author and
//! reason, and with the merge (who merged it, when) that landed it.
//!
//! Walking the tip's first-parent line, a merge M brings in exactly the commits reachable from
//! its other parents and not from its first parent; those sets are disjoint along the line, so
//! each commit has at most one such merge. Commits on the line itself were not merged.

use std::collections::{HashMap, HashSet};

use crate::model::history::{Event, Merge};
use crate::store::{ObjectId, Store};
use crate::{Error, Result};

/// For each of `commits` that a first-parent merge on `tip`'s line brought in, that merge.
pub fn merges_bringing_in(
    store: &Store,
    tip: ObjectId,
    commits: &HashSet<ObjectId>,
) -> Result<HashMap<ObjectId, Merge>> {
    let mut found = HashMap::new();
    // The first-parent line, newest first, with its merges' parents; it ends early once every
    // wanted commit is on it (then none was merged).
    let mut off_line: HashSet<ObjectId> = commits.clone();
    let mut merges: Vec<(ObjectId, Vec<ObjectId>)> = Vec::new();
    let mut at = Some(tip);
    while let Some(id) = at {
        if off_line.is_empty() {
            break;
        }
        off_line.remove(&id);
        let commit = store
            .find_commit(id)
            .map_err(Error::git("cannot read a commit"))?;
        let parents: Vec<ObjectId> = commit.parent_ids().collect();
        at = parents.first().copied();
        if parents.len() > 1 {
            merges.push((id, parents));
        }
    }
    // Each merge brings in what its other parents reach and its first parent does not.
    for (id, parents) in merges {
        if off_line.is_empty() {
            break;
        }
        let mut merge = None;
        for side in &parents[1..] {
            for brought in store.walk(*side, Some(parents[0]), false)? {
                if !off_line.remove(&brought) {
                    continue;
                }
                if merge.is_none() {
                    let commit = store
                        .find_commit(id)
                        .map_err(Error::git("cannot read a commit"))?;
                    let author = commit.author();
                    merge = Some(Merge {
                        commit: id.to_string(),
                        by: author.email(),
                        by_name: author.name(),
                        at: author.when().to_rfc3339(),
                        subject: commit
                            .summary_bytes()
                            .map(|s| String::from_utf8_lossy(s).into_owned())
                            .unwrap_or_default(),
                    });
                }
                if let Some(merge) = &merge {
                    found.insert(brought, merge.clone());
                }
            }
        }
    }
    Ok(found)
}

/// Sets `merge` on each event whose commit a merge on `tip`'s first-parent line brought in.
pub fn annotate(store: &Store, tip: ObjectId, events: &mut [Event]) -> Result<()> {
    let commits: HashSet<ObjectId> = events
        .iter()
        .filter_map(|e| ObjectId::from_str(&e.commit).ok())
        .collect();
    let merges = merges_bringing_in(store, tip, &commits)?;
    if merges.is_empty() {
        return Ok(());
    }
    for event in events {
        if let Some(merge) = ObjectId::from_str(&event.commit)
            .ok()
            .and_then(|id| merges.get(&id))
        {
            event.merge = Some(Box::new(merge.clone()));
        }
    }
    Ok(())
}
