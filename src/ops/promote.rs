//! `promote`: move an environment's pointer to a version, or start, re-weight or complete a
//! canary, as a commit of `registry.yaml` alone.

use crate::model::history::Change;
use crate::model::registry::{Percent, Pointer, Share, Split};
use crate::store::identity::Signatures;
use crate::store::{ObjectId, Release, Store};
use crate::{Error, PromptName, Result, Version};

use super::pointer::{check_access, commit_move, load, Loaded, Move};
use crate::model::access::Action;

/// A promotion to make.
#[derive(Clone, Debug)]
pub struct PromoteRequest {
    pub name: PromptName,
    pub version: Version,
    pub environment: String,
    pub reason: String,
    /// Override the pipeline rule and the environment's gate (recorded in the commit).
    pub force: bool,
    /// Start or re-weight a canary: the environment splits between its stable version and
    /// this one, which gets this share (above 0, below 100).
    pub canary: Option<Percent>,
}

/// What `promote` did.
#[derive(Clone, Debug)]
pub enum Promoted {
    Moved {
        from: Option<Pointer>,
        /// What the environment holds now: the version, or the canary's split.
        to: Pointer,
        commit: ObjectId,
        /// `promoted`; `reverted` for a move to a lower version; `split` for a canary.
        change: Change,
        /// Whether a rule was overridden with `force` (recorded in the commit).
        forced: bool,
    },
    AlreadyThere,
}

/// The conditions of `environment`'s gate that `version` does not meet, judged on the results
/// committed at the tip (empty when the environment has no gate).
fn unmet_gate(
    store: &Store,
    loaded: &Loaded<'_>,
    name: &PromptName,
    version: &Version,
    release: &Release,
    environment: &str,
) -> Result<Vec<String>> {
    let Some(gate) = loaded.registry.gate(environment) else {
        return Ok(Vec::new());
    };
    let tree = loaded.start.registry_tree(store)?;
    let results = crate::read::results_in(store, tree, name)?;
    Ok(gate.unmet(&results, version, release.created_at))
}

/// The release `version` of `name`, refused unless `fetch` can serve it: a pointer to a release
/// whose commit holds no valid `prompt.yaml` (or whose components cannot be read) would take
/// `environment` offline. Used by `promote` and `rollback`.
pub(super) fn servable_release(
    store: &Store,
    name: &PromptName,
    version: &Version,
    environment: &str,
) -> Result<Release> {
    let release = store
        .release(name, version)?
        .ok_or_else(|| crate::read::missing_version(store, name, version))?;
    match crate::read::read_prompt(store, &release) {
        Ok(_) => Ok(release),
        // Not about the release's content: say what went wrong as it is.
        Err(e @ (Error::Git { .. } | Error::Io { .. })) => Err(e),
        Err(e) => Err(Error::UnservableRelease {
            name: name.to_string(),
            version: version.to_string(),
            environment: environment.to_owned(),
            source: Box::new(e),
        }),
    }
}

/// Whether `version` may enter `environment` of `name`: the first environment takes any released
/// version; every later one a version the environment before it serves now (in whole or as part
/// of a split), or one `environment` serves already (a canary being re-weighted or completed).
/// Returns whether the pipeline rule was overridden with `force`.
fn admit_stage(
    registry: &crate::model::registry::Registry,
    name: &PromptName,
    version: &Version,
    environment: &str,
    force: bool,
) -> Result<bool> {
    let stage = registry
        .environments
        .iter()
        .position(|e| e == environment)
        .unwrap_or(0);
    let Some(previous) = stage.checked_sub(1).map(|k| &registry.environments[k]) else {
        return Ok(false);
    };
    let serves = |env: &str| {
        registry
            .pointer(name, env)
            .is_some_and(|p| p.serves(version))
    };
    if serves(previous) || serves(environment) {
        return Ok(false);
    }
    if force {
        return Ok(true);
    }
    Err(Error::PipelineSkipped {
        name: name.to_string(),
        version: version.to_string(),
        environment: environment.to_owned(),
        previous: previous.clone(),
        held: registry
            .pointer(name, previous)
            .map_or("nothing".to_owned(), Pointer::describe),
    })
}

/// The versions a move from `from` to `to` gives more traffic, other than the environment's
/// stable version (`from`'s first entry): those must meet the environment's gate, whether they
/// enter, are ramped up or complete a split. Traffic going back to the stable version (a
/// ramp-down, a rollback) is a retreat and never waits for a gate. `audit` applies the same rule.
pub fn gaining<'p>(from: Option<&Pointer>, to: &'p Pointer) -> Vec<&'p Version> {
    let stable = from.map(Pointer::first);
    to.versions()
        .into_iter()
        .filter(|v| Some(*v) != stable)
        .filter(|v| to.share_of(v) > from.and_then(|f| f.share_of(v)))
        .collect()
}

/// What a move into `environment` needs of each version [`gaining`] traffic — the pipeline rule
/// (passed by one the environment serves already), then the access rules (always, even when
/// nothing gains), then the gate — and what `force` overrode: `(forced, gate_unmet)`. Gate
/// conditions are prefixed with their version when more than one version gains.
pub(super) fn admit(
    store: &Store,
    loaded: &Loaded<'_>,
    name: &PromptName,
    environment: &str,
    growing: &[(&Version, &Release)],
    force: bool,
    email: &str,
) -> Result<(bool, Vec<String>)> {
    let registry = &loaded.registry;
    let mut forced = false;
    for (version, _) in growing {
        forced |= admit_stage(registry, name, version, environment, force)?;
    }
    check_access(registry, email, name, environment, Action::Promote)?;
    let mut gate_unmet = Vec::new();
    for (version, release) in growing {
        let unmet = unmet_gate(store, loaded, name, version, release, environment)?;
        if !unmet.is_empty() && !force {
            return Err(Error::GateNotMet {
                name: name.to_string(),
                version: version.to_string(),
                environment: environment.to_owned(),
                unmet,
            });
        }
        match growing.len() {
            1 => gate_unmet.extend(unmet),
            _ => gate_unmet.extend(unmet.into_iter().map(|u| format!("{version}: {u}"))),
        }
    }
    forced |= !gate_unmet.is_empty();
    Ok((forced, gate_unmet))
}

/// Moves the pointer: to `version` alone (a promotion, or the completion of a split that serves
/// it), or, with `canary`, to a split of the environment's stable version (its current version,
/// or its split's first entry) and `version` with that share. `version` must pass the pipeline
/// rule, the access rules and the environment's gate (`policy:`); `force` overrides the
/// pipeline rule and the gate, never the access rules.
pub fn promote(
    store: &Store,
    request: &PromoteRequest,
    signatures: &Signatures,
) -> Result<Promoted> {
    promote_on(store, request, signatures, None)
}

/// [`promote`], with `branch`: as one commit on that new branch, made from the registry
/// branch's tip, for a pull request (the checkout stays as it is).
pub fn promote_on(
    store: &Store,
    request: &PromoteRequest,
    signatures: &Signatures,
    branch: Option<&str>,
) -> Result<Promoted> {
    let loaded = load(store, "promote", branch)?;
    let branch = branch.map(|b| store.new_branch_ref(b)).transpose()?;
    let registry = &loaded.registry;
    let name = &request.name;
    let env = request.environment.as_str();
    registry.check_environment(env)?;
    let from = registry.pointer(name, env).cloned();
    let to = match request.canary {
        None => Pointer::Version(request.version.clone()),
        Some(percent) => canary_split(name, env, from.as_ref(), &request.version, percent)?,
    };
    let release = servable_release(store, name, &request.version, env)?;
    if from.as_ref() == Some(&to) {
        return Ok(Promoted::AlreadyThere);
    }
    let growing = gaining(from.as_ref(), &to)
        .contains(&&request.version)
        .then_some((&request.version, &release))
        .into_iter()
        .collect::<Vec<_>>();
    let (forced, gate_unmet) = admit(
        store,
        &loaded,
        name,
        env,
        &growing,
        request.force,
        &signatures.author.email,
    )?;
    let change = Change::classify(from.as_ref(), Some(&to)).unwrap_or(Change::Promoted);
    let subject = match request.canary {
        Some(percent) => format!("canary {name} {} at {percent}% in {env}", request.version),
        None => format!("promote {name} {} to {env}", request.version),
    };
    let commit = commit_move(
        store,
        &loaded,
        &Move {
            name,
            environment: env,
            version: &to,
            previous: from.as_ref(),
            change,
            subject,
            reason: &request.reason,
            // Recorded only when a rule was actually overridden.
            forced,
            gate_unmet,
            branch: branch.as_deref(),
            operation: "promote",
        },
        signatures,
    )?;
    Ok(Promoted::Moved {
        from,
        to,
        commit,
        change,
        forced,
    })
}

/// The split a canary of `version` at `percent` makes of what `environment` holds: its stable
/// version (the current one, or a split's first entry) keeps the rest, written first, so that
/// ramping the canary up only ever adds keys to it.
fn canary_split(
    name: &PromptName,
    environment: &str,
    current: Option<&Pointer>,
    version: &Version,
    percent: Percent,
) -> Result<Pointer> {
    if percent.hundredths() == 0 || percent == Percent::WHOLE {
        return Err(Error::InvalidSplit {
            message: format!(
                "a canary takes a share above 0 and below 100, not {percent}; promote without --canary to serve it to everyone"
            ),
        });
    }
    let Some(stable) = current.map(Pointer::first) else {
        return Err(Error::NoStableVersion {
            name: name.to_string(),
            version: version.to_string(),
            environment: environment.to_owned(),
        });
    };
    if stable == version {
        return Err(Error::CanaryOfStable {
            name: name.to_string(),
            version: version.to_string(),
            environment: environment.to_owned(),
        });
    }
    let rest = Percent::from_hundredths(Percent::WHOLE.hundredths() - percent.hundredths())
        .expect("below 100%");
    let shares = vec![
        Share {
            version: stable.clone(),
            percent: rest,
        },
        Share {
            version: version.clone(),
            percent,
        },
    ];
    Split::new(shares)
        .map(Pointer::Split)
        .map_err(|message| Error::InvalidSplit { message })
}
