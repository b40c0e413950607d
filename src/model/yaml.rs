//! YAML in and out through serde-saphyr, with errors that name the file, line and column.
//!
//! serde-saphyr rejects duplicate keys, bounds alias expansion and nesting depth, and reports
//! positions; this module adds the file name, a size limit and UTF-8 checking, and words every
//! parser error as a sentence for the person who wrote the file.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::{Error, Result, YamlProblem};

/// Largest YAML document promptreg reads (the index of a 10,000-prompt registry is ~1 MiB).
pub const MAX_DOCUMENT_BYTES: usize = 16 << 20;

/// Parses `bytes` (the content of `file`) into `T`.
pub fn parse<T: DeserializeOwned>(bytes: &[u8], file: &Path) -> Result<T> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(Error::TooLarge {
            file: file.to_owned(),
            size: bytes.len() as u64,
            limit: MAX_DOCUMENT_BYTES,
        });
    }
    let text = utf8(bytes, file)?;
    serde_saphyr::from_str(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map_or((1, 1), |l| (l.line().max(1), l.column().max(1)));
        let (problem, message) = message_of(&e);
        Error::Yaml {
            file: file.to_owned(),
            line,
            column,
            message,
            problem,
        }
    })
}

/// Checks that `bytes` are UTF-8, naming the position of the first bad byte.
pub fn utf8<'a>(bytes: &'a [u8], file: &Path) -> Result<&'a str> {
    std::str::from_utf8(bytes).map_err(|e| {
        let good = &bytes[..e.valid_up_to()];
        let line = good.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        let column = good.iter().rev().take_while(|&&b| b != b'\n').count() as u64 + 1;
        Error::Yaml {
            file: file.to_owned(),
            line,
            column,
            message: "the file is not UTF-8 text; its first invalid byte is here".into(),
            problem: YamlProblem::BadUtf8,
        }
    })
}

/// serde-saphyr's error in words for the person who wrote the file: a whole clause, without
/// the position (reported beside it) and without advice meant for Rust programmers, with the
/// kind of problem it is. Read from the error's variant, not its text, wherever serde-saphyr
/// gives one.
fn message_of(e: &serde_saphyr::Error) -> (YamlProblem, String) {
    use serde_saphyr::Error as E;
    use YamlProblem as P;
    let (problem, message) = match e {
        E::WithSnippet { error, .. } => return message_of(error),
        E::AliasError {
            error, locations, ..
        } => {
            let defined = locations.defined_location;
            let (problem, inner) = message_of(error);
            if defined.line() == 0 {
                return (problem, inner);
            }
            (
                problem,
                format!(
                    "{inner} (the value comes from the anchor defined at line {}, column {})",
                    defined.line(),
                    defined.column()
                ),
            )
        }
        E::Eof { .. } => (P::Syntax, "the file ends in the middle of a value".into()),
        E::MultipleDocuments { .. } => (P::Syntax, "the file holds more than one YAML document (a `---` line starts another); it must hold exactly one".into()),
        E::Unexpected { expected, .. } => (P::WrongType, expected_here(expected)),
        E::InvalidScalar { ty, .. } => (P::WrongType, expected_here(ty)),
        E::InvalidBooleanStrict { .. } => (P::WrongType, expected_here("boolean")),
        E::NullIntoString { .. } => (
            P::WrongType,
            "the value is empty; a text is expected here (write \"\" for an empty text)".into(),
        ),
        E::NonFiniteFloat { value, .. } => (P::WrongType, format!("`{value}` is not a finite number")),
        E::SerdeInvalidType {
            unexpected,
            expected,
            ..
        }
        | E::SerdeInvalidValue {
            unexpected,
            expected,
            ..
        } => (P::WrongType, format!("expected {expected}, found {unexpected}")),
        E::SerdeInvalidLength { len, expected, .. } => {
            (P::WrongType, format!("expected {expected}, found {len} items"))
        }
        E::SerdeUnknownVariant {
            variant, expected, ..
        } => (
            P::WrongType,
            format!("`{variant}` is not one of {}", expected.join(", ")),
        ),
        E::SerdeUnknownField {
            field, expected, ..
        } => (P::UnknownKey, unknown_key(field, expected)),
        E::SerdeMissingField { field, .. } => {
            (P::MissingKey, format!("the required key `{field}` is missing"))
        }
        E::DuplicateMappingKey { key: Some(key), .. } => (
            P::DuplicateKey,
            format!("the key `{key}` appears twice in this mapping"),
        ),
        E::DuplicateMappingKey { key: None, .. } => {
            (P::DuplicateKey, "a key appears twice in this mapping".into())
        }
        E::UnknownAnchor { .. } => (
            P::Syntax,
            "this alias (`*name`) refers to no anchor (`&name`) defined before it".into(),
        ),
        E::Budget { breach, .. } => (P::Limits, budget(breach)),
        E::AliasReplayCounterOverflow { .. }
        | E::AliasReplayLimitExceeded { .. }
        | E::AliasExpansionLimitExceeded { .. }
        | E::AliasReplayStackDepthExceeded { .. } => (P::Limits, format!("{LIMITS} (its aliases repeat too much: an alias bomb?)")),
        E::InvalidUtf8Input => (P::BadUtf8, "the file is not valid UTF-8".into()),
        E::Message { msg, .. } => scanner(msg),
        other => {
            let text = serde_saphyr::MessageFormatter::format_message(
                &serde_saphyr::UserMessageFormatter,
                other,
            );
            scanner(&text)
        }
    };
    (problem, message)
}

/// The start of every message about the parser's budgets.
const LIMITS: &str = "the document expands beyond the parser's limits";

fn budget(breach: &serde_saphyr::budget::BudgetBreach) -> String {
    use serde_saphyr::budget::BudgetBreach as B;
    match breach {
        B::Depth { depth } => format!("{LIMITS}: it nests more than {depth} levels deep"),
        B::Nodes { nodes } => format!("{LIMITS}: it grows to {nodes} nodes, as an alias bomb does"),
        B::Events { .. } | B::Aliases { .. } | B::Anchors { .. } | B::AliasAnchorRatio { .. } => {
            format!("{LIMITS}: too many nodes, aliases or anchors (an alias bomb?)")
        }
        B::ScalarBytes { .. } | B::InputBytes { .. } => format!("{LIMITS}: it is too large"),
        _ => format!("{LIMITS}: it is too large or too complex"),
    }
}

/// "expected … here" for what the deserializer wanted.
fn expected_here(what: &str) -> String {
    match what {
        "mapping start" => "expected a mapping (`key: value` lines) here".into(),
        "sequence start" => "expected a list here".into(),
        "string scalar" => "expected a text here, not a list or a mapping".into(),
        "floating point" | "f64" | "f32" => "expected a number".into(),
        "boolean" | "bool" => "expected true or false".into(),
        t if t.starts_with('u') && t[1..].chars().all(|c| c.is_ascii_digit() || c == 's') => {
            "expected a whole number of at least 0".into()
        }
        t if t.starts_with('i') && t[1..].chars().all(|c| c.is_ascii_digit() || c == 's') => {
            "expected a whole number".into()
        }
        other => format!("expected {other} here"),
    }
}

/// "unknown key `temprature` (did you mean `temperature`?)".
fn unknown_key(field: &str, expected: &[&str]) -> String {
    let nearest = expected
        .iter()
        .map(|candidate| (strsim::levenshtein(field, candidate), *candidate))
        .filter(|(distance, _)| *distance <= 3)
        .min();
    match nearest {
        Some((_, candidate)) => format!("unknown key `{field}` (did you mean `{candidate}`?)"),
        None if expected.is_empty() => format!("unknown key `{field}`"),
        None => format!(
            "unknown key `{field}`; the keys allowed here are {}",
            expected.join(", ")
        ),
    }
}

/// The YAML scanner's and serde's own messages (plain text, with no variant to read), as
/// sentences for people, with the kind of problem each is.
fn scanner(message: &str) -> (YamlProblem, String) {
    use YamlProblem as P;
    // serde's wording for a few standard cases (custom `Deserialize` impls emit these).
    let message = message.trim();
    if let Some(rest) = message.strip_prefix("unclosed bracket '") {
        let bracket = rest.trim_end_matches('\'');
        return (P::Syntax, format!("a `{bracket}` is never closed"));
    }
    let known = match message {
        "unclosed quote" => (P::Syntax, "a quoted text is never closed (its closing quote is missing)"),
        "tabs disallowed within this context (block indentation)" => {
            (P::Syntax, "a tab is used for indentation; YAML indents with spaces only")
        }
        "mapping values are not allowed in this context" => (
            P::Syntax,
            "a `key: value` is not allowed here (check the indentation, or quote a text that holds `: `)",
        ),
        "illegal placement of ':' indicator" => {
            (P::Syntax, "a `:` is out of place here (quote a text that holds `: `)")
        }
        "recursion limit exceeded" => (P::Limits, "the document expands beyond the parser's limits: it nests too deep"),
        "while parsing a quoted scalar, found unknown escape character" => (
            P::Syntax,
            "a double-quoted text holds an unknown escape such as `\\q` (write `\\\\` for a backslash, or use single quotes)",
        ),
        "invalid u64" | "invalid u32" | "invalid usize" => (P::WrongType, "expected a whole number of at least 0"),
        "invalid floating point" => (P::WrongType, "expected a number"),
        "invalid boolean" => (P::WrongType, "expected true or false"),
        "expected mapping start" => (P::WrongType, "expected a mapping (`key: value` lines) here"),
        "expected sequence start" => (P::WrongType, "expected a list here"),
        _ => (P::Syntax, ""),
    };
    if !known.1.is_empty() {
        return (known.0, known.1.to_owned());
    }
    // Advice for Rust programmers ("…; use Option<String>", "…; use from_str_multiple") is no
    // help to someone writing YAML; control characters never reach a terminal.
    let message = match message.find("; use ") {
        Some(at) => &message[..at],
        None => message,
    };
    let message = message.replace(", set DuplicateKeyPolicy in Options if acceptable", "");
    let message: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    // serde's own "expected …" (from `invalid_type` and the like) is about a value's type;
    // "… is not valid UTF-8" (a `!!binary` text) about the encoding.
    let problem = if message.contains("UTF-8") {
        P::BadUtf8
    } else if message.starts_with("expected ") {
        P::WrongType
    } else {
        P::Syntax
    };
    (problem, message)
}

/// Serialises `value` as YAML (multi-line strings become block scalars).
pub fn to_string<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_saphyr::to_string(value).map_err(|e| Error::Invalid {
        file: "<output>".into(),
        message: format!("cannot write YAML: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::prompt::PromptFile;

    fn message(text: &str) -> (u64, u64, String) {
        match parse::<PromptFile>(text.as_bytes(), Path::new("p.yaml")) {
            Err(Error::Yaml {
                line,
                column,
                message,
                ..
            }) => (line, column, message),
            other => panic!("{text:?}: {other:?}"),
        }
    }

    /// Every parser message is a whole clause for a person: no cut-off "(used", no advice for
    /// Rust programmers, no position repeated inside the text.
    #[test]
    fn messages_read_as_sentences() {
        for (text, at, expected) in [
            ("system_prompt: a\nsystem_prompt: b\n", (2, 1), "the key `system_prompt` appears twice in this mapping"),
            ("system_prompt: a\ntemprature: 1\n", (2, 1), "unknown key `temprature` (did you mean `temperature`?)"),
            ("system_prompt: a\nzzzzzzzzzz: 1\n", (2, 1), "unknown key `zzzzzzzzzz`; the keys allowed here are summary, system_prompt, system_prompt_file, messages, examples, examples_file, model, temperature, token_budget, variables, tags, metadata"),
            ("system_prompt: a\n---\nsystem_prompt: b\n", (3, 1), "the file holds more than one YAML document (a `---` line starts another); it must hold exactly one"),
            ("system_prompt: a\nvariables:\n\tx: {}\n", (3, 2), "a tab is used for indentation; YAML indents with spaces only"),
            ("system_prompt: a\nvariables: &v\n  x: {}\nmessages: *v\n", (4, 11), "expected a list here (the value comes from the anchor defined at line 3, column 3)"),
            ("system_prompt: *nowhere\n", (1, 16), "this alias (`*name`) refers to no anchor (`&name`) defined before it"),
            ("system_prompt: a\ntemperature: hot\n", (2, 14), "expected a number"),
            ("system_prompt: a\ntoken_budget: -1\n", (2, 15), "expected a whole number of at least 0"),
            ("system_prompt: a\nmessages:\n  - role: user\n    content:\n", (4, 12), "the value is empty; a text is expected here (write \"\" for an empty text)"),
            ("system_prompt: a\nmessages:\n  - role: user\n", (3, 5), "the required key `content` is missing"),
            ("system_prompt: a\nmessages:\n  - {role: robot, content: x}\n", (3, 12), "`robot` is not one of system, user, assistant"),
            ("system_prompt: {a: 1}\n", (1, 16), "expected a text here, not a list or a mapping"),
            ("system_prompt: 'open\n", (1, 16), "a quoted text is never closed (its closing quote is missing)"),
            ("system_prompt: a: b\n", (1, 17), "a `key: value` is not allowed here (check the indentation, or quote a text that holds `: `)"),
            ("- a\n", (1, 1), "expected a mapping (`key: value` lines) here"),
        ] {
            let (line, column, got) = message(text);
            assert_eq!(got, expected, "{text:?}");
            assert_eq!((line, column), at, "{text:?}");
        }
    }

    #[test]
    fn no_message_is_cut_or_gives_library_advice() {
        let bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
        let texts = [
            bomb.to_owned(),
            format!("metadata: {}{}\n", "[".repeat(300), "]".repeat(300)),
            "system_prompt: [unclosed\n".into(),
            "system_prompt: \"\\q\"\n".into(),
            "system_prompt: a\n%YAML 1.1\n".into(),
            "metadata: &m {a: *m}\n".into(),
        ];
        for text in &texts {
            let value: Result<serde_json::Value> = parse(text.as_bytes(), Path::new("p.yaml"));
            let prompt: Result<PromptFile> = parse(text.as_bytes(), Path::new("p.yaml"));
            for err in [value.err(), prompt.err()].into_iter().flatten() {
                let Error::Yaml { message, .. } = err else {
                    continue;
                };
                for bad in [
                    "(used",
                    "from_str",
                    "Option<",
                    "Options",
                    "DuplicateKeyPolicy",
                    "budget breached",
                ] {
                    assert!(!message.contains(bad), "{text:?}: {message}");
                }
                assert_eq!(
                    message.matches('(').count(),
                    message.matches(')').count(),
                    "{message}"
                );
            }
        }
    }
}
