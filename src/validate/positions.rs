//! Positions inside a `prompt.yaml` that already parsed: where each top-level key, each declared
//! variable and each template starts. Read with a second, lenient pass that only runs when a
//! finding needs a position, so clean prompts pay nothing for it.

use std::collections::HashMap;
use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// 1-based line and column.
pub(crate) type Position = (u64, u64);

/// Where a template string's text starts in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Scalar {
    /// The first character of the value (for a block scalar, of its first non-blank line).
    pub start: Position,
    /// For a `|` or `>` block scalar, the file line of the template's first line (the line
    /// after the indicator): the template's lines are the file's lines from there on.
    pub block: Option<u64>,
    /// Quoted (`"…"`, `'…'`): the text starts one column after `start`.
    pub quoted: bool,
}

impl Scalar {
    /// The file position of line `line`, column `column` (1-based) of the template text.
    /// Exact for block and single-line scalars; multi-line flow scalars fold their lines, so
    /// there it is the best guess.
    pub fn at(&self, line: u64, column: u64) -> Position {
        let (start_line, start_column) = self.start;
        // Positions are 1-based; a 0 from anywhere is treated as 1.
        let (line, column) = (line.max(1), column.max(1));
        if let Some(first) = self.block {
            (first + line - 1, start_column + column - 1)
        } else if line <= 1 {
            (
                start_line,
                start_column + u64::from(self.quoted) + column - 1,
            )
        } else {
            (start_line + line - 1, column)
        }
    }
}

/// What the lenient pass found.
#[derive(Debug, Default)]
pub(crate) struct Spans {
    /// Top-level key → (position of the key, position of its value).
    keys: HashMap<String, (Position, Position)>,
    /// Declared variable → position of its name.
    variables: HashMap<String, Position>,
    pub system_prompt: Option<Scalar>,
    /// `messages[i].content`, by index.
    pub messages: Vec<Option<Scalar>>,
}

impl Spans {
    /// The spans of `text` (a document that parsed as a `PromptFile`); empty when it does not
    /// parse leniently either.
    pub fn of(text: &str) -> Self {
        match serde_saphyr::from_str::<Document>(text) {
            Ok(Document(mut spans)) => {
                let lines: Vec<&str> = text.lines().collect();
                let mark = |scalar: &mut Scalar| mark_style(scalar, &lines);
                if let Some(s) = spans.system_prompt.as_mut() {
                    mark(s)
                }
                for s in spans.messages.iter_mut().flatten() {
                    mark(s)
                }
                spans
            }
            Err(_) => Spans::default(),
        }
    }

    /// Where the top-level `key` is written.
    pub fn key(&self, key: &str) -> Option<Position> {
        self.keys.get(key).map(|(k, _)| *k)
    }

    /// Where the value of the top-level `key` starts.
    pub fn value(&self, key: &str) -> Option<Position> {
        self.keys.get(key).map(|(_, v)| *v)
    }

    /// Where variable `name` is declared.
    pub fn variable(&self, name: &str) -> Option<Position> {
        self.variables.get(name).copied()
    }
}

/// A value is a block scalar when the nearest non-blank line above its text ends with a `|` or
/// `>` indicator; quoted when its first character is a quote.
fn mark_style(scalar: &mut Scalar, lines: &[&str]) {
    let (line, column) = scalar.start;
    let Some(start) = (line as usize).checked_sub(1) else {
        return;
    };
    let Some(text) = lines.get(start) else {
        return;
    };
    let first = text.chars().nth((column as usize).saturating_sub(1));
    scalar.quoted = matches!(first, Some('"' | '\''));
    if scalar.quoted {
        return;
    }
    let Some(above) = (0..start).rev().find(|&i| !lines[i].trim().is_empty()) else {
        return;
    };
    let trimmed = strip_comment(lines[above]).trim_end();
    let indicator = trimmed
        .rsplit(|c: char| c.is_whitespace() || c == ':')
        .next()
        .unwrap_or("");
    if indicator.starts_with(['|', '>']) {
        scalar.block = Some(above as u64 + 2);
    }
}

fn strip_comment(line: &str) -> &str {
    match line.find(" #") {
        Some(at) => &line[..at],
        None => line,
    }
}

/// The line and column (1-based, in characters) of byte `offset` in `text`.
pub(crate) fn line_column(text: &str, offset: usize) -> Position {
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() as u64 + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() as u64 + 1;
    (line, column)
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The byte offset of the first place a template reads `name`: a whole-word occurrence inside a
/// `{{ … }}` or `{% … %}` tag, or failing that anywhere.
pub(crate) fn first_use(source: &str, name: &str) -> Option<usize> {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let whole_words = |from: usize, to: usize| {
        source[from..to]
            .match_indices(name)
            .map(move |(i, _)| from + i)
            .find(|&at| {
                let before = source[..at].chars().next_back();
                let after = source[at + name.len()..].chars().next();
                !before.is_some_and(is_word) && !after.is_some_and(is_word)
            })
    };
    let mut at = 0;
    while let Some(open) = source[at..].find(['{']).map(|i| at + i) {
        let rest = &source[open..];
        let close = if rest.starts_with("{{") {
            "}}"
        } else if rest.starts_with("{%") {
            "%}"
        } else {
            at = open + 1;
            continue;
        };
        let end = source[open + 2..]
            .find(close)
            .map_or(source.len(), |i| open + 2 + i);
        if let Some(found) = whole_words(open + 2, end) {
            return Some(found);
        }
        at = end;
    }
    whole_words(0, source.len())
}

/// The lenient document: any mapping, recording positions on the way.
struct Document(Spans);

impl<'de> Deserialize<'de> for Document {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(DocumentVisitor)
    }
}

struct DocumentVisitor;

impl<'de> Visitor<'de> for DocumentVisitor {
    type Value = Document;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Document, A::Error> {
        let mut spans = Spans::default();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let key_at = (key.referenced.line(), key.referenced.column());
            let value_at = match key.value.as_str() {
                "system_prompt" => {
                    let value: Spanned<IgnoredAny> = map.next_value()?;
                    let at = (value.referenced.line(), value.referenced.column());
                    spans.system_prompt = Some(Scalar {
                        start: at,
                        block: None,
                        quoted: false,
                    });
                    at
                }
                "messages" => {
                    let value: Spanned<Messages> = map.next_value()?;
                    spans.messages = value.value.0;
                    (value.referenced.line(), value.referenced.column())
                }
                "variables" => {
                    let value: Spanned<Keys> = map.next_value()?;
                    spans.variables = value.value.0;
                    (value.referenced.line(), value.referenced.column())
                }
                _ => {
                    let value: Spanned<IgnoredAny> = map.next_value()?;
                    (value.referenced.line(), value.referenced.column())
                }
            };
            spans.keys.insert(key.value, (key_at, value_at));
        }
        Ok(Document(spans))
    }
}

/// The keys of a mapping with their positions.
struct Keys(HashMap<String, Position>);

impl<'de> Deserialize<'de> for Keys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeysVisitor;
        impl<'de> Visitor<'de> for KeysVisitor {
            type Value = Keys;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
                let mut keys = HashMap::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    map.next_value::<IgnoredAny>()?;
                    keys.entry(key.value)
                        .or_insert((key.referenced.line(), key.referenced.column()));
                }
                Ok(Keys(keys))
            }
        }
        deserializer.deserialize_map(KeysVisitor)
    }
}

/// The `content` positions of a message list.
struct Messages(Vec<Option<Scalar>>);

impl<'de> Deserialize<'de> for Messages {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MessagesVisitor;
        impl<'de> Visitor<'de> for MessagesVisitor {
            type Value = Messages;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of messages")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Messages, A::Error> {
                let mut out = Vec::new();
                while let Some(message) = seq.next_element::<MessageContent>()? {
                    out.push(message.0);
                }
                Ok(Messages(out))
            }
        }
        deserializer.deserialize_seq(MessagesVisitor)
    }
}

struct MessageContent(Option<Scalar>);

impl<'de> Deserialize<'de> for MessageContent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MessageVisitor;
        impl<'de> Visitor<'de> for MessageVisitor {
            type Value = MessageContent;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a message")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MessageContent, A::Error> {
                let mut content = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key == "content" {
                        let value: Spanned<IgnoredAny> = map.next_value()?;
                        content = Some(Scalar {
                            start: (value.referenced.line(), value.referenced.column()),
                            block: None,
                            quoted: false,
                        });
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(MessageContent(content))
            }
        }
        deserializer.deserialize_map(MessageVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "summary: s\nsystem_prompt: |\n  line one\n  {{ broken\nmessages:\n  - role: user\n    content: \"Hi {{ name }}\"\n  - {role: user, content: plain}\nvariables:\n  name: {}\n  other:\n    required: false\ntoken_budget: 10\n";

    #[test]
    fn finds_keys_variables_and_templates() {
        let spans = Spans::of(TEXT);
        assert_eq!(spans.key("summary"), Some((1, 1)));
        assert_eq!(spans.value("token_budget"), Some((13, 15)));
        assert_eq!(spans.variable("name"), Some((10, 3)));
        assert_eq!(spans.variable("other"), Some((11, 3)));
        let system = spans.system_prompt.unwrap();
        assert_eq!(system.block, Some(3));
        assert_eq!(system.at(2, 1), (4, 3));
        let first = spans.messages[0].unwrap();
        assert!(first.quoted && first.block.is_none());
        assert_eq!(first.at(1, 4), (7, 18));
        let second = spans.messages[1].unwrap();
        assert_eq!(second.start, (8, 27));
    }

    #[test]
    fn positions_of_uses() {
        let source = "name is {{ name }}\n{% if other %}{{ other }}{% endif %}";
        assert_eq!(first_use(source, "name"), Some(11));
        assert_eq!(
            line_column(source, first_use(source, "other").unwrap()),
            (2, 7)
        );
        assert_eq!(first_use("{{ a.b }}", "b"), Some(5));
        assert_eq!(first_use("{{ ab }}", "a"), None);
        assert_eq!(line_column("é\nxé", 4), (2, 2));
    }

    #[test]
    fn block_with_leading_blank_line() {
        let spans = Spans::of("system_prompt: |-\n\n  x\n  {{ y\n");
        let system = spans.system_prompt.unwrap();
        assert_eq!(system.block, Some(2));
        assert_eq!(system.at(3, 1), (4, 3));
    }

    #[test]
    fn garbage_gives_no_spans() {
        let spans = Spans::of("- a\n");
        assert_eq!(spans.key("summary"), None);
    }
}
