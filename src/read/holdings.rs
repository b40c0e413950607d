//! Which `prompt.yaml` blob each release holds, cached by the id of its tag object, so that
//! `validate` checks 100,000 version tags without reading the release commits' trees.
//!
//! A version tag object fixes its commit, the commit fixes its tree, and the tree fixes the blob
//! at `prompts/<name>/prompt.yaml` and whether a link or submodule lies in that directory. So a
//! line `<tag id> <blob id> <name>` — written only for a release that holds its file as a regular
//! file and no link below it — can never be stale. A release that reads otherwise (no file, a
//! link, a missing object) gets no line and is looked at, and reported, every time.
//!
//! All lines live in one cache entry (`holdings-<zero id>`, see [`crate::store`]'s cache), sorted
//! by tag id, between a header and an end line (an entry without its end line is ignored). A
//! reader looks tags up by binary search over the line starts, so a check of ten prompts' tags
//! costs one file read and no parse of the other 100,000 lines. A run that learned holdings the
//! entry lacked writes it again whole (aside, then renamed into place).

use crate::store::{ObjectId, SortedEntry, Store};
use crate::PromptName;

/// The cache kind.
const KIND: &str = "holdings";
/// The first line of the entry, naming its form.
const HEADER: &str = "promptreg holdings 1\n";
/// The last line of a complete entry.
const END: &str = "end\n";
/// The most lines kept: ten releases of 20,000 prompts. Past it, the entry starts again from
/// the lines of the run that wrote it.
const MAX_LINES: usize = 200_000;
/// The length of a hexadecimal SHA-1 id.
const HEX: usize = 40;

/// The cached holdings and those this process learned.
pub struct Holdings<'s> {
    store: &'s Store,
    /// The whole entry, when enough lookups are expected to make reading it pay.
    loaded: Option<Loaded>,
    /// Otherwise the entry opened for binary searches (`None`: none, or damaged).
    opened: Option<SortedEntry>,
    /// Holdings learned now: (tag id, blob id, name).
    fresh: Vec<(String, String, String)>,
}

/// How many lookups make reading the whole entry (9 MB at 100,000 releases) cheaper than a
/// binary search of the file with positioned reads for each (~20 µs).
const LOAD_FROM: usize = 256;

/// An entry read whole.
#[derive(Default)]
struct Loaded {
    /// The entry as read (empty when there was none, or it was damaged).
    text: String,
    /// Where its record lines are in `text`: between the header and the end line.
    body: std::ops::Range<usize>,
}

/// The one entry's id: the entry holds lines each keyed by its own immutable id.
fn entry_id() -> ObjectId {
    ObjectId::ZERO_SHA1
}

impl<'s> Holdings<'s> {
    /// Opens the cached holdings for about `lookups` lookups (none when the cache is missing
    /// or damaged).
    pub fn open(store: &'s Store, lookups: usize) -> Holdings<'s> {
        let (loaded, opened) = if lookups >= LOAD_FROM {
            (Some(Loaded::read(store)), None)
        } else {
            let opened = store
                .cache_sorted(KIND, entry_id(), 1, record_key)
                .filter(|entry| {
                    let header = entry.head.first().map(|h| format!("{h}\n"));
                    header.as_deref() == Some(HEADER) && format!("{}\n", entry.last) == END
                });
            (None, opened)
        };
        Holdings {
            store,
            loaded,
            opened,
            fresh: Vec::new(),
        }
    }

    /// The `prompt.yaml` blob of `name`'s release tagged by the tag object `tag`, when cached.
    pub fn get(&self, tag: ObjectId, name: &PromptName) -> Option<ObjectId> {
        let key = tag.to_string();
        match &self.loaded {
            Some(loaded) => loaded.get(&key, name),
            // Only the first line of a tag is looked at here: the same tag object under a
            // second name is a miss, read from the repository.
            None => holding(&self.opened.as_ref()?.find(&key)?, name),
        }
    }

    /// Records that `name`'s release tagged by `tag` holds `blob` (a regular file, no link in
    /// its directory), for [`Holdings::save`].
    pub fn put(&mut self, tag: ObjectId, name: &PromptName, blob: ObjectId) {
        self.fresh
            .push((tag.to_string(), blob.to_string(), name.to_string()));
    }

    /// Writes the entry again when holdings were learned that it lacked. Best-effort, as every
    /// cache write.
    pub fn save(mut self) {
        if self.fresh.is_empty() {
            return;
        }
        let store = self.store;
        let loaded = self.loaded.take().unwrap_or_else(|| Loaded::read(store));
        self.fresh.sort();
        self.fresh.dedup();
        let fresh: Vec<String> = self
            .fresh
            .iter()
            .map(|(tag, blob, name)| format!("{tag} {blob} {name}"))
            .collect();
        let mut old: Vec<&str> = loaded.text[loaded.body.clone()].lines().collect();
        if old.len() + fresh.len() > MAX_LINES {
            old.clear();
        }
        let mut lines = old;
        lines.extend(fresh.iter().map(String::as_str));
        lines.sort_unstable();
        lines.dedup();
        let mut out = String::with_capacity(loaded.text.len() + fresh.len() * 96 + 32);
        out.push_str(HEADER);
        for line in lines {
            out.push_str(line);
            out.push('\n');
        }
        out.push_str(END);
        store.cache_put(KIND, entry_id(), &out, 1);
    }
}

impl Loaded {
    fn read(store: &Store) -> Loaded {
        let text = store.cache_get(KIND, entry_id()).unwrap_or_default();
        let complete = text.starts_with(HEADER) && text[HEADER.len()..].ends_with(END);
        if !complete {
            return Loaded::default();
        }
        let body = HEADER.len()..text.len() - END.len();
        Loaded { text, body }
    }

    fn get(&self, key: &str, name: &PromptName) -> Option<ObjectId> {
        let mut at = self.lower_bound(key);
        std::iter::from_fn(|| {
            (at < self.body.end).then(|| {
                let line = self.line(at);
                at += line.len() + 1;
                line
            })
        })
        .take_while(|line| line.get(..HEX) == Some(key))
        .find_map(|line| holding(line, name))
    }

    /// The start of the first record line whose key is not below `key`. The lines are sorted
    /// as written; in an entry that is not (made by hand), a search can only miss.
    fn lower_bound(&self, key: &str) -> usize {
        // Invariant: `lo` starts a line; lines starting before it sort below `key`, those
        // starting at or after `hi` do not.
        let (mut lo, mut hi) = (self.body.start, self.body.end);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let start = self.line_start_from(mid);
            if start >= hi {
                hi = mid;
            } else if self.key(start) < key {
                lo = start + self.line(start).len() + 1;
            } else {
                hi = start;
            }
        }
        lo
    }

    /// The first line start at or after `at`.
    fn line_start_from(&self, at: usize) -> usize {
        if at == self.body.start || self.text.as_bytes()[at - 1] == b'\n' {
            return at;
        }
        memchr::memchr(b'\n', &self.text.as_bytes()[at..self.body.end])
            .map_or(self.body.end, |nl| at + nl + 1)
    }

    /// The line starting at `at`, without its newline.
    fn line(&self, at: usize) -> &str {
        let rest = &self.text[at..self.body.end];
        rest.split_once('\n').map_or(rest, |(line, _)| line)
    }

    fn key(&self, at: usize) -> &str {
        self.line(at).get(..HEX).unwrap_or_default()
    }
}

/// The key of a record line (its tag id); `None` for the header and end lines.
fn record_key(line: &str) -> Option<&str> {
    (line.as_bytes().get(HEX) == Some(&b' ')).then(|| &line[..HEX])
}

/// The blob a record line names for `name`, if it is `name`'s.
fn holding(line: &str, name: &PromptName) -> Option<ObjectId> {
    let (blob, cached_name) = line.get(HEX + 1..)?.split_once(' ')?;
    (cached_name == name.as_str())
        .then(|| blob.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        for lookups in [1, LOAD_FROM] {
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
        let second = (lookups >= LOAD_FROM).then(|| id(11));
        assert_eq!(holdings.get(id(1), &name("b")), second);
        assert_eq!(holdings.get(id(4), &name("c")), None);
    }

    #[test]
    fn damaged_entries_are_ignored() {
        for lookups in [1, LOAD_FROM] {
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
            store.cache_put(KIND, entry_id(), &text, 1);
            assert_eq!(
                Holdings::open(&store, lookups).get(id(1), &name("a")),
                None,
                "{text}"
            );
        }
        store.cache_put(
            KIND,
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
