//! The access log's line: one JSON object per read or write of a prompt — who asked for what,
//! when, and what they got. `serve` writes one for every request; `fetch` writes the same kind of
//! line when `PROMPTREG_AUDIT_LOG` names a file, so CLI reads are on the record too.

use serde::{Deserialize, Serialize};

/// One line of the access log.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AccessLine {
    /// RFC 3339, UTC, milliseconds.
    pub time: String,
    /// The HTTP method, or `FETCH` for the CLI.
    pub method: String,
    /// The request path, or the selector the CLI was given.
    pub path: String,
    pub prompt: Option<String>,
    pub version: Option<String>,
    pub environment: Option<String>,
    /// For a read of a split environment with a key: the key's bucket (0–9999). The key itself
    /// is never logged (keys are often user ids); the bucket and `version` say what was served.
    #[serde(default)]
    pub bucket: Option<u32>,
    /// The token's name (server) or the git identity's e-mail (CLI), when known.
    pub identity: Option<String>,
    /// The client's address, or `cli`.
    pub client: Option<String>,
    /// The HTTP status; for the CLI, the status the same read would get over HTTP.
    pub status: u16,
    pub duration_ms: f64,
}

impl AccessLine {
    /// The line, without its newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
