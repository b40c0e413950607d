//! Index entries (and working files) left as before a promptreg commit that landed: found
//! with [`Store::behind_head`], described, and caught up only while still exactly as found.

use std::path::Path;

use super::{note, Finding, Kind};
use crate::store::{Behind, Store, WriteGuard};

/// An index entry left behind a promptreg commit, as found, with its finding.
pub(super) struct BehindItem {
    behind: Behind,
    pub(super) finding: Finding,
}

pub(super) fn behind_finding(item: &BehindItem) -> Finding {
    item.finding.clone()
}

/// Describes what `Store::behind_head` found.
pub(super) fn behind_items(store: &Store, found: Vec<Behind>) -> Vec<BehindItem> {
    let root = store
        .workdir("doctor")
        .map(Path::to_owned)
        .unwrap_or_default();
    found
        .into_iter()
        .map(|b| {
            let short = crate::store::short_id(b.commit);
            let (holders, them) = if b.rewrite {
                ("the index and the working file still hold", "them")
            } else {
                ("the index still holds", "it")
            };
            let mut detail = format!(
                "{holders} it as before commit {short} (\"{}\"): its writer stopped before \
                 updating {them}; a `git commit` now would undo that commit",
                b.summary
            );
            if !b.fixable {
                detail.push_str(&format!(
                    "; the working file has other edits, so it was left alone \
                     (`git reset -q -- {}` updates the index and keeps them)",
                    b.path
                ));
            }
            BehindItem {
                finding: Finding {
                    kind: Kind::IndexBehind,
                    path: root.join(&b.path),
                    detail,
                    fixable: b.fixable,
                    fixed: false,
                },
                behind: b,
            }
        })
        .collect()
}

/// Brings the entries in `items` up to date under the guard, after checking that they are
/// still exactly as found (the index was not locked while scanning).
pub(super) fn fix_behind(store: &Store, guard: &WriteGuard, items: &mut [BehindItem]) {
    let now = match store.behind_head() {
        Ok(now) => now,
        Err(e) => return note(items.iter_mut().map(|i| &mut i.finding), &format!("{e}")),
    };
    let same = |a: &Behind, b: &Behind| {
        (&a.path, a.commit, a.old, a.new, a.rewrite) == (&b.path, b.commit, b.old, b.new, b.rewrite)
    };
    let mut todo = Vec::new();
    for item in items.iter_mut().filter(|i| i.finding.fixable) {
        match now.iter().find(|b| same(b, &item.behind) && b.fixable) {
            Some(b) => todo.push(b.clone()),
            None => item
                .finding
                .detail
                .push_str("; it changed while being checked, so it was left alone"),
        }
    }
    if todo.is_empty() {
        return;
    }
    match store.catch_up(guard, &todo) {
        Ok(()) => {
            for item in items.iter_mut() {
                if todo.iter().any(|b| same(b, &item.behind)) {
                    item.finding.fixed = true;
                }
            }
        }
        Err(e) => note(
            items.iter_mut().map(|i| &mut i.finding),
            &format!("cannot update it: {e}"),
        ),
    }
}
