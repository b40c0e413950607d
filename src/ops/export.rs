//! `export`: one file holding every prompt an environment serves, for deployments that must work
//! without the registry (baked into an image, or as a client's fallback). The bundle's shape is
//! [`promptreg_wire::Bundle`].
//!
//! Each prompt is the exact record `fetch --format json` prints for `NAME@ENVIRONMENT`, including
//! `updated_by` / `updated_at` (computed, not null), all resolved against one commit so the bundle
//! is a consistent snapshot even while promotions land. An environment that splits exports its
//! first entry there (with the `split`) and every other entry under `variants`, so a reader
//! assigns keys offline exactly as the server does.

use std::collections::BTreeMap;

use promptreg_wire::{Bundle, BUNDLE_FORMAT};

use crate::model::selector::{Selector, Target};
use crate::read::record::prompt_record;
use crate::read::{fetch, registry_at, revision_label};
use crate::store::Store;
use crate::{Error, Result};

/// A bundle, and the results files that could not be read while building it (those prompts
/// are in the bundle without `tests`, as `fetch` and the HTTP API give them).
#[derive(Debug)]
pub struct Exported {
    pub bundle: Bundle,
    pub results_errors: Vec<Error>,
}

/// Every prompt `environment` (default: the last of the pipeline) serves at `revision` (default
/// HEAD).
pub fn export(
    store: &Store,
    environment: Option<&str>,
    revision: Option<&str>,
) -> Result<Exported> {
    let commit = store.commit(revision)?;
    let registry = registry_at(store, &commit, revision_label(revision), None)?;
    let environment = environment
        .unwrap_or_else(|| registry.last_environment())
        .to_owned();
    registry.check_environment(&environment)?;
    // Read everything from this one commit, whatever HEAD does meanwhile.
    let pinned = commit.id().to_string();
    let mut prompts = BTreeMap::new();
    let mut variants = BTreeMap::new();
    let mut results_errors = Vec::new();
    for (name, pointers) in &registry.prompts {
        if !pointers.contains_key(&environment) {
            continue;
        }
        let selector = Selector {
            name: name.clone(),
            target: Some(Target::Environment(environment.clone())),
        };
        let fetched = fetch(store, &selector, Some(&pinned), None)?;
        let split = fetched.split.clone();
        // The same record the HTTP API serves, results included.
        let full = prompt_record(store, &fetched, Some(&pinned))?;
        results_errors.extend(full.results_error);
        prompts.insert(name.to_string(), to_value(name, full.record)?);
        let Some(split) = split else { continue };
        let mut others = BTreeMap::new();
        for share in &split.shares()[1..] {
            let selector = Selector {
                name: name.clone(),
                target: Some(Target::Version(share.version.clone())),
            };
            let fetched = fetch(store, &selector, Some(&pinned), None)?;
            let mut full = prompt_record(store, &fetched, Some(&pinned))?;
            results_errors.extend(full.results_error);
            // Each variant names the split it is part of, as the server's answer would.
            full.record.split = Some(split.to_wire());
            others.insert(share.version.to_string(), to_value(name, full.record)?);
        }
        variants.insert(name.to_string(), others);
    }
    let bundle = Bundle {
        format: BUNDLE_FORMAT,
        environment,
        exported_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        commit: pinned,
        prompts,
        variants,
    };
    Ok(Exported {
        bundle,
        results_errors,
    })
}

fn to_value(
    name: &crate::PromptName,
    record: promptreg_wire::PromptRecord,
) -> Result<serde_json::Value> {
    serde_json::to_value(record).map_err(|e| Error::Invalid {
        file: crate::PROMPTS_DIR.into(),
        message: format!("cannot serialize the record of `{name}`: {e}"),
    })
}
