//! Bridges to other prompt systems: their exports read into one neutral model (a prompt with
//! versions), and that model turned into `prompt.yaml` content; and back, from a release to
//! their formats. Pure: the caller reads the files and writes the registry.
//!
//! One file per format; [`template`] converts their template syntaxes to MiniJinja. The rule
//! everywhere: a template that would render differently is never imported — it is refused with
//! the file, the field and the line and column.

pub mod dotprompt;
pub mod langfuse;
pub mod langsmith;
pub mod mlflow;
pub mod promptlayer;
pub mod prompty;
pub mod template;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value};

use crate::model::prompt::{Prompt, PromptFile, Role};
use crate::model::tokens::Budget;
use crate::{Error, PromptName, Result, Version};

pub use template::Syntax;

/// The formats `import` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Langfuse,
    Prompty,
    Dotprompt,
    Mlflow,
    Langsmith,
    Promptlayer,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Langfuse => "langfuse",
            Format::Prompty => "prompty",
            Format::Dotprompt => "dotprompt",
            Format::Mlflow => "mlflow",
            Format::Langsmith => "langsmith",
            Format::Promptlayer => "promptlayer",
        }
    }

    /// Reads one file of this format: the prompts (with their versions) it holds.
    pub fn parse(self, bytes: &[u8], file: &Path) -> Result<Vec<ForeignPrompt>> {
        match self {
            Format::Langfuse => langfuse::parse(bytes, file),
            Format::Prompty => prompty::parse(bytes, file).map(|p| vec![p]),
            Format::Dotprompt => dotprompt::parse(bytes, file).map(|p| vec![p]),
            Format::Mlflow => mlflow::parse(bytes, file),
            Format::Langsmith => langsmith::parse(bytes, file),
            Format::Promptlayer => promptlayer::parse(bytes, file),
        }
    }

    /// Whether a file in a directory given to `import` is one of this format's.
    pub fn takes(self, file_name: &str) -> bool {
        match self {
            Format::Langfuse | Format::Mlflow | Format::Langsmith | Format::Promptlayer => {
                file_name.ends_with(".json")
            }
            Format::Prompty => file_name.ends_with(".prompty"),
            Format::Dotprompt => file_name.ends_with(".prompt"),
        }
    }
}

/// A prompt of another system, with its versions.
#[derive(Clone, Debug)]
pub struct ForeignPrompt {
    /// Its name there (`Movie critic`, `support/refund`).
    pub name: String,
    /// The file it was read from.
    pub file: PathBuf,
    pub versions: Vec<ForeignVersion>,
}

/// How a version is numbered there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VersionId {
    /// An integer (Langfuse, MLflow, PromptLayer): `n` becomes `n.0.0`.
    Number(u64),
    /// A semantic version (or none given: `1.0.0`).
    Semver(Version),
}

impl VersionId {
    pub fn version(&self) -> Version {
        match self {
            VersionId::Number(n) => {
                Version::parse(&format!("{n}.0.0")).expect("a number is a version")
            }
            VersionId::Semver(v) => v.clone(),
        }
    }
}

/// One chat message.
#[derive(Clone, Debug)]
pub struct ForeignMessage {
    pub role: Role,
    pub content: String,
    /// Its own template syntax, when the format sets one per message (else the version's).
    pub syntax: Option<Syntax>,
    /// Where it is in the file (`prompt[1].content`).
    pub field: String,
}

/// The text of a version: one template, or chat messages.
#[derive(Clone, Debug)]
pub enum Body {
    Text { content: String, field: String },
    Chat(Vec<ForeignMessage>),
}

/// A variable the format describes (`.prompty` inputs, dotprompt's schema).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Declared {
    pub description: Option<String>,
    pub default: Option<Value>,
}

/// One version of a foreign prompt.
#[derive(Clone, Debug)]
pub struct ForeignVersion {
    pub id: VersionId,
    /// Where the version is in the file (`[2]`, the front matter).
    pub field: String,
    pub syntax: Syntax,
    pub body: Body,
    pub model: Option<String>,
    pub temperature: Option<f64>,
    /// Other model settings, kept under `metadata.config`.
    pub config: Map<String, Value>,
    pub declared: BTreeMap<String, Declared>,
    pub labels: Vec<String>,
    pub tags: Vec<String>,
    /// `Name <e-mail>`, an e-mail, or whatever the system recorded (a user id).
    pub author: Option<String>,
    pub created_at: Option<DateTime<FixedOffset>>,
    /// The commit message or description of the version: the changelog.
    pub message: Option<String>,
    pub summary: Option<String>,
    pub examples: Vec<Value>,
    /// Other metadata kept under `metadata`.
    pub metadata: Map<String, Value>,
    /// What was read but not carried over, and why (`field: reason`).
    pub dropped: Vec<String>,
}

impl ForeignVersion {
    pub fn new(id: VersionId, field: String, syntax: Syntax, body: Body) -> Self {
        ForeignVersion {
            id,
            field,
            syntax,
            body,
            model: None,
            temperature: None,
            config: Map::new(),
            declared: BTreeMap::new(),
            labels: Vec::new(),
            tags: Vec::new(),
            author: None,
            created_at: None,
            message: None,
            summary: None,
            examples: Vec::new(),
            metadata: Map::new(),
            dropped: Vec::new(),
        }
    }
}

/// A version ready to release: its `prompt.yaml` and what the conversion reported.
#[derive(Clone, Debug)]
pub struct Planned {
    pub version: Version,
    pub yaml: String,
    /// The same, resolved, to compare with a release already there.
    pub prompt: Prompt,
    /// Template notes (`prompt[1].content: line 2, column 4: …`).
    pub notes: Vec<String>,
}

/// The refusal for `field` of `file`.
pub fn refused(file: &Path, field: impl Into<String>, message: impl Into<String>) -> Error {
    Error::Bridge {
        file: file.to_path_buf(),
        field: field.into(),
        message: message.into(),
    }
}

/// A foreign prompt name as a promptreg name: lower case, runs of other characters as `-`,
/// under `domain` when given. `None` when nothing usable is left.
pub fn prompt_name(foreign: &str, domain: Option<&str>) -> Option<PromptName> {
    let segments: Vec<String> = foreign
        .split('/')
        .map(|segment| {
            let mut out = String::new();
            for c in segment.trim().chars().flat_map(char::to_lowercase) {
                let c = if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '-'
                };
                if !(c == '-' && (out.is_empty() || out.ends_with('-'))) {
                    out.push(c);
                }
            }
            out.trim_start_matches(['-', '_'])
                .trim_end_matches('-')
                .to_owned()
        })
        .filter(|s| !s.is_empty())
        .collect();
    if segments.is_empty() {
        return None;
    }
    let joined = match domain {
        Some(d) => format!("{d}/{}", segments.join("/")),
        None => segments.join("/"),
    };
    PromptName::parse(&joined).ok()
}

/// The author as a name and an e-mail address, when it holds an address.
pub fn author_identity(author: &str) -> Option<(String, String)> {
    let author = author.trim();
    if let (Some(open), true) = (author.rfind('<'), author.ends_with('>')) {
        let email = author[open + 1..author.len() - 1].trim();
        let name = author[..open].trim();
        if is_email(email) {
            let name = if name.is_empty() {
                local_part(email)
            } else {
                name.to_owned()
            };
            return Some((name, email.to_owned()));
        }
        return None;
    }
    is_email(author).then(|| (local_part(author), author.to_owned()))
}

fn local_part(email: &str) -> String {
    email.split('@').next().unwrap_or(email).to_owned()
}

fn is_email(text: &str) -> bool {
    let mut parts = text.split('@');
    matches!((parts.next(), parts.next(), parts.next()), (Some(l), Some(d), None)
        if !l.is_empty() && d.contains('.') && !text.contains(char::is_whitespace))
}

/// Turns one foreign version into `prompt.yaml` content, converting its templates; refuses
/// (naming the file and field) what cannot be carried without changing how it renders.
pub fn plan(file: &Path, format: Format, version: &ForeignVersion) -> Result<Planned> {
    let mut notes = Vec::new();
    let mut variables = std::collections::BTreeSet::new();
    let mut convert = |text: &str, field: &str, syntax: Option<Syntax>| -> Result<String> {
        let syntax = syntax.unwrap_or(version.syntax);
        let converted = template::convert(text, syntax).map_err(|r| {
            refused(
                file,
                field,
                format!("the {} template cannot be imported: {r}", syntax.as_str()),
            )
        })?;
        notes.extend(converted.notes.iter().map(|n| format!("{field}: {n}")));
        variables.extend(converted.variables);
        // Trailing newlines: the renderer ends every block with one newline whatever it had.
        Ok(converted.text)
    };
    let mut system = None;
    let mut messages = Vec::new();
    match &version.body {
        Body::Text { content, field } => system = Some(convert(content, field, None)?),
        Body::Chat(list) => {
            for (i, message) in list.iter().enumerate() {
                let content = convert(&message.content, &message.field, message.syntax)?;
                if i == 0 && message.role == Role::System {
                    system = Some(content);
                } else {
                    messages.push(serde_json::json!({
                        "role": crate::model::render::role_name(message.role),
                        "content": content,
                    }));
                }
            }
        }
    }
    if system.is_none() && messages.is_empty() {
        return Err(refused(
            file,
            &version.field,
            "the prompt has no text and no messages",
        ));
    }
    let mut doc = Map::new();
    if let Some(summary) = version.summary.as_deref().filter(|s| !s.trim().is_empty()) {
        doc.insert("summary".into(), summary.trim().replace('\n', " ").into());
    }
    if let Some(model) = &version.model {
        doc.insert("model".into(), model.clone().into());
    }
    let mut config = version.config.clone();
    if let Some(t) = version.temperature {
        if (0.0..=2.0).contains(&t) {
            doc.insert("temperature".into(), t.into());
        } else {
            notes.push(format!(
                "{}: temperature {t} is outside 0–2; kept under metadata.config",
                version.field
            ));
            config.insert("temperature".into(), t.into());
        }
    }
    // `create` refuses a prompt over its token budget: a long prompt gets a budget it fits in
    // (with room for its variables), rather than a refusal half-way through an import.
    let mut texts: Vec<&str> = system.iter().map(String::as_str).collect();
    texts.extend(messages.iter().filter_map(|m| m["content"].as_str()));
    let tokenizer = crate::model::tokens::tokenizer_for(version.model.as_deref());
    let default = crate::model::prompt::DEFAULT_TOKEN_BUDGET;
    if let Budget::Over(count) =
        crate::model::tokens::within_budget(tokenizer.encoding, &texts, default * 4 / 5)
    {
        let budget = (count * 5 / 4 / 1024 + 1) * 1024;
        doc.insert("token_budget".into(), budget.into());
        notes.push(format!(
            "{}: about {count} tokens, more than the default token_budget ({default}) leaves room for: token_budget set to {budget}",
            version.field
        ));
    }
    if let Some(system) = system {
        doc.insert("system_prompt".into(), system.into());
    }
    if !messages.is_empty() {
        doc.insert("messages".into(), messages.into());
    }
    if !version.examples.is_empty() {
        doc.insert("examples".into(), version.examples.clone().into());
    }
    let mut vars = Map::new();
    let declared_names = version.declared.keys().cloned();
    for name in variables.iter().cloned().chain(declared_names) {
        if vars.contains_key(&name) {
            continue;
        }
        if !template::is_variable_name(&name) {
            return Err(refused(
                file,
                &version.field,
                format!("the input `{name}` is not a variable name promptreg accepts"),
            ));
        }
        let declared = version.declared.get(&name).cloned().unwrap_or_default();
        let mut var = Map::new();
        if let Some(d) = declared.description {
            var.insert("description".into(), d.into());
        }
        if let Some(default) = declared.default {
            match default {
                Value::String(_) | Value::Number(_) | Value::Bool(_) => {
                    var.insert("required".into(), false.into());
                    var.insert("default".into(), default);
                }
                other => notes.push(format!(
                    "{}: the default of `{name}` ({other}) is not a string, number or boolean; not carried",
                    version.field
                )),
            }
        }
        vars.insert(name, var.into());
    }
    if !vars.is_empty() {
        doc.insert("variables".into(), vars.into());
    }
    if !version.tags.is_empty() {
        doc.insert("tags".into(), version.tags.clone().into());
    }
    let mut metadata = Map::new();
    metadata.insert("imported_from".into(), format.as_str().into());
    metadata.extend(version.metadata.clone());
    if !config.is_empty() {
        metadata.insert("config".into(), config.into());
    }
    doc.insert("metadata".into(), metadata.into());
    let yaml = crate::model::yaml::to_string(&Value::Object(doc))?;
    let shown = PathBuf::from(format!("{}: {}", file.display(), version.field));
    let parsed = PromptFile::parse(yaml.as_bytes(), &shown)?;
    let prompt = parsed.resolve(&NoComponents)?;
    Ok(Planned {
        version: version.id.version(),
        yaml,
        prompt,
        notes,
    })
}

/// An imported prompt has no component files.
struct NoComponents;

impl crate::model::prompt::Components for NoComponents {
    fn read(&self, _: &str) -> Result<Option<Vec<u8>>> {
        Ok(None)
    }
    fn display(&self, relative: &str) -> PathBuf {
        PathBuf::from(relative)
    }
}

/// Splits YAML front matter (between `---` lines) from the body.
pub fn front_matter<'a>(text: &'a str, file: &Path) -> Result<(&'a str, &'a str, usize)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first_line_end = text.find('\n').unwrap_or(text.len());
    if text[..first_line_end].trim_end() != "---" {
        return Err(refused(
            file,
            "front matter",
            "the file must start with a `---` line",
        ));
    }
    let after = (first_line_end + 1).min(text.len());
    let mut at = after;
    let mut lines = 1;
    for line in text[after..].split_inclusive('\n') {
        lines += 1;
        if line.trim_end() == "---" {
            let body = &text[at + line.len()..];
            return Ok((&text[after..at], body, lines));
        }
        at += line.len();
    }
    Err(refused(file, "front matter", "no closing `---` line"))
}

/// The front matter of a prompt file (`.prompty`, dotprompt) as a map of keys, its body, and
/// the body's first line number. YAML errors carry the file's own line numbers.
pub fn front_matter_map<'a>(
    bytes: &'a [u8],
    file: &Path,
) -> Result<(Map<String, Value>, &'a str, usize)> {
    let text = crate::model::yaml::utf8(bytes, file)?;
    let (front, body, body_line) = front_matter(text, file)?;
    // One blank line first, so the YAML parser's line numbers are the file's.
    let padded = format!("\n{front}");
    let meta: Value = if front.trim().is_empty() {
        Value::Object(Map::new())
    } else {
        crate::model::yaml::parse(padded.as_bytes(), file)?
    };
    let Value::Object(meta) = meta else {
        return Err(refused(file, "front matter", "expected a map of keys"));
    };
    Ok((meta, body, body_line))
}

/// A role name of another system as promptreg's role.
pub fn role(name: &str) -> Option<Role> {
    match name.trim().to_ascii_lowercase().as_str() {
        "system" | "developer" => Some(Role::System),
        "user" | "human" => Some(Role::User),
        "assistant" | "ai" | "model" => Some(Role::Assistant),
        _ => None,
    }
}

/// The items of a JSON export file: one object, a list, or a list under one of `keys`
/// (`{"data": [...]}`), each with the field that names it (`[2]`, `data[0]`).
pub fn json_items(bytes: &[u8], file: &Path, keys: &[&str]) -> Result<Vec<(String, Value)>> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        refused(
            file,
            format!("line {}, column {}", e.line(), e.column()),
            format!("not JSON: {e}"),
        )
    })?;
    let numbered = |items: Vec<Value>, prefix: &str| {
        items
            .into_iter()
            .enumerate()
            .map(|(i, v)| (format!("{prefix}[{i}]"), v))
            .collect()
    };
    match value {
        Value::Array(items) => Ok(numbered(items, "")),
        Value::Object(mut map) => {
            for key in keys {
                if map.get(*key).is_some_and(Value::is_array) {
                    let Some(Value::Array(items)) = map.remove(*key) else {
                        unreachable!("checked")
                    };
                    return Ok(numbered(items, key));
                }
            }
            Ok(vec![("[0]".to_owned(), Value::Object(map))])
        }
        _ => Err(refused(
            file,
            "(top level)",
            "expected an object or a list of objects",
        )),
    }
}

/// Groups versions by prompt name, refusing a version number seen twice; versions in order.
pub fn grouped(
    file: &Path,
    versions: Vec<(String, String, ForeignVersion)>,
) -> Result<Vec<ForeignPrompt>> {
    let mut prompts: BTreeMap<String, ForeignPrompt> = BTreeMap::new();
    for (name, field, version) in versions {
        let prompt = prompts
            .entry(name.clone())
            .or_insert_with(|| ForeignPrompt {
                name,
                file: file.to_path_buf(),
                versions: Vec::new(),
            });
        if prompt.versions.iter().any(|v| v.id == version.id) {
            return Err(refused(
                file,
                format!("{field}.version"),
                format!(
                    "`{}` has version {} twice",
                    prompt.name,
                    version.id.version()
                ),
            ));
        }
        prompt.versions.push(version);
    }
    let mut out: Vec<ForeignPrompt> = prompts.into_values().collect();
    for prompt in &mut out {
        prompt.versions.sort_by_key(|v| v.id.version());
    }
    Ok(out)
}

/// A string field, or a refusal naming it.
pub fn string_at<'v>(
    object: &'v Map<String, Value>,
    key: &str,
    field: &str,
    file: &Path,
) -> Result<&'v str> {
    object
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| refused(file, format!("{field}.{key}"), "missing or not a string"))
}

/// A whole version number of at least 1, or a refusal naming it.
pub fn number_at(object: &Map<String, Value>, key: &str, field: &str, file: &Path) -> Result<u64> {
    object
        .get(key)
        .and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
        .filter(|n| *n >= 1)
        .ok_or_else(|| {
            refused(
                file,
                format!("{field}.{key}"),
                "missing or not a whole number of at least 1",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_promptreg_names() {
        let name = |s, d| prompt_name(s, d).map(|n| n.to_string());
        assert_eq!(name("Movie Critic", None).as_deref(), Some("movie-critic"));
        assert_eq!(
            name("support/Refund_Agent", None).as_deref(),
            Some("support/refund_agent")
        );
        assert_eq!(name("Émile", Some("team")).as_deref(), Some("team/mile"));
        assert_eq!(name("!!!", None), None);
    }

    #[test]
    fn authors_with_addresses() {
        assert_eq!(
            author_identity("Ana Lima <ana@example.com>"),
            Some(("Ana Lima".into(), "ana@example.com".into()))
        );
        assert_eq!(
            author_identity("bo@example.com"),
            Some(("bo".into(), "bo@example.com".into()))
        );
        assert_eq!(author_identity("clx0user123"), None);
        assert_eq!(author_identity("API"), None);
    }

    #[test]
    fn a_long_prompt_gets_a_budget_it_fits_in() {
        let long = "Describe the weather in detail. ".repeat(800);
        let version = ForeignVersion::new(
            VersionId::Number(1),
            "[0]".into(),
            Syntax::Mustache,
            Body::Text {
                content: long,
                field: "[0].prompt".into(),
            },
        );
        let planned = plan(Path::new("x.json"), Format::Langfuse, &version).unwrap();
        assert!(
            planned.prompt.token_budget > 4096,
            "{}",
            planned.prompt.token_budget
        );
        assert!(planned
            .notes
            .iter()
            .any(|n| n.contains("token_budget set to")));
        let short = ForeignVersion::new(
            VersionId::Number(1),
            "[0]".into(),
            Syntax::Mustache,
            Body::Text {
                content: "Hi".into(),
                field: "[0].prompt".into(),
            },
        );
        let planned = plan(Path::new("x.json"), Format::Langfuse, &short).unwrap();
        assert_eq!(planned.prompt.token_budget, 4096);
    }

    #[test]
    fn front_matter_is_split() {
        let (fm, body, lines) = front_matter("---\na: 1\n---\nbody\n", Path::new("x")).unwrap();
        assert_eq!((fm, body, lines), ("a: 1\n", "body\n", 3));
        assert!(front_matter("a: 1\n", Path::new("x")).is_err());
        assert!(front_matter("---\na: 1\n", Path::new("x")).is_err());
    }
}
