//! The `prompts:` block of a plain block-style index split into its entries in one pass, and
//! the index read from that split without the YAML parser.
//!
//! A 10,000-prompt index is 40,000 lines; the YAML parser takes about 75 ms over it, while a
//! pass that looks at the first few bytes of each line takes well under one. Reads that need
//! the whole index (`list`, every prompt's `history`, the first read after a pull) use
//! [`fast_parse`], which reads pointers written the way promptreg writes them
//! (`    env: 1.2.0`, optionally quoted or followed by a comment) and leaves everything else
//! (splits, flow style, anything unusual) to the YAML parser, entry by entry or — for a layout
//! it does not understand — for the whole document. It never guesses: it gives the same
//! [`Registry`] the full parse gives, or `None` (the fuzz target `registry_yaml` holds it to
//! that).

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;
use std::path::Path;

use super::{Pointer, Pointers, RawRegistry, Registry};
use crate::{PromptName, Version};

/// One entry of the `prompts:` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The name as written (without quotes).
    pub name: Range<usize>,
    /// From the start of its key line to the start of the next entry's (or the block's end);
    /// comment lines between two entries belong to the first.
    pub span: Range<usize>,
}

/// The `prompts:` block split into entries.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    /// The block below the `prompts:` line, up to the first content line at column 0.
    pub body: Range<usize>,
    /// The entries' indentation.
    pub indent: usize,
    /// The entries in document order.
    pub entries: Vec<Entry>,
}

impl Layout {
    /// The document without the block's entries: what is left is the header and whatever
    /// follows the block, with `prompts:` empty.
    pub fn header(&self, bytes: &[u8]) -> Vec<u8> {
        let mut header = Vec::with_capacity(self.body.start + 1 + bytes.len() - self.body.end);
        header.extend_from_slice(&bytes[..self.body.start]);
        if !header.ends_with(b"\n") {
            header.push(b'\n');
        }
        header.extend_from_slice(&bytes[self.body.end..]);
        header
    }
}

/// Splits the `prompts:` block of `bytes` into its entries, or `None` when the layout is not
/// plain block style (document markers, flow style, a key that is not a plain or simply quoted
/// name, an indentation that changes, tabs).
pub(crate) fn layout(bytes: &[u8]) -> Option<Layout> {
    if bytes.starts_with(b"---") || bytes.starts_with(b"%") || bytes.starts_with(b"\xEF") {
        return None;
    }
    let key_at = memchr::memmem::find_iter(bytes, b"prompts:")
        .find(|&at| at == 0 || bytes[at - 1] == b'\n')?;
    let body_start = super::scan::line_end(bytes, key_at);
    let rest = trim_line(&bytes[key_at + "prompts:".len()..body_start]);
    if !(rest.is_empty() || rest.starts_with(b"#")) {
        return None;
    }
    let mut indent: Option<usize> = None;
    let mut entries: Vec<Entry> = Vec::new();
    let mut at = body_start;
    let body_end = loop {
        if at >= bytes.len() {
            break bytes.len();
        }
        let next = super::scan::line_end(bytes, at);
        match bytes[at] {
            b'\n' => {}
            b'\r' if bytes.get(at + 1) == Some(&b'\n') => {}
            b'#' => {}
            b' ' => {
                let want = indent.unwrap_or(usize::MAX);
                let spaces = bytes[at..next]
                    .iter()
                    .take(want.saturating_add(1))
                    .take_while(|&&b| b == b' ')
                    .count();
                let content = &bytes[at + spaces..next];
                let blank = matches!(content, [] | [b'\n'] | [b'\r', b'\n'] | [b'#', ..]);
                if !blank {
                    if content.first() == Some(&b'\t') {
                        return None;
                    }
                    let indent = *indent.get_or_insert(spaces);
                    if spaces < indent {
                        return None;
                    }
                    if spaces == indent {
                        let name = plain_key(bytes, at + spaces, next)?;
                        if let Some(last) = entries.last_mut() {
                            last.span.end = at;
                        }
                        entries.push(Entry {
                            name,
                            span: at..bytes.len(),
                        });
                    } else if entries.is_empty() {
                        return None;
                    }
                }
            }
            // Content at column 0 ends the block; a tab there is not a layout we read.
            b'\t' => return None,
            _ => break at,
        }
        at = next;
    };
    if let Some(last) = entries.last_mut() {
        last.span.end = body_end;
    }
    Some(Layout {
        body: body_start..body_end,
        indent: indent.unwrap_or(2),
        entries,
    })
}

/// The name of a key line `name:` / `"name":` / `'name':` starting at `at` (the name of ASCII
/// letters, digits and `_-./`, starting with a letter or digit, and nothing after the colon but
/// a space, a comment or the end of the line... or a value, which the entry parser judges).
pub(crate) fn plain_key(bytes: &[u8], at: usize, end: usize) -> Option<Range<usize>> {
    let line = &bytes[at..end];
    let (name, after) = match line.first()? {
        q @ (b'"' | b'\'') => {
            let close = line[1..].iter().position(|b| b == q)? + 1;
            (1..close, close + 1)
        }
        _ => {
            let colon = line.iter().position(|&b| b == b':')?;
            (0..colon, colon)
        }
    };
    let key = &line[name.clone()];
    let plain = key.first().is_some_and(u8::is_ascii_alphanumeric)
        && key
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/'));
    let colon = matches!(&line[after..], [b':'] | [b':', b' ' | b'\r' | b'\n', ..]);
    (plain && colon).then(|| at + name.start..at + name.end)
}

/// A line without its line ending and trailing spaces, and leading spaces.
fn trim_line(line: &[u8]) -> &[u8] {
    let end = line
        .iter()
        .rposition(|&b| !matches!(b, b' ' | b'\n' | b'\r'))
        .map_or(0, |i| i + 1);
    let start = line[..end].iter().position(|&b| b != b' ').unwrap_or(end);
    &line[start..end]
}

/// The pointers of one entry when every line of it is `env: version` at one indentation (a
/// version plain or quoted, a comment after it allowed) and names a distinct environment of
/// `environments`; `None` for anything else.
pub(crate) fn simple_pointers(
    bytes: &[u8],
    entry: &Entry,
    environments: &[String],
) -> Option<Pointers> {
    let span = &bytes[entry.span.clone()];
    let first_end = memchr::memchr(b'\n', span).map_or(span.len(), |i| i + 1);
    // After the key's colon: nothing but a comment.
    let colon = entry.name.end - entry.span.start
        + usize::from(matches!(
            span.get(entry.name.end - entry.span.start),
            Some(b'"' | b'\'')
        ));
    let rest = trim_line(&span[colon + 1..first_end]);
    if !(rest.is_empty() || rest.starts_with(b"#")) {
        return None;
    }
    let mut pointers = Pointers::new();
    let mut inner: Option<usize> = None;
    for line in span[first_end..].split_inclusive(|&b| b == b'\n') {
        let spaces = line.iter().take_while(|&&b| b == b' ').count();
        let content = trim_line(&line[spaces..]);
        if content.is_empty() || content[0] == b'#' {
            continue;
        }
        if *inner.get_or_insert(spaces) != spaces {
            return None;
        }
        let colon = content.iter().position(|&b| b == b':')?;
        let env = std::str::from_utf8(&content[..colon]).ok()?;
        let value = content[colon + 1..].strip_prefix(b" ")?;
        let value = trim_line(value);
        let value = match value.iter().position(|&b| b == b'#') {
            Some(hash) if hash > 0 && value[hash - 1] == b' ' => trim_line(&value[..hash]),
            Some(_) => return None,
            None => value,
        };
        let value = match value {
            [q @ (b'"' | b'\''), inside @ .., last] if last == q => inside,
            _ => value,
        };
        let plain = !value.is_empty()
            && value
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+'));
        if !plain || !environments.iter().any(|e| e == env) {
            return None;
        }
        let version = Version::parse(std::str::from_utf8(value).ok()?).ok()?;
        if pointers
            .insert(env.to_owned(), Pointer::Version(version))
            .is_some()
        {
            return None;
        }
    }
    Some(pointers)
}

/// The whole index read through [`layout`]: the header by the YAML parser, simple entries by
/// [`simple_pointers`], the others by the YAML parser in a document of the header and those
/// entries. `None` when the layout is not plain or anything fails: the caller's full parse
/// then decides, and reports errors with their positions.
pub(crate) fn fast_parse(bytes: &[u8], file: &Path) -> Option<Registry> {
    let layout = layout(bytes)?;
    let header = layout.header(bytes);
    let mut registry = parse_raw(&header, file)?;
    if !registry.prompts.is_empty() {
        return None;
    }
    let mut names = HashSet::with_capacity(layout.entries.len());
    let mut prompts = BTreeMap::new();
    let mut others: Vec<&Entry> = Vec::new();
    for entry in &layout.entries {
        let written = std::str::from_utf8(&bytes[entry.name.clone()]).ok()?;
        if !names.insert(written) {
            return None; // The same key twice: the full parse reports it.
        }
        match simple_pointers(bytes, entry, &registry.environments) {
            Some(pointers) => {
                prompts.insert(PromptName::parse(written).ok()?, pointers);
            }
            None => others.push(entry),
        }
    }
    if !others.is_empty() {
        let mut doc = Vec::with_capacity(header.len() + others.len() * 128);
        doc.extend_from_slice(&bytes[..layout.body.start]);
        for entry in &others {
            doc.extend_from_slice(&bytes[entry.span.clone()]);
            if !doc.ends_with(b"\n") {
                doc.push(b'\n');
            }
        }
        doc.extend_from_slice(&bytes[layout.body.end..]);
        let parsed = parse_raw(&doc, file)?;
        if parsed.prompts.len() != others.len() {
            return None;
        }
        prompts.extend(parsed.prompts);
    }
    registry.prompts = prompts;
    Some(registry)
}

/// The index with only `name`'s entry (absent when it has none), read through [`layout`] the
/// same way as [`fast_parse`]; `None` when the layout is not plain, the name appears twice or
/// anything fails.
pub(crate) fn fast_parse_one(bytes: &[u8], file: &Path, name: &PromptName) -> Option<Registry> {
    let layout = layout(bytes)?;
    let entry = layout.only(bytes, name.as_str())?;
    let header = layout.header(bytes);
    let mut registry = parse_raw(&header, file)?;
    if !registry.prompts.is_empty() {
        return None;
    }
    let Some(entry) = entry else {
        return Some(registry);
    };
    let pointers = match simple_pointers(bytes, entry, &registry.environments) {
        Some(pointers) => pointers,
        None => {
            let parsed = parse_raw(&layout.with_only(bytes, entry), file)?;
            parsed.prompts.get(name)?.clone()
        }
    };
    registry.prompts.insert(name.clone(), pointers);
    Some(registry)
}

impl Layout {
    /// The entry named `name`: `Some(None)` when there is none, `None` when there are two.
    pub fn only(&self, bytes: &[u8], name: &str) -> Option<Option<&Entry>> {
        let mut found = self
            .entries
            .iter()
            .filter(|e| &bytes[e.name.clone()] == name.as_bytes());
        let first = found.next();
        found.next().is_none().then_some(first)
    }

    /// The document with the block reduced to `entry`.
    pub fn with_only(&self, bytes: &[u8], entry: &Entry) -> Vec<u8> {
        let mut doc = Vec::with_capacity(self.body.start + entry.span.len() + 1);
        doc.extend_from_slice(&bytes[..self.body.start]);
        doc.extend_from_slice(&bytes[entry.span.clone()]);
        if !doc.ends_with(b"\n") {
            doc.push(b'\n');
        }
        doc.extend_from_slice(&bytes[self.body.end..]);
        doc
    }
}

/// The YAML parser's reading of `bytes`, or `None`.
pub(crate) fn parse_raw(bytes: &[u8], file: &Path) -> Option<Registry> {
    let text = std::str::from_utf8(bytes).ok()?;
    let raw = serde_saphyr::from_str::<RawRegistry>(text).ok()?;
    Registry::from_raw(raw, file, bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same_as_full(text: &str) {
        let file = Path::new("registry.yaml");
        let fast = fast_parse(text.as_bytes(), file).expect("the fast path reads it");
        let full = Registry::parse_slow(text.as_bytes(), file).unwrap();
        assert_eq!(fast, full, "{text}");
    }

    #[test]
    fn reads_what_promptreg_writes_and_more() {
        same_as_full("format: 1\nenvironments: [dev, production]\nprompts:\n  a:\n    dev: 1.0.0\n    production: '0.9.0'  # held back\n  # a comment\n  b/c:\n    dev: \"2.0.0-rc.1\"\n\n  d:\n  e:\n    dev:\n      split:\n        - {version: 1.0.0, percent: 90}\n        - {version: 1.1.0, percent: 10}\naccess:\n  environments:\n    production: [a@b.c]\n");
        same_as_full("format: 1\nprompts:\n    x: {dev: 1.0.0}\n    y:\n        staging: 1.0.0\n");
        same_as_full("format: 1\nprompts:\n");
        same_as_full("prompts:\n  a:\n    dev: 1.0.0\nformat: 1\n");
    }

    #[test]
    fn leaves_unusual_layouts_to_the_parser() {
        let file = Path::new("r");
        for text in [
            "---\nformat: 1\nprompts:\n  a: {}\n",
            "format: 1\nprompts: {a: {dev: 1.0.0}}\n",
            "format: 1\nprompts:\n  a:\n    dev: 1.0.0\n  a:\n    dev: 2.0.0\n",
            "format: 1\nprompts:\n  ? a\n  : {dev: 1.0.0}\n",
            "format: 1\nprompts:\n  \"\\x61\": {dev: 1.0.0}\n",
            "format: 1\nprompts:\n\ta: {}\n",
            "format: 1\nprompts:\n  a:\n    dev: 1.0.0\n x: 1\n",
            "format: 1\nprompts:\n  a:\n    dev: 1.0\n",
            "format: 1\nprompts:\n  a:\n    qa: 1.0.0\n",
            "format: 1\nprompts:\n  a:\n    dev: 1.0.0\nprompts:\n",
            "format: 1\nprompts:\n  a:\n    dev: 1.0.0\n\"prompts\": {}\n",
        ] {
            let fast = fast_parse(text.as_bytes(), file);
            let full = Registry::parse_slow(text.as_bytes(), file).ok();
            assert!(fast.is_none() || fast == full, "{text}");
        }
    }

    #[test]
    fn one_entry_reads_agree_or_step_aside() {
        let file = Path::new("r");
        let a = PromptName::parse("a").unwrap();
        // Substrings, values and deeper keys are not the entry.
        let text = b"format: 1\nprompts:\n  ab:\n    dev: 1.0.0\n  b:\n    a: 1.0.0\n";
        assert!(fast_parse_one(text, file, &a).unwrap().prompts.is_empty());
        // Keys that are `a` without reading `a:` at the entries' indentation (found by the
        // registry_yaml fuzz target: the one-entry shortcut once reported no entry for them).
        for odd in [
            "  ? a\n  : {dev: 1.0.0}\n",
            "  \"a\" : {dev: 1.0.0}\n",
            "  a : {dev: 1.0.0}\n",
            "  !!str a: {dev: 1.0.0}\n",
            "  \"\\x61\": {dev: 1.0.0}\n",
            "  {a: {dev: 1.0.0}}\n",
            "  b: {}\n {a: {dev: 1.0.0}}\n",
            "  a: {}\n  a: {}\n",
            "  a: {}\n  \"a\": {}\n",
        ] {
            let text = format!("format: 1\nprompts:\n  b: {{}}\n{odd}");
            assert!(
                fast_parse_one(text.as_bytes(), file, &a).is_none(),
                "{odd:?}"
            );
        }
        let flow = "format: 1\nprompts: {a: {dev: 1.0.0}}\n";
        let r = Registry::parse_for(flow.as_bytes(), file, &a).unwrap();
        assert_eq!(r.pointers(&a).len(), 1);
        let split = "format: 1\nprompts:\n  a:\n    dev:\n      split:\n        - {version: 1.0.0, percent: 50}\n        - {version: 2.0.0, percent: 50}\n  b:\n    dev: 9\n";
        let r = fast_parse_one(split.as_bytes(), file, &a).unwrap();
        assert!(r.pointers(&a)["dev"].split().is_some());
    }

    #[test]
    fn layout_spans_cover_the_block() {
        let text = b"format: 1\nprompts:\n  a:\n    dev: 1.0.0\n  # c\n  'b':\n    dev: 2.0.0\naccess: {}\n";
        let layout = layout(text).unwrap();
        let names: Vec<&[u8]> = layout
            .entries
            .iter()
            .map(|e| &text[e.name.clone()])
            .collect();
        assert_eq!(names, [b"a".as_slice(), b"b"]);
        assert_eq!(layout.entries[0].span.end, layout.entries[1].span.start);
        assert_eq!(&text[layout.body.end..], b"access: {}\n");
        assert_eq!(layout.header(text), b"format: 1\nprompts:\naccess: {}\n");
    }
}
