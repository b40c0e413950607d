//! One version of a prompt as the client hands it out: the server's record, where it came
//! from, and the split it was assigned in.

use std::sync::Arc;

use serde_json::Value;

use crate::{Origin, SplitEntry, TestSummary};

/// One version of a prompt: the record `promptreg fetch --format json` prints.
#[derive(Clone, Debug)]
pub struct Prompt {
    record: Arc<Value>,
    origin: Origin,
    /// The split of the environment asked for, when it splits.
    split: Option<Arc<[SplitEntry]>>,
    /// The key's bucket in that split, for [`crate::Client::get_for`].
    bucket: Option<u32>,
}

impl Prompt {
    /// Wraps a record, checking it has the keys the accessors read (and, when it names a split,
    /// that the split is one).
    pub fn from_json(record: Value) -> Result<Self, String> {
        for key in ["name", "version", "system_prompt"] {
            if !record.get(key).is_some_and(Value::is_string) {
                return Err(format!("the record has no string `{key}`"));
            }
        }
        let split = match record.get("split") {
            None | Some(Value::Null) => None,
            Some(split) => {
                let entries: Vec<SplitEntry> = serde_json::from_value(split.clone())
                    .map_err(|e| format!("the record's `split` is not a split: {e}"))?;
                promptreg_wire::split::check(&entries)
                    .map_err(|e| format!("the record's `split` is not a split: {e}"))?;
                Some(Arc::from(entries))
            }
        };
        let bucket = record
            .get("bucket")
            .and_then(Value::as_u64)
            .and_then(|b| u32::try_from(b).ok());
        Ok(Prompt {
            record: Arc::new(record),
            origin: Origin::Server,
            split,
            bucket,
        })
    }

    fn string(&self, key: &str) -> Option<&str> {
        self.record.get(key).and_then(Value::as_str)
    }

    /// The prompt's name.
    pub fn name(&self) -> &str {
        self.string("name").unwrap_or_default()
    }

    /// The version, `X.Y.Z`.
    pub fn version(&self) -> &str {
        self.string("version").unwrap_or_default()
    }

    /// The resolved system prompt.
    pub fn system_prompt(&self) -> &str {
        self.string("system_prompt").unwrap_or_default()
    }

    /// The model, if the prompt names one.
    pub fn model(&self) -> Option<&str> {
        self.string("model")
    }

    /// The sampling temperature.
    pub fn temperature(&self) -> Option<f64> {
        self.record.get("temperature").and_then(Value::as_f64)
    }

    /// The last environment holding this version, `None` for a draft.
    pub fn environment(&self) -> Option<&str> {
        self.string("environment")
    }

    /// The latest recorded run of each test of this version (empty when never tested, or
    /// when the record comes from a registry older than test results).
    pub fn tests(&self) -> Vec<TestSummary> {
        self.record
            .get("tests")
            .and_then(|tests| serde_json::from_value(tests.clone()).ok())
            .unwrap_or_default()
    }

    /// The split of the environment asked for, when it splits: every version it serves and
    /// its share, in the order keys are assigned (docs/FORMAT.md §3.3). `None` for a version
    /// asked for by number, or an environment that serves one version.
    pub fn split(&self) -> Option<&[SplitEntry]> {
        self.split.as_deref()
    }

    /// For [`crate::Client::get_for`] on a split environment: the key's bucket (0–9999), which
    /// picked this version.
    pub fn bucket(&self) -> Option<u32> {
        self.bucket
    }

    /// The whole record (docs/FORMAT.md §7) as it was fetched. For a key assigned a split's
    /// other entry, that is the version's own record (fetched by number, so its `split` and
    /// `bucket` are null): [`Prompt::split`] and [`Prompt::bucket`] say how it was assigned.
    pub fn json(&self) -> &Value {
        &self.record
    }

    /// Where this value came from.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    pub(crate) fn with_origin(&self, origin: Origin) -> Self {
        Prompt {
            origin,
            ..self.clone()
        }
    }

    /// This version as the entry a key was assigned in `split`, with the key's bucket.
    pub(crate) fn assigned(&self, split: Arc<[SplitEntry]>, bucket: u32, origin: Origin) -> Self {
        Prompt {
            record: Arc::clone(&self.record),
            origin,
            split: Some(split),
            bucket: Some(bucket),
        }
    }

    pub(crate) fn split_arc(&self) -> Option<Arc<[SplitEntry]>> {
        self.split.clone()
    }
}
