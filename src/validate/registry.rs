//! The checks of `registry.yaml`: it parses and follows the format (through
//! [`Registry::parse`]), and every pointer names a released version.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use super::files::{Content, Files};
use super::finding::Finding;
use super::positions::Position;
use super::tags::Released;
use crate::model::registry::Registry;
use crate::{Error, PromptName, Result, Version, REGISTRY_FILE};

/// Returns the versions the pointers name that are releases (annotated tags), for the content
/// checks of `tags::check_contents`.
pub(crate) fn check(
    files: &Files<'_>,
    released: &Released,
    out: &mut Vec<Finding>,
) -> Result<BTreeSet<(PromptName, Version)>> {
    let mut served = BTreeSet::new();
    let bytes = match files.registry()? {
        Some(Content::Bytes(bytes)) => bytes,
        Some(Content::TooLarge(size)) => {
            out.push(Finding::error(
                REGISTRY_FILE,
                None,
                "too-large",
                crate::error::too_large(size, crate::model::yaml::MAX_DOCUMENT_BYTES),
            ));
            return Ok(served);
        }
        None => {
            out.push(Finding::error(
                REGISTRY_FILE,
                None,
                "registry-missing",
                "there is no registry.yaml; create one with `promptreg init`",
            ));
            return Ok(served);
        }
    };
    let registry = match Registry::parse(&bytes, Path::new(REGISTRY_FILE)) {
        Ok(registry) => registry,
        Err(error) => {
            let code = error.finding_code().unwrap_or("registry-invalid");
            let (at, message) = match error {
                Error::Yaml {
                    line,
                    column,
                    message,
                    ..
                } => (Some((line, column)), message),
                // The only rule the parse reports without a position: a prompt name.
                Error::RegistryName { name, reason, .. } => {
                    let text = String::from_utf8_lossy(&bytes);
                    let at = Entries::of(&text).get(&name).map(|e| (e.line, e.column));
                    (at, Error::InvalidName { name, reason }.to_string())
                }
                other => (None, other.to_string()),
            };
            out.push(Finding::error(REGISTRY_FILE, at, code, message));
            return Ok(served);
        }
    };
    let mut entries: Option<Entries> = None;
    let text = String::from_utf8_lossy(&bytes);
    for (name, pointers) in &registry.prompts {
        for env in &registry.environments {
            let Some(version) = pointers.get(env) else {
                continue;
            };
            let versions = released.versions(name.as_str());
            let problem = match versions.and_then(|v| v.get(version)) {
                Some(true) => {
                    served.insert((name.clone(), version.clone()));
                    continue;
                }
                Some(false) => format!(
                    "`{name}` {env} → {version}: tag `{}` is a lightweight tag, not a release",
                    version.tag_name(name)
                ),
                None => {
                    let known: Vec<String> = versions
                        .map(|v| {
                            v.iter()
                                .filter(|(_, annotated)| **annotated)
                                .map(|(v, _)| v.to_string())
                                .collect()
                        })
                        .unwrap_or_default();
                    if known.is_empty() {
                        format!("`{name}` {env} → {version}: `{name}` has no released version")
                    } else {
                        format!(
                            "`{name}` {env} → {version}: no such release (released: {})",
                            known.join(", ")
                        )
                    }
                }
            };
            let entries = entries.get_or_insert_with(|| Entries::of(&text));
            let at = entries.pointer(&text, name.as_str(), env);
            out.push(Finding::error(
                REGISTRY_FILE,
                at,
                "dangling-pointer",
                problem,
            ));
        }
    }
    Ok(served)
}

/// Where each prompt's entry of the `prompts:` block starts and ends, found in one pass over
/// the text (plain block style; other layouts give no positions).
struct Entries {
    by_name: HashMap<String, Span>,
}

#[derive(Clone, Copy)]
struct Span {
    line: u64,
    column: u64,
    /// Byte range of the entry: its key line to the end of its block.
    start: usize,
    end: usize,
}

impl Entries {
    fn of(text: &str) -> Self {
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

    fn get(&self, name: &str) -> Option<&Span> {
        self.by_name.get(name)
    }

    /// The position of `env`'s version in `name`'s entry (the entry's line when the pointer
    /// cannot be found, e.g. in flow style).
    fn pointer(&self, text: &str, name: &str, env: &str) -> Option<Position> {
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
    fn registry_codes() {
        let code = |text: &str| match Registry::parse(text.as_bytes(), Path::new(REGISTRY_FILE)) {
            Err(e) => e.finding_code(),
            Ok(_) => panic!("{text:?} parsed"),
        };
        for (text, expected) in [
            (
                "format: 1\nprompts:\n  a:\n    qa: 1.0.0\n",
                "unknown-environment",
            ),
            ("format: 1\nprompts:\n  a:\n    dev: '1.0'\n", "bad-version"),
            ("format: 2\n", "registry-invalid"),
            ("format: 1\nenvironments: [dev, dev]\n", "registry-invalid"),
            (
                "format: 1\naccess:\n  environments:\n    qa: [a@b.c]\n",
                "registry-invalid",
            ),
            ("format: 1\npolicy:\n  qa: {}\n", "registry-invalid"),
            ("format: 1\npromts: {}\n", "unknown-key"),
            ("format: 1\nprompts:\n  Bad: {}\n", "bad-name"),
            ("format: 1\nprompts: 'open\n", "yaml-syntax"),
        ] {
            assert_eq!(code(text), Some(expected), "{text:?}");
        }
    }
}
