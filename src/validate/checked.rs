//! What checking a prompt directory found, cached by what the check reads, so a `validate` of
//! 10,000 unchanged prompts hashes their files (or takes git's index record of them, see
//! [`key`]) instead of parsing, compiling and rendering them again.
//!
//! The checks of one directory ([`super::prompt::check`]) read nothing but the directory's
//! entries (paths and kinds) and the content of its regular files, and their code is fixed by
//! the build. So the key of a line is the hash of: the build's source id
//! (`PROMPTREG_SOURCE_ID`, from `build.rs`), the directory, and each entry's path, kind and
//! content id; its value is the findings and the servable `prompt.yaml` blobs, as JSON. Such a
//! line can never be stale: any change to a file, an entry or the code makes another key. Not
//! cached: a directory whose file is over the read limit or vanishes while being read, and
//! findings of a render limit (`template-limit`: a time or memory bound, which a busier
//! machine could meet where an idle one does not).
//!
//! What parsing a served release's blob said is cached beside them, keyed by the blob id (see
//! [`release_get`]). The lines live in one [`KeyedLines`] entry per build (`checks-<hash of
//! the source id>`; the two newest builds' entries are kept).

use std::fmt::Write;

use serde_json::{json, Value};

use super::files::{Content, Entry, Files, Kind};
use super::finding::{Finding, Severity, CODES};
use crate::read::keyed_lines::{Form, KeyedLines};
use crate::store::{hash_blob, hex_of, IndexStat, ObjectId, Store};

const FORM: Form = Form {
    kind: "checks",
    header: "promptreg checks 1\n",
    max_lines: 200_000,
    keep: 2,
};

/// The source this build was made from.
pub(crate) const SOURCE_ID: &str = env!("PROMPTREG_SOURCE_ID");

/// The largest file whose content is hashed for a key (as `prompt.yaml`'s own limit).
const READ_LIMIT: usize = crate::model::yaml::MAX_DOCUMENT_BYTES;

/// This build's entry.
fn entry_id() -> ObjectId {
    hash_blob(SOURCE_ID.as_bytes()).unwrap_or(ObjectId::ZERO_SHA1)
}

/// Opens this build's cached checks for about `lookups` directories.
pub(crate) fn open(store: &Store, lookups: usize) -> KeyedLines {
    KeyedLines::open(store, &FORM, entry_id(), lookups)
}

/// What one directory's checks found: findings and servable blobs.
pub(crate) struct Outcome {
    pub findings: Vec<Finding>,
    pub fine: Vec<ObjectId>,
}

/// The key of the directory `dir` with `entries`, `None` when it cannot be cached.
///
/// A working-tree file that git's index vouches for (`index`, see [`IndexStat`]) is named by
/// that record, its blob and the stat data it matched, and not read. The record's stat data is
/// part of the name because a blob id alone does not fix a working-tree file's bytes where
/// git's clean filters apply (a CRLF file whose index blob holds LF): the stat data, the
/// ctime above all, changes with every write. Other files are named by the hash of their
/// bytes; the two kinds of names never meet.
pub(crate) fn key(
    files: &Files<'_>,
    dir: &str,
    entries: &[(String, Entry)],
    index: Option<&IndexStat>,
) -> Option<String> {
    let mut text = format!("{SOURCE_ID}\n{dir}\n");
    for (path, entry) in entries {
        let kind = entry.kind;
        let vouched = entry
            .stat()
            .and_then(|stat| Some((index?.unchanged(path, stat)?, stat)));
        let _ = match (kind, entry.id(), vouched) {
            (Kind::File, Some(id), _) => writeln!(text, "{path}\0{kind:?}\0{id}"),
            (Kind::File, None, Some((id, stat))) => writeln!(
                text,
                "{path}\0{kind:?}\0index {id} {}.{} {}.{} {} {}",
                stat.mtime.0, stat.mtime.1, stat.ctime.0, stat.ctime.1, stat.ino, stat.size
            ),
            (Kind::File, None, None) => match files.read(path, entry, READ_LIMIT).ok()? {
                Content::Bytes(bytes) => {
                    let id = hash_blob(&bytes).ok()?;
                    writeln!(text, "{path}\0{kind:?}\0{id}")
                }
                Content::TooLarge(_) => return None,
            },
            _ => writeln!(text, "{path}\0{kind:?}\0{}", ObjectId::ZERO_SHA1),
        };
    }
    hash_blob(text.as_bytes()).ok().map(|id| id.to_string())
}

/// The cached outcome of `key`.
pub(crate) fn get(cache: &KeyedLines, key: &str) -> Option<Outcome> {
    cache.find(key, decode)
}

/// The line to cache for `outcome`, `None` when it must not be cached.
pub(crate) fn encode(outcome: &Outcome) -> Option<String> {
    if outcome.findings.iter().any(|f| f.code == "template-limit") {
        return None;
    }
    let findings = findings_json(&outcome.findings);
    let fine: Vec<String> = outcome.fine.iter().map(ToString::to_string).collect();
    serde_json::to_string(&json!({ "findings": findings, "fine": fine })).ok()
}

/// `findings` as cached: each an array `[file, line, column, severity, code, message]`.
pub(crate) fn findings_json(findings: &[Finding]) -> Value {
    findings
        .iter()
        .map(|f| {
            json!([
                f.file,
                f.line,
                f.column,
                f.severity.as_str(),
                f.code,
                f.message
            ])
        })
        .collect()
}

/// The findings [`findings_json`] wrote; `None` for anything else, or a code this build does
/// not know (a miss, not a guess).
pub(crate) fn findings_from_json(value: &Value) -> Option<Vec<Finding>> {
    value
        .as_array()?
        .iter()
        .map(|f| {
            let severity = match f.get(3)?.as_str()? {
                "error" => Severity::Error,
                "warning" => Severity::Warning,
                _ => return None,
            };
            // Codes are `&'static str`: a code this build does not know is a miss.
            let cached = f.get(4)?.as_str()?;
            let code = CODES
                .iter()
                .map(|(code, ..)| *code)
                .find(|code| *code == cached)?;
            Some(Finding {
                file: f.get(0)?.as_str()?.to_owned(),
                line: f.get(1)?.as_u64(),
                column: f.get(2)?.as_u64(),
                severity,
                code,
                message: f.get(5)?.as_str()?.to_owned(),
            })
        })
        .collect()
}

/// What parsing release blob `blob`, read as `name`'s prompt.yaml, said, when cached:
/// `Some(None)` servable as it is (no component), `Some(Some(problem))` not servable.
///
/// Such a line is keyed by the blob id itself (no hash to make for each of 20,000 releases):
/// the entry is this build's, and the value names the prompt, since a problem's words name the
/// file. A directory's key, a hash of other text, cannot be a blob id, and its value does not
/// start as a release's does, so neither kind of line is ever taken for the other.
pub(crate) fn release_get(
    cache: &KeyedLines,
    blob: ObjectId,
    name: &crate::PromptName,
) -> Option<Option<String>> {
    let mut key = [0u8; 40];
    cache.find(hex_of(blob, &mut key), |value| {
        let (cached_name, problem) = value.strip_prefix(RELEASE)?.split_once(' ')?;
        if cached_name != name.as_str() {
            return None;
        }
        serde_json::from_str::<Option<String>>(problem).ok()
    })
}

/// Caches what parsing `blob` as `name`'s prompt.yaml said (see [`release_get`]).
pub(crate) fn release_put(
    cache: &mut KeyedLines,
    blob: ObjectId,
    name: &crate::PromptName,
    problem: Option<&str>,
) {
    use std::fmt::Write;
    let problem = serde_json::to_string(&problem).unwrap_or_else(|_| "null".into());
    cache.put_with(|line| {
        let _ = write!(line, "{blob} {RELEASE}{name} {problem}");
    });
}

/// How a release line's value starts.
const RELEASE: &str = "release ";

fn decode(value: &str) -> Option<Outcome> {
    let value: Value = serde_json::from_str(value).ok()?;
    let findings = findings_from_json(value.get("findings")?)?;
    let fine = value
        .get("fine")?
        .as_array()?
        .iter()
        .map(|id| id.as_str()?.parse().ok())
        .collect::<Option<Vec<_>>>()?;
    Some(Outcome { findings, fine })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_round_trip_and_render_limits_are_not_kept() {
        let finding = |code: &'static str| Finding {
            file: "prompts/a/prompt.yaml".into(),
            line: Some(3),
            column: None,
            severity: Severity::Warning,
            code,
            message: "a \"quoted\"\nmessage".into(),
        };
        let outcome = Outcome {
            findings: vec![finding("unknown-key")],
            fine: vec![ObjectId::from_bytes(&[7; 20]).unwrap()],
        };
        let line = encode(&outcome).unwrap();
        assert!(!line.contains('\n'));
        let back = decode(&line).unwrap();
        assert_eq!(back.findings, outcome.findings);
        assert_eq!(back.fine, outcome.fine);
        let limited = Outcome {
            findings: vec![finding("template-limit")],
            fine: Vec::new(),
        };
        assert!(encode(&limited).is_none());
        // A code this build does not know is a miss, not a guess.
        assert!(decode(&line.replace("unknown-key", "no-such-code")).is_none());
    }
}
