//! The unified diff `promptreg diff` prints, laid out for the compare page: line by line with
//! both line numbers, and side by side, with the changed words of a changed line marked.

use serde::Serialize;
use similar::{ChangeTag, TextDiff};

/// A piece of a line; `changed` when the word diff of its line marks it.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Part {
    pub text: String,
    pub changed: bool,
}

/// One line of the unified view.
#[derive(Debug, Serialize)]
pub(crate) struct Line {
    /// `add`, `del`, `ctx`, `hunk` (an `@@` header) or `note` (`\ No newline…`).
    pub kind: &'static str,
    pub a: Option<usize>,
    pub b: Option<usize>,
    pub parts: Vec<Part>,
}

/// One row of the side-by-side view: the old line on the left, the new on the right, or a hunk
/// header across both.
#[derive(Debug, Serialize)]
pub(crate) struct Row {
    pub hunk: Option<String>,
    pub left: Option<Cell>,
    pub right: Option<Cell>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Cell {
    pub no: usize,
    /// `add`, `del` or `ctx`.
    pub kind: &'static str,
    pub parts: Vec<Part>,
}

/// Both views of `text_diff` (similar's unified diff, headers included).
pub(crate) fn layout(text_diff: &str) -> (Vec<Line>, Vec<Row>) {
    let mut lines = Vec::new();
    let mut rows = Vec::new();
    let (mut a, mut b) = (0usize, 0usize);
    let mut dels: Vec<(usize, &str)> = Vec::new();
    let mut adds: Vec<(usize, &str)> = Vec::new();
    let flush = |dels: &mut Vec<(usize, &str)>,
                 adds: &mut Vec<(usize, &str)>,
                 lines: &mut Vec<Line>,
                 rows: &mut Vec<Row>| {
        let pairs = dels.len().max(adds.len());
        let mut left_parts = Vec::new();
        let mut right_parts = Vec::new();
        for i in 0..pairs {
            let (l, r) = match (dels.get(i), adds.get(i)) {
                (Some(d), Some(p)) => {
                    let (l, r) = words(d.1, p.1);
                    (Some(l), Some(r))
                }
                (Some(d), None) => (Some(whole(d.1)), None),
                (None, Some(p)) => (None, Some(whole(p.1))),
                (None, None) => (None, None),
            };
            left_parts.push(l);
            right_parts.push(r);
        }
        for (i, (no, _)) in dels.iter().enumerate() {
            lines.push(Line {
                kind: "del",
                a: Some(*no),
                b: None,
                parts: clone_parts(left_parts[i].as_ref()),
            });
        }
        for (i, (no, _)) in adds.iter().enumerate() {
            lines.push(Line {
                kind: "add",
                a: None,
                b: Some(*no),
                parts: clone_parts(right_parts[i].as_ref()),
            });
        }
        for i in 0..pairs {
            rows.push(Row {
                hunk: None,
                left: dels.get(i).map(|(no, _)| Cell {
                    no: *no,
                    kind: "del",
                    parts: left_parts[i].take().unwrap_or_default(),
                }),
                right: adds.get(i).map(|(no, _)| Cell {
                    no: *no,
                    kind: "add",
                    parts: right_parts[i].take().unwrap_or_default(),
                }),
            });
        }
        dels.clear();
        adds.clear();
    };
    for line in text_diff.lines() {
        if line.starts_with("--- ") || line.starts_with("+++ ") {
            continue;
        }
        if let Some(header) = line.strip_prefix("@@") {
            flush(&mut dels, &mut adds, &mut lines, &mut rows);
            let (start_a, start_b) = hunk_starts(header);
            (a, b) = (start_a, start_b);
            lines.push(Line {
                kind: "hunk",
                a: None,
                b: None,
                parts: whole(line),
            });
            rows.push(Row {
                hunk: Some(line.to_owned()),
                left: None,
                right: None,
            });
        } else if let Some(text) = line.strip_prefix('-') {
            if !adds.is_empty() {
                flush(&mut dels, &mut adds, &mut lines, &mut rows);
            }
            dels.push((a, text));
            a += 1;
        } else if let Some(text) = line.strip_prefix('+') {
            adds.push((b, text));
            b += 1;
        } else if line.starts_with('\\') {
            flush(&mut dels, &mut adds, &mut lines, &mut rows);
            lines.push(Line {
                kind: "note",
                a: None,
                b: None,
                parts: whole(line),
            });
        } else {
            flush(&mut dels, &mut adds, &mut lines, &mut rows);
            let text = line.strip_prefix(' ').unwrap_or(line);
            lines.push(Line {
                kind: "ctx",
                a: Some(a),
                b: Some(b),
                parts: whole(text),
            });
            rows.push(Row {
                hunk: None,
                left: Some(Cell {
                    no: a,
                    kind: "ctx",
                    parts: whole(text),
                }),
                right: Some(Cell {
                    no: b,
                    kind: "ctx",
                    parts: whole(text),
                }),
            });
            a += 1;
            b += 1;
        }
    }
    flush(&mut dels, &mut adds, &mut lines, &mut rows);
    (lines, rows)
}

fn clone_parts(parts: Option<&Vec<Part>>) -> Vec<Part> {
    parts
        .map(|parts| {
            parts
                .iter()
                .map(|p| Part {
                    text: p.text.clone(),
                    changed: p.changed,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A line with nothing marked.
fn whole(text: &str) -> Vec<Part> {
    vec![Part {
        text: text.to_owned(),
        changed: false,
    }]
}

/// The old and the new line cut into words, the words only one of them has marked.
fn words(old: &str, new: &str) -> (Vec<Part>, Vec<Part>) {
    let diff = TextDiff::from_words(old, new);
    let (mut left, mut right) = (Vec::new(), Vec::new());
    for change in diff.iter_all_changes() {
        let text = change.value();
        match change.tag() {
            ChangeTag::Equal => {
                push(&mut left, text, false);
                push(&mut right, text, false);
            }
            ChangeTag::Delete => push(&mut left, text, true),
            ChangeTag::Insert => push(&mut right, text, true),
        }
    }
    (left, right)
}

/// Appends `text` to `parts`, joined to the last part when marked alike.
fn push(parts: &mut Vec<Part>, text: &str, changed: bool) {
    match parts.last_mut() {
        Some(last) if last.changed == changed => last.text.push_str(text),
        _ => parts.push(Part {
            text: text.to_owned(),
            changed,
        }),
    }
}

/// The first line numbers of a hunk header's two sides (` -11,6 +11,7 @@`).
fn hunk_starts(header: &str) -> (usize, usize) {
    let mut starts = header.split_whitespace().filter_map(|field| {
        let field = field
            .strip_prefix('-')
            .or_else(|| field.strip_prefix('+'))?;
        field.split(',').next()?.parse::<usize>().ok()
    });
    (starts.next().unwrap_or(1), starts.next().unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_line_pairs_with_its_replacement_and_marks_the_words() {
        let diff =
            "--- a/x@1\n+++ b/x@2\n@@ -3,3 +3,4 @@\n same\n-the old text\n+the new text\n+added\n";
        let (lines, rows) = layout(diff);
        let kinds: Vec<_> = lines.iter().map(|l| l.kind).collect();
        assert_eq!(kinds, ["hunk", "ctx", "del", "add", "add"]);
        assert_eq!((lines[1].a, lines[1].b), (Some(3), Some(3)));
        assert_eq!(
            (lines[2].a, lines[3].b, lines[4].b),
            (Some(4), Some(4), Some(5))
        );
        let marked: Vec<_> = lines[3]
            .parts
            .iter()
            .filter(|p| p.changed)
            .map(|p| p.text.as_str())
            .collect();
        assert_eq!(marked, ["new"]);
        assert_eq!(rows.len(), 4, "hunk, same, old/new, -/added");
        assert!(rows[3].left.is_none() && rows[3].right.is_some());
    }
}
