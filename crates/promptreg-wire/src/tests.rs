//! The summary of one test's latest run, as `fetch`, `results show` and the HTTP API print it.

use serde::{Deserialize, Serialize};

/// The latest recorded run of one test of one version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestSummary {
    pub test: String,
    pub passed: u64,
    pub failed: u64,
    pub errored: u64,
    pub total: u64,
    /// Passed over total, 0 to 1.
    pub pass_rate: f64,
    pub avg_score: Option<f64>,
    pub tested_at: String,
    pub tested_by: String,
    pub source: String,
    pub url: Option<String>,
}
