//! Writing the access log: one JSON line ([`AccessLine`], the wire shape) per read or write of a
//! prompt. `serve` appends one for every request; `fetch` appends the same kind of line when
//! `PROMPTREG_AUDIT_LOG` names a file, so CLI reads are on the record too.

use std::io::Write;
use std::path::Path;

pub use promptreg_wire::AccessLine;

/// The current time in the log's format (RFC 3339, UTC, milliseconds).
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Appends one line to `path` with a single write, so lines from concurrent processes do not
/// interleave.
pub fn append(path: &Path, line: &AccessLine) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(format!("{}\n", line.to_json()).as_bytes())
}
