//! A cache entry of lines `<key> <value>` sorted by key, each line derived from the immutable
//! id its key names: read whole when many lookups are coming, searched in place (a few
//! positioned reads, see [`crate::store::SortedEntry`]) when few are, and written again whole
//! (aside, then renamed into place) with the lines a run learned merged in.
//!
//! The entry sits between a header naming its form and an end line; one without both is
//! ignored (a write cut short), and so is one read whole whose lines are not keyed and sorted
//! as written (a search in place of such an entry can only miss).

use std::ops::Range;

use crate::store::{ObjectId, SortedEntry, Store};

/// The length of a key: a hexadecimal SHA-1 id.
const HEX: usize = 40;

/// Where an entry lives and what it may hold.
pub struct Form {
    /// The cache kind.
    pub kind: &'static str,
    /// The first line, naming the form (with its newline).
    pub header: &'static str,
    /// The most lines kept; past it the entry starts again from the lines of the run that
    /// writes it.
    pub max_lines: usize,
    /// How many entries of the kind to keep (an entry per build, say).
    pub keep: usize,
}

/// About how long a learned line is (a holding's: two ids and a name), to size the buffer.
const LINE_BYTES: usize = 96;

/// The last line of a complete entry.
const END: &str = "end\n";

/// How many lookups make reading a whole entry (9 MB at 100,000 lines) cheaper than a binary
/// search of the file with positioned reads for each (~20 µs).
const LOAD_FROM: usize = 256;

/// An entry opened for lookups, and the lines learned since. It holds no handle on the
/// repository, so threads can share it.
pub struct KeyedLines {
    form: &'static Form,
    id: ObjectId,
    /// The whole entry, when enough lookups are expected to make reading it pay.
    loaded: Option<Loaded>,
    /// Otherwise the entry opened for binary searches (`None`: none, or damaged).
    opened: Option<SortedEntry>,
    /// Lines learned now, `<key> <value>`, each followed by a newline: one buffer rather than
    /// a string a line (100,000 holdings took 12 MB as strings, 9 MB here).
    fresh: String,
    /// How many lines `fresh` holds.
    fresh_lines: usize,
    /// About how many lines may be learned, to size `fresh` once at the first.
    expected: usize,
}

/// An entry read whole.
#[derive(Default)]
struct Loaded {
    /// The entry as read (empty when there was none, or it was damaged).
    text: String,
    /// Where its record lines are in `text`: between the header and the end line.
    body: Range<usize>,
    /// Each record line's key as a number (its first 16 hex digits) and where the line starts,
    /// in order: a lookup searches this compact array rather than the text.
    index: Vec<(u64, usize)>,
    /// Where in `index` each run of keys sharing their top bits starts (see [`Buckets`]).
    buckets: Buckets,
}

/// Where each bucket of keys starts in a sorted index, the bucket being a key's top bits: the
/// keys are hashes, so spread evenly, and with about one bucket per key a lookup reads two
/// neighbouring starts and a key or two instead of making 17 probes that each miss the
/// processor's caches (100,000 lookups in a 100,000-line entry: 150 ms by binary search).
#[derive(Default)]
struct Buckets {
    /// `starts[b]` is the first position whose key's bucket is `b` or more; one more start than
    /// buckets, the last being the index's length.
    starts: Vec<u32>,
    /// How far a key is shifted right to give its bucket.
    shift: u32,
}

impl Buckets {
    fn of(index: &[(u64, usize)]) -> Buckets {
        let Ok(len) = u32::try_from(index.len()) else {
            return Buckets::default(); // Never at `max_lines`; a lookup then searches it all.
        };
        let count = index.len().next_power_of_two();
        let shift = 64 - count.trailing_zeros();
        let bucket = |key: u64| key.checked_shr(shift).unwrap_or(0) as usize;
        let mut starts = Vec::with_capacity(count + 1);
        let mut at = 0;
        for b in 0..count {
            while at < index.len() && bucket(index[at].0) < b {
                at += 1;
            }
            starts.push(at as u32);
        }
        starts.push(len);
        Buckets { starts, shift }
    }

    /// The part of the index where `key` can be.
    fn range(&self, key: u64, len: usize) -> Range<usize> {
        let b = key.checked_shr(self.shift).unwrap_or(0) as usize;
        match (self.starts.get(b), self.starts.get(b + 1)) {
            (Some(&start), Some(&end)) => start as usize..end as usize,
            _ => 0..len,
        }
    }
}

impl KeyedLines {
    /// Opens entry `id` of `form` in `store`'s cache for about `lookups` lookups.
    pub fn open(store: &Store, form: &'static Form, id: ObjectId, lookups: usize) -> Self {
        let (loaded, opened) = if lookups >= LOAD_FROM {
            (Some(Loaded::read(store, form, id)), None)
        } else {
            let opened = store
                .cache_sorted(form.kind, id, 1, record_key)
                .filter(|entry| {
                    let header = entry.head.first().map(|h| format!("{h}\n"));
                    header.as_deref() == Some(form.header) && format!("{}\n", entry.last) == END
                });
            (None, opened)
        };
        KeyedLines {
            form,
            id,
            loaded,
            opened,
            fresh: String::new(),
            fresh_lines: 0,
            expected: lookups.min(form.max_lines),
        }
    }

    /// The first value of `key` that `accept` takes. Read whole, every line of the key is
    /// offered; searched in place, only the first.
    pub fn find<T>(&self, key: &str, accept: impl Fn(&str) -> Option<T>) -> Option<T> {
        match &self.loaded {
            Some(loaded) => loaded.find(key, accept),
            None => {
                let line = self.opened.as_ref()?.find(key)?;
                accept(line.get(HEX + 1..)?)
            }
        }
    }

    /// Whether the entry holds no line (none was found, or it was damaged): every lookup
    /// misses, and callers can skip making keys.
    pub fn is_empty(&self) -> bool {
        match &self.loaded {
            Some(loaded) => loaded.index.is_empty(),
            None => self.opened.is_none(),
        }
    }

    /// Adds a line for [`KeyedLines::save`]. `value` must not hold a newline.
    pub fn put(&mut self, key: &str, value: &str) {
        self.put_with(|line| {
            line.push_str(key);
            line.push(' ');
            line.push_str(value);
        });
    }

    /// Adds the line `write` appends, `<key> <value>`, for [`KeyedLines::save`] (written in
    /// place, for callers that format the line themselves). A line of any other form is dropped.
    pub fn put_with(&mut self, write: impl FnOnce(&mut String)) {
        if self.fresh.capacity() == 0 {
            // Room for every expected line at once: the pages never written are never
            // touched, and growing by doubling would copy the lines and leave the old buffers
            // behind as holes in the heap.
            self.fresh.reserve(self.expected.saturating_mul(LINE_BYTES));
        }
        let start = self.fresh.len();
        write(&mut self.fresh);
        let line = &self.fresh[start..];
        let fits = record_key(line).is_some() && !line.contains('\n');
        debug_assert!(fits, "{line:?}");
        if fits {
            self.fresh.push('\n');
            self.fresh_lines += 1;
        } else {
            self.fresh.truncate(start);
        }
    }

    /// Writes the entry again when lines were learned that it lacked. Best-effort, as every
    /// cache write.
    pub fn save(mut self, store: &Store) {
        if self.fresh_lines == 0 {
            return;
        }
        let (form, id) = (self.form, self.id);
        let loaded = self
            .loaded
            .take()
            .unwrap_or_else(|| Loaded::read(store, form, id));
        let fresh = std::mem::take(&mut self.fresh);
        let mut lines: Vec<&str> = loaded.text[loaded.body.clone()].lines().collect();
        if lines.len() + self.fresh_lines > form.max_lines {
            lines.clear();
        }
        lines.extend(fresh.lines());
        lines.sort_unstable();
        lines.dedup();
        let mut out = String::with_capacity(loaded.text.len() + fresh.len() + 32);
        out.push_str(form.header);
        for line in lines {
            out.push_str(line);
            out.push('\n');
        }
        out.push_str(END);
        store.cache_put(form.kind, id, &out, form.keep);
    }
}

impl Loaded {
    fn read(store: &Store, form: &Form, id: ObjectId) -> Loaded {
        let text = store.cache_get(form.kind, id).unwrap_or_default();
        let complete = text.starts_with(form.header) && text[form.header.len()..].ends_with(END);
        if !complete {
            return Loaded::default();
        }
        let body = form.header.len()..text.len() - END.len();
        let mut index = Vec::new();
        let mut at = body.start;
        for line in text[body.clone()].split_inclusive('\n') {
            match line.get(..HEX).and_then(prefix) {
                Some(number) => index.push((number, at)),
                // A line without a key: the entry was not written by this code.
                None => return Loaded::default(),
            }
            at += line.len();
        }
        if index.windows(2).any(|pair| pair[0].0 > pair[1].0) {
            return Loaded::default(); // Out of order: not written by this code either.
        }
        let buckets = Buckets::of(&index);
        Loaded {
            text,
            body,
            index,
            buckets,
        }
    }

    fn find<T>(&self, key: &str, accept: impl Fn(&str) -> Option<T>) -> Option<T> {
        let number = prefix(key)?;
        let range = self.buckets.range(number, self.index.len());
        let part = &self.index[range];
        let first = part.partition_point(|(n, _)| *n < number);
        part[first..]
            .iter()
            .take_while(|(n, _)| *n == number)
            .map(|(_, at)| self.line(*at))
            .filter(|line| line.get(..HEX) == Some(key))
            .find_map(|line| accept(line.get(HEX + 1..)?))
    }

    /// The line starting at `at`, without its newline.
    fn line(&self, at: usize) -> &str {
        let rest = &self.text[at..self.body.end];
        rest.split_once('\n').map_or(rest, |(line, _)| line)
    }
}

/// A key's first 16 hex digits as a number, which sorts as the key does.
fn prefix(key: &str) -> Option<u64> {
    let digits = key.get(..16)?;
    digits
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        .then(|| u64::from_str_radix(digits, 16).ok())
        .flatten()
}

/// The key of a record line; `None` for the header and end lines.
fn record_key(line: &str) -> Option<&str> {
    (line.as_bytes().get(HEX) == Some(&b' ')).then(|| &line[..HEX])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bucket's range holds exactly the positions a binary search of the whole index finds,
    /// for keys spread evenly, bunched together, repeated, at both ends, and for every size
    /// from empty up.
    #[test]
    fn buckets_find_what_a_binary_search_finds() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for len in [0usize, 1, 2, 3, 7, 64, 1000, 4097] {
            let mut keys: Vec<u64> = (0..len)
                .map(|i| match i % 4 {
                    0 => next(),
                    1 => next() >> 40, // Bunched near zero.
                    2 => u64::MAX - (next() >> 50),
                    _ => 42,
                })
                .collect();
            keys.sort_unstable();
            let index: Vec<(u64, usize)> = keys.iter().enumerate().map(|(i, k)| (*k, i)).collect();
            let buckets = Buckets::of(&index);
            let probes = keys
                .iter()
                .copied()
                .chain([0, 1, 41, 42, 43, u64::MAX, u64::MAX - 1])
                .chain((0..200).map(|_| next()));
            for key in probes {
                let expected = index.partition_point(|(n, _)| *n < key);
                let range = buckets.range(key, index.len());
                let first = range.start + index[range.clone()].partition_point(|(n, _)| *n < key);
                let equal = |at: usize| index.get(at).is_some_and(|(n, _)| *n == key);
                assert_eq!(equal(first), equal(expected), "len {len}, key {key:#x}");
                if equal(expected) {
                    assert_eq!(first, expected, "len {len}, key {key:#x}");
                }
            }
        }
    }
}
