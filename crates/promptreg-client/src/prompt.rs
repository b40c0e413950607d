//! One version of a prompt as the client hands it out: the server's record, and where it came
//! from.

use std::sync::Arc;

use serde_json::Value;

use crate::{Origin, TestSummary};

/// One version of a prompt: the record `promptreg fetch --format json` prints.
#[derive(Clone, Debug)]
pub struct Prompt {
    record: Arc<Value>,
    origin: Origin,
}

impl Prompt {
    /// Wraps a record, checking it has the keys the accessors read.
    pub fn from_json(record: Value) -> Result<Self, String> {
        for key in ["name", "version", "system_prompt"] {
            if !record.get(key).is_some_and(Value::is_string) {
                return Err(format!("the record has no string `{key}`"));
            }
        }
        Ok(Prompt {
            record: Arc::new(record),
            origin: Origin::Server,
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

    /// The whole record (docs/FORMAT.md §7).
    pub fn json(&self) -> &Value {
        &self.record
    }

    /// Where this value came from.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    pub(crate) fn with_origin(&self, origin: Origin) -> Self {
        Prompt {
            record: Arc::clone(&self.record),
            origin,
        }
    }
}
