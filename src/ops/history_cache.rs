//! The events each commit made, cached so that `history` after the first run costs a walk of
//! the commits and a file read, not a read of every version of `registry.yaml`.
//!
//! What a commit did (its pointer moves, the runs it recorded) is a function of the commit and
//! its parents, all immutable, so the events of every prompt are kept under the commit's id.
//! They are stored together, one cache entry per walk's starting commit (`history-<id>`): for
//! each commit walked a line `<commit id> <n>` and its `n` events, one JSON object per line. A walk from a newer
//! commit starts from the entry of the first older start it meets (probing a bounded number of
//! commits), computes only the commits that entry lacks, and writes an entry of its own.
//! Commits at a shallow clone's boundary are never stored: their parents are not known there.

use std::collections::HashMap;
use std::ops::Range;

use crate::model::history::Event;
use crate::store::{ObjectId, Store};
use crate::PromptName;

/// The cache kind; each entry is about 300 bytes per event.
const KIND: &str = "history";
/// Entries kept (walks from a few recent starting commits: branches, revisions).
const KEEP: usize = 8;
/// Commits probed for an older walk's entry before giving up (it is then a first run).
const PROBES: usize = 64;
/// The first line of an entry, naming its form: then, per commit, `<id> <n>` and its `n`
/// events, one JSON object per line (so a query for one prompt parses only its own).
const HEADER: &str = "promptreg history events 2";

/// The events of the commits of one walk: those read from earlier walks' entries and those
/// computed now.
pub struct EventCache {
    /// The entries read, whole.
    texts: Vec<String>,
    /// Commit → (entry, byte range of its event lines).
    index: HashMap<ObjectId, (usize, Range<usize>)>,
    /// Commit → its events as JSON, computed by this walk.
    fresh: HashMap<ObjectId, Vec<String>>,
    probes_left: usize,
}

impl EventCache {
    /// The entry of the walk from `tip`, if there is one.
    pub fn load(store: &Store, tip: ObjectId) -> EventCache {
        let mut cache = EventCache {
            texts: Vec::new(),
            index: HashMap::new(),
            fresh: HashMap::new(),
            probes_left: 0,
        };
        if !cache.read(store, tip) {
            cache.probes_left = PROBES;
        }
        cache
    }

    /// Reads the entry of the walk from `id`; whether there was one (a damaged one counts as
    /// none from where the damage starts).
    fn read(&mut self, store: &Store, id: ObjectId) -> bool {
        let Some(text) = store.cache_get(KIND, id) else {
            return false;
        };
        let Some(body) = text.strip_prefix(HEADER).and_then(|t| t.strip_prefix('\n')) else {
            return false;
        };
        let which = self.texts.len();
        let bytes = body.as_bytes();
        let base = HEADER.len() + 1;
        let mut at = 0;
        let mut found = Vec::new();
        while at < bytes.len() {
            let Some(end) = memchr::memchr(b'\n', &bytes[at..]).map(|i| at + i) else {
                break;
            };
            let Some((commit, count)) = body[at..end].split_once(' ') else {
                break;
            };
            let (Ok(commit), Ok(count)) = (commit.parse::<ObjectId>(), count.parse::<usize>())
            else {
                break;
            };
            let start = end + 1;
            let mut stop = start;
            for _ in 0..count {
                match memchr::memchr(b'\n', &bytes[stop..]) {
                    Some(i) => stop += i + 1,
                    None => return self.keep(text, which, found),
                }
            }
            found.push((commit, base + start..base + stop));
            at = stop;
        }
        self.keep(text, which, found)
    }

    fn keep(&mut self, text: String, which: usize, found: Vec<(ObjectId, Range<usize>)>) -> bool {
        for (commit, range) in found {
            self.index.entry(commit).or_insert((which, range));
        }
        self.texts.push(text);
        true
    }

    /// The events of commit `id` (of `only`, or every prompt's) when known; while nothing is
    /// loaded, a commit not known may be an earlier walk's start, whose entry is then read.
    pub fn get(
        &mut self,
        store: &Store,
        id: ObjectId,
        only: Option<&PromptName>,
    ) -> Option<Vec<Event>> {
        if !self.index.contains_key(&id) && !self.fresh.contains_key(&id) && self.probes_left > 0 {
            self.probes_left -= 1;
            if self.read(store, id) {
                self.probes_left = 0;
            }
        }
        let lines: Vec<&str> = match (self.fresh.get(&id), self.index.get(&id)) {
            (Some(fresh), _) => fresh.iter().map(String::as_str).collect(),
            (None, Some((which, range))) => self.texts[*which][range.clone()].lines().collect(),
            (None, None) => return None,
        };
        // The name as JSON writes it (names need no escapes): the events of other prompts are
        // skipped without parsing.
        let needle = only.map(|name| format!("\"prompt\":\"{name}\""));
        let mut events = Vec::new();
        for line in lines {
            if needle.as_ref().is_some_and(|n| !line.contains(n.as_str())) {
                continue;
            }
            let event: Event = serde_json::from_str(line).ok()?;
            if only.is_none_or(|name| *event.prompt == *name.as_str()) {
                events.push(event);
            }
        }
        Some(events)
    }

    /// Records the events commit `id` made (every prompt's).
    pub fn put(&mut self, id: ObjectId, events: &[Event]) {
        let json: Option<Vec<String>> = events
            .iter()
            .map(|e| serde_json::to_string(e).ok())
            .collect();
        if let Some(json) = json {
            self.fresh.insert(id, json);
        }
    }

    /// Writes the entry of the walk from `tip` (the commits of `walk` it knows), when this
    /// walk computed anything.
    pub fn save(&self, store: &Store, tip: ObjectId, walk: &[ObjectId]) {
        if self.fresh.is_empty() {
            return;
        }
        let mut text = String::with_capacity(64 + walk.len() * 64);
        text.push_str(HEADER);
        text.push('\n');
        for id in walk {
            let lines: Vec<&str> = match (self.fresh.get(id), self.index.get(id)) {
                (Some(fresh), _) => fresh.iter().map(String::as_str).collect(),
                (None, Some((which, range))) => self.texts[*which][range.clone()].lines().collect(),
                (None, None) => continue,
            };
            text.push_str(&format!("{id} {}\n", lines.len()));
            for line in lines {
                text.push_str(line);
                text.push('\n');
            }
        }
        store.cache_put(KIND, tip, &text, KEEP);
    }
}
