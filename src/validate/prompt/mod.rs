//! The checks of one prompt directory: `prompt.yaml` parses and follows the rules, its component
//! files exist and fit, its templates compile and read only declared variables, and it fits its
//! token budget when rendered with defaults.
//!
//! `mod.rs` reads `prompt.yaml` and reports its parse errors and broken rules;
//! [`templates`] checks the templates and the variable contract, [`components`] the component
//! files and [`budget`] the token budget.

use std::path::Path;

mod budget;
mod components;
mod templates;

use super::files::{Content, Entry, Files, Kind};
use super::finding::Finding;
use super::positions::Spans;
use crate::model::prompt::rules::{self, Subject};
use crate::model::prompt::PromptFile;
use crate::model::yaml;
use crate::{Error, Result};

/// Checks the prompt in `dir` (`prompts/<name>`), whose files are `entries` (repository-relative
/// paths, sorted). When its prompt.yaml parses, follows every rule and names no component
/// file, the id of its content as a blob goes to `fine`: a release holding the same blob is
/// servable without parsing it again (see `tags::check_contents`).
pub(crate) fn check(
    files: &Files<'_>,
    dir: &str,
    entries: &[(String, Entry)],
    out: &mut Vec<Finding>,
    fine: &mut Vec<crate::store::ObjectId>,
) -> Result<()> {
    let file = format!("{dir}/{}", crate::PROMPT_FILE);
    let Some(entry) = lookup(entries, &file) else {
        return Ok(());
    };
    if entry.kind != Kind::File {
        return Ok(()); // A link or a conflict: reported with the directory's layout.
    }
    let bytes = match files.read(&file, &entry, yaml::MAX_DOCUMENT_BYTES)? {
        Content::Bytes(bytes) => bytes,
        Content::TooLarge(size) => {
            out.push(Finding::error(
                &file,
                None,
                "too-large",
                crate::error::too_large(size, yaml::MAX_DOCUMENT_BYTES),
            ));
            return Ok(());
        }
    };
    if is_blank(&bytes) {
        out.push(Finding::error(
            &file,
            Some((1, 1)),
            "empty-file",
            "prompt.yaml is empty; a prompt needs `system_prompt`, `system_prompt_file` or `messages`",
        ));
        return Ok(());
    }
    let path = Path::new(&file);
    let prompt = match yaml::parse::<PromptFile>(&bytes, path) {
        Ok(prompt) => prompt,
        Err(e) => {
            out.push(parse_error(e, &file));
            return Ok(());
        }
    };
    // Every broken rule, each at its place; then what can still be checked is.
    let violations = rules::violations(&prompt);
    let rules_ok = violations.is_empty();
    if rules_ok && prompt.component_paths().next().is_none() {
        if let Ok(id) = crate::store::hash_blob(&bytes) {
            fine.push(id);
        }
    }
    if !rules_ok {
        let text = std::str::from_utf8(&bytes).unwrap_or_default();
        let spans = Spans::of(text);
        for violation in violations {
            let at = match &violation.subject {
                Subject::Document => Some((1, 1)),
                Subject::Key(key) => spans.key(key),
                Subject::Value(key) => spans.value(key),
                Subject::Variable(name) => spans.variable(name),
            };
            out.push(Finding::error(
                &file,
                at,
                violation.code(),
                violation.message,
            ));
        }
    }
    let text = std::str::from_utf8(&bytes).unwrap_or_default();
    templates::Contents {
        files,
        dir,
        file: &file,
        text,
        entries,
        prompt: &prompt,
        rules_ok,
        spans: None,
    }
    .check(out)
}

/// A finding for a file that does not parse (`Error::Yaml` and the rest): the error's own
/// finding code, else `invalid-prompt`.
pub(crate) fn parse_error(error: Error, shown: &str) -> Finding {
    let code = error.finding_code().unwrap_or("invalid-prompt");
    match error {
        Error::Yaml {
            line,
            column,
            message,
            ..
        } => Finding::error(shown, Some((line, column)), code, message),
        Error::Invalid { message, .. } => Finding::error(shown, None, code, message),
        Error::TooLarge { size, limit, .. } => {
            Finding::error(shown, None, code, crate::error::too_large(size, limit))
        }
        other => Finding::error(shown, None, code, other.to_string()),
    }
}

fn is_blank(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok_and(|text| {
        text.lines().all(|line| {
            let line = line.trim();
            line.is_empty() || line.starts_with('#') || line == "---" || line == "..."
        })
    })
}

fn lookup(entries: &[(String, Entry)], path: &str) -> Option<Entry> {
    entries
        .binary_search_by(|(p, _)| p.as_str().cmp(path))
        .ok()
        .map(|i| entries[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_errors_get_codes() {
        let code = |text: &str| match yaml::parse::<PromptFile>(text.as_bytes(), Path::new("p")) {
            Err(e) => parse_error(e, "p").code,
            Ok(_) => panic!("{text:?} parsed"),
        };
        for (text, expected) in [
            ("system_prompt: a\ntemprature: 1\n", "unknown-key"),
            ("system_prompt: a\nsystem_prompt: b\n", "duplicate-key"),
            (
                "system_prompt: a\nmessages:\n  - role: user\n",
                "missing-key",
            ),
            ("x: &a [*a, *a]\nsystem_prompt: a\n", "unknown-key"),
            ("system_prompt: a\ntemperature: hot\n", "bad-type"),
            ("system_prompt: a\nmessages: {}\n", "bad-type"),
            (
                "system_prompt: a\nmessages:\n  - {role: robot, content: x}\n",
                "bad-type",
            ),
            ("system_prompt: [a, b]\n", "bad-type"),
            ("system_prompt: 'open\n", "yaml-syntax"),
            ("system_prompt: a\n---\nsystem_prompt: b\n", "yaml-syntax"),
            ("system_prompt: a\nvariables:\n\tx: {}\n", "yaml-syntax"),
            (
                "system_prompt: a\nmessages:\n  - role: user\n    content:\n",
                "bad-type",
            ),
        ] {
            assert_eq!(code(text), expected, "{text:?}");
        }
        let deep = format!(
            "system_prompt: a\nexamples: {}{}\n",
            "[".repeat(300),
            "]".repeat(300)
        );
        assert_eq!(code(&deep), "yaml-limit");
        let bad = PromptFile::parse(b"system_prompt: \xff\n", Path::new("p")).unwrap_err();
        assert_eq!(parse_error(bad, "p").code, "bad-utf8");
        let big = vec![b' '; yaml::MAX_DOCUMENT_BYTES + 1];
        let finding = parse_error(
            yaml::parse::<PromptFile>(&big, Path::new("p")).unwrap_err(),
            "p",
        );
        assert_eq!(finding.code, "too-large");
        assert_eq!(
            finding.message,
            format!(
                "{} bytes is larger than the {}-byte limit",
                big.len(),
                yaml::MAX_DOCUMENT_BYTES
            )
        );
    }

    /// Any text, written as a prompt.yaml with a component beside it, gives findings, never a
    /// panic.
    fn check_text(text: &str) -> Vec<Finding> {
        let dir = tempfile::tempdir().unwrap();
        let prompt_dir = dir.path().join("prompts/x");
        std::fs::create_dir_all(&prompt_dir).unwrap();
        std::fs::write(prompt_dir.join("prompt.yaml"), text).unwrap();
        std::fs::write(prompt_dir.join("s.md"), "Hi {{ a }} {% if b %}").unwrap();
        let files = Files::WorkTree {
            root: dir.path().to_owned(),
        };
        let entries = files.walk("prompts/x").unwrap();
        let mut out = Vec::new();
        check(&files, "prompts/x", &entries, &mut out, &mut Vec::new()).unwrap();
        out
    }

    #[test]
    fn findings_have_positions_inside_the_file() {
        let text = "system_prompt: |\n  a {{ b }}\n  {% if %}\nmessages:\n  - {role: user, content: \"{{ c }}\"}\n";
        let out = check_text(text);
        let lines: Vec<_> = out.iter().map(|f| (f.code, f.line, f.column)).collect();
        assert_eq!(
            lines,
            [
                ("template-syntax", Some(3), Some(3)),
                ("undeclared-variable", Some(5), Some(31))
            ]
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
        #[test]
        fn no_text_panics(text in "(system_prompt(_file)?|messages|variables|token_budget|temperature|model|- |role|content|user|: |\\{\\{ ?|\\}\\}|\\{%|%\\}|[ab]|s\\.md|&x|\\*x|[\\[\\]{},|>\"'#\n ]|  |-1|2\\.5|0){0,40}") {
            let out = check_text(&text);
            for finding in out {
                proptest::prop_assert!(finding.line.is_none_or(|l| l >= 1));
            }
        }
    }

    #[test]
    fn global_functions_are_not_variables() {
        let text = "system_prompt: |\n  {% for i in range(3) %}{{ loop.index }}{{ i }}{% endfor %}\n  {% set ns = namespace(a=1) %}{{ ns.a }} {{ dict(a=1) }} {{ items | length }}\nvariables:\n  items: {}\n";
        assert_eq!(check_text(text), []);
    }

    #[test]
    fn blank_documents() {
        assert!(is_blank(b""));
        assert!(is_blank(b"# only a comment\n\n---\n"));
        assert!(!is_blank(b"a: b"));
    }
}
