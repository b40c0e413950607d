//! Editing `registry.yaml` the way a person would: change only the line(s) a pointer needs,
//! keeping comments, key order and formatting, so a promotion reviews as a one-line diff.
//!
//! Every edit is verified by parsing the result and comparing it with the intended index; a
//! layout the editor does not understand is refused rather than rewritten.

use std::path::Path;

use super::scan::{block_end, find_key, first_content_indent, line_end, prompts_block};
use super::{Pointer, Registry};
use crate::{Error, PromptName, Result};

/// Sets `environment`'s pointer for `name` to `version` (a version or a split) in the index
/// text, whose parsed form is `before`. Returns the new text and its parsed form. A split is
/// written in block style, one flow-style entry per line:
///
/// ```yaml
///     production:
///       split:
///         - {version: 1.1.0, percent: 90}
///         - {version: 1.2.0, percent: 10}
/// ```
///
/// The edit touches only the prompt's entry (or appends one), so checking that entry — cut out
/// and parsed — against the intended pointers verifies it without re-parsing the whole index
/// (tens of milliseconds at 10,000 prompts).
pub fn set_pointer(
    text: &str,
    before: &Registry,
    name: &PromptName,
    environment: &str,
    version: &Pointer,
) -> Result<(String, Registry)> {
    let file = Path::new(crate::REGISTRY_FILE);
    let edited = edit(text, before, name, environment, version).ok_or_else(unsupported)?;
    let mut after = before.clone();
    after
        .prompts
        .entry(name.clone())
        .or_default()
        .insert(environment.to_owned(), version.clone());
    let check = Registry::parse_for(edited.as_bytes(), file, name).map_err(|_| unsupported())?;
    if check.pointers(name) != after.pointers(name)
        || check.environments != after.environments
        || check.access != after.access
        || check.policy != after.policy
    {
        return Err(unsupported());
    }
    Ok((edited, after))
}

fn unsupported() -> Error {
    Error::Invalid {
        file: crate::REGISTRY_FILE.into(),
        message:
            "its layout is too unusual to edit safely (flow-style or aliased `prompts:` entries); \
                  rewrite the entry in block style"
                .into(),
    }
}

fn edit(
    text: &str,
    registry: &Registry,
    name: &PromptName,
    environment: &str,
    version: &Pointer,
) -> Option<String> {
    let mut text = text.to_owned();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    // `prompts:` is optional; add an empty block at the end when it is absent.
    if prompts_block(text.as_bytes()).is_none() {
        text.push_str("prompts:\n");
    }
    let block = prompts_block(text.as_bytes())?;
    let after_key = std::str::from_utf8(block.rest_of_key_line(text.as_bytes()))
        .ok()?
        .trim_end_matches('\n');
    let (inline, comment) = split_comment(after_key);
    let key_at = block.key_at;
    let mut text = match inline.trim() {
        "" => text.clone(),
        "{}" => format!(
            "{}prompts:{comment}\n{}",
            &text[..key_at],
            &text[block.body.start..]
        ),
        _ => return None,
    };
    let block = prompts_block(text.as_bytes())?;
    let (body_start, body_end) = (block.body.start, block.body.end);
    let indent = block.indent.unwrap_or(2);
    let bytes = text.as_bytes();
    let pad = " ".repeat(indent);
    let entry = find_key(bytes, body_start, body_end, indent, name.as_str())?;
    match entry {
        None => {
            let value = pointer_lines(environment, version, indent * 2, indent, "");
            let insert = format!("{pad}{name}:\n{value}");
            text.insert_str(body_end, &insert);
        }
        Some(entry_at) => {
            let entry_line_end = line_end(bytes, entry_at);
            let (value, comment) = split_comment(
                text[entry_at..entry_line_end]
                    .trim_end_matches('\n')
                    .split_once(':')?
                    .1,
            );
            match value.trim() {
                "" => {}
                "{}" => {
                    let key = text[entry_at..entry_line_end].split_once(':')?.0.to_owned();
                    text.replace_range(entry_at..entry_line_end, &format!("{key}:{comment}\n"));
                }
                _ => return None,
            }
            let bytes = text.as_bytes();
            let children_start = line_end(bytes, entry_at);
            let children_end = block_end(bytes, children_start, indent);
            let child_indent =
                first_content_indent(&bytes[children_start..children_end]).unwrap_or(indent * 2);
            let step = child_indent.saturating_sub(indent).max(1);
            match find_key(
                bytes,
                children_start,
                children_end,
                child_indent,
                environment,
            )? {
                Some(child_at) => {
                    let child_end = line_end(bytes, child_at);
                    // A split below the key goes with it.
                    let nested_end = nested_end(bytes, child_end, child_indent);
                    let (key, rest) = text[child_at..child_end].split_once(':')?;
                    let (value, comment) = split_comment(rest.trim_end_matches('\n'));
                    let replacement = match version {
                        Pointer::Version(v) => {
                            let spacing = &value[..value.len() - value.trim_start().len()];
                            let spacing = if spacing.is_empty() || value.trim().is_empty() {
                                " "
                            } else {
                                spacing
                            };
                            format!("{key}:{spacing}{v}{comment}\n")
                        }
                        Pointer::Split(_) => {
                            pointer_lines(environment, version, child_indent, step, comment)
                        }
                    };
                    text.replace_range(child_at..nested_end, &replacement);
                }
                None => {
                    // Keep pipeline order: after the last pointer of an earlier environment.
                    let earlier: Vec<&String> = registry
                        .environments
                        .iter()
                        .take_while(|e| *e != environment)
                        .collect();
                    let mut insert_at = children_start;
                    for env in earlier {
                        if let Some(Some(at)) =
                            find_key(bytes, children_start, children_end, child_indent, env)
                        {
                            let at_end = line_end(bytes, at);
                            insert_at = insert_at.max(nested_end(bytes, at_end, child_indent));
                        }
                    }
                    let lines = pointer_lines(environment, version, child_indent, step, "");
                    text.insert_str(insert_at, &lines);
                }
            }
        }
    }
    Some(text)
}

/// The lines of `environment: pointer` at `indent` spaces, a split's entries `step` deeper
/// each level; `comment` (with its leading spaces) stays on the key's line.
fn pointer_lines(
    environment: &str,
    pointer: &Pointer,
    indent: usize,
    step: usize,
    comment: &str,
) -> String {
    let pad = " ".repeat(indent);
    match pointer {
        Pointer::Version(v) => format!("{pad}{environment}: {v}{comment}\n"),
        Pointer::Split(split) => {
            let inner = " ".repeat(indent + step);
            let item = " ".repeat(indent + 2 * step);
            let mut out = format!("{pad}{environment}:{comment}\n{inner}split:\n");
            for share in split.shares() {
                out.push_str(&format!(
                    "{item}- {{version: {}, percent: {}}}\n",
                    share.version, share.percent
                ));
            }
            out
        }
    }
}

/// Where the lines nested below a key line end: after the last content line indented more
/// than `indent` before the first one that is not (comments after it stay where they are).
fn nested_end(bytes: &[u8], from: usize, indent: usize) -> usize {
    let mut end = from;
    let mut at = from;
    while at < bytes.len() {
        let next = line_end(bytes, at);
        let line = &bytes[at..next];
        let spaces = line.iter().take_while(|&&b| b == b' ').count();
        match line.get(spaces) {
            None | Some(b'\n' | b'\r' | b'#') => {}
            Some(_) if spaces > indent => end = next,
            Some(_) => break,
        }
        at = next;
    }
    end
}

/// Splits `value   # comment` into the value (with any leading spaces) and the rest: the spaces
/// before the comment and the comment, kept byte for byte.
fn split_comment(rest: &str) -> (&str, &str) {
    let value = match rest.find(" #") {
        Some(at) => rest[..at].trim_end(),
        None => rest.trim_end(),
    };
    (&rest[..value.len()], &rest[value.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str, name: &str, env: &str, version: &str) -> Result<String> {
        let name = PromptName::parse(name).unwrap();
        let before = Registry::parse(text.as_bytes(), Path::new("registry.yaml"))?;
        let (edited, after) =
            set_pointer(text, &before, &name, env, &Pointer::parse(version).unwrap())?;
        assert_eq!(after.pointers(&name)[env].to_string(), version);
        // The shortcut verification agrees with a full parse of the result.
        assert_eq!(
            Registry::parse(edited.as_bytes(), Path::new("registry.yaml")).unwrap(),
            after
        );
        Ok(edited)
    }

    const BASE: &str = "# header comment\nformat: 1\nenvironments: [dev, staging, production]\nprompts:\n  customer-support:\n    staging: 2.1.0   # candidate\n    production: 2.0.0\n  other:\n    dev: 0.1.0\n";

    #[test]
    fn changes_one_value_keeping_comment() {
        let out = set(BASE, "customer-support", "staging", "2.2.0").unwrap();
        assert_eq!(
            out,
            BASE.replace(
                "staging: 2.1.0   # candidate",
                "staging: 2.2.0   # candidate"
            )
        );
    }

    #[test]
    fn inserts_in_pipeline_order() {
        let out = set(BASE, "customer-support", "dev", "3.0.0").unwrap();
        assert!(
            out.contains("  customer-support:\n    dev: 3.0.0\n    staging: 2.1.0"),
            "{out}"
        );
        let out = set(BASE, "other", "production", "0.1.0").unwrap();
        assert!(
            out.contains("  other:\n    dev: 0.1.0\n    production: 0.1.0\n"),
            "{out}"
        );
    }

    #[test]
    fn adds_new_entries_and_expands_empty_maps() {
        let out = set(
            "format: 1\nprompts: {}   # none yet\n",
            "a/b",
            "dev",
            "1.0.0",
        )
        .unwrap();
        assert_eq!(
            out,
            "format: 1\nprompts:   # none yet\n  a/b:\n    dev: 1.0.0\n"
        );
        let out = set(BASE, "new", "dev", "1.0.0").unwrap();
        assert!(
            out.ends_with("  other:\n    dev: 0.1.0\n  new:\n    dev: 1.0.0\n"),
            "{out}"
        );
        let out = set("format: 1\nprompts:\n  a: {}\n", "a", "dev", "1.0.0").unwrap();
        assert_eq!(out, "format: 1\nprompts:\n  a:\n    dev: 1.0.0\n");
    }

    #[test]
    fn writes_and_replaces_splits() {
        let out = set(BASE, "customer-support", "production", "2.0.0=90 2.1.0=10").unwrap();
        assert!(
            out.contains("    staging: 2.1.0   # candidate\n    production:\n      split:\n        - {version: 2.0.0, percent: 90}\n        - {version: 2.1.0, percent: 10}\n  other:\n"),
            "{out}"
        );
        // Re-weighted in place, then back to one version: the diff is the split's lines only.
        let ramped = set(&out, "customer-support", "production", "2.0.0=50 2.1.0=50").unwrap();
        assert_eq!(
            ramped,
            out.replace("percent: 90", "percent: 50")
                .replace("percent: 10", "percent: 50")
        );
        let done = set(&ramped, "customer-support", "production", "2.1.0").unwrap();
        assert_eq!(done, BASE.replace("production: 2.0.0", "production: 2.1.0"));
        // A new environment after a split keeps pipeline order; a new prompt with a split.
        let text = "format: 1\nprompts:\n  a:\n    dev:\n      split:\n        - {version: 1.0.0, percent: 50}\n        - {version: 1.1.0, percent: 50}\n    # kept\n    production: 1.0.0\n";
        let out = set(text, "a", "staging", "1.0.0").unwrap();
        assert!(
            out.contains("percent: 50}\n    staging: 1.0.0\n    # kept\n    production: 1.0.0\n"),
            "{out}"
        );
        let out = set(
            "format: 1\nprompts: {}\n",
            "b",
            "dev",
            "1.0.0=12.5 2.0.0=87.5",
        )
        .unwrap();
        assert_eq!(out, "format: 1\nprompts:\n  b:\n    dev:\n      split:\n        - {version: 1.0.0, percent: 12.5}\n        - {version: 2.0.0, percent: 87.5}\n");
    }

    #[test]
    fn adds_the_prompts_block_when_absent() {
        let out = set("format: 1\n", "a", "dev", "1.0.0").unwrap();
        assert_eq!(out, "format: 1\nprompts:\n  a:\n    dev: 1.0.0\n");
    }

    #[test]
    fn refuses_layouts_it_cannot_edit() {
        assert!(set(
            "format: 1\nprompts: {a: {dev: 1.0.0}}\n",
            "a",
            "dev",
            "2.0.0"
        )
        .is_err());
        assert!(set(
            "format: 1\nprompts:\n  a: {dev: 1.0.0}\n",
            "a",
            "dev",
            "2.0.0"
        )
        .is_err());
    }
}
