//! Which `prompt.yaml` blob each release holds, cached by the id of its tag object, so that
//! `validate` checks 100,000 version tags without reading the release commits' trees.
//!
//! A version tag object fixes its commit, the commit fixes its tree, and the tree fixes the blob
//! at `prompts/<name>/prompt.yaml` and whether a link or submodule lies in that directory. So a
//! line `<tag id> <blob id> <name>` — written only for a release that holds its file as a regular
//! file and no link below it — can never be stale. A release that reads otherwise (no file, a
//! link, a missing object) gets no line and is looked at, and reported, every time.
//!
//! All lines live in one cache entry (`holdings-<zero id>`, see [`crate::store`]'s cache) of
//! [`KeyedLines`]: a check of ten prompts' tags searches it in place and parses none of the
//! other 100,000 lines.

use super::keyed_lines::{Form, KeyedLines};
use crate::store::{hex_of, parse_id, ObjectId, Store};
use crate::PromptName;

const FORM: Form = Form {
    kind: "holdings",
    header: "promptreg holdings 1\n",
    // Ten releases of 20,000 prompts.
    max_lines: 200_000,
    keep: 1,
};

/// The cached holdings and those this process learned.
pub struct Holdings<'s> {
    store: &'s Store,
    lines: KeyedLines,
}

/// The one entry's id: the entry holds lines each keyed by its own immutable id.
fn entry_id() -> ObjectId {
    ObjectId::ZERO_SHA1
}

impl<'s> Holdings<'s> {
    /// Opens the cached holdings for about `lookups` lookups (none when the cache is missing
    /// or damaged).
    pub fn open(store: &'s Store, lookups: usize) -> Holdings<'s> {
        Holdings {
            store,
            lines: KeyedLines::open(store, &FORM, entry_id(), lookups),
        }
    }

    /// Whether no holding is cached: every lookup misses.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The `prompt.yaml` blob of `name`'s release tagged by the tag object `tag`, when cached.
    /// The same tag object under a second name may be a miss (read from the repository
    /// again), never another release's blob.
    pub fn get(&self, tag: ObjectId, name: &PromptName) -> Option<ObjectId> {
        if self.lines.is_empty() {
            return None;
        }
        let mut key = [0u8; 40];
        self.lines.find(hex_of(tag, &mut key), |value| {
            let (blob, cached_name) = value.split_once(' ')?;
            (cached_name == name.as_str())
                .then(|| parse_id(blob).ok())
                .flatten()
        })
    }

    /// Records that `name`'s release tagged by `tag` holds `blob` (a regular file, no link in
    /// its directory), for [`Holdings::save`].
    pub fn put(&mut self, tag: ObjectId, name: &PromptName, blob: ObjectId) {
        use std::fmt::Write;
        self.lines.put_with(|line| {
            let _ = write!(line, "{tag} {blob} {name}");
        });
    }

    /// Writes the entry again when holdings were learned that it lacked.
    pub fn save(self) {
        self.lines.save(self.store);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = FORM.header;
    const END: &str = "end\n";

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(dir.path(), "main").unwrap();
        (dir, store)
    }

    fn id(byte: u8) -> ObjectId {
        ObjectId::from_bytes(&[byte; 20]).unwrap()
    }

    fn name(text: &str) -> PromptName {
        PromptName::parse(text).unwrap()
    }

    #[test]
    fn holdings_survive_a_save_and_merge_with_later_ones() {
        for lookups in [1, 1_000] {
            survive_and_merge(lookups);
        }
    }

    fn survive_and_merge(lookups: usize) {
        let (_dir, store) = store();
        let mut holdings = Holdings::open(&store, lookups);
        assert_eq!(holdings.get(id(1), &name("a")), None);
        holdings.put(id(3), &name("c"), id(30));
        holdings.put(id(1), &name("a"), id(10));
        holdings.save();

        let mut holdings = Holdings::open(&store, lookups);
        assert_eq!(holdings.get(id(1), &name("a")), Some(id(10)));
        assert_eq!(holdings.get(id(3), &name("c")), Some(id(30)));
        // The same tag object under another name is another release.
        assert_eq!(holdings.get(id(1), &name("b")), None);
        holdings.put(id(2), &name("b"), id(20));
        holdings.put(id(1), &name("b"), id(11));
        holdings.save();

        let holdings = Holdings::open(&store, lookups);
        for (tag, prompt, blob) in [(1, "a", 10), (2, "b", 20), (3, "c", 30)] {
            assert_eq!(holdings.get(id(tag), &name(prompt)), Some(id(blob)));
        }
        // A search of the file sees a tag's first line only: the second name is a miss there
        // (read from the repository again), never another release's blob.
        let second = (lookups >= 1_000).then(|| id(11));
        assert_eq!(holdings.get(id(1), &name("b")), second);
        assert_eq!(holdings.get(id(4), &name("c")), None);
    }

    #[test]
    fn damaged_entries_are_ignored() {
        for lookups in [1, 1_000] {
            damaged_ignored(lookups);
        }
    }

    fn damaged_ignored(lookups: usize) {
        let (_dir, store) = store();
        let line = |tag: u8, blob: u8| format!("{} {} a\n", id(tag), id(blob));
        for text in [
            format!("{HEADER}{}", line(1, 10)),
            format!("promptreg holdings 0\n{}{END}", line(1, 10)),
        ] {
            store.cache_put(FORM.kind, entry_id(), &text, 1);
            assert_eq!(
                Holdings::open(&store, lookups).get(id(1), &name("a")),
                None,
                "{text}"
            );
        }
        store.cache_put(
            FORM.kind,
            entry_id(),
            &format!("{HEADER}{}{END}", line(1, 10)),
            1,
        );
        assert_eq!(
            Holdings::open(&store, lookups).get(id(1), &name("a")),
            Some(id(10))
        );
    }
}
