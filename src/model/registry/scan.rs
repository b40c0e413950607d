//! The line scanner of `registry.yaml`'s `prompts:` block for the pointer editor
//! (`registry::edit`) and `validate`'s positions ([`Entries`]); the reads split the block with
//! `registry::layout`. It reads plain block-style
//! YAML only and says so (`None`) whenever a layout is anything else.

use std::collections::HashMap;
use std::ops::Range;

/// The top-level `prompts:` key and the block below it.
pub(crate) struct PromptsBlock {
    /// Where the `prompts:` line starts.
    pub key_at: usize,
    /// The block below the key: from the next line to the first content line at column 0.
    pub body: Range<usize>,
    /// The indentation of the block's entries (`None`: the block has no content line).
    pub indent: Option<usize>,
}

impl PromptsBlock {
    /// What follows `prompts:` on its line, with its newline.
    pub fn rest_of_key_line<'a>(&self, bytes: &'a [u8]) -> &'a [u8] {
        &bytes[self.key_at + "prompts:".len()..self.body.start]
    }
}

/// The first `prompts:` key at the start of a line, and its block.
pub(crate) fn prompts_block(bytes: &[u8]) -> Option<PromptsBlock> {
    let key_at = memchr::memmem::find_iter(bytes, b"prompts:")
        .find(|&at| at == 0 || bytes[at - 1] == b'\n')?;
    let body_start = line_end(bytes, key_at);
    let body_end = block_end(bytes, body_start, 0);
    Some(PromptsBlock {
        key_at,
        body: body_start..body_end,
        indent: first_content_indent(&bytes[body_start..body_end]),
    })
}

/// Whether the name found at `at` is a mapping key at exactly `indent` spaces — written plain
/// (`  name:`), or quoted (`  "name":`, `  'name':`) — and if so where its line starts.
pub(crate) fn key_line_start(bytes: &[u8], at: usize, len: usize, indent: usize) -> Option<usize> {
    let quote = at
        .checked_sub(1)
        .map(|i| bytes[i])
        .filter(|b| matches!(b, b'"' | b'\''));
    let (open, close) = match quote {
        Some(q) if bytes.get(at + len) == Some(&q) => (at - 1, at + len + 1),
        _ => (at, at + len),
    };
    let line_start = open.checked_sub(indent)?;
    let starts_line = line_start == 0 || bytes[line_start - 1] == b'\n';
    if !starts_line || bytes[line_start..open].iter().any(|&b| b != b' ') {
        return None;
    }
    if bytes.get(close) != Some(&b':') {
        return None;
    }
    matches!(bytes.get(close + 1), None | Some(b' ' | b'\n' | b'\r')).then_some(line_start)
}

/// Where the block that starts at `from` ends: the first content line indented `indent` or less.
/// Blank lines and comment lines never end a block.
pub(crate) fn block_end(bytes: &[u8], from: usize, indent: usize) -> usize {
    // One vectorised pass over the newlines; only a line's first `indent + 1` bytes matter.
    let line_starts = std::iter::once(from)
        .chain(memchr::memchr_iter(b'\n', &bytes[from..]).map(|i| from + i + 1));
    for at in line_starts {
        let line = &bytes[at.min(bytes.len())..];
        if line.is_empty() {
            break;
        }
        let spaces = line
            .iter()
            .take(indent + 1)
            .take_while(|&&b| b == b' ')
            .count();
        if spaces > indent {
            continue;
        }
        if !matches!(line.get(spaces), None | Some(b'\n' | b'\r' | b'#')) {
            return at;
        }
    }
    bytes.len()
}

/// The indentation of the first content line (not blank, not a comment) of `body`.
pub(crate) fn first_content_indent(body: &[u8]) -> Option<usize> {
    body.split(|&b| b == b'\n').find_map(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let spaces = line.iter().take_while(|&&b| b == b' ').count();
        let rest = &line[spaces..];
        (!rest.is_empty() && rest[0] != b'#').then_some(spaces)
    })
}

/// Where the line holding `from` ends (after its newline).
pub(crate) fn line_end(bytes: &[u8], from: usize) -> usize {
    memchr::memchr(b'\n', &bytes[from..]).map_or(bytes.len(), |i| from + i + 1)
}

/// The line in `[start, end)` holding key `key` at exactly `indent` spaces: `Some(None)` when
/// absent, `None` when it appears more than once.
pub(crate) fn find_key(
    bytes: &[u8],
    start: usize,
    end: usize,
    indent: usize,
    key: &str,
) -> Option<Option<usize>> {
    let mut found = None;
    for at in memchr::memmem::find_iter(&bytes[start..end], key.as_bytes()) {
        if let Some(line_start) = key_line_start(bytes, start + at, key.len(), indent) {
            if found.is_some() {
                return None;
            }
            found = Some(line_start);
        }
    }
    Some(found)
}

/// Where each prompt's entry of the `prompts:` block starts and ends, found in one pass over
/// the text (plain block style; other layouts give no positions).
pub(crate) struct Entries {
    by_name: HashMap<String, Span>,
}

#[derive(Clone, Copy)]
pub(crate) struct Span {
    pub line: u64,
    pub column: u64,
    /// Byte range of the entry: its key line to the end of its block.
    start: usize,
    end: usize,
}

impl Entries {
    pub(crate) fn of(text: &str) -> Self {
        let mut by_name = HashMap::new();
        let mut in_prompts = false;
        let mut indent = None;
        let mut offset = 0;
        let mut current: Option<String> = None;
        for (index, line) in text.split_inclusive('\n').enumerate() {
            let start = offset;
            offset += line.len();
            let content = line.trim_end_matches(['\n', '\r']);
            let trimmed = content.trim_start_matches(' ');
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let spaces = content.len() - trimmed.len();
            if spaces == 0 {
                if let Some(name) = current.take() {
                    if let Some(span) = by_name.get_mut(&name) {
                        let span: &mut Span = span;
                        span.end = start;
                    }
                }
                in_prompts = key_of(trimmed).is_some_and(|(k, _)| k == "prompts");
                continue;
            }
            if !in_prompts {
                continue;
            }
            let indent = *indent.get_or_insert(spaces);
            if spaces != indent {
                continue;
            }
            if let Some(name) = current.take() {
                if let Some(span) = by_name.get_mut(&name) {
                    let span: &mut Span = span;
                    span.end = start;
                }
            }
            if let Some((key, _)) = key_of(trimmed) {
                by_name.entry(key.clone()).or_insert(Span {
                    line: index as u64 + 1,
                    column: spaces as u64 + 1,
                    start,
                    end: text.len(),
                });
                current = Some(key);
            }
        }
        Entries { by_name }
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Span> {
        self.by_name.get(name)
    }

    /// The position of `env`'s version in `name`'s entry (the entry's line when the pointer
    /// cannot be found, e.g. in flow style).
    pub(crate) fn pointer(&self, text: &str, name: &str, env: &str) -> Option<(u64, u64)> {
        let span = self.by_name.get(name)?;
        let block = &text[span.start..span.end];
        for (index, line) in block.split_inclusive('\n').enumerate() {
            let content = line.trim_end_matches(['\n', '\r']);
            if index == 0 {
                // Flow style on the key's line: `name: {dev: 1.0.0}`.
                let Some((_, rest_at)) = key_of(content.trim_start()) else {
                    continue;
                };
                let rest_at = content.len() - content.trim_start().len() + rest_at;
                if let Some(found) = content[rest_at..].find(&format!("{env}:")) {
                    let value_at = rest_at + found + env.len() + 1;
                    let skipped =
                        content[value_at..].len() - content[value_at..].trim_start().len();
                    return Some((span.line, (value_at + skipped) as u64 + 1));
                }
                continue;
            }
            let trimmed = content.trim_start_matches(' ');
            if let Some((key, value_at)) = key_of(trimmed) {
                if key == env {
                    let spaces = content.len() - trimmed.len();
                    let rest = &trimmed[value_at..];
                    let skipped = rest.len() - rest.trim_start().len();
                    let column = (spaces + value_at + skipped) as u64 + 1;
                    return Some((span.line + index as u64, column));
                }
            }
        }
        Some((span.line, span.column))
    }
}

impl Entries {
    /// The position of `version` in the split `env` holds in `name`'s entry: the value of the
    /// entry's `version:` key, flow (`- {version: 1.1.0, percent: 10}`) or block style. Falls
    /// back to [`Entries::pointer`] when it cannot be found.
    pub(crate) fn split_entry(
        &self,
        text: &str,
        name: &str,
        env: &str,
        version: &str,
    ) -> Option<(u64, u64)> {
        let (line, column) = self.pointer(text, name, env)?;
        let span = self.by_name.get(name)?;
        let lines: Vec<&str> = text[span.start..span.end].split_inclusive('\n').collect();
        let first = usize::try_from(line - span.line).ok()?;
        let key_line = lines.get(first)?;
        let key_indent = key_line.len() - key_line.trim_start_matches(' ').len();
        // The pointer's own lines: from its value to the next line indented no deeper than
        // its key (a flow pointer on the key's line ends with that line).
        for (index, content) in lines.iter().enumerate().skip(first) {
            let content = content.trim_end_matches(['\n', '\r']);
            let from = if index == first {
                usize::try_from(column).ok()?.saturating_sub(1)
            } else {
                let trimmed = content.trim_start_matches(' ');
                let blank = trimmed.is_empty() || trimmed.starts_with('#');
                if !blank && content.len() - trimmed.len() <= key_indent {
                    break;
                }
                0
            };
            let Some(rest) = content.get(from..) else {
                continue;
            };
            for (at, _) in rest.match_indices("version:") {
                let value = &rest[at + "version:".len()..];
                let skipped = value.len() - value.trim_start().len();
                let value = value.trim_start();
                let unquoted = match value.chars().next() {
                    Some('"' | '\'') => value[1..].strip_prefix(version),
                    _ => value.strip_prefix(version),
                };
                let ends = unquoted.is_some_and(|after| {
                    !after.starts_with(|c: char| c.is_ascii_alphanumeric() || "-+.".contains(c))
                });
                if ends {
                    let column = from + at + "version:".len() + skipped + 1;
                    return Some((span.line + index as u64, column as u64));
                }
            }
        }
        Some((line, column))
    }
}

/// The key of a `key: value` line (plain or quoted) and the byte offset just after its colon.
fn key_of(line: &str) -> Option<(String, usize)> {
    let (key, after) = match line.chars().next()? {
        quote @ ('"' | '\'') => {
            let end = line[1..].find(quote)? + 1;
            (line[1..end].to_owned(), end + 1)
        }
        _ => {
            let colon = line
                .match_indices(':')
                .map(|(i, _)| i)
                .find(|&i| matches!(line.as_bytes().get(i + 1), None | Some(b' ' | b'\t')))?;
            (line[..colon].trim_end().to_owned(), colon)
        }
    };
    if line.as_bytes().get(after) != Some(&b':') {
        return None;
    }
    Some((key, after + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "format: 1\nprompts:\n  a:\n    dev: 1.0.0   # note\n    production: 2.0.0\n  # comment\n  'b/c':\n    staging: 1.0.0\n  d: {dev: 3.0.0, staging: 3.0.0}\naccess: {}\n";

    #[test]
    fn pointer_positions() {
        let entries = Entries::of(TEXT);
        assert_eq!(entries.pointer(TEXT, "a", "dev"), Some((4, 10)));
        assert_eq!(entries.pointer(TEXT, "a", "production"), Some((5, 17)));
        assert_eq!(entries.pointer(TEXT, "b/c", "staging"), Some((8, 14)));
        assert_eq!(entries.pointer(TEXT, "d", "staging"), Some((9, 28)));
        assert_eq!(entries.pointer(TEXT, "a", "qa"), Some((3, 3)));
        assert_eq!(entries.pointer(TEXT, "zz", "dev"), None);
    }

    #[test]
    fn split_entry_positions() {
        let text = "format: 1\nprompts:\n  a:\n    dev:\n      split:\n        - {version: 1.0.0, percent: 90}\n        - {version: '1.0.0-rc.1', percent: 5}\n        - version: 1.0.1\n          percent: 5\n    staging:\n      split:\n        - {version: 2.0.0, percent: 50}\n  b: {dev: {split: [{version: 1.0.0, percent: 50}, {version: 3.0.0, percent: 50}]}}\n";
        let entries = Entries::of(text);
        let at = |name, env, version| entries.split_entry(text, name, env, version);
        assert_eq!(at("a", "dev", "1.0.0"), Some((6, 21)));
        assert_eq!(at("a", "dev", "1.0.0-rc.1"), Some((7, 21)));
        assert_eq!(at("a", "dev", "1.0.1"), Some((8, 20)));
        assert_eq!(at("a", "staging", "2.0.0"), Some((12, 21)));
        // Not in dev's split (staging's is not looked at): the pointer itself.
        assert_eq!(at("a", "dev", "2.0.0"), entries.pointer(text, "a", "dev"));
        assert_eq!(at("b", "dev", "3.0.0"), Some((13, 62)));
    }
}
