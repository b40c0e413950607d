//! The checks of one prompt directory: `prompt.yaml` parses and follows the rules, its component
//! files exist and fit, its templates compile and read only declared variables, and it fits its
//! token budget when rendered with defaults.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use super::files::{Content, Entry, Files, Kind};
use super::finding::{Finding, Severity};
use super::positions::{first_use, line_column, Position, Scalar, Spans};
use crate::model::prompt::rules::{self, Subject};
use crate::model::prompt::{PromptFile, MAX_COMPONENT_BYTES};
use crate::model::tokens::{self, Budget};
use crate::model::{template, yaml};
use crate::{Error, Result};

/// Checks the prompt in `dir` (`prompts/<name>`), whose files are `entries` (repository-relative
/// paths, sorted).
pub(crate) fn check(
    files: &Files<'_>,
    dir: &str,
    entries: &[(String, Entry)],
    out: &mut Vec<Finding>,
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
    Contents {
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

/// Where a template comes from.
enum Origin {
    /// `system_prompt` in prompt.yaml.
    Inline,
    /// `system_prompt_file`: the file (repository-relative).
    File(String),
    /// `messages[i].content`.
    Message(usize),
}

struct Template {
    source: String,
    origin: Origin,
}

/// The checks of a prompt that parsed.
struct Contents<'a, 'f> {
    files: &'a Files<'f>,
    dir: &'a str,
    file: &'a str,
    text: &'a str,
    entries: &'a [(String, Entry)],
    prompt: &'a PromptFile,
    /// False when a rule is broken (already reported): the budget is then not checked.
    rules_ok: bool,
    spans: Option<Spans>,
}

impl Contents<'_, '_> {
    /// Positions, computed on first need.
    fn spans(&mut self) -> &Spans {
        let text = self.text;
        self.spans.get_or_insert_with(|| Spans::of(text))
    }

    fn check(mut self, out: &mut Vec<Finding>) -> Result<()> {
        let mut templates = Vec::new();
        if let Some(source) = &self.prompt.system_prompt {
            templates.push(Template {
                source: source.clone(),
                origin: Origin::Inline,
            });
        }
        let mut complete = true;
        if let Some(path) = self.prompt.system_prompt_file.clone() {
            match self.component("system_prompt_file", &path, out)? {
                Some((shown, bytes)) => match yaml::utf8(&bytes, Path::new(&shown)) {
                    Ok(source) => templates.push(Template {
                        source: source.to_owned(),
                        origin: Origin::File(shown),
                    }),
                    Err(e) => {
                        out.push(parse_error(e, &shown));
                        complete = false;
                    }
                },
                None => complete = false,
            }
        }
        if let Some(path) = self.prompt.examples_file.clone() {
            if let Some((shown, bytes)) = self.component("examples_file", &path, out)? {
                if let Err(e) = yaml::parse::<Vec<Value>>(&bytes, Path::new(&shown)) {
                    out.push(parse_error(e, &shown));
                }
            }
        }
        for (i, message) in self.prompt.messages.iter().enumerate() {
            templates.push(Template {
                source: message.content.clone(),
                origin: Origin::Message(i),
            });
        }

        let declared = &self.prompt.variables;
        let mut used = BTreeSet::new();
        let mut compiled = complete;
        let mut undeclared = false;
        for template in &templates {
            match template::variables(&template.source) {
                Err(e) => {
                    compiled = false;
                    let (file, at) = self.place(template, (e.line.unwrap_or(1) as u64, 1));
                    out.push(Finding::error(
                        file,
                        Some(at),
                        "template-syntax",
                        format!(
                            "{} does not compile: {}",
                            describe(&template.origin),
                            e.message
                        ),
                    ));
                }
                Ok(variables) => {
                    for name in variables {
                        if !declared.contains_key(&name) {
                            undeclared = true;
                            let offset = first_use(&template.source, &name).unwrap_or(0);
                            let (file, at) =
                                self.place(template, line_column(&template.source, offset));
                            out.push(Finding::error(
                                file,
                                Some(at),
                                "undeclared-variable",
                                format!(
                                    "{} uses `{name}`, which is not declared under `variables`",
                                    describe(&template.origin)
                                ),
                            ));
                        }
                        used.insert(name);
                    }
                }
            }
        }
        // Every template compiled: a required variable none of them reads is dead weight.
        if compiled {
            for (name, variable) in declared {
                if variable.required
                    && !used.contains(name)
                    && crate::model::prompt::is_identifier(name)
                {
                    let at = self.spans().variable(name);
                    out.push(Finding::new(
                        self.file,
                        at,
                        Severity::Warning,
                        "unused-variable",
                        format!("required variable `{name}` is declared but no template uses it"),
                    ));
                }
            }
        }
        // Rendered with defaults: a template that runs into a render limit is an error here,
        // before any release (and `create` runs these checks under its lock, so they are
        // bounded too).
        if compiled && !undeclared {
            if let Some(rendered) = self.render_all(&templates, out) {
                if self.rules_ok {
                    self.budget(&rendered, out);
                }
            }
        }
        Ok(())
    }

    /// Every template rendered with defaults (a template that fails for another reason counts
    /// as its source: made-up defaults can break a template that real values do not). `None`
    /// when one ran into a render limit, reported as `template-limit`.
    fn render_all(
        &mut self,
        templates: &[Template],
        out: &mut Vec<Finding>,
    ) -> Option<Vec<String>> {
        let values = default_values(&self.prompt.variables);
        let mut rendered = Vec::with_capacity(templates.len());
        let mut stopped = false;
        for template in templates {
            match template::render(&template.source, &values) {
                Ok(text) => rendered.push(text),
                Err(e) if e.limit.is_some() => {
                    stopped = true;
                    let (file, at) = self.place(template, (e.line.unwrap_or(1) as u64, 1));
                    out.push(Finding::error(
                        file,
                        Some(at),
                        "template-limit",
                        format!(
                            "{}, rendered with defaults, was stopped because {}",
                            describe(&template.origin),
                            e.message
                        ),
                    ));
                }
                Err(_) => rendered.push(template.source.clone()),
            }
        }
        (!stopped).then_some(rendered)
    }

    /// Reads a component file, reporting why it cannot be read. `None` when it cannot.
    fn component(
        &mut self,
        key: &'static str,
        path: &str,
        out: &mut Vec<Finding>,
    ) -> Result<Option<(String, Vec<u8>)>> {
        if crate::model::prompt::check_component_path(path).is_err() {
            return Ok(None); // Reported with the rules.
        }
        let shown = format!("{}/{path}", self.dir);
        // A link on the way (a linked directory) is reported with the layout.
        let mut parent = self.dir.to_owned();
        for part in path.split('/') {
            parent = format!("{parent}/{part}");
            if lookup(self.entries, &parent).is_some_and(|e| e.kind == Kind::Symlink) {
                return Ok(None);
            }
        }
        let entry = match lookup(self.entries, &shown) {
            Some(entry) if entry.kind == Kind::File => entry,
            Some(_) => return Ok(None), // A link, conflict or special file: reported already.
            None => {
                let at = self.spans().value(key);
                let kind = if self.files.is_dir(&shown) {
                    "is a directory"
                } else {
                    "does not exist"
                };
                out.push(Finding::error(
                    self.file,
                    at,
                    "missing-component",
                    format!("`{key}: {path}`: {shown} {kind}"),
                ));
                return Ok(None);
            }
        };
        match self.files.read(&shown, &entry, MAX_COMPONENT_BYTES)? {
            Content::Bytes(bytes) => Ok(Some((shown, bytes))),
            Content::TooLarge(size) => {
                out.push(Finding::error(
                    shown,
                    None,
                    "too-large",
                    format!(
                        "{} for component files",
                        crate::error::too_large(size, MAX_COMPONENT_BYTES)
                    ),
                ));
                Ok(None)
            }
        }
    }

    /// The file and position of `at` (line, column inside the template).
    fn place(&mut self, template: &Template, at: Position) -> (String, Position) {
        let (line, column) = at;
        match &template.origin {
            Origin::File(shown) => (shown.clone(), (line, column)),
            Origin::Inline => {
                let scalar = self.spans().system_prompt;
                (
                    self.file.to_owned(),
                    locate(scalar, at, self.spans().key("system_prompt")),
                )
            }
            Origin::Message(i) => {
                let scalar = self.spans().messages.get(*i).copied().flatten();
                (
                    self.file.to_owned(),
                    locate(scalar, at, self.spans().key("messages")),
                )
            }
        }
    }

    /// Compares the tokens of the templates rendered with defaults with the budget.
    fn budget(&mut self, rendered: &[String], out: &mut Vec<Finding>) {
        let budget = self
            .prompt
            .token_budget
            .unwrap_or(crate::model::prompt::DEFAULT_TOKEN_BUDGET);
        let texts: Vec<&str> = rendered.iter().map(String::as_str).collect();
        let tokenizer = tokens::tokenizer_for(self.prompt.model.as_deref());
        if let Budget::Over(count) = tokens::within_budget(tokenizer.encoding, &texts, budget) {
            let how = match (&self.prompt.model, tokenizer.exact) {
                (Some(model), true) => format!(
                    "{} tokens ({} for {model})",
                    count,
                    tokenizer.encoding.name()
                ),
                (Some(model), false) => format!(
                    "about {count} tokens (estimated with {}; `{model}` has no known tokenizer)",
                    tokenizer.encoding.name()
                ),
                (None, _) => format!(
                    "about {count} tokens (estimated with {}; no `model` given)",
                    tokenizer.encoding.name()
                ),
            };
            let at = self.spans().value("token_budget").or(Some((1, 1)));
            let budget_text = if self.prompt.token_budget.is_some() {
                format!("its token_budget of {budget}")
            } else {
                format!("the default token_budget of {budget}")
            };
            out.push(Finding::error(
                self.file,
                at,
                "token-budget",
                format!("rendered with defaults, the prompt is {how}, more than {budget_text}"),
            ));
        }
    }
}

/// Where a template position lands in prompt.yaml; the key's position when the value's is unknown.
fn locate(scalar: Option<Scalar>, at: Position, key: Option<Position>) -> Position {
    match scalar {
        Some(scalar) => scalar.at(at.0, at.1),
        None => key.unwrap_or((1, 1)),
    }
}

fn describe(origin: &Origin) -> String {
    match origin {
        Origin::Inline => "the system prompt".into(),
        Origin::File(shown) => format!("the system prompt ({shown})"),
        Origin::Message(i) => format!("messages[{i}]"),
    }
}

/// The values a budget check renders with: defaults for optional variables (else ""), the
/// variable's name for required ones.
fn default_values(
    variables: &BTreeMap<String, crate::model::prompt::Variable>,
) -> serde_json::Map<String, Value> {
    variables
        .iter()
        .map(|(name, variable)| {
            let value = match (&variable.default, variable.required) {
                (Some(default), _) => default.clone(),
                (None, true) => Value::String(name.clone()),
                (None, false) => Value::String(String::new()),
            };
            (name.clone(), value)
        })
        .collect()
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

    #[test]
    fn defaults_for_rendering() {
        let file = PromptFile::parse(
            b"system_prompt: x\nvariables:\n  a: {}\n  b: {required: false}\n  c: {required: false, default: 3}\n",
            Path::new("p"),
        )
        .unwrap();
        let values = default_values(&file.variables);
        assert_eq!(values["a"], "a");
        assert_eq!(values["b"], "");
        assert_eq!(values["c"], 3);
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
        check(&files, "prompts/x", &entries, &mut out).unwrap();
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
