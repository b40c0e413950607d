//! `promote`: move an environment's pointer to a version, as a commit of `registry.yaml` alone.

use git2::Oid;

use crate::history::Change;
use crate::identity::Signatures;
use crate::store::Store;
use crate::{Error, PromptName, Result, Version};

use super::pointer::{check_access, commit_move, load, Move};

/// A promotion to make.
#[derive(Clone, Debug)]
pub struct PromoteRequest {
    pub name: PromptName,
    pub version: Version,
    pub environment: String,
    pub reason: String,
    /// Skip the pipeline rule (recorded in the commit).
    pub force: bool,
}

/// What `promote` did.
#[derive(Clone, Debug)]
pub enum Promoted {
    Moved { from: Option<Version>, commit: Oid },
    AlreadyThere,
}

/// Moves the pointer; the pipeline rule: the first environment takes any released version,
/// every later one only the version the environment before it holds now.
pub fn promote(
    store: &Store,
    request: &PromoteRequest,
    signatures: &Signatures,
) -> Result<Promoted> {
    let loaded = load(store, "promote")?;
    let registry = &loaded.registry;
    let name = &request.name;
    let env = request.environment.as_str();
    registry.check_environment(env)?;
    if store.release(name, &request.version)?.is_none() {
        return Err(super::fetch::missing_version(store, name, &request.version));
    }
    let pointers = registry.pointers(name);
    let from = pointers.get(env).cloned();
    if from.as_ref() == Some(&request.version) {
        return Ok(Promoted::AlreadyThere);
    }
    let stage = registry
        .environments
        .iter()
        .position(|e| e == env)
        .unwrap_or(0);
    let previous = stage.checked_sub(1).map(|k| &registry.environments[k]);
    let skips_stage = previous.is_some_and(|p| pointers.get(p) != Some(&request.version));
    if let (true, false, Some(previous)) = (skips_stage, request.force, previous) {
        return Err(Error::PipelineSkipped {
            name: name.to_string(),
            version: request.version.to_string(),
            environment: env.to_owned(),
            previous: previous.clone(),
            held: pointers
                .get(previous)
                .map_or("nothing".to_owned(), |v| v.to_string()),
        });
    }
    check_access(registry, &signatures.author.email, name, env)?;
    let change =
        Change::classify(from.as_ref(), Some(&request.version)).unwrap_or(Change::Promoted);
    let commit = commit_move(
        store,
        &loaded,
        &Move {
            name,
            environment: env,
            version: &request.version,
            previous: from.as_ref(),
            change,
            subject: format!("promote {name} {} to {env}", request.version),
            reason: &request.reason,
            // Recorded only when the pipeline rule was actually overridden.
            forced: skips_stage,
        },
        signatures,
    )?;
    Ok(Promoted::Moved { from, commit })
}
