//! Who last changed which environments hold a version, cached under the commit the answer is
//! for, so that a read right after a pull steps back one commit instead of through every
//! commit since the version last moved.
//!
//! The answer for (commit C, prompt, version) depends only on C's first-parent history, which
//! C's id fixes, so it can never be stale, with one exception that is never stored: an answer
//! cut short at a shallow clone's boundary (deepening the clone could change it). Each answer
//! is an entry of its own, `updates-<key>`, the key being the hash of `<commit id> <name>
//! <version>` (so a server reading thousands of versions at one commit writes small entries,
//! never one growing one); it holds `{"by","at"}` as JSON, or `null`.

use serde_json::{json, Value};

use crate::store::{ObjectId, Store};
use crate::{PromptName, Version};

/// Who last changed which environments hold a version, and when.
#[derive(Clone, Debug)]
pub struct Update {
    pub by: String,
    pub at: String,
}

/// The cache kind.
const KIND: &str = "updates";
/// Entries kept: the commits reads started from lately (each after a pull or a move).
const KEEP: usize = 256;

/// The entry's id for the answer of `version` of `name` as of `commit`.
fn key(commit: ObjectId, name: &PromptName, version: &Version) -> Option<ObjectId> {
    let text = format!("{commit} {name} {version}");
    crate::store::hash_blob(text.as_bytes()).ok()
}

/// The cached answer for `version` of `name` as of `commit` (`Some(None)`: no commit since
/// the version's own changed its environments).
pub fn cached(
    store: &Store,
    commit: ObjectId,
    name: &PromptName,
    version: &Version,
) -> Option<Option<Update>> {
    let text = store.cache_get(KIND, key(commit, name, version)?)?;
    match serde_json::from_str::<Value>(&text).ok()? {
        Value::Null => Some(None),
        Value::Object(map) => Some(Some(Update {
            by: map.get("by")?.as_str()?.to_owned(),
            at: map.get("at")?.as_str()?.to_owned(),
        })),
        _ => None,
    }
}

/// Stores the answer for `version` of `name` as of `commit`. Best-effort, as every cache write.
pub fn remember(
    store: &Store,
    commit: ObjectId,
    name: &PromptName,
    version: &Version,
    update: Option<&Update>,
) {
    let Some(id) = key(commit, name, version) else {
        return;
    };
    let value = match update {
        Some(update) => json!({ "by": update.by, "at": update.at }),
        None => Value::Null,
    };
    store.cache_put(KIND, id, &value.to_string(), KEEP);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_read_back_per_commit_and_version_and_a_torn_entry_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(dir.path(), "main").unwrap();
        let commit = ObjectId::from_bytes(&[7; 20]).unwrap();
        let other = ObjectId::from_bytes(&[8; 20]).unwrap();
        let name = PromptName::parse("support/faq").unwrap();
        let one = Version::parse("1.0.0").unwrap();
        let two = Version::parse("2.0.0").unwrap();
        assert!(cached(&store, commit, &name, &one).is_none());
        let update = Update {
            by: "a@example.com".into(),
            at: "2026-01-01T00:00:00+00:00".into(),
        };
        remember(&store, commit, &name, &one, Some(&update));
        remember(&store, commit, &name, &two, None);
        let got = cached(&store, commit, &name, &one).unwrap().unwrap();
        assert_eq!(
            (got.by.as_str(), got.at.as_str()),
            ("a@example.com", "2026-01-01T00:00:00+00:00")
        );
        assert!(cached(&store, commit, &name, &two).unwrap().is_none());
        assert!(
            cached(&store, other, &name, &one).is_none(),
            "another commit"
        );

        let id = key(commit, &name, &one).unwrap();
        store.cache_put(KIND, id, "{\"by\":\"a@", KEEP);
        assert!(cached(&store, commit, &name, &one).is_none());
    }
}
