//! `tested` events for `history`: the test runs a commit added to results files.
//!
//! Results files only grow, so a commit's new runs are those its file has and its first
//! parent's does not. Like pointer moves, runs a merge took from another parent are reported
//! at the commit that recorded them, not at the merge; a file that does not parse yields no
//! events (`validate` reports it).

use std::path::Path;

use git2::{Commit, Oid, Tree};

use crate::history::{reason_of, Change, Event};
use crate::identity::from_git_time;
use crate::results::{Results, TestRun, RESULTS_DIR};
use crate::store::Store;
use crate::{Error, PromptName, Result};

/// The runs `commit` recorded (for `only`, or for every prompt), oldest first within a file.
pub fn tested_events(
    store: &Store,
    commit: &Commit<'_>,
    only: Option<&PromptName>,
) -> Result<Vec<Event>> {
    let tree = commit
        .tree()
        .map_err(Error::git("cannot read a commit's tree"))?;
    let parents: Vec<Tree<'_>> = commit
        .parents()
        .map(|p| p.tree())
        .collect::<std::result::Result<_, _>>()
        .map_err(Error::git("cannot read a parent's tree"))?;
    let dir = store.entry_id(&tree, RESULTS_DIR);
    if dir.is_none()
        || parents
            .iter()
            .any(|p| store.entry_id(p, RESULTS_DIR) == dir)
    {
        return Ok(Vec::new());
    }
    let names = match only {
        Some(name) => vec![name.clone()],
        None => changed_files(store, &tree, parents.first())?,
    };
    let mut events = Vec::new();
    for name in names {
        let path = crate::results::path_of(&name);
        let Some(after) = store.entry_id(&tree, &path) else {
            continue;
        };
        let before: Vec<Option<Oid>> = parents.iter().map(|p| store.entry_id(p, &path)).collect();
        if before.contains(&Some(after)) {
            continue;
        }
        let Ok(after) = parse(store, Some(after), &name) else {
            continue;
        };
        let mut known: Vec<(crate::Version, TestRun)> = Vec::new();
        for id in &before {
            if let Ok(results) = parse(store, *id, &name) {
                known.extend(flatten(results));
            }
        }
        for (version, run) in flatten(after) {
            match known
                .iter()
                .position(|k| *k == (version.clone(), run.clone()))
            {
                Some(at) => {
                    known.swap_remove(at);
                }
                None => events.push(event(commit, &name, &version, &run)),
            }
        }
    }
    Ok(events)
}

/// The prompts whose results file differs between `parent` and `tree`.
fn changed_files(
    store: &Store,
    tree: &Tree<'_>,
    parent: Option<&Tree<'_>>,
) -> Result<Vec<PromptName>> {
    let subtree = |t: &Tree<'_>| store.subtree(t, RESULTS_DIR);
    let new = subtree(tree);
    let old = parent.and_then(subtree);
    let diff = store
        .repo()
        .diff_tree_to_tree(old.as_ref(), new.as_ref(), None)
        .map_err(Error::git("cannot compare results files"))?;
    Ok(diff
        .deltas()
        .filter_map(|delta| {
            let path = delta.new_file().path()?.to_str()?;
            PromptName::parse(path.strip_suffix(".yaml")?).ok()
        })
        .collect())
}

fn parse(store: &Store, id: Option<Oid>, name: &PromptName) -> Result<Results> {
    let Some(id) = id else {
        return Ok(Results::default());
    };
    let bytes = store.blob(id)?;
    Results::parse(&bytes, Path::new(&crate::results::path_of(name)), name)
}

fn flatten(results: Results) -> Vec<(crate::Version, TestRun)> {
    results
        .versions
        .into_iter()
        .flat_map(|(version, runs)| runs.into_iter().map(move |run| (version.clone(), run)))
        .collect()
}

fn event(commit: &Commit<'_>, name: &PromptName, version: &crate::Version, run: &TestRun) -> Event {
    let author = commit.author();
    Event {
        event: Change::Tested,
        prompt: name.to_string(),
        environment: None,
        from: None,
        to: Some(version.to_string()),
        by: String::from_utf8_lossy(author.email_bytes()).into_owned(),
        by_name: String::from_utf8_lossy(author.name_bytes()).into_owned(),
        at: from_git_time(author.when()).to_rfc3339(),
        reason: reason_of(&String::from_utf8_lossy(commit.message_bytes())),
        commit: commit.id().to_string(),
        forced: false,
        gate_unmet: Vec::new(),
        test: Some(run.into()),
    }
}
