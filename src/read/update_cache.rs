//! Who last changed which environments hold a version, cached under the commit the answer is
//! for, so that a read right after a pull steps back one commit instead of through every
//! commit since the version last moved.
//!
//! The answer for (commit C, prompt, version) depends only on C's first-parent history, which
//! C's id fixes, so it can never be stale, with one exception that is never stored: an answer
//! cut short at a shallow clone's boundary (deepening the clone could change it). Each answer
//! is an entry of its own, `updates-<key>`, the key being the hash of `<commit id> <name>
//! <version>` (so a server reading thousands of versions at one commit writes small entries,
//! never one growing one); it holds `{"by","at","holders"}` as JSON (`by` and `at` absent when
//! no commit since the version's own changed them; `holders`: the environments holding the
//! version at C, in pipeline order). Entries written before `holders` existed (`{"by","at"}`
//! or `null`) still read, without holders.
//!
//! The holders are what make a read right after a pull cheap: the walk from the new commit
//! compares its holders with the parent's cached ones and needs neither version of the
//! 650 KiB `registry.yaml` read again.

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

/// A cached answer: who last changed the holders, and (in entries that record them) which
/// environments held the version at that commit.
#[derive(Clone, Debug)]
pub struct Known {
    /// `None`: no commit since the version's own changed its environments.
    pub update: Option<Update>,
    /// `None`: an entry written before the holders were recorded.
    pub holders: Option<Vec<String>>,
}

/// The entry's id for the answer of `version` of `name` as of `commit`.
fn key(commit: ObjectId, name: &PromptName, version: &Version) -> Option<ObjectId> {
    let text = format!("{commit} {name} {version}");
    crate::store::hash_blob(text.as_bytes()).ok()
}

/// The cached answer for `version` of `name` as of `commit`.
pub fn cached(
    store: &Store,
    commit: ObjectId,
    name: &PromptName,
    version: &Version,
) -> Option<Known> {
    let text = store.cache_get(KIND, key(commit, name, version)?)?;
    let map = match serde_json::from_str::<Value>(&text).ok()? {
        Value::Null => {
            return Some(Known {
                update: None,
                holders: None,
            })
        }
        Value::Object(map) => map,
        _ => return None,
    };
    let update = match (map.get("by"), map.get("at")) {
        (None, None) => None,
        (Some(by), Some(at)) => Some(Update {
            by: by.as_str()?.to_owned(),
            at: at.as_str()?.to_owned(),
        }),
        _ => return None,
    };
    let holders = match map.get("holders") {
        None => None,
        Some(Value::Array(holders)) => Some(
            holders
                .iter()
                .map(|env| env.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()?,
        ),
        Some(_) => return None,
    };
    Some(Known { update, holders })
}

/// Stores the answer for `version` of `name` as of `commit`, where `holders` hold it.
/// Best-effort, as every cache write.
pub fn remember(
    store: &Store,
    commit: ObjectId,
    name: &PromptName,
    version: &Version,
    update: Option<&Update>,
    holders: &[String],
) {
    let Some(id) = key(commit, name, version) else {
        return;
    };
    let value = match update {
        Some(update) => json!({ "by": update.by, "at": update.at, "holders": holders }),
        None => json!({ "holders": holders }),
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
        let holders = vec!["staging".to_owned(), "production".to_owned()];
        remember(&store, commit, &name, &one, Some(&update), &holders);
        remember(&store, commit, &name, &two, None, &[]);
        let got = cached(&store, commit, &name, &one).unwrap();
        let by = got.update.unwrap();
        assert_eq!(
            (by.by.as_str(), by.at.as_str()),
            ("a@example.com", "2026-01-01T00:00:00+00:00")
        );
        assert_eq!(got.holders.as_deref(), Some(&holders[..]));
        let got = cached(&store, commit, &name, &two).unwrap();
        assert!(got.update.is_none());
        assert_eq!(got.holders.as_deref(), Some(&[][..]));
        assert!(
            cached(&store, other, &name, &one).is_none(),
            "another commit"
        );

        // Entries written before the holders were recorded still read, without them.
        let old = key(other, &name, &one).unwrap();
        store.cache_put(KIND, old, r#"{"by":"b@example.com","at":"x"}"#, KEEP);
        let got = cached(&store, other, &name, &one).unwrap();
        assert_eq!(got.update.unwrap().by, "b@example.com");
        assert!(got.holders.is_none());
        store.cache_put(KIND, old, "null", KEEP);
        let got = cached(&store, other, &name, &one).unwrap();
        assert!(got.update.is_none() && got.holders.is_none());
        store.cache_put(KIND, old, r#"{"by":"b@example.com"}"#, KEEP);
        assert!(
            cached(&store, other, &name, &one).is_none(),
            "half an update"
        );
        for torn in [r#"{"holders":"dev"}"#, r#"{"holders":[1]}"#, "[]"] {
            store.cache_put(KIND, old, torn, KEEP);
            assert!(cached(&store, other, &name, &one).is_none(), "{torn}");
        }

        let id = key(commit, &name, &one).unwrap();
        store.cache_put(KIND, id, "{\"by\":\"a@", KEEP);
        assert!(cached(&store, commit, &name, &one).is_none());
    }
}
