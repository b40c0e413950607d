//! `audit --base REF`: checks every commit since REF that changed `registry.yaml` — the check a
//! pull request's CI runs, because anyone can edit the file by hand. Reported: pointer moves by
//! authors the access rules do not allow, promotions that skip a pipeline stage, promotions
//! of versions that did not meet the environment's gate, pointers to versions that do not
//! exist, and indexes that do not parse — and every commit that changed a results file, for
//! recorded runs removed or rewritten and files that do not parse.
//!
//! The access rules and the policy in force are those at REF: a change cannot grant itself the
//! right to make itself. A gate is judged on the results committed in the promoting commit.

use std::collections::{BTreeSet, HashSet};

use serde::Serialize;

use crate::model::access::{Access, Action};
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
    /// A version tag whose tagger may not release the prompt.
    DisallowedTagger,
    /// Results recorded by an author who may not record them for the prompt.
    DisallowedRecorder,
    /// A move of a protected environment landed on the branch's first-parent line without a
    /// merge.
    UnmergedProtectedMove,
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
    audit_proposed(store, base, revision, false)
}

/// [`audit`]; with `proposed`, `revision` is a pull request's head, whose commits are to
/// arrive through the merge under review: moves of protected environments on its own line
/// are expected there, not reported.
pub fn audit_proposed(
    store: &Store,
    base: &str,
    revision: Option<&str>,
    proposed: bool,
) -> Result<Audit> {
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
    let range = store.walk(head.id(), Some(base_commit.id()), true)?;
    let first_parent = match proposed {
        true => HashSet::new(),
        false => first_parent_line(store, head.id(), &range)?,
    };
    check_tags(store, &range, rules.access.as_ref(), &mut audit.violations)?;
    for id in range {
        let commit = store
            .find_commit(id)
            .map_err(Error::git("cannot read a commit"))?;
        let results = super::tested::run_changes(store, &commit, None, &mut parsed)?;
        let results_changed = !results.is_empty();
        check_recorders(
            &commit,
            &results,
            rules.access.as_ref(),
            &mut audit.violations,
        );
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
            first_parent.contains(&id),
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
    on_first_parent_line: bool,
    out: &mut Vec<Violation>,
) -> Result<()> {
    let author = commit.author().email();
    // A move on the branch's own line that is not a merge was committed there directly.
    let direct = on_first_parent_line && commit.parent_count() < 2;
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
        for (env, from, to, change) in pointer_moves(&after.environments, &old, &new) {
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
                // A move back, or one the commit says is a rollback, is judged as a rollback.
                let reverted = trailers.as_ref().is_some_and(|t| {
                    t.change == Change::Reverted
                        && t.prompt == name.as_str()
                        && t.environment == env
                });
                let action = if reverted || change == Change::Reverted {
                    Action::Rollback
                } else {
                    Action::Promote
                };
                if !access.permits(&author, action, name.as_str(), Some(&env)) {
                    let verb = match action {
                        Action::Rollback => "roll back",
                        _ => "move",
                    };
                    out.push(say(
                        Problem::DisallowedAuthor,
                        format!("{author} may not {verb} {env} (access rules at the base)"),
                    ));
                }
                if direct && access.is_protected(&env) {
                    out.push(say(
                        Problem::UnmergedProtectedMove,
                        format!(
                            "{env} is protected (access rules at the base), but this move was committed directly on the branch, not merged"
                        ),
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

/// The commits of `range` on `head`'s first-parent line (the branch's own commits and the
/// merges that brought the others in).
fn first_parent_line(
    store: &Store,
    head: ObjectId,
    range: &[ObjectId],
) -> Result<HashSet<ObjectId>> {
    let range: HashSet<ObjectId> = range.iter().copied().collect();
    let mut line = HashSet::new();
    let mut at = Some(head);
    while let Some(id) = at.filter(|id| range.contains(id)) {
        line.insert(id);
        at = store
            .find_commit(id)
            .map_err(Error::git("cannot read a commit"))?
            .parent_ids()
            .next();
    }
    Ok(line)
}

/// Reports version tags of commits in `range` whose tagger may not release the prompt.
fn check_tags(
    store: &Store,
    range: &[ObjectId],
    access: Option<&Access>,
    out: &mut Vec<Violation>,
) -> Result<()> {
    let Some(access) = access.filter(|a| !a.prompts.values().all(|x| x.release.is_none())) else {
        return Ok(());
    };
    let range: HashSet<ObjectId> = range.iter().copied().collect();
    for tag in store.tag_refs("refs/tags/")? {
        let target = match tag.peeled {
            Some(commit) => commit,
            None => match store.tag_object(tag.target) {
                crate::store::tags::TagObject::Annotated { target, .. } => target,
                _ => continue,
            },
        };
        if !range.contains(&target) {
            continue;
        }
        let Some((name, version)) = tag
            .refname
            .strip_prefix("refs/tags/")
            .and_then(|t| t.rsplit_once('/'))
            .and_then(|(n, v)| Some((PromptName::parse(n).ok()?, Version::from_tag_component(v)?)))
        else {
            continue;
        };
        let Ok(release) = store.release_from(&name, &version, tag.target) else {
            continue;
        };
        if !access.permits(&release.created_by, Action::Release, name.as_str(), None) {
            out.push(Violation {
                problem: Problem::DisallowedTagger,
                commit: release.commit.to_string(),
                author: release.created_by.clone(),
                prompt: Some(name.to_string()),
                environment: None,
                from: None,
                to: Some(version.to_string()),
                message: format!(
                    "{} may not release versions of `{name}` (access rules at the base); the tag `{}` was made by them",
                    release.created_by, release.tag
                ),
            });
        }
    }
    Ok(())
}

/// Reports a commit that added recorded runs for a prompt its author may not record for.
fn check_recorders(
    commit: &CommitView<'_>,
    changes: &[super::tested::RunChanges],
    access: Option<&Access>,
    out: &mut Vec<Violation>,
) {
    let Some(access) = access else { return };
    let author = commit.author().email();
    for change in changes
        .iter()
        .filter(|c| c.broken.is_some() || !c.added.is_empty())
    {
        if access.permits(&author, Action::Record, change.name.as_str(), None) {
            continue;
        }
        out.push(Violation {
            problem: Problem::DisallowedRecorder,
            commit: commit.id().to_string(),
            author: author.clone(),
            prompt: Some(change.name.to_string()),
            environment: None,
            from: None,
            to: change.added.first().map(|(v, _)| v.to_string()),
            message: format!(
                "{author} may not record results for `{}` (access rules at the base)",
                change.name
            ),
        });
    }
}
