//! `export`: one file holding every prompt an environment serves, for deployments that must work
//! without the registry (baked into an image, or as [`crate::client`]'s fallback).
//!
//! Each prompt is the exact record `fetch --format json` prints for `NAME@ENVIRONMENT`, including
//! `updated_by` / `updated_at` (computed, not null), all resolved against one commit so the bundle
//! is a consistent snapshot even while promotions land.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::selector::{Selector, Target};
use crate::store::Store;
use crate::{Error, Result};

use super::fetch::{fetch, last_update, record};
use super::{registry_at, revision_label};

/// The bundle format this version writes (and the highest it reads).
pub const BUNDLE_FORMAT: u32 = 1;

/// What `export` writes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    /// [`BUNDLE_FORMAT`].
    pub format: u32,
    /// The environment whose prompts these are.
    pub environment: String,
    /// When the bundle was made (RFC 3339, UTC).
    pub exported_at: String,
    /// The commit the index and records were read from.
    pub commit: String,
    /// Prompt name → its record (the `fetch --format json` shape), sorted by name.
    pub prompts: BTreeMap<String, Value>,
}

impl Bundle {
    /// The record of `name`, if the bundle holds it.
    pub fn prompt(&self, name: &str) -> Option<&Value> {
        self.prompts.get(name)
    }
}

/// Every prompt `environment` (default: the last of the pipeline) serves at `revision` (default
/// HEAD).
pub fn export(store: &Store, environment: Option<&str>, revision: Option<&str>) -> Result<Bundle> {
    let commit = store.commit(revision)?;
    let registry = registry_at(store, &commit, revision_label(revision), None)?;
    let environment = environment
        .unwrap_or_else(|| registry.last_environment())
        .to_owned();
    registry.check_environment(&environment)?;
    // Read everything from this one commit, whatever HEAD does meanwhile.
    let pinned = commit.id().to_string();
    let mut prompts = BTreeMap::new();
    for (name, pointers) in &registry.prompts {
        if !pointers.contains_key(&environment) {
            continue;
        }
        let selector = Selector {
            name: name.clone(),
            target: Some(Target::Environment(environment.clone())),
        };
        let fetched = fetch(store, &selector, Some(&pinned))?;
        let update = last_update(store, &fetched, Some(&pinned))?;
        // The same record the HTTP API serves, results included.
        let tests = super::fetch::tests(store, &fetched, Some(&pinned))?;
        let value =
            serde_json::to_value(record(&fetched, update, tests)).map_err(|e| Error::Invalid {
                file: crate::PROMPTS_DIR.into(),
                message: format!("cannot serialize the record of `{name}`: {e}"),
            })?;
        prompts.insert(name.to_string(), value);
    }
    Ok(Bundle {
        format: BUNDLE_FORMAT,
        environment,
        exported_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        commit: pinned,
        prompts,
    })
}
