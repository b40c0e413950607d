//! `results`: recording test runs against released versions, and showing them.
//!
//! Recording commits `results/<name>.yaml` alone, under the write lock, with the same care for
//! the user's index and working copy as a promotion: the file's index entry and working copy
//! are brought up to date, every other path is left as it was.

use std::cell::RefCell;

use chrono::{DateTime, FixedOffset};

use crate::store::identity::Signatures;
use promptreg_wire::TestSummary;

use crate::model::results::{path_of, Results, TestRun};
use crate::model::selector::Selector;
use crate::read::{results_at, results_in};
use crate::store::{ObjectId, PathUpdate, Store};
use crate::{Error, PromptName, Result, Version};

use super::write_start::begin;

/// A run to record against `name`@`version`.
#[derive(Clone, Debug)]
pub struct RecordRequest {
    pub name: PromptName,
    pub version: Version,
    pub run: NewRun,
}

/// What a caller says about a run; who recorded it is the author of the commit.
#[derive(Clone, Debug)]
pub struct NewRun {
    pub test: String,
    pub passed: u64,
    pub failed: u64,
    pub errored: u64,
    pub avg_score: Option<f64>,
    /// When it ran (default: the author date of the commit recording it).
    pub tested_at: Option<DateTime<FixedOffset>>,
    /// `manual`, `promptfoo`, `junit`.
    pub source: String,
    pub url: Option<String>,
}

/// What `record` did: the commit, and the run as the results file now holds it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub commit: ObjectId,
    pub run: TestRun,
}

/// Commits `request.run` into the prompt's results file.
pub fn record(store: &Store, request: &RecordRequest, signatures: &Signatures) -> Result<Recorded> {
    let RecordRequest { name, version, run } = request;
    let run = TestRun {
        test: run.test.clone(),
        passed: run.passed,
        failed: run.failed,
        errored: run.errored,
        avg_score: run.avg_score,
        tested_at: run.tested_at.unwrap_or(signatures.author.when).to_rfc3339(),
        tested_by: signatures.author.email.clone(),
        source: run.source.clone(),
        url: run.url.clone(),
    };
    run.check()
        .map_err(|message| Error::InvalidResult { message })?;
    let start = begin(store, "results record")?;
    let tree = start.registry_tree(store)?;
    super::access::check_action_at(
        store,
        tree,
        &signatures.author.email,
        crate::model::access::Action::Record,
        name,
    )?;
    if store.release(name, version)?.is_none() {
        return Err(crate::read::missing_version(store, name, version));
    }
    let path = path_of(name);
    // Refuse to overwrite edits in progress, as promote does for registry.yaml.
    let committed = store.read_file(tree, &path)?;
    // Never through a link, never a FIFO (it would block under the lock).
    let on_disk = crate::fsread::WorkTree::new(&start.workdir)
        .read_bounded(&path, crate::model::yaml::MAX_DOCUMENT_BYTES)?;
    if on_disk != committed || store.index_differs(&path, tree)? {
        return Err(Error::Dirty { path });
    }
    let message = format!(
        "results: {name} {version} {} {}/{} passed\n\n{}",
        run.test,
        run.passed,
        run.total(),
        crate::model::trailers::render_tested(name, version, &run)
    );
    let written = RefCell::new(None);
    let commit =
        store.commit_on_branch(&start.guard, &start.branch, &message, signatures, &|tip| {
            let mut results = match tip {
                Some(tree) => results_in(store, tree, name)?,
                None => Results::default(),
            };
            results.add(version, run.clone())?;
            let text = results.render(name);
            let blob = store
                .write_blob(text.as_bytes())
                .map_err(Error::git("cannot write the results file"))?;
            *written.borrow_mut() = Some((text, blob));
            Ok(vec![PathUpdate::file(path.clone(), blob)])
        })?;
    let Some((text, blob)) = written.into_inner() else {
        return Err(Error::InvalidResult {
            message: "nothing was written".into(),
        });
    };
    start.mirror(store, &path, text.as_bytes(), blob)?;
    Ok(Recorded {
        commit: commit.id(),
        run,
    })
}

/// The version `selector` names at `revision` (HEAD). A bare name is refused: a result is about one version,
/// so the caller says which (`NAME@1.2.0`, `NAME@staging`, `NAME@latest`).
pub fn tested_version(
    store: &Store,
    selector: &Selector,
    revision: Option<&str>,
) -> Result<Version> {
    let Some(target) = &selector.target else {
        return Err(Error::InvalidSelector {
            input: selector.name.to_string(),
            reason: "name the version tested: NAME@VERSION, NAME@ENVIRONMENT or NAME@latest".into(),
        });
    };
    let commit = store.commit(revision)?;
    let registry = crate::read::registry_at(
        store,
        &commit,
        crate::read::revision_label(revision),
        Some(&selector.name),
    )?;
    let version = crate::read::resolve_version(store, &registry, &selector.name, Some(target))?;
    if store.release(&selector.name, &version)?.is_none() {
        return Err(crate::read::missing_version(
            store,
            &selector.name,
            &version,
        ));
    }
    Ok(version)
}

/// One row of `results show`: a run, and whether it is the latest of its test for its version
/// (the one gates and summaries use).
#[derive(Clone, Debug, serde::Serialize)]
pub struct ResultRow {
    pub version: String,
    #[serde(flatten)]
    pub run: TestSummary,
    pub latest: bool,
}

/// The runs of `name` at `revision`: of one version, every run oldest first; of all versions,
/// the latest run of each test. Refuses a prompt or version that was never released.
pub fn show(
    store: &Store,
    name: &PromptName,
    version: Option<&Version>,
    revision: Option<&str>,
) -> Result<Vec<ResultRow>> {
    let released = store.versions(name)?;
    if released.is_empty() {
        return Err(crate::read::not_found(store, name));
    }
    if let Some(wanted) = version {
        if !released.iter().any(|(v, _)| v == wanted) {
            return Err(crate::read::missing_version(store, name, wanted));
        }
    }
    let results = results_at(store, name, revision)?;
    let mut rows = Vec::new();
    for (v, _) in released
        .iter()
        .filter(|(v, _)| version.is_none_or(|wanted| wanted == v))
    {
        let latest = results.latest(v);
        let runs: Vec<&TestRun> = match version {
            Some(_) => results.runs(v).iter().collect(),
            None => latest.clone(),
        };
        for run in runs {
            rows.push(ResultRow {
                version: v.to_string(),
                run: run.into(),
                latest: latest.iter().any(|l| std::ptr::eq(*l, run)),
            });
        }
    }
    Ok(rows)
}
