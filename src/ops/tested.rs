//! What a commit did to results files: the runs it added (`tested` events for `history`) and
//! the runs it removed or changed (which `audit` reports: the files only ever grow).
//!
//! A commit's new runs are those its file has and none of its parents' has, so runs a merge
//! took from another parent are reported at the commit that recorded them, not at the merge.
//! Removed runs are judged against the first parent. For `history`, a commit promptreg made
//! is read from its trailers; `audit` always compares the files.

use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;

use crate::model::history::{Change, Event};
use crate::model::results::{Results, TestRun, RESULTS_DIR};
use crate::model::trailers::shown_reason;
use crate::store::{CommitView, ObjectId, Store, TreeView};
use crate::{Error, PromptName, Result, Version};

/// How one commit changed one prompt's results file.
pub struct RunChanges {
    pub name: PromptName,
    /// Runs no parent had, in file order.
    pub added: Vec<(Version, TestRun)>,
    /// Runs the first parent had that the commit no longer has (changed ones included).
    pub removed: Vec<(Version, TestRun)>,
    /// The commit's file does not parse (then nothing else is known).
    pub broken: Option<Error>,
}

/// The results files parsed during a walk, by blob: a commit's parent file is the file of a
/// commit met later in the walk, so each is parsed once instead of twice. Bounded: cleared
/// when it holds [`PARSED_LIMIT`] files.
#[derive(Default)]
pub struct Parsed {
    seen: HashMap<ObjectId, Rc<Runs>>,
}

const PARSED_LIMIT: usize = 4096;

type Runs = Vec<(Version, TestRun)>;

impl Parsed {
    fn runs(&mut self, store: &Store, id: Option<ObjectId>, name: &PromptName) -> Result<Rc<Runs>> {
        let Some(id) = id else {
            return Ok(Rc::default());
        };
        if let Some(runs) = self.seen.get(&id) {
            return Ok(runs.clone());
        }
        let runs = Rc::new(flatten(parse(store, id, name)?));
        if self.seen.len() == PARSED_LIMIT {
            self.seen.clear();
        }
        self.seen.insert(id, runs.clone());
        Ok(runs)
    }
}

/// The results files `commit` changed (for `only`, or for every prompt) and how.
pub fn run_changes(
    store: &Store,
    commit: &CommitView<'_>,
    only: Option<&PromptName>,
    parsed: &mut Parsed,
) -> Result<Vec<RunChanges>> {
    // Tree ids and raw-tree lookups only: libgit2 would parse every entry of the trees on the
    // way (`results/` has one per prompt), and most commits did not touch results at all.
    let tree = commit.tree_id();
    let parents: Vec<ObjectId> = commit.parents().map(|p| p.tree_id()).collect();
    let lookup = |tree: &ObjectId, path: &str| store.path_id(*tree, path);
    let dir = lookup(&tree, RESULTS_DIR)?;
    let mut parent_dirs = Vec::with_capacity(parents.len());
    for parent in &parents {
        parent_dirs.push(lookup(parent, RESULTS_DIR)?);
    }
    if parent_dirs.contains(&dir) || (parents.is_empty() && dir.is_none()) {
        return Ok(Vec::new());
    }
    let names = match only {
        Some(name) => vec![name.clone()],
        None => changed_files(store, dir, parent_dirs.first().copied().flatten())?,
    };
    let mut out = Vec::new();
    for name in names {
        let path = crate::model::results::path_of(&name);
        let after = lookup(&tree, &path)?;
        let mut before = Vec::with_capacity(parents.len());
        for parent in &parents {
            before.push(lookup(parent, &path)?);
        }
        if before.contains(&after) {
            continue;
        }
        let mut changes = RunChanges {
            name: name.clone(),
            added: Vec::new(),
            removed: Vec::new(),
            broken: None,
        };
        let after = match parsed.runs(store, after, &name) {
            Ok(runs) => runs,
            Err(e) => {
                changes.broken = Some(e);
                out.push(changes);
                continue;
            }
        };
        // Runs of the parents, the first parent's first; a file that does not parse has none.
        let before: Vec<Rc<Runs>> = before
            .iter()
            .map(|id| parsed.runs(store, *id, &name).unwrap_or_default())
            .collect();
        let mut known: Vec<&(Version, TestRun)> = before.iter().flat_map(|r| r.iter()).collect();
        for run in after.iter() {
            match known.iter().position(|k| *k == run) {
                Some(at) => {
                    known.swap_remove(at);
                }
                None => changes.added.push(run.clone()),
            }
        }
        let mut kept: Vec<&(Version, TestRun)> = after.iter().collect();
        for run in before.first().into_iter().flat_map(|r| r.iter()) {
            match kept.iter().position(|k| *k == run) {
                Some(at) => {
                    kept.swap_remove(at);
                }
                None => changes.removed.push(run.clone()),
            }
        }
        out.push(changes);
    }
    Ok(out)
}

/// The `tested` events of the runs `commit` recorded.
pub fn tested_events(
    store: &Store,
    commit: &CommitView<'_>,
    only: Option<&PromptName>,
    parsed: &mut Parsed,
) -> Result<Vec<Event>> {
    // promptreg's own commits name their run in trailers (as moves do): read the message
    // instead of parsing the file twice, once the file is seen to have changed.
    if commit.parent_count() == 1 {
        let message = String::from_utf8_lossy(commit.message_bytes());
        if let Some((name, version, run)) = crate::model::trailers::parse_tested(&message) {
            let path = crate::model::results::path_of(&name);
            let parent = commit
                .parent(0)
                .map_err(Error::git("cannot read a parent"))?;
            if store.path_id(commit.tree_id(), &path)? != store.path_id(parent.tree_id(), &path)? {
                if only.is_some_and(|wanted| *wanted != name) {
                    return Ok(Vec::new());
                }
                return Ok(vec![event(commit, &name, &version, &run)]);
            }
        }
    }
    let mut events = Vec::new();
    for changes in run_changes(store, commit, only, parsed)? {
        for (version, run) in &changes.added {
            events.push(event(commit, &changes.name, version, run));
        }
    }
    Ok(events)
}

/// The prompts whose results file differs between two `results/` trees.
fn changed_files(
    store: &Store,
    new: Option<ObjectId>,
    old: Option<ObjectId>,
) -> Result<Vec<PromptName>> {
    let tree = |id: Option<ObjectId>| -> Result<Option<TreeView<'_>>> {
        id.map(|id| store.find_tree(id))
            .transpose()
            .map_err(Error::git("cannot read the results tree"))
    };
    let (new, old) = (tree(new)?, tree(old)?);
    let paths = store
        .changed_paths(old.as_ref(), new.as_ref())
        .map_err(Error::git("cannot compare results files"))?;
    Ok(paths
        .iter()
        .filter_map(|path| PromptName::parse(path.strip_suffix(".yaml")?).ok())
        .collect())
}

fn parse(store: &Store, id: ObjectId, name: &PromptName) -> Result<Results> {
    let bytes = store.blob(id)?;
    Results::parse(
        &bytes,
        Path::new(&crate::model::results::path_of(name)),
        name,
    )
}

fn flatten(results: Results) -> Vec<(Version, TestRun)> {
    results
        .versions
        .into_iter()
        .flat_map(|(version, runs)| runs.into_iter().map(move |run| (version.clone(), run)))
        .collect()
}

fn event(commit: &CommitView<'_>, name: &PromptName, version: &Version, run: &TestRun) -> Event {
    let author = commit.author();
    Event {
        event: Change::Tested,
        prompt: name.as_str().into(),
        environment: None,
        from: None,
        to: Some(version.to_string().into()),
        from_split: None,
        to_split: None,
        by: author.email().into(),
        by_name: author.name().into(),
        at: author.when(),
        reason: shown_reason(&String::from_utf8_lossy(commit.message_bytes())).into(),
        commit: commit.id().to_string().into(),
        forced: false,
        gate_unmet: Vec::new(),
        test: Some(Box::new(run.into())),
        merge: None,
    }
}
