//! `audit --base REF`: checks every commit since REF that changed `registry.yaml` — the check a
//! pull request's CI runs, because anyone can edit the file by hand. Reported: pointer moves by
//! authors the access rules do not allow, promotions that skip a pipeline stage, promotions
//! of versions that did not meet the environment's gate, pointers to versions that do not
//! exist, and indexes that do not parse — and every commit that changed a results file, for
//! recorded runs removed or rewritten and files that do not parse.
//!
//! The access rules and the policy in force are those at REF: a change cannot grant itself the
//! right to make itself. A gate is judged on the results committed in the promoting commit.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::model::history::{pointer_moves, Change};
use crate::model::registry::{Pointer, Pointers, Registry};
use crate::model::trailers::Trailers;
use crate::store::{CommitView, ObjectId, Store};
use crate::{Error, PromptName, Result, Version};

use crate::read::registry_blob;
use crate::read::registry_of_blob;

/// What is wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Problem {
    /// The author may not move this environment.
    DisallowedAuthor,
    /// The environment before it in the pipeline did not hold the version.
    SkippedStage,
    /// The version did not meet the environment's gate (`policy:` at the base).
    GateNotMet,
    /// The pointer names a version that has no release tag.
    MissingVersion,
    /// `registry.yaml` does not parse or breaks a rule.
    InvalidIndex,
    /// Recorded test runs were removed or changed (results files only grow).
    ResultsRewritten,
    /// A results file does not parse or breaks a rule.
    InvalidResults,
}

/// One violation (the JSON of `audit --format json`).
#[derive(Clone, Debug, Serialize)]
pub struct Violation {
    pub problem: Problem,
    pub commit: String,
    pub author: String,
    pub prompt: Option<String>,
    pub environment: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub message: String,
}

/// The outcome: how many commits changed the index or a results file, and what is wrong with
/// them.
#[derive(Clone, Debug, Serialize)]
pub struct Audit {
    pub commits_checked: usize,
    pub violations: Vec<Violation>,
}

/// Audits the commits reachable from `revision` (HEAD) but not from `base`, oldest first.
pub fn audit(store: &Store, base: &str, revision: Option<&str>) -> Result<Audit> {
    let base_commit = store.commit(Some(base))?;
    let head = store.commit(revision)?;
    let base_registry =
        registry_blob(store, &base_commit).and_then(|id| registry_of_blob(store, id).ok());
    let rules = Rules {
        access: base_registry.as_ref().and_then(|r| r.access.clone()),
        policy: base_registry.map(|r| r.policy).unwrap_or_default(),
    };
    let mut audit = Audit {
        commits_checked: 0,
        violations: Vec::new(),
    };
    let mut parsed = super::tested::Parsed::default();
    for id in store.walk(head.id(), Some(base_commit.id()), true)? {
        let commit = store
            .find_commit(id)
            .map_err(Error::git("cannot read a commit"))?;
        let results = super::tested::run_changes(store, &commit, None, &mut parsed)?;
        let results_changed = !results.is_empty();
        check_results(&commit, results, &mut audit.violations);
        let blob = registry_blob(store, &commit);
        let parent_blobs: Vec<Option<ObjectId>> =
            commit.parents().map(|p| registry_blob(store, &p)).collect();
        if parent_blobs.contains(&blob) {
            // No change to the index, or a merge that took one side (whose commits are audited).
            audit.commits_checked += usize::from(results_changed);
            continue;
        }
        audit.commits_checked += 1;
        check_commit(
            store,
            &commit,
            blob,
            &parent_blobs,
            &rules,
            &mut audit.violations,
        )?;
    }
    Ok(audit)
}

/// Reports results files a commit broke, and recorded runs it removed or changed.
fn check_results(
    commit: &CommitView<'_>,
    changes: Vec<super::tested::RunChanges>,
    out: &mut Vec<Violation>,
) {
    let author = commit.author().email();
    for change in changes {
        let violation = |problem, to: Option<String>, message: String| Violation {
            problem,
            commit: commit.id().to_string(),
            author: author.clone(),
            prompt: Some(change.name.to_string()),
            environment: None,
            from: None,
            to,
            message,
        };
        if let Some(e) = &change.broken {
            out.push(violation(Problem::InvalidResults, None, e.to_string()));
            continue;
        }
        for (version, run) in &change.removed {
            out.push(violation(
                Problem::ResultsRewritten,
                Some(version.to_string()),
                format!(
                    "a recorded run was removed or changed ({}, tested at {}): recorded runs are never edited; record a new run instead",
                    crate::model::results::describe(&run.into()),
                    run.tested_at
                ),
            ));
        }
    }
}

/// What the base says is allowed.
struct Rules {
    access: Option<crate::model::access::Access>,
    policy: crate::model::policy::Policy,
}

/// Whether `environment` of `name` held `version` at some point before `commit`.
fn held_before(
    store: &Store,
    commit: &CommitView<'_>,
    name: &PromptName,
    environment: &str,
    version: &Version,
) -> Result<bool> {
    let Ok(parent) = commit.parent(0) else {
        return Ok(false);
    };
    let query = super::history::Query {
        name: Some(name.clone()),
        environment: Some(environment.to_owned()),
        since: None,
        revision: Some(parent.id().to_string()),
    };
    let wanted = version.to_string();
    Ok(super::history::history(store, &query)?
        .events
        .iter()
        .any(|e| {
            e.to.as_deref() == Some(wanted.as_str())
                || e.to_split
                    .iter()
                    .flatten()
                    .any(|entry| entry.version == wanted)
        }))
}

fn check_commit(
    store: &Store,
    commit: &CommitView<'_>,
    blob: Option<ObjectId>,
    parent_blobs: &[Option<ObjectId>],
    rules: &Rules,
    out: &mut Vec<Violation>,
) -> Result<()> {
    let author = commit.author().email();
    let violation = |problem,
                     prompt: Option<&PromptName>,
                     env: Option<&str>,
                     from: Option<&Pointer>,
                     to: Option<&Pointer>,
                     message: String| Violation {
        problem,
        commit: commit.id().to_string(),
        author: author.clone(),
        prompt: prompt.map(ToString::to_string),
        environment: env.map(str::to_owned),
        from: from.map(ToString::to_string),
        to: to.map(ToString::to_string),
        message,
    };
    let Some(blob) = blob else {
        out.push(violation(
            Problem::InvalidIndex,
            None,
            None,
            None,
            None,
            "registry.yaml was deleted".into(),
        ));
        return Ok(());
    };
    let after = match registry_of_blob(store, blob) {
        Ok(registry) => registry,
        Err(e) => {
            out.push(violation(
                Problem::InvalidIndex,
                None,
                None,
                None,
                None,
                e.to_string(),
            ));
            return Ok(());
        }
    };
    let before = match parent_blobs
        .first()
        .copied()
        .flatten()
        .map(|id| registry_of_blob(store, id))
    {
        Some(Ok(registry)) => registry,
        // The parent's index was broken or absent: compare against an empty one.
        _ => Registry {
            prompts: Default::default(),
            access: None,
            policy: Default::default(),
            ..after.clone()
        },
    };
    let trailers = Trailers::parse(&String::from_utf8_lossy(commit.message_bytes()));
    // The other parents of a merge: values taken from them were moved (and audited) there.
    let others: Vec<Registry> = parent_blobs
        .iter()
        .skip(1)
        .filter_map(|id| id.and_then(|id| registry_of_blob(store, id).ok()))
        .collect();
    let names: BTreeSet<&PromptName> = before.prompts.keys().chain(after.prompts.keys()).collect();
    for name in names {
        let (old, new) = (before.pointers(name), after.pointers(name));
        for (env, from, to, _) in pointer_moves(&after.environments, &old, &new) {
            if others
                .iter()
                .any(|o| o.pointers(name).get(&env) == to.as_ref())
            {
                continue;
            }
            let say = |problem, message: String| {
                violation(
                    problem,
                    Some(name),
                    Some(&env),
                    from.as_ref(),
                    to.as_ref(),
                    message,
                )
            };
            if let Some(access) = &rules.access {
                if !access.allows(&author, name.domain(), &env) {
                    out.push(say(
                        Problem::DisallowedAuthor,
                        format!("{author} may not move {env} (access rules at the base)"),
                    ));
                }
            }
            let Some(pointer) = &to else { continue };
            // Every version gaining traffic is checked as `promote` and `split` check it
            // (`ops::promote::gaining`): one entering the environment in full; one it served
            // already (a canary ramped up, or completed) against the gate only — it passed the
            // pipeline when it entered.
            let before = |v: &Version| from.as_ref().and_then(|f| f.share_of(v));
            let growing = super::promote::gaining(from.as_ref(), pointer);
            for version in growing {
                check_entering(
                    store,
                    commit,
                    rules,
                    trailers.as_ref(),
                    (name, &env, version, before(version).is_some()),
                    (&old, &new, &after.environments),
                    &mut |problem, message| out.push(say(problem, message)),
                )?;
            }
        }
    }
    Ok(())
}

/// The checks of one version whose share of an environment grows: released, the gate, and —
/// unless the environment `served` it before — the pipeline stage.
fn check_entering(
    store: &Store,
    commit: &CommitView<'_>,
    rules: &Rules,
    trailers: Option<&Trailers>,
    (name, env, version, served): (&PromptName, &str, &Version, bool),
    (old, new, environments): (&Pointers, &Pointers, &[String]),
    report: &mut dyn FnMut(Problem, String),
) -> Result<()> {
    if !matches!(store.release(name, version), Ok(Some(_))) {
        report(
            Problem::MissingVersion,
            format!("{name} {version} is not a released version"),
        );
        return Ok(());
    }
    // A rollback returns the environment to a version it held before; that is allowed
    // whatever the stage before it holds now (and checked against the history here).
    let rollback = trailers.is_some_and(|t| {
        t.change == Change::Reverted && t.prompt == name.as_str() && t.environment == env
    }) && held_before(store, commit, name, env, version)?;
    if let (Some(gate), false) = (rules.policy.get(env), rollback) {
        let unmet = gate_unmet(store, commit, name, version, gate)?;
        if !unmet.is_empty() {
            let forced = if trailers.is_some_and(|t| !t.gate_unmet.is_empty()) {
                " (forced, recorded in the commit)"
            } else {
                ""
            };
            report(
                Problem::GateNotMet,
                format!(
                    "{version} did not meet the {env} gate{forced}: {}",
                    unmet.join("; ")
                ),
            );
        }
    }
    let stage = environments.iter().position(|e| e == env).unwrap_or(0);
    if stage > 0 && !rollback && !served {
        let previous = &environments[stage - 1];
        let serves = |p: &Pointers| p.get(previous).is_some_and(|p| p.serves(version));
        if !serves(old) && !serves(new) {
            let forced = if trailers.is_some_and(|t| t.forced) {
                " (marked Forced)"
            } else {
                ""
            };
            report(
                Problem::SkippedStage,
                format!("{previous} did not hold {version}{forced}"),
            );
        }
    }
    Ok(())
}

/// The conditions of `gate` that `version` did not meet, judged on the results committed in
/// `commit` (a results file that does not parse counts as no results).
fn gate_unmet(
    store: &Store,
    commit: &CommitView<'_>,
    name: &PromptName,
    version: &Version,
    gate: &crate::model::policy::Gate,
) -> Result<Vec<String>> {
    let Some(release) = store.release(name, version)? else {
        return Ok(Vec::new()); // Reported as a missing version.
    };
    let tree = commit
        .tree()
        .map_err(Error::git("cannot read a commit's tree"))?;
    let results = crate::read::results_in(store, &tree, name).unwrap_or_default();
    Ok(gate.unmet(&results, version, release.created_at))
}
