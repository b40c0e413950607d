//! The records of `fetch`, `versions` and `list`: the stable JSON shapes the CLI prints with
//! `--format json` and the HTTP API serves. Field order here is the order in the output.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Percent, SplitEntry, TestSummary};

/// One version of a prompt with its content resolved: what `fetch --format json` prints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PromptRecord {
    /// `name@version`.
    pub id: String,
    pub name: String,
    pub version: String,
    /// The tagger's e-mail address.
    pub created_by: String,
    /// RFC 3339.
    pub created_at: String,
    /// Who last changed which environments hold this version (author e-mail), if anyone did.
    pub updated_by: Option<String>,
    pub updated_at: Option<String>,
    /// The changelog (the tag message).
    pub description: String,
    pub system_prompt: String,
    pub token_budget: u64,
    pub temperature: f64,
    /// The last environment holding it in pipeline order, or `draft`.
    pub status: String,
    /// Same as `status` but `null` for drafts.
    pub environment: Option<String>,
    /// Every environment holding it, in whole or as part of a split, in pipeline order.
    pub environments: Vec<String>,
    pub domain: Option<String>,
    pub model: Option<String>,
    pub messages: Vec<Message>,
    pub variables: BTreeMap<String, Variable>,
    pub examples: Vec<Value>,
    pub tags: Vec<String>,
    pub metadata: serde_json::Map<String, Value>,
    pub summary: Option<String>,
    /// The commit holding the content.
    pub commit: String,
    /// The tag name, `<name>/v<version>`.
    pub tag: String,
    /// The latest recorded run of each test of this version, by test name.
    pub tests: Vec<TestSummary>,
    /// The split of the environment that was asked for (`null`: it serves one version, or a
    /// version was asked for by number). The record is the entry the key was assigned, or the
    /// first entry without a key.
    #[serde(default)]
    pub split: Option<Vec<SplitEntry>>,
    /// With a key: the bucket (0–9999) it falls into in that split (docs/FORMAT.md §3.3).
    #[serde(default)]
    pub bucket: Option<u32>,
}

/// One row of `versions`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionRecord {
    pub version: String,
    pub status: String,
    pub environments: Vec<String>,
    pub created_by: String,
    pub created_at: String,
    pub description: String,
    pub commit: String,
    pub tag: String,
    /// Passed over all cases of the latest run of each test (`null`: never tested).
    pub pass_rate: Option<f64>,
    /// How many tests have a result.
    pub tests: usize,
    /// The lowest pass rate of the latest run of any test (`null`: never tested): what a gate's
    /// `min_pass_rate`, which judges each test alone, is held against.
    #[serde(default)]
    pub worst_pass_rate: Option<f64>,
    /// The test with that rate (the first by name on a tie).
    #[serde(default)]
    pub worst_test: Option<String>,
    /// The share of its status environment's traffic it gets when that environment splits
    /// (`10` for a 10% canary); `null` when the environment serves it alone, or for a draft.
    #[serde(default)]
    pub percent: Option<Percent>,
}

/// One row of `list`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ListRecord {
    pub name: String,
    pub domain: Option<String>,
    /// The `@latest` version, `null` when none is released (or its tags are not in the clone).
    pub latest: Option<String>,
    /// How many versions exist.
    pub versions: usize,
    /// Every environment of the pipeline, in order → the version it holds, `null` for none;
    /// for a split, its first entry (what a reader without a key is served; see `splits`).
    pub environments: serde_json::Map<String, Value>,
    pub summary: Option<String>,
    /// `released` (a version tag or a pointer in the index), or `unreleased` (files only).
    #[serde(default = "released")]
    pub status: String,
    /// The environments that split their traffic → the split's entries in order (empty when
    /// none does).
    #[serde(default)]
    pub splits: BTreeMap<String, Vec<SplitEntry>>,
}

fn released() -> String {
    "released".to_owned()
}

/// One chat message of a record, its template unrendered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

/// Who speaks a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

/// A template variable's contract, as a record shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Variable {
    pub description: Option<String>,
    pub required: bool,
    /// The value used when none is given: a string, number or boolean.
    pub default: Option<Value>,
}
