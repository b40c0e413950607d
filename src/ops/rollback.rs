//! `rollback`: move an environment back to the version it held before the current one (read
//! from the audit trail), or to a named version it held at some point; an environment that
//! splits goes back to the split's first (stable) entry. Recorded as `reverted`.

use crate::model::history::Change;
use crate::model::registry::Pointer;
use crate::store::identity::Signatures;
use crate::store::{ObjectId, Store};
use crate::{Error, PromptName, Result, Version};

use super::history::{history, Query};
use super::pointer::{check_access, commit_move, load, Move};
use crate::model::access::Action;

/// A rollback to make.
#[derive(Clone, Debug)]
pub struct RollbackRequest {
    pub name: PromptName,
    pub environment: String,
    /// A version the environment held before; default: the one before the current.
    pub to: Option<Version>,
    pub reason: String,
}

/// What `rollback` did.
#[derive(Clone, Debug)]
pub struct RolledBack {
    pub from: Pointer,
    pub to: Version,
    pub commit: ObjectId,
}

/// Rolls the environment back; the pipeline rule does not apply (the version was there).
pub fn rollback(
    store: &Store,
    request: &RollbackRequest,
    signatures: &Signatures,
) -> Result<RolledBack> {
    rollback_on(store, request, signatures, None)
}

/// [`rollback`], with `branch`: as one commit on that new branch, made from the registry
/// branch's tip, for a pull request (the checkout stays as it is).
pub fn rollback_on(
    store: &Store,
    request: &RollbackRequest,
    signatures: &Signatures,
    branch: Option<&str>,
) -> Result<RolledBack> {
    let loaded = load(store, "rollback", branch)?;
    let branch = branch.map(|b| store.new_branch_ref(b)).transpose()?;
    let registry = &loaded.registry;
    let name = &request.name;
    let env = request.environment.as_str();
    registry.check_environment(env)?;
    let pointers = registry.pointers(name);
    let current = pointers
        .get(env)
        .cloned()
        .ok_or_else(|| Error::NotInEnvironment {
            name: name.to_string(),
            environment: env.to_owned(),
            elsewhere: registry
                .environments
                .iter()
                .filter_map(|e| pointers.get(e).map(|p| (e.clone(), p.describe())))
                .collect(),
        })?;
    let target = match (&current, &request.to) {
        // Ending a split: everyone back on the stable version.
        (Pointer::Split(split), None) => split.first().clone(),
        _ => rollback_target(store, request, &current)?,
    };
    if Pointer::Version(target.clone()) == current {
        return Err(Error::NothingToRollBack {
            name: name.to_string(),
            environment: env.to_owned(),
            current: current.describe(),
        });
    }
    super::promote::servable_release(store, name, &target, env)?;
    check_access(
        registry,
        &signatures.author.email,
        name,
        env,
        Action::Rollback,
    )?;
    let to = Pointer::Version(target.clone());
    let commit = commit_move(
        store,
        &loaded,
        &Move {
            name,
            environment: env,
            version: &to,
            previous: Some(&current),
            change: Change::Reverted,
            subject: format!("rollback {name} {env} to {target}"),
            reason: &request.reason,
            forced: false,
            gate_unmet: Vec::new(),
            branch: branch.as_deref(),
            operation: "rollback",
        },
        signatures,
    )?;
    Ok(RolledBack {
        from: current,
        to: target,
        commit,
    })
}

/// The version a rollback of a plain pointer (or `--to`) goes to, from the audit trail.
fn rollback_target(store: &Store, request: &RollbackRequest, current: &Pointer) -> Result<Version> {
    let (name, env) = (&request.name, request.environment.as_str());
    let query = Query {
        name: Some(name.clone()),
        environment: Some(env.to_owned()),
        ..Query::default()
    };
    let events = history(store, &query)?.events;
    let target = match &request.to {
        Some(wanted) => {
            let held: Vec<String> = held_versions(&events);
            if !held.contains(&wanted.to_string()) {
                return Err(Error::NeverInEnvironment {
                    name: name.to_string(),
                    environment: env.to_owned(),
                    version: wanted.to_string(),
                    held,
                });
            }
            wanted.clone()
        }
        None => previous_good(&events, &current.first().to_string())
            .map(|v| Version::parse(&v))
            .transpose()?
            .ok_or_else(|| Error::NothingToRollBack {
                name: name.to_string(),
                environment: env.to_owned(),
                current: current.describe(),
            })?,
    };
    Ok(target)
}

/// The version to roll back to: the most recent one the environment held before, other than the
/// current one and any version it was already rolled back from (a reverted move that went
/// down; going back up undoes a rollback and abandons nothing) — so repeated rollbacks step
/// further back instead of bouncing between two versions. `events` are newest first.
fn previous_good(events: &[crate::model::history::Event], current: &str) -> Option<String> {
    let version = |text: Option<&str>| text.and_then(|t| Version::parse(t).ok());
    let rolled_back_from: Vec<&str> = events
        .iter()
        .filter(|e| e.event == Change::Reverted)
        .filter(|e| version(e.to.as_deref()) < version(e.from.as_deref()))
        .filter_map(|e| e.from.as_deref())
        .collect();
    let timeline = events
        .iter()
        .map(|e| e.to.as_deref())
        .chain(events.last().map(|e| e.from.as_deref()));
    timeline
        .flatten()
        .find(|v| *v != current && !rolled_back_from.contains(v))
        .map(str::to_owned)
}

/// Every version the environment's pointer ever named, newest first, without repeats.
fn held_versions(events: &[crate::model::history::Event]) -> Vec<String> {
    let mut held: Vec<String> = Vec::new();
    let split_versions = |split: &Option<Vec<promptreg_wire::SplitEntry>>| {
        split
            .iter()
            .flatten()
            .map(|entry| entry.version.clone())
            .collect::<Vec<_>>()
    };
    for version in events.iter().flat_map(|e| {
        let mut all: Vec<String> = [&e.to, &e.from]
            .into_iter()
            .flatten()
            .map(|version| version.to_string())
            .collect();
        all.extend(split_versions(&e.to_split));
        all.extend(split_versions(&e.from_split));
        all
    }) {
        if !held.contains(&version) {
            held.push(version);
        }
    }
    held
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::history::Event;

    fn mv(change: Change, from: Option<&str>, to: &str) -> Event {
        Event {
            event: change,
            prompt: "p".into(),
            environment: Some("production".into()),
            from: from.map(Into::into),
            to: Some(to.into()),
            from_split: None,
            to_split: None,
            by: "".into(),
            by_name: "".into(),
            at: chrono::DateTime::UNIX_EPOCH.fixed_offset(),
            reason: "".into(),
            commit: "".into(),
            forced: false,
            gate_unmet: Vec::new(),
            test: None,
            merge: None,
        }
    }

    #[test]
    fn repeated_rollbacks_step_back_instead_of_bouncing() {
        use Change::{Promoted, Reverted};
        // Newest first: 1.0 → 1.1 → 1.2, then rolled back to 1.1.
        let events = [
            mv(Reverted, Some("1.2.0"), "1.1.0"),
            mv(Promoted, Some("1.1.0"), "1.2.0"),
            mv(Promoted, Some("1.0.0"), "1.1.0"),
            mv(Promoted, None, "1.0.0"),
        ];
        assert_eq!(
            previous_good(&events[1..], "1.2.0").as_deref(),
            Some("1.1.0")
        );
        assert_eq!(previous_good(&events, "1.1.0").as_deref(), Some("1.0.0"));
        // Only ever one version: nothing to go back to.
        assert_eq!(previous_good(&events[3..], "1.0.0"), None);
        // A fixed 1.2.0 promoted again after the rollback: back to 1.1.0.
        let mut again = vec![mv(Promoted, Some("1.1.0"), "1.2.0")];
        again.extend(events.iter().cloned());
        assert_eq!(previous_good(&again, "1.2.0").as_deref(), Some("1.1.0"));
    }
}
