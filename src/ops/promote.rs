//! `promote`: move an environment's pointer to a version, as a commit of `registry.yaml` alone.

use crate::model::history::Change;
use crate::store::identity::Signatures;
use crate::store::{ObjectId, Release, Store};
use crate::{Error, PromptName, Result, Version};

use super::pointer::{check_access, commit_move, load, Loaded, Move};

/// A promotion to make.
#[derive(Clone, Debug)]
pub struct PromoteRequest {
    pub name: PromptName,
    pub version: Version,
    pub environment: String,
    pub reason: String,
    /// Override the pipeline rule and the environment's gate (recorded in the commit).
    pub force: bool,
}

/// What `promote` did.
#[derive(Clone, Debug)]
pub enum Promoted {
    Moved {
        from: Option<Version>,
        commit: ObjectId,
        /// `promoted`, or `reverted` for a move to a lower version.
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

/// Moves the pointer; the pipeline rule: the first environment takes any released version,
/// every later one only the version the environment before it holds now. Then the access
/// rules, then the environment's gate (`policy:`); `force` overrides the pipeline rule and the
/// gate, never the access rules.
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
    let release = servable_release(store, name, &request.version, env)?;
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
    let gate_unmet = unmet_gate(store, &loaded, name, &request.version, &release, env)?;
    if !gate_unmet.is_empty() && !request.force {
        return Err(Error::GateNotMet {
            name: name.to_string(),
            version: request.version.to_string(),
            environment: env.to_owned(),
            unmet: gate_unmet,
        });
    }
    let change =
        Change::classify(from.as_ref(), Some(&request.version)).unwrap_or(Change::Promoted);
    let forced = skips_stage || !gate_unmet.is_empty();
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
            // Recorded only when a rule was actually overridden.
            forced,
            gate_unmet,
        },
        signatures,
    )?;
    Ok(Promoted::Moved {
        from,
        commit,
        change,
        forced,
    })
}
