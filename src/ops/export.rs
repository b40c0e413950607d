//! `export`: one file holding every prompt an environment serves, for deployments that must work
//! without the registry (baked into an image, or as a client's fallback). The bundle's shape is
//! [`promptreg_wire::Bundle`].
//!
//! Each prompt is the exact record `fetch --format json` prints for `NAME@ENVIRONMENT`, including
//! `updated_by` / `updated_at` (computed, not null), all resolved against one commit so the bundle
//! is a consistent snapshot even while promotions land.

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
    let mut results_errors = Vec::new();
    for (name, pointers) in &registry.prompts {
        if !pointers.contains_key(&environment) {
            continue;
        }
        let selector = Selector {
            name: name.clone(),
            target: Some(Target::Environment(environment.clone())),
        };
        let fetched = fetch(store, &selector, Some(&pinned))?;
        // The same record the HTTP API serves, results included.
        let full = prompt_record(store, &fetched, Some(&pinned))?;
        results_errors.extend(full.results_error);
        let value = serde_json::to_value(full.record).map_err(|e| Error::Invalid {
            file: crate::PROMPTS_DIR.into(),
            message: format!("cannot serialize the record of `{name}`: {e}"),
        })?;
        prompts.insert(name.to_string(), value);
    }
    let bundle = Bundle {
        format: BUNDLE_FORMAT,
        environment,
        exported_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        commit: pinned,
        prompts,
    };
    Ok(Exported {
        bundle,
        results_errors,
    })
}
