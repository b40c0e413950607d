//! The summaries `list` shows, cached by the id of each version's tag object, so that a list of
//! 10,000 prompts reads one file instead of 10,000 tag objects, trees and `prompt.yaml` blobs.
//!
//! A release's summary is a function of its tag object (which fixes the commit, hence the
//! `prompt.yaml` it holds) and of the prompt's name (the path read in that commit), both
//! immutable, so a line `<tag id> <name> <summary as JSON>` can never be stale. All lines live in
//! one cache entry (`summaries-<zero id>`, see [`crate::store`]'s cache), which a list that
//! computed summaries the entry lacked rewrites whole (written aside, then renamed into place):
//! the new lines first, then the old ones, up to [`MAX_LINES`]. Only summaries of releases
//! that read cleanly are stored; a broken tag is looked at again every time, and reported.

use std::collections::HashMap;
use std::ops::Range;

use crate::store::{ObjectId, Store};
use crate::PromptName;

/// The cache kind.
const KIND: &str = "summaries";
/// The first line of the entry, naming its form.
const HEADER: &str = "promptreg summaries 1";
/// The last line of a complete entry (a truncated one is ignored).
const END: &str = "end";
/// The most lines kept: the latest version of 100,000 prompts, or of 10,000 prompts through ten
/// releases each.
const MAX_LINES: usize = 100_000;

/// The cached summaries and those this process computed.
pub struct SummaryCache {
    /// The entry as read (empty when there was none, or it was damaged).
    text: String,
    /// Tag id → byte range in `text` of the rest of its line (`<name> <json>`).
    index: HashMap<ObjectId, Range<usize>>,
    /// Lines computed now: (tag id, name, summary).
    fresh: Vec<(ObjectId, String, Option<String>)>,
}

/// The one entry's id: the entry is not derived from one object but holds lines each keyed by
/// its own immutable id.
fn entry_id() -> ObjectId {
    ObjectId::ZERO_SHA1
}

impl SummaryCache {
    /// Reads the cached summaries (none when the cache is missing or damaged).
    pub fn load(store: &Store) -> SummaryCache {
        let text = store.cache_get(KIND, entry_id()).unwrap_or_default();
        let index = index_of(&text).unwrap_or_default();
        let text = if index.is_empty() {
            String::new()
        } else {
            text
        };
        SummaryCache {
            text,
            index,
            fresh: Vec::new(),
        }
    }

    /// The summary of `name`'s release tagged by `tag`, when it is cached (`Some(None)`: the
    /// release has no summary).
    pub fn get(&self, tag: ObjectId, name: &PromptName) -> Option<Option<String>> {
        let range = self.index.get(&tag)?;
        let (cached_name, json) = self.text[range.clone()].split_once(' ')?;
        if cached_name != name.as_str() {
            return None;
        }
        serde_json::from_str(json).ok()
    }

    /// Records the summary of `name`'s release tagged by `tag`, for [`SummaryCache::save`].
    pub fn put(&mut self, tag: ObjectId, name: &PromptName, summary: Option<String>) {
        self.fresh.push((tag, name.to_string(), summary));
    }

    /// Writes the entry again when summaries were computed that it lacked. Best-effort, as
    /// every cache write.
    pub fn save(self, store: &Store) {
        if self.fresh.is_empty() {
            return;
        }
        let mut out = String::with_capacity(self.text.len() + self.fresh.len() * 96);
        out.push_str(HEADER);
        out.push('\n');
        let mut lines = 0;
        for (tag, name, summary) in &self.fresh {
            let Ok(json) = serde_json::to_string(summary) else {
                continue;
            };
            out.push_str(&format!("{tag} {name} {json}\n"));
            lines += 1;
        }
        let fresh: std::collections::HashSet<ObjectId> =
            self.fresh.iter().map(|(tag, ..)| *tag).collect();
        for line in records(&self.text) {
            if lines >= MAX_LINES {
                break;
            }
            let tag = line.split_once(' ').and_then(|(id, _)| id.parse().ok());
            if tag.is_some_and(|tag| fresh.contains(&tag)) {
                continue;
            }
            out.push_str(line);
            out.push('\n');
            lines += 1;
        }
        out.push_str(END);
        out.push('\n');
        store.cache_put(KIND, entry_id(), &out, 1);
    }
}

/// The record lines of an entry (between its header and its end line).
fn records(text: &str) -> impl Iterator<Item = &str> {
    let body = text
        .strip_prefix(HEADER)
        .and_then(|rest| rest.strip_prefix('\n'))
        .and_then(|rest| rest.strip_suffix(&format!("{END}\n")))
        .unwrap_or_default();
    body.lines()
}

/// Tag id → range of the rest of its line, for a complete entry; `None` for a damaged one.
fn index_of(text: &str) -> Option<HashMap<ObjectId, Range<usize>>> {
    if !text.starts_with(HEADER) || !text.ends_with(&format!("\n{END}\n")) {
        return None;
    }
    let base = text.as_ptr() as usize;
    let mut index = HashMap::new();
    for line in records(text) {
        let (id, rest) = line.split_once(' ')?;
        let start = rest.as_ptr() as usize - base;
        // The first line of a tag wins; a second (the same tag object under another name)
        // is only ever a miss.
        index
            .entry(id.parse().ok()?)
            .or_insert(start..start + rest.len());
    }
    Some(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(dir.path(), "main").unwrap();
        (dir, store)
    }

    fn id(n: u8) -> ObjectId {
        ObjectId::from_bytes(&[n; 20]).unwrap()
    }

    fn name(s: &str) -> PromptName {
        PromptName::parse(s).unwrap()
    }

    #[test]
    fn saved_summaries_read_back_under_their_tag_and_name_only() {
        let (_dir, store) = store();
        let mut cache = SummaryCache::load(&store);
        assert_eq!(cache.get(id(1), &name("a")), None);
        cache.put(id(1), &name("a"), Some("Says \"hi\"\nand more".into()));
        cache.put(id(2), &name("support/b"), None);
        cache.save(&store);

        let cache = SummaryCache::load(&store);
        assert_eq!(
            cache.get(id(1), &name("a")),
            Some(Some("Says \"hi\"\nand more".into()))
        );
        assert_eq!(cache.get(id(2), &name("support/b")), Some(None));
        assert_eq!(
            cache.get(id(1), &name("other")),
            None,
            "the name is part of the key"
        );
        assert_eq!(cache.get(id(3), &name("a")), None);
    }

    #[test]
    fn a_later_save_keeps_the_earlier_lines() {
        let (_dir, store) = store();
        let mut cache = SummaryCache::load(&store);
        cache.put(id(1), &name("a"), Some("one".into()));
        cache.save(&store);
        let mut cache = SummaryCache::load(&store);
        cache.put(id(2), &name("b"), Some("two".into()));
        cache.save(&store);

        let cache = SummaryCache::load(&store);
        assert_eq!(cache.get(id(1), &name("a")), Some(Some("one".into())));
        assert_eq!(cache.get(id(2), &name("b")), Some(Some("two".into())));
    }

    #[test]
    fn a_truncated_or_foreign_entry_is_no_cache() {
        let (_dir, store) = store();
        let mut cache = SummaryCache::load(&store);
        cache.put(id(1), &name("a"), Some("one".into()));
        cache.save(&store);
        let whole = store.cache_get(KIND, entry_id()).unwrap();
        for damaged in [
            whole[..whole.len() - 4].to_owned(),
            whole.replace(HEADER, "promptreg summaries 0"),
            whole.replace("\"one\"", "\"one"),
        ] {
            store.cache_put(KIND, entry_id(), &damaged, 1);
            assert_eq!(
                SummaryCache::load(&store).get(id(1), &name("a")),
                None,
                "{damaged:?}"
            );
        }
    }
}
