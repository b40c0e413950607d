//! What `validate` reports: findings with a file, a position, a severity and a stable code, and
//! their text and GitHub Actions renderings.

use serde::Serialize;

/// How bad a finding is: errors always fail validation, warnings only with `--strict`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The file (`prompts/x/prompt.yaml`, `registry.yaml`) or, for a tag, its ref name.
    pub file: String,
    /// 1-based line, when the problem has a place in the file.
    pub line: Option<u64>,
    /// 1-based column (in characters), when known.
    pub column: Option<u64>,
    pub severity: Severity,
    /// A stable kebab-case code (see [`CODES`]).
    pub code: &'static str,
    pub message: String,
}

/// Every code `validate` reports, with its severity and what it means (docs/VALIDATE.md lists
/// the same codes; a test keeps them in step).
pub const CODES: &[(&str, Severity, &str)] = &[
    ("yaml-syntax", Severity::Error, "the file is not well-formed YAML, or holds several documents"),
    ("yaml-limit", Severity::Error, "alias expansion or nesting depth beyond the parser's bounds (an alias bomb)"),
    ("bad-utf8", Severity::Error, "the file is not UTF-8"),
    ("too-large", Severity::Error, "a prompt.yaml over 16 MiB or a component file over 1 MiB"),
    ("empty-file", Severity::Error, "prompt.yaml is empty"),
    ("unknown-key", Severity::Error, "a key the format does not define (a typo such as `temprature`)"),
    ("duplicate-key", Severity::Error, "the same key twice in one mapping"),
    ("missing-key", Severity::Error, "a required key is absent (e.g. a message without `content`)"),
    ("bad-type", Severity::Error, "a value of the wrong type or not one of the allowed values"),
    ("out-of-range", Severity::Error, "`temperature` outside 0–2, `token_budget` 0"),
    ("conflicting-keys", Severity::Error, "`system_prompt` with `system_prompt_file`, or `examples` with `examples_file`"),
    ("no-template", Severity::Error, "none of `system_prompt`, `system_prompt_file`, `messages`"),
    ("bad-variable-name", Severity::Error, "a declared variable name that is not an identifier"),
    ("invalid-prompt", Severity::Error, "any other rule of prompt.yaml"),
    ("bad-name", Severity::Error, "a prompt directory whose path is not a valid prompt name"),
    ("nested-prompt", Severity::Error, "a prompt inside another prompt's directory"),
    ("missing-component", Severity::Error, "`system_prompt_file` or `examples_file` names a file that does not exist"),
    ("component-outside", Severity::Error, "a component path that is absolute, uses `..`, `.`, `\\` or empty parts, or names prompt.yaml"),
    ("symlink", Severity::Error, "a symbolic link under prompts/"),
    ("not-a-file", Severity::Error, "something under a prompt directory that is neither a file nor a directory (a submodule, a FIFO)"),
    ("unmerged", Severity::Error, "a path with an unresolved merge conflict in the index"),
    ("template-syntax", Severity::Error, "a template that does not compile"),
    ("undeclared-variable", Severity::Error, "a template reads a variable not declared under `variables`"),
    ("unknown-filter", Severity::Error, "a template uses a filter promptreg's renderer does not have (`{{ v | nosuchfilter }}`)"),
    ("unknown-test", Severity::Error, "a template uses a test promptreg's renderer does not have (`{% if x is nosuchtest %}`)"),
    ("unknown-function", Severity::Error, "a template calls a function that neither the renderer nor the template defines (`{{ nosuchfn() }}`)"),
    ("unknown-method", Severity::Error, "a template calls a method of a value (`{{ v.split(',') }}`): promptreg's renderer has only the loop's `cycle` and `changed`"),
    ("template-include", Severity::Error, "a template uses `{% include %}`, `{% import %}`, `{% from … import %}` or `{% extends %}`: each template renders alone"),
    ("unused-variable", Severity::Warning, "a required variable no template reads"),
    ("token-budget", Severity::Error, "the prompt, rendered with defaults, has more tokens than `token_budget`"),
    ("registry-missing", Severity::Error, "there is no registry.yaml"),
    ("registry-invalid", Severity::Error, "registry.yaml breaks a rule: format, environments, access, policy"),
    ("unknown-environment", Severity::Error, "a pointer for an environment that is not in the pipeline"),
    ("bad-version", Severity::Error, "a pointer whose value is not a version"),
    ("bad-split", Severity::Error, "a split that breaks the split rules: fewer than two entries, a share of 0 or with more than two decimals, a version twice, shares not adding up to 100"),
    ("dangling-pointer", Severity::Error, "a pointer to a version that was never released"),
    ("lightweight-tag", Severity::Error, "a version-shaped tag that is not an annotated tag (a warning when no prompt of that name exists)"),
    ("bad-tag", Severity::Error, "a version tag whose object is missing or does not point at a commit"),
    ("results-invalid", Severity::Error, "a results file breaks the format (docs/FORMAT.md §10): counts, times, names, its path"),
    ("results-unreleased", Severity::Error, "a results file records runs of a version that was never released"),
    ("tag-without-prompt", Severity::Error, "a version tag whose commit does not hold prompts/<name>/prompt.yaml"),
    ("tag-symlink", Severity::Error, "a version tag whose prompt directory holds a symbolic link or a submodule (reading the release refuses it)"),
    ("tag-invalid-prompt", Severity::Error, "a version tag whose prompt.yaml does not parse, breaks a rule, or names a component file its commit lacks"),
    ("template-limit", Severity::Error, "a template that, rendered with defaults, runs past a step, output, depth, memory or time bound"),
];

impl Finding {
    pub(crate) fn new(
        file: impl Into<String>,
        position: Option<(u64, u64)>,
        severity: Severity,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            file: file.into(),
            line: position.map(|(line, _)| line),
            column: position.map(|(_, column)| column),
            severity,
            code,
            message: message.into(),
        }
    }

    pub(crate) fn error(
        file: impl Into<String>,
        position: Option<(u64, u64)>,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self::new(file, position, Severity::Error, code, message)
    }

    /// `file:line:col: error: message [code]` (`file: error: …` without a position).
    pub fn text(&self) -> String {
        let place = match (self.line, self.column) {
            (Some(line), Some(column)) => format!("{}:{line}:{column}", self.file),
            (Some(line), None) => format!("{}:{line}", self.file),
            _ => self.file.clone(),
        };
        format!(
            "{place}: {}: {} [{}]",
            self.severity.as_str(),
            one_line(&self.message),
            self.code
        )
    }

    /// A GitHub Actions workflow command that annotates the file (or, for a ref, the run).
    pub fn github(&self) -> String {
        let mut properties = Vec::new();
        if !self.file.starts_with("refs/") {
            properties.push(format!("file={}", escape_property(&self.file)));
            if let Some(line) = self.line {
                properties.push(format!("line={line}"));
            }
            if let Some(column) = self.column {
                properties.push(format!("col={column}"));
            }
        }
        properties.push(format!(
            "title={}",
            escape_property(&format!("promptreg {}", self.code))
        ));
        let message = if self.file.starts_with("refs/") {
            format!("{}: {}", self.file, self.message)
        } else {
            self.message.clone()
        };
        format!(
            "::{} {}::{}",
            self.severity.as_str(),
            properties.join(","),
            escape_data(&message)
        )
    }

    fn sort_key(&self) -> (&str, u64, u64, Severity, &str, &str) {
        (
            &self.file,
            self.line.unwrap_or(0),
            self.column.unwrap_or(0),
            self.severity,
            self.code,
            &self.message,
        )
    }
}

/// Messages are single lines in text output.
fn one_line(message: &str) -> String {
    if message.contains(['\n', '\r']) {
        message.replace("\r\n", " ").replace(['\n', '\r'], " ")
    } else {
        message.to_owned()
    }
}

/// GitHub's escaping of a workflow command's message: `%`, CR and LF.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// GitHub's escaping of a workflow command's property value: the message escapes plus `:` and `,`.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Everything `validate` found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Sorted by file, line and column.
    pub findings: Vec<Finding>,
    /// How many prompt definitions were checked.
    pub prompts: usize,
}

impl Report {
    pub(crate) fn sort(&mut self) {
        self.findings
            .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        self.findings.dedup();
    }

    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }

    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }

    fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// Whether validation fails: any error, or with `strict` any warning.
    pub fn fails(&self, strict: bool) -> bool {
        self.errors() > 0 || (strict && self.warnings() > 0)
    }

    /// `3 errors, 1 warning in 12 prompts`.
    pub fn summary(&self) -> String {
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        format!(
            "{}, {} in {}",
            plural(self.errors(), "error"),
            plural(self.warnings(), "warning"),
            plural(self.prompts, "prompt")
        )
    }

    /// One `file:line:col: severity: message [code]` line per finding.
    pub fn text(&self) -> String {
        self.findings.iter().map(|f| f.text() + "\n").collect()
    }

    /// One GitHub workflow command per finding.
    pub fn github(&self) -> String {
        self.findings.iter().map(|f| f.github() + "\n").collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_github_forms() {
        let f = Finding::error(
            "prompts/a b/prompt.yaml",
            Some((3, 7)),
            "bad-type",
            "100% wrong,\nreally: yes",
        );
        assert_eq!(
            f.text(),
            "prompts/a b/prompt.yaml:3:7: error: 100% wrong, really: yes [bad-type]"
        );
        assert_eq!(
            f.github(),
            "::error file=prompts/a b/prompt.yaml,line=3,col=7,title=promptreg bad-type::100%25 wrong,%0Areally: yes"
        );
        let tag = Finding::error(
            "refs/tags/x/v1.0.0",
            None,
            "lightweight-tag",
            "not annotated",
        );
        assert_eq!(
            tag.text(),
            "refs/tags/x/v1.0.0: error: not annotated [lightweight-tag]"
        );
        assert_eq!(
            tag.github(),
            "::error title=promptreg lightweight-tag::refs/tags/x/v1.0.0: not annotated"
        );
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }

    #[test]
    fn summary_counts() {
        let mut report = Report {
            findings: vec![
                Finding::new("b", Some((1, 1)), Severity::Warning, "unused-variable", "w"),
                Finding::error("a", Some((2, 1)), "bad-type", "e"),
                Finding::error("a", Some((1, 1)), "bad-type", "e"),
            ],
            prompts: 1,
        };
        report.sort();
        assert_eq!(report.findings[0].line, Some(1));
        assert_eq!(report.findings[2].file, "b");
        assert_eq!(report.summary(), "2 errors, 1 warning in 1 prompt");
        assert!(report.fails(false));
        report.findings.retain(|f| f.severity == Severity::Warning);
        assert!(!report.fails(false));
        assert!(report.fails(true));
    }

    #[test]
    fn every_yaml_problem_has_its_code_listed() {
        use crate::error::YamlProblem::{self, *};
        let all = [
            Syntax,
            UnknownKey,
            DuplicateKey,
            MissingKey,
            WrongType,
            BadUtf8,
            Limits,
            RegistryRule,
            UnknownEnvironment,
            BadVersion,
            BadSplit,
        ];
        // Exhaustive, so a new kind does not compile until it is listed above.
        let listed = |p: YamlProblem| match p {
            Syntax | UnknownKey | DuplicateKey | MissingKey | WrongType | BadUtf8 | Limits
            | RegistryRule | UnknownEnvironment | BadVersion | BadSplit => p,
        };
        for problem in all.map(listed) {
            assert!(
                CODES.iter().any(|(code, _, _)| *code == problem.code()),
                "CODES lacks `{}`",
                problem.code()
            );
        }
    }

    /// The other way round: each code the reference table documents is one `CODES` knows (a
    /// code missing there is not read back from the caches, so its findings were never kept).
    #[test]
    fn documented_codes_are_known() {
        let doc = include_str!("../../docs/VALIDATE.md");
        let table = doc
            .lines()
            .filter_map(|line| line.strip_prefix("| `")?.split_once("` | "))
            .filter(|(_, rest)| rest.starts_with("error |") || rest.starts_with("warning |"));
        let mut count = 0;
        for (code, _) in table {
            count += 1;
            assert!(
                CODES.iter().any(|(known, _, _)| *known == code),
                "CODES lacks `{code}`, which docs/VALIDATE.md documents"
            );
        }
        assert!(count >= CODES.len(), "{count} documented codes");
    }

    #[test]
    fn codes_are_documented() {
        let doc = include_str!("../../docs/VALIDATE.md");
        for (code, _, _) in CODES {
            assert!(
                doc.contains(&format!("`{code}`")),
                "docs/VALIDATE.md lacks `{code}`"
            );
        }
    }
}
