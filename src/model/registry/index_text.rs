//! An index's text with its layout, for walks over many versions of `registry.yaml`: from one
//! version to the next, only the bytes that differ are looked at.
//!
//! A walk over 5,000 hand edits reads 5,000 versions of a 650 KB file. Splitting each into its
//! 10,000 entries would cost more than inflating it; instead a step finds the common prefix and
//! suffix of the two texts (a `memcmp`), re-reads only the entries the changed bytes touch, and
//! reports the names whose entries differ. Whatever it cannot follow — a change to the header,
//! a layout that is not plain — it hands to [`IndexText::open`] of the other text (one full
//! pass), or says it cannot read (`None`), and the caller parses with the YAML parser.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::ops::Range;
use std::path::Path;

use super::layout::{layout, parse_raw, simple_pointers, Entry, Layout};
use super::{Pointers, Registry};
use crate::PromptName;

/// A plain index's text, split into entries, with its header read.
pub struct IndexText {
    bytes: Vec<u8>,
    layout: Layout,
    /// Hashes of the entries' names: two equal names always collide, so a collision (real or
    /// not) sends the reader to the full parse, which decides.
    names: HashSet<u64>,
    /// The header (everything but the entries), read: the pipeline, access, policy.
    header: Registry,
}

/// A prompt whose entry differs between two texts: its byte range in each (`None`: absent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Changed {
    pub name: String,
    pub newer: Option<Range<usize>>,
    pub older: Option<Range<usize>>,
}

fn name_hash(name: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    name.hash(&mut hasher);
    hasher.finish()
}

impl IndexText {
    /// Reads `bytes` in one pass; `None` when the layout is not plain, a name appears twice or
    /// the header does not read.
    pub fn open(bytes: Vec<u8>, file: &Path) -> Option<IndexText> {
        let layout = layout(&bytes)?;
        let mut names = HashSet::with_capacity(layout.entries.len());
        for entry in &layout.entries {
            if !names.insert(name_hash(&bytes[entry.name.clone()])) {
                return None;
            }
        }
        let header = parse_raw(&layout.header(&bytes), file)?;
        if !header.prompts.is_empty() {
            return None;
        }
        Some(IndexText {
            bytes,
            layout,
            names,
            header,
        })
    }

    /// The pipeline, access rules and policy (its `prompts` is empty).
    pub fn header(&self) -> &Registry {
        &self.header
    }

    /// The pointers of the entry at `span` (a range [`IndexText::step`] reported); `None`
    /// when they do not read (the YAML parser then reports the index broken).
    pub fn pointers(&self, span: &Range<usize>, file: &Path) -> Option<Pointers> {
        let entries = &self.layout.entries;
        let entry = entries
            .get(entries.partition_point(|e| e.span.start < span.start))
            .filter(|e| e.span == *span)?;
        if let Some(pointers) = simple_pointers(&self.bytes, entry, &self.header.environments) {
            return Some(pointers);
        }
        let name =
            PromptName::parse(std::str::from_utf8(&self.bytes[entry.name.clone()]).ok()?).ok()?;
        let parsed = parse_raw(&self.layout.with_only(&self.bytes, entry), file)?;
        parsed.prompts.get(&name).cloned()
    }

    /// Moves to `older` (another version of the file), reporting the prompts whose entries
    /// differ between the two: the changed bytes' entries only when the header and the block's
    /// end are untouched, else every entry of both. `Err(older)` when `older` cannot be read
    /// this way.
    pub fn step(
        &self,
        older: Vec<u8>,
        file: &Path,
    ) -> std::result::Result<(IndexText, Vec<Changed>), Vec<u8>> {
        // One pass to the first difference serves both the equality test and the step (an
        // equality test of its own would compare the same ~650 KiB again).
        let prefix = common_prefix(&self.bytes, &older);
        if prefix == self.bytes.len() && prefix == older.len() {
            let same = IndexText {
                bytes: older,
                layout: self.layout.clone(),
                names: self.names.clone(),
                header: self.header.clone(),
            };
            return Ok((same, Vec::new()));
        }
        match self.step_within(&older, prefix) {
            Some((entries, names, changed, body)) => {
                let layout = Layout {
                    body,
                    indent: self.layout.indent,
                    entries,
                };
                let text = IndexText {
                    bytes: older,
                    layout,
                    names,
                    header: self.header.clone(),
                };
                Ok((text, changed))
            }
            None => {
                let Some(text) = IndexText::open(older.clone(), file) else {
                    return Err(older);
                };
                let changed = changed_entries(self, &text);
                Ok((text, changed))
            }
        }
    }

    /// The step when the changed bytes lie inside the entries: the entries of `older`, its
    /// name hashes, the changed prompts and its block's range. `prefix` is the length of the
    /// two texts' common prefix.
    #[allow(clippy::type_complexity)]
    fn step_within(
        &self,
        older: &[u8],
        prefix: usize,
    ) -> Option<(Vec<Entry>, HashSet<u64>, Vec<Changed>, Range<usize>)> {
        let newer = &self.bytes;
        let room = newer.len().min(older.len()) - prefix;
        let suffix = common_suffix(&newer[newer.len() - room..], &older[older.len() - room..]);
        let body = &self.layout.body;
        let changed_end = newer.len() - suffix;
        if prefix < body.start || prefix >= body.end || changed_end > body.end {
            return None;
        }
        let entries = &self.layout.entries;
        // The line the first difference is on, and the entries from there to the last one.
        let line_start = newer[..prefix]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let first = entries
            .partition_point(|e| e.span.start <= line_start)
            .checked_sub(1)?;
        let last = entries
            .partition_point(|e| e.span.start < changed_end.max(line_start + 1))
            .checked_sub(1)?
            .max(first);
        let start = entries[first].span.start;
        let end_newer = entries[last].span.end;
        let delta = older.len() as isize - newer.len() as isize;
        let end_older = usize::try_from(end_newer as isize + delta).ok()?;
        if end_older < start || (end_older < older.len() && older[end_older - 1] != b'\n') {
            return None;
        }
        let replaced = relayout(older, start..end_older, self.layout.indent)?;
        let mut names = self.names.clone();
        for entry in &entries[first..=last] {
            names.remove(&name_hash(&newer[entry.name.clone()]));
        }
        for entry in &replaced {
            if !names.insert(name_hash(&older[entry.name.clone()])) {
                return None;
            }
        }
        let mut changed: Vec<Changed> = Vec::new();
        for entry in &entries[first..=last] {
            let name = &newer[entry.name.clone()];
            let twin = replaced.iter().find(|e| &older[e.name.clone()] == name);
            if twin.is_some_and(|t| older[t.span.clone()] == newer[entry.span.clone()]) {
                continue;
            }
            changed.push(Changed {
                name: String::from_utf8_lossy(name).into_owned(),
                newer: Some(entry.span.clone()),
                older: twin.map(|t| t.span.clone()),
            });
        }
        for entry in &replaced {
            let name = &older[entry.name.clone()];
            if !entries[first..=last]
                .iter()
                .any(|e| &newer[e.name.clone()] == name)
            {
                changed.push(Changed {
                    name: String::from_utf8_lossy(name).into_owned(),
                    newer: None,
                    older: Some(entry.span.clone()),
                });
            }
        }
        let shift = |e: &Entry| Entry {
            name: shifted(&e.name, delta),
            span: shifted(&e.span, delta),
        };
        let mut moved = Vec::with_capacity(entries.len() + replaced.len());
        moved.extend_from_slice(&entries[..first]);
        moved.extend(replaced);
        moved.extend(entries[last + 1..].iter().map(shift));
        // The header is untouched, so the block starts where it did; its end moves.
        let body = body.start..shifted(body, delta).end;
        Some((moved, names, changed, body))
    }
}

/// Blocks compared at a time: slice equality is a `memcmp`, a byte loop is ten times slower.
const BLOCK: usize = 4096;

/// How many leading bytes `a` and `b` share.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let len = a.len().min(b.len());
    let mut at = 0;
    while at + BLOCK <= len && a[at..at + BLOCK] == b[at..at + BLOCK] {
        at += BLOCK;
    }
    at + a[at..len]
        .iter()
        .zip(&b[at..len])
        .position(|(x, y)| x != y)
        .unwrap_or(len - at)
}

/// How many trailing bytes `a` and `b` share.
fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    let len = a.len().min(b.len());
    let (a, b) = (&a[a.len() - len..], &b[b.len() - len..]);
    let mut shared = 0;
    while shared + BLOCK <= len
        && a[len - shared - BLOCK..len - shared] == b[len - shared - BLOCK..len - shared]
    {
        shared += BLOCK;
    }
    shared
        + a[..len - shared]
            .iter()
            .rev()
            .zip(b[..len - shared].iter().rev())
            .position(|(x, y)| x != y)
            .unwrap_or(len - shared)
}

fn shifted(range: &Range<usize>, delta: isize) -> Range<usize> {
    let move_by = |at: usize| (at as isize + delta) as usize;
    move_by(range.start)..move_by(range.end)
}

/// The entries of `bytes[range]`, which must be whole entries at `indent` (key lines there,
/// deeper lines below them, blank lines and comments); `None` for anything else.
fn relayout(bytes: &[u8], range: Range<usize>, indent: usize) -> Option<Vec<Entry>> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut at = range.start;
    while at < range.end {
        let next = super::scan::line_end(bytes, at).min(range.end);
        let line = &bytes[at..next];
        let spaces = line.iter().take_while(|&&b| b == b' ').count();
        let content = &line[spaces..];
        let blank = matches!(content, [] | [b'\n'] | [b'\r', b'\n'] | [b'#', ..]);
        if !blank {
            if spaces < indent || content[0] == b'\t' {
                return None;
            }
            if spaces == indent {
                let name = super::layout::plain_key(bytes, at + spaces, next)?;
                if let Some(last) = entries.last_mut() {
                    last.span.end = at;
                }
                entries.push(Entry {
                    name,
                    span: at..range.end,
                });
            } else if entries.is_empty() {
                return None;
            }
        }
        at = next;
    }
    Some(entries)
}

/// Every prompt whose entry differs between two texts read whole.
fn changed_entries(newer: &IndexText, older: &IndexText) -> Vec<Changed> {
    use std::collections::HashMap;
    let spans = |text: &IndexText| -> HashMap<Vec<u8>, Range<usize>> {
        text.layout
            .entries
            .iter()
            .map(|e| (text.bytes[e.name.clone()].to_vec(), e.span.clone()))
            .collect()
    };
    let (new_spans, old_spans) = (spans(newer), spans(older));
    let header_differs = newer.header != older.header;
    let mut changed = Vec::new();
    for (name, span) in &new_spans {
        let twin = old_spans.get(name);
        let same = twin.is_some_and(|t| older.bytes[t.clone()] == newer.bytes[span.clone()]);
        if !same || header_differs {
            changed.push(Changed {
                name: String::from_utf8_lossy(name).into_owned(),
                newer: Some(span.clone()),
                older: twin.cloned(),
            });
        }
    }
    for (name, span) in &old_spans {
        if !new_spans.contains_key(name) {
            changed.push(Changed {
                name: String::from_utf8_lossy(name).into_owned(),
                newer: None,
                older: Some(span.clone()),
            });
        }
    }
    changed.sort_by(|a, b| a.name.cmp(&b.name));
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A registry text of `n` prompts whose pointers come from `seed`.
    fn text(pointers: &[(String, Vec<(&str, String)>)], header: &str, tail: &str) -> Vec<u8> {
        let mut out = format!("{header}prompts:\n");
        for (name, envs) in pointers {
            out.push_str(&format!("  {name}:\n"));
            for (env, value) in envs {
                out.push_str(&format!("    {env}: {value}\n"));
            }
        }
        out.push_str(tail);
        out.into_bytes()
    }

    /// Checks one step against the YAML parser: every prompt not reported has the same
    /// pointers in both texts, and every reported one reads as the parser reads it.
    fn check_step(newer: &[u8], older: &[u8]) {
        let file = Path::new("registry.yaml");
        let full_new = Registry::parse_slow(newer, file).unwrap();
        let full_old = Registry::parse_slow(older, file).unwrap();
        let text = IndexText::open(newer.to_vec(), file).unwrap();
        let (stepped, changed) = text.step(older.to_vec(), file).ok().unwrap();
        let names: std::collections::BTreeSet<&PromptName> = full_new
            .prompts
            .keys()
            .chain(full_old.prompts.keys())
            .collect();
        let newer_text = IndexText::open(newer.to_vec(), file).unwrap();
        for name in names {
            match changed.iter().find(|c| c.name == name.as_str()) {
                None => assert_eq!(
                    full_new.prompts.get(name),
                    full_old.prompts.get(name),
                    "{name} changed but was not reported"
                ),
                Some(c) => {
                    let new = c
                        .newer
                        .as_ref()
                        .map(|s| newer_text.pointers(s, file).unwrap());
                    let old = c.older.as_ref().map(|s| stepped.pointers(s, file).unwrap());
                    assert_eq!(new.as_ref(), full_new.prompts.get(name), "{name} newer");
                    assert_eq!(old.as_ref(), full_old.prompts.get(name), "{name} older");
                }
            }
        }
        // The stepped text is what opening the older text gives.
        let reopened = IndexText::open(older.to_vec(), file).unwrap();
        assert_eq!(stepped.layout.entries, reopened.layout.entries);
        assert_eq!(stepped.layout.body, reopened.layout.body);
        assert_eq!(stepped.names, reopened.names);
    }

    #[test]
    fn steps_agree_with_the_yaml_parser() {
        let header = "format: 1\nenvironments: [dev, staging, production]\n";
        let tail = "access:\n  environments:\n    production: [a@b.c]\n";
        let mut state: u64 = 0x1234_5678;
        let mut next = move |n: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % n
        };
        let envs = ["dev", "staging", "production"];
        let mut prompts: Vec<(String, Vec<(&str, String)>)> = (0..30)
            .map(|i| (format!("p{i}"), vec![("dev", "1.0.0".to_owned())]))
            .collect();
        let mut current = text(&prompts, header, tail);
        for round in 0..400 {
            let mut edited = prompts.clone();
            match next(6) {
                0 | 1 => {
                    let p = next(edited.len() as u64) as usize;
                    let env = envs[next(3) as usize];
                    let value = format!("1.{}.0", next(5));
                    match edited[p].1.iter_mut().find(|(e, _)| *e == env) {
                        Some(slot) => slot.1 = value,
                        None => edited[p].1.push((env, value)),
                    }
                }
                2 => {
                    let at = next(edited.len() as u64 + 1) as usize;
                    edited.insert(at, (format!("n{round}"), vec![("staging", "2.0.0".into())]));
                }
                3 if edited.len() > 2 => {
                    let at = next(edited.len() as u64) as usize;
                    edited.remove(at);
                }
                4 => {
                    let p = next(edited.len() as u64) as usize;
                    edited[p].1.clear();
                }
                _ => {
                    let p = next(edited.len() as u64) as usize;
                    edited[p].1.retain(|(e, _)| *e != "production");
                    edited[p].1.push((
                        "production",
                        "{split: [{version: 1.0.0, percent: 50}, {version: 1.1.0, percent: 50}]}"
                            .into(),
                    ));
                }
            }
            let older = text(&edited, header, tail);
            check_step(&current, &older);
            prompts = edited;
            current = older;
        }
        // A pointer edit is followed by its bytes, not by reading the whole text again.
        let file = Path::new("registry.yaml");
        let before = b"format: 1\nprompts:\n  a:\n    dev: 1.0.0\n  b:\n    dev: 1.0.0\n  c:\n    dev: 1.0.0\naccess: {}\n";
        let after = b"format: 1\nprompts:\n  a:\n    dev: 1.0.0\n  b:\n    dev: 1.10.0\n  c:\n    dev: 1.0.0\naccess: {}\n";
        let open = IndexText::open(before.to_vec(), file).unwrap();
        let (_, _, changed, _) = open
            .step_within(after, common_prefix(before, after))
            .unwrap();
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].name, "b");
        check_step(before, after);
        check_step(after, before);
        // A header change and a changed tail: every entry is compared.
        let moved = text(
            &prompts,
            "format: 1\nenvironments: [dev, staging, production, qa]\n",
            tail,
        );
        check_step(&current, &moved);
        let tail2 = "access:\n  environments:\n    production: [z@b.c]\n";
        check_step(&current, &text(&prompts, header, tail2));
    }
}

#[cfg(test)]
mod compare_tests {
    use super::*;

    #[test]
    fn common_ends_across_blocks() {
        let a: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        for at in [0, 1, 4095, 4096, 4097, 8191, 9999] {
            let mut b = a.clone();
            b[at] ^= 0xff;
            assert_eq!(common_prefix(&a, &b), at);
            assert_eq!(common_suffix(&a, &b), a.len() - at - 1);
        }
        assert_eq!(common_prefix(&a, &a[..5000]), 5000);
        assert_eq!(common_suffix(&a, &a[5000..]), 5000);
        assert_eq!(common_prefix(b"", b"x"), 0);
    }
}
