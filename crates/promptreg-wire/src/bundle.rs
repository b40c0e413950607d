//! The bundle `promptreg export` writes: every prompt one environment serves, as of one commit,
//! for deployments that must work without the registry (baked into an image, or as a client's
//! fallback).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

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
    /// Prompt name → its record (the `fetch --format json` shape), sorted by name. Kept as JSON
    /// values so a reader passes on fields newer than itself untouched.
    pub prompts: BTreeMap<String, Value>,
    /// For each prompt the environment splits: the records of its other entries, name →
    /// version → record (the record in `prompts` is the first entry and carries the `split`).
    /// A reader assigns keys with the split rule and finds every variant here, offline.
    #[serde(default)]
    pub variants: BTreeMap<String, BTreeMap<String, Value>>,
}

impl Bundle {
    /// The record of `name`, if the bundle holds it.
    pub fn prompt(&self, name: &str) -> Option<&Value> {
        self.prompts.get(name)
    }

    /// The record of `name` at `version` if the bundle holds it: the first entry or a variant.
    pub fn prompt_version(&self, name: &str, version: &str) -> Option<&Value> {
        let first = self
            .prompts
            .get(name)
            .filter(|r| r.get("version").and_then(Value::as_str) == Some(version));
        first.or_else(|| self.variants.get(name)?.get(version))
    }
}
