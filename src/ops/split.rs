//! `split`: set an environment to an arbitrary traffic split of released versions (an A/B/n
//! test), as a commit of `registry.yaml` alone. Every version gaining traffic passes the
//! pipeline rule (one the environment serves already passes it), the access rules and the gate
//! exactly as `promote` would ask of it (see [`super::promote::gaining`]).

use crate::model::history::Change;
use crate::model::registry::{Pointer, Share, Split};
use crate::store::identity::Signatures;
use crate::store::{ObjectId, Store};
use crate::{Error, PromptName, Result};

use super::pointer::{commit_move, load, Move};
use super::promote::{admit, servable_release};

/// A split to set.
#[derive(Clone, Debug)]
pub struct SplitRequest {
    pub name: PromptName,
    pub environment: String,
    /// The entries in the order to write them (keys are assigned along it).
    pub shares: Vec<Share>,
    pub reason: String,
    /// Override the pipeline rule and the gate (recorded in the commit).
    pub force: bool,
}

/// What `split` did.
#[derive(Clone, Debug)]
pub enum SplitSet {
    Moved {
        from: Option<Pointer>,
        to: Split,
        commit: ObjectId,
        forced: bool,
    },
    AlreadyThere,
}

/// Sets the split; see the [module docs](self).
pub fn split(store: &Store, request: &SplitRequest, signatures: &Signatures) -> Result<SplitSet> {
    split_on(store, request, signatures, None)
}

/// [`split`], with `branch`: as one commit on that new branch, made from the registry branch's
/// tip, for a pull request (the checkout stays as it is).
pub fn split_on(
    store: &Store,
    request: &SplitRequest,
    signatures: &Signatures,
    branch: Option<&str>,
) -> Result<SplitSet> {
    let to =
        Split::new(request.shares.clone()).map_err(|message| Error::InvalidSplit { message })?;
    let loaded = load(store, "split", branch)?;
    let branch = branch.map(|b| store.new_branch_ref(b)).transpose()?;
    let registry = &loaded.registry;
    let name = &request.name;
    let env = request.environment.as_str();
    registry.check_environment(env)?;
    let from = registry.pointer(name, env).cloned();
    let mut releases = Vec::new();
    for share in to.shares() {
        releases.push(servable_release(store, name, &share.version, env)?);
    }
    let target = Pointer::Split(to.clone());
    if from.as_ref() == Some(&target) {
        return Ok(SplitSet::AlreadyThere);
    }
    // The versions gaining traffic meet the pipeline rule and the gate, as `promote` asks of
    // one; traffic moving back to the stable version needs only the access rules.
    let gaining = super::promote::gaining(from.as_ref(), &target);
    let growing: Vec<_> = to
        .shares()
        .iter()
        .zip(&releases)
        .filter(|(share, _)| gaining.contains(&&share.version))
        .map(|(share, release)| (&share.version, release))
        .collect();
    let (forced, gate_unmet) = admit(
        store,
        &loaded,
        name,
        env,
        &growing,
        request.force,
        &signatures.author.email,
    )?;
    let commit = commit_move(
        store,
        &loaded,
        &Move {
            name,
            environment: env,
            version: &target,
            previous: from.as_ref(),
            change: Change::Split,
            subject: format!("split {name} {env} {to}"),
            reason: &request.reason,
            forced,
            gate_unmet,
            branch: branch.as_deref(),
            operation: "split",
        },
        signatures,
    )?;
    Ok(SplitSet::Moved {
        from,
        to,
        commit,
        forced,
    })
}
