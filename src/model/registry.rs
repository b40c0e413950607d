//! The registry index, `registry.yaml`: the promotion pipeline and, per prompt, which version each
//! environment holds. A version's status is derived from it (see [`Registry::status`]).
//!
//! Reading one prompt's entry must stay close to the speed of `git cat-file`, and a 10,000-prompt
//! index takes tens of milliseconds to parse whole. [`Registry::parse_for`] therefore cuts the
//! document down to the one entry asked for when the `prompts:` block is plain block-style YAML,
//! and falls back to the full parse whenever it is not sure.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::model::access::Access;
use crate::model::policy::Policy;
use crate::model::yaml;
use crate::{Error, PromptName, Result, Version, YamlProblem};

/// The format number this version of promptreg reads and writes.
pub const FORMAT: u32 = 1;
/// The pipeline a new registry gets.
pub const DEFAULT_ENVIRONMENTS: [&str; 3] = ["dev", "staging", "production"];
/// The status of a version no environment holds.
pub const DRAFT: &str = "draft";
/// Words that cannot name an environment because selectors and statuses use them.
const RESERVED: [&str; 3] = [DRAFT, "latest", "worktree"];

/// Environment → version, for one prompt.
pub type Pointers = BTreeMap<String, Version>;

/// The parsed index.
#[derive(Clone, Debug, PartialEq)]
pub struct Registry {
    pub format: u32,
    /// The promotion pipeline, first to last.
    pub environments: Vec<String>,
    pub prompts: BTreeMap<PromptName, Pointers>,
    /// Who may move which pointers (`None`: everyone may).
    pub access: Option<Access>,
    /// What a version needs before it may enter each environment (empty: nothing).
    pub policy: Policy,
}

/// Environment → version as written, with positions for error messages.
type RawPointers = BTreeMap<String, Spanned<String>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegistry {
    format: Spanned<u32>,
    environments: Option<Spanned<Vec<String>>>,
    prompts: Option<BTreeMap<String, Option<RawPointers>>>,
    access: Option<Spanned<Access>>,
    policy: Option<Spanned<Option<Policy>>>,
}

/// The text `init` writes.
pub fn initial_text() -> String {
    format!(
        "# promptreg registry index: which version of each prompt every environment serves.\n\
         # Change it with `promptreg promote` or through a reviewed pull request.\n\
         format: {FORMAT}\n\
         environments: [{}]   # ordered promotion pipeline\n\
         prompts: {{}}\n",
        DEFAULT_ENVIRONMENTS.join(", ")
    )
}

impl Registry {
    /// Parses and checks the whole index.
    pub fn parse(bytes: &[u8], file: &Path) -> Result<Self> {
        Self::from_raw(yaml::parse(bytes, file)?, file)
    }

    /// Parses the index keeping only `name`'s entry (all other entries are skipped unread).
    /// Errors are the same as [`Registry::parse`] would report for the parts it reads.
    pub fn parse_for(bytes: &[u8], file: &Path, name: &PromptName) -> Result<Self> {
        let reduced = reduce_to_entry(bytes, name.as_str());
        if let Some(reduced) = reduced.as_deref().and_then(|r| std::str::from_utf8(r).ok()) {
            if let Ok(raw) = serde_saphyr::from_str::<RawRegistry>(reduced) {
                if let Ok(registry) = Self::from_raw(raw, file) {
                    return Ok(registry);
                }
            }
        }
        // Unusual layout or an error: the full parse decides, with exact positions.
        let mut registry = Self::parse(bytes, file)?;
        registry.prompts.retain(|n, _| n == name);
        Ok(registry)
    }

    fn from_raw(raw: RawRegistry, file: &Path) -> Result<Self> {
        let at = |problem: YamlProblem| {
            move |(line, column): (u64, u64), message: String| Error::Yaml {
                file: file.to_owned(),
                line,
                column,
                message,
                problem,
            }
        };
        let rule = at(YamlProblem::RegistryRule);
        if raw.format.value != FORMAT {
            let l = raw.format.referenced;
            return Err(rule(
                (l.line(), l.column()),
                format!(
                    "unsupported format {}; this promptreg reads format {FORMAT}",
                    raw.format.value
                ),
            ));
        }
        let environments = match raw.environments {
            None => DEFAULT_ENVIRONMENTS.iter().map(|e| e.to_string()).collect(),
            Some(list) => {
                let l = list.referenced;
                check_environments(&list.value).map_err(|m| rule((l.line(), l.column()), m))?;
                list.value
            }
        };
        let mut prompts = BTreeMap::new();
        for (name, pointers) in raw.prompts.unwrap_or_default() {
            let name = PromptName::parse(&name).map_err(|e| match e {
                Error::InvalidName { name, reason } => Error::RegistryName {
                    file: file.to_owned(),
                    name,
                    reason,
                },
                other => other,
            })?;
            let mut parsed = Pointers::new();
            for (env, version) in pointers.unwrap_or_default() {
                let l = version.referenced;
                let place = (l.line(), l.column());
                if !environments.contains(&env) {
                    return Err(at(YamlProblem::UnknownEnvironment)(
                        place,
                        format!(
                            "`{name}` has a pointer for `{env}`, which is not in environments [{}]",
                            environments.join(", ")
                        ),
                    ));
                }
                let v = Version::parse(&version.value)
                    .map_err(|e| at(YamlProblem::BadVersion)(place, e.to_string()))?;
                parsed.insert(env, v);
            }
            prompts.insert(name, parsed);
        }
        let access = match raw.access {
            Some(access) => {
                let l = access.referenced;
                access
                    .value
                    .check(&environments)
                    .map_err(|m| rule((l.line(), l.column()), m))?;
                Some(access.value)
            }
            None => None,
        };
        let policy = match raw.policy {
            Some(policy) => {
                let l = policy.referenced;
                let policy = policy.value.unwrap_or_default();
                crate::model::policy::check(&policy, &environments)
                    .map_err(|m| rule((l.line(), l.column()), m))?;
                policy
            }
            None => Policy::new(),
        };
        Ok(Registry {
            format: raw.format.value,
            environments,
            prompts,
            access,
            policy,
        })
    }

    /// The pointers of one prompt (empty when it has none).
    pub fn pointers(&self, name: &PromptName) -> Pointers {
        self.prompts.get(name).cloned().unwrap_or_default()
    }

    /// The last environment of the pipeline: what a bare selector fetches.
    pub fn last_environment(&self) -> &str {
        self.environments
            .last()
            .map_or("production", String::as_str)
    }

    /// Refuses environments outside the pipeline, listing the pipeline.
    pub fn check_environment(&self, environment: &str) -> Result<()> {
        if self.environments.iter().any(|e| e == environment) {
            Ok(())
        } else {
            Err(Error::UnknownEnvironment {
                environment: environment.to_owned(),
                known: self.environments.clone(),
            })
        }
    }

    /// The environments holding `version` of `name`, in pipeline order.
    pub fn holders(&self, name: &PromptName, version: &Version) -> Vec<String> {
        let Some(pointers) = self.prompts.get(name) else {
            return Vec::new();
        };
        self.environments
            .iter()
            .filter(|env| pointers.get(*env) == Some(version))
            .cloned()
            .collect()
    }

    /// A version's status: the last environment (in pipeline order) holding it, else `draft`.
    pub fn status(&self, name: &PromptName, version: &Version) -> String {
        self.holders(name, version)
            .pop()
            .unwrap_or_else(|| DRAFT.to_owned())
    }
}

/// First line of the cache form; bump when the form changes.
const CACHE_HEADER: &str = "promptreg-index-cache 3";
/// Lines before the entries: the header, format and pipeline, access rules and policy as JSON.
pub const CACHE_HEAD_LINES: usize = 3;
/// Last line of the cache form: a truncated entry lacks it and is not used.
const CACHE_END: &str = "\x04end\n";

impl Registry {
    /// A compact line form of the whole index, for the read cache: a head of
    /// [`CACHE_HEAD_LINES`] lines, then one line per prompt, `name<TAB>env=version…`, sorted by
    /// name, then an end line. Only ever derived from a parsed index.
    pub fn to_cache(&self) -> String {
        let rules = CacheRules {
            access: self.access.clone(),
            policy: self.policy.clone(),
        };
        let access = serde_json::to_string(&rules).unwrap_or_else(|_| "null".into());
        let mut out = format!(
            "{CACHE_HEADER}\n{}\t{}\n{access}\n",
            self.format,
            self.environments.join("\t")
        );
        for (name, pointers) in &self.prompts {
            out.push_str(name.as_str());
            for (env, version) in pointers {
                out.push_str(&format!("\t{env}={version}"));
            }
            out.push('\n');
        }
        out.push_str(CACHE_END);
        out
    }

    /// Reads the whole cache form back; `None` when the text is not a complete cache.
    pub fn from_cache(text: &str) -> Option<Self> {
        let text = text.strip_suffix(CACHE_END)?;
        let mut lines = text.lines();
        let head = [lines.next()?, lines.next()?, lines.next()?];
        let mut registry = Self::from_cache_head(head)?;
        for line in lines {
            let (name, pointers) = cache_entry(line)?;
            registry.prompts.insert(name, pointers);
        }
        Some(registry)
    }

    /// The lines of the cache form a one-prompt read needs: the head, the last, and the
    /// prompt's own line if it has one. `None` when they are not of this form.
    pub fn from_cache_lines(head: &[String], last: &str, entry: Option<&str>) -> Option<Self> {
        if format!("{last}\n") != CACHE_END {
            return None;
        }
        let [first, second, third] = head else {
            return None;
        };
        let mut registry = Self::from_cache_head([first, second, third])?;
        if let Some(line) = entry {
            let (name, pointers) = cache_entry(line)?;
            registry.prompts.insert(name, pointers);
        }
        Some(registry)
    }

    fn from_cache_head([header, pipeline, rules]: [&str; 3]) -> Option<Self> {
        if header != CACHE_HEADER {
            return None;
        }
        let mut fields = pipeline.split('\t');
        let format = fields.next()?.parse().ok()?;
        let environments = fields.map(str::to_owned).collect();
        let rules: CacheRules = serde_json::from_str(rules).ok()?;
        Some(Registry {
            format,
            environments,
            prompts: BTreeMap::new(),
            access: rules.access,
            policy: rules.policy,
        })
    }

    /// The gate of `environment` (`None`: it has none).
    pub fn gate(&self, environment: &str) -> Option<&crate::model::policy::Gate> {
        self.policy.get(environment)
    }
}

/// The third line of the cache form.
#[derive(serde::Serialize, Deserialize)]
struct CacheRules {
    access: Option<Access>,
    policy: Policy,
}

/// The sort key of a cache line (the prompt name); `None` for the end line.
pub fn cache_key(line: &str) -> Option<&str> {
    (!line.starts_with('\x04')).then(|| line.split('\t').next().unwrap_or(line))
}

fn cache_entry(line: &str) -> Option<(PromptName, Pointers)> {
    let mut fields = line.split('\t');
    let name = PromptName::parse(fields.next()?).ok()?;
    let mut pointers = Pointers::new();
    for field in fields {
        let (env, version) = field.split_once('=')?;
        pointers.insert(env.to_owned(), Version::parse(version).ok()?);
    }
    Some((name, pointers))
}

fn check_environments(list: &[String]) -> std::result::Result<(), String> {
    if list.is_empty() {
        return Err(
            "`environments` is empty; list at least one, e.g. [dev, staging, production]".into(),
        );
    }
    for (i, env) in list.iter().enumerate() {
        let mut chars = env.chars();
        let well_formed = matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !well_formed {
            return Err(format!("environment `{env}` must match [a-z][a-z0-9_-]*"));
        }
        if RESERVED.contains(&env.as_str()) {
            return Err(format!(
                "`{env}` is reserved and cannot name an environment"
            ));
        }
        if list[..i].contains(env) {
            return Err(format!("environment `{env}` is listed twice"));
        }
    }
    Ok(())
}

/// The document with the `prompts:` block reduced to `name`'s entry, or `None` when the layout is
/// not the plain block style this shortcut understands (the caller then parses everything).
///
/// It makes two passes over the bytes (the block's newlines, the name's occurrences) and copies
/// only the header, the entry and whatever follows the block: reading one entry of a 10,000-prompt
/// index costs about what inflating it does. Anything odd — a duplicate `prompts:`, document
/// markers, a key that appears twice — either makes this return `None` or lands in the reduced
/// document, where the parser rejects it and the caller falls back to the full parse.
pub(crate) fn reduce_to_entry(bytes: &[u8], name: &str) -> Option<Vec<u8>> {
    if bytes.starts_with(b"---") || bytes.starts_with(b"%") {
        return None;
    }
    // The `prompts:` line: at column 0, nothing after it but a comment.
    let key_at = memchr::memmem::find_iter(bytes, b"prompts:")
        .find(|&at| at == 0 || bytes[at - 1] == b'\n')?;
    let line_end = memchr::memchr(b'\n', &bytes[key_at..]).map_or(bytes.len(), |i| key_at + i + 1);
    let rest_of_line = std::str::from_utf8(&bytes[key_at + "prompts:".len()..line_end])
        .ok()?
        .trim();
    if !(rest_of_line.is_empty() || rest_of_line.starts_with('#')) {
        return None;
    }
    let body_start = line_end;
    let body_end = block_end(bytes, body_start, 0);
    let indent = first_content_indent(
        std::str::from_utf8(&bytes[body_start..body_end.min(body_start + 4096)]).ok()?,
    )?;
    if !entries_are_plain_keys(&bytes[body_start..body_end], indent) {
        // An explicit (`? `), flow, tagged, anchored or escaped key could be `name` without
        // reading as `name:`; only the full parse can tell.
        return None;
    }
    let mut found = None;
    for at in memchr::memmem::find_iter(&bytes[body_start..body_end], name.as_bytes()) {
        let at = body_start + at;
        if let Some(entry_start) = key_line_start(bytes, at, name.len(), indent) {
            if found.is_some() {
                return None; // The same key twice: the full parse reports it.
            }
            found = Some(entry_start);
        }
    }
    let mut reduced = Vec::with_capacity(body_start + 256 + (bytes.len() - body_end));
    reduced.extend_from_slice(&bytes[..body_start]);
    if let Some(entry_start) = found {
        let first_line_end = memchr::memchr(b'\n', &bytes[entry_start..])
            .map_or(bytes.len(), |i| entry_start + i + 1);
        let entry_end = block_end(bytes, first_line_end, indent);
        reduced.extend_from_slice(&bytes[entry_start..entry_end]);
        if !reduced.ends_with(b"\n") {
            reduced.push(b'\n');
        }
    }
    reduced.extend_from_slice(&bytes[body_end..]);
    Some(reduced)
}

/// Whether every line of `block` at the entries' indentation is a simple key line
/// (`  name:`, `  "name":`, `  'name':`, the name of letters, digits and `_-./`), and no content
/// line is indented less: then the entries are exactly those lines, and a name that does not
/// appear as one of them is not in the block.
fn entries_are_plain_keys(block: &[u8], indent: usize) -> bool {
    let line_starts = std::iter::once(0).chain(memchr::memchr_iter(b'\n', block).map(|i| i + 1));
    line_starts.into_iter().all(|at| {
        let line = &block[at.min(block.len())..];
        let line = &line[..memchr::memchr(b'\n', line).unwrap_or(line.len())];
        let spaces = line.iter().take_while(|&&b| b == b' ').count();
        let content = &line[spaces..];
        if matches!(content, [] | [b'\r'] | [b'#', ..]) || spaces > indent {
            return true;
        }
        if spaces < indent {
            return false;
        }
        let (key, after) = match content {
            [q @ (b'"' | b'\''), rest @ ..] => match rest.iter().position(|b| b == q) {
                Some(end) => (&rest[..end], &rest[end + 1..]),
                None => return false,
            },
            _ => {
                let end = content
                    .iter()
                    .position(|&b| b == b':')
                    .unwrap_or(content.len());
                (&content[..end], &content[end..])
            }
        };
        key.first().is_some_and(u8::is_ascii_alphanumeric)
            && key
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/'))
            && matches!(after, [b':'] | [b':', b' ' | b'\r', ..])
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

pub(crate) fn first_content_indent(body: &str) -> Option<usize> {
    body.lines().find_map(|line| {
        let trimmed = line.trim_start_matches(' ');
        (!trimmed.is_empty() && !trimmed.starts_with('#')).then(|| line.len() - trimmed.len())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# index\nformat: 1\nenvironments: [dev, staging, production]\nprompts:\n  customer-support:\n    staging: 2.1.0   # candidate\n    production: 2.0.0\n  # a comment\n  'support/refund':\n    dev: 1.0.0\n  other: {dev: 0.1.0}\n  empty:\n";

    fn name(s: &str) -> PromptName {
        PromptName::parse(s).unwrap()
    }

    #[test]
    fn full_parse_reads_every_entry() {
        let r = Registry::parse(TEXT.as_bytes(), Path::new("registry.yaml")).unwrap();
        assert_eq!(r.prompts.len(), 4);
        assert_eq!(
            r.status(&name("customer-support"), &Version::parse("2.0.0").unwrap()),
            "production"
        );
        assert_eq!(
            r.status(&name("customer-support"), &Version::parse("2.1.0").unwrap()),
            "staging"
        );
        assert_eq!(
            r.status(&name("customer-support"), &Version::parse("1.0.0").unwrap()),
            DRAFT
        );
    }

    #[test]
    fn parse_for_agrees_with_full_parse() {
        let full = Registry::parse(TEXT.as_bytes(), Path::new("registry.yaml")).unwrap();
        for n in [
            "customer-support",
            "support/refund",
            "other",
            "empty",
            "absent",
            "customer",
        ] {
            let one =
                Registry::parse_for(TEXT.as_bytes(), Path::new("registry.yaml"), &name(n)).unwrap();
            assert_eq!(one.pointers(&name(n)), full.pointers(&name(n)), "{n}");
            assert!(one.prompts.len() <= 1);
            assert_eq!(one.environments, full.environments);
        }
    }

    #[test]
    fn reduce_falls_back_on_unusual_layouts() {
        assert!(reduce_to_entry(b"format: 1\nprompts: {a: {dev: 1.0.0}}\n", "a").is_none());
        assert!(reduce_to_entry(b"---\nformat: 1\nprompts:\n  a: {}\n", "a").is_none());
        assert!(reduce_to_entry(b"format: 1\nprompts:\n  a: {}\n  a: {}\n", "a").is_none());
        assert!(reduce_to_entry(b"format: 1\nprompts:\n  a: {}\n  \"a\": {}\n", "a").is_none());
        // Substrings, values and deeper keys are not the entry.
        let text = b"format: 1\nprompts:\n  ab:\n    dev: 1.0.0\n  b:\n    a: 1.0.0\n";
        let reduced = reduce_to_entry(text, "a").unwrap();
        assert_eq!(reduced, b"format: 1\nprompts:\n");
        // Keys that are `a` without reading `a:` at the entries' indentation (found by the
        // registry_yaml fuzz target: the shortcut used to report no entry for them).
        for odd in [
            "  ? a\n  : {dev: 1.0.0}\n",
            "  \"a\" : {dev: 1.0.0}\n",
            "  a : {dev: 1.0.0}\n",
            "  !!str a: {dev: 1.0.0}\n",
            "  \"\\x61\": {dev: 1.0.0}\n",
            "  {a: {dev: 1.0.0}}\n",
            "  b: {}\n {a: {dev: 1.0.0}}\n",
        ] {
            let text = format!("format: 1\nprompts:\n  b: {{}}\n{odd}");
            assert!(reduce_to_entry(text.as_bytes(), "a").is_none(), "{odd:?}");
        }
        let flow = "format: 1\nprompts: {a: {dev: 1.0.0}}\n";
        let r = Registry::parse_for(flow.as_bytes(), Path::new("r"), &name("a")).unwrap();
        assert_eq!(r.pointers(&name("a")).len(), 1);
    }

    #[test]
    fn errors_point_at_the_line() {
        let bad = "format: 1\nprompts:\n  a:\n    dev: 1.0\n";
        let err = Registry::parse_for(bad.as_bytes(), Path::new("registry.yaml"), &name("a"))
            .unwrap_err();
        assert!(matches!(err, Error::Yaml { line: 4, .. }), "{err:?}");
        let unknown_env = "format: 1\nprompts:\n  a:\n    qa: 1.0.0\n";
        let err = Registry::parse(unknown_env.as_bytes(), Path::new("registry.yaml")).unwrap_err();
        assert!(err.to_string().contains("not in environments"), "{err}");
        let dup = "format: 1\nprompts:\n  a:\n    dev: 1.0.0\n  a:\n    dev: 1.0.0\n";
        assert!(Registry::parse_for(dup.as_bytes(), Path::new("r"), &name("a")).is_err());
        assert!(Registry::parse(b"format: 2\n", Path::new("r")).is_err());
        assert!(Registry::parse(b"format: 1\nenvironments: [dev, dev]\n", Path::new("r")).is_err());
        assert!(Registry::parse(b"format: 1\nenvironments: [latest]\n", Path::new("r")).is_err());
        assert!(Registry::parse(b"format: 1\nextra: 1\n", Path::new("r")).is_err());
    }

    #[test]
    fn cache_form_round_trips() {
        let full = Registry::parse(TEXT.as_bytes(), Path::new("registry.yaml")).unwrap();
        let cache = full.to_cache();
        assert_eq!(Registry::from_cache(&cache), Some(full.clone()));
        assert_eq!(Registry::from_cache("garbage"), None);
        let truncated = &cache[..cache.len() - 10];
        assert_eq!(Registry::from_cache(truncated), None);
        let lines: Vec<String> = cache.lines().map(str::to_owned).collect();
        let last = lines.last().unwrap();
        for n in ["customer-support", "support/refund", "empty"] {
            let entry = lines
                .iter()
                .find(|l| cache_key(l) == Some(n))
                .map(String::as_str);
            let one = Registry::from_cache_lines(&lines[..3], last, entry).unwrap();
            assert_eq!(one.pointers(&name(n)), full.pointers(&name(n)), "{n}");
            assert!(one.prompts.contains_key(&name(n)));
        }
        assert!(Registry::from_cache_lines(&lines[..3], "x", None).is_none());
    }

    #[test]
    fn initial_text_parses_to_default_pipeline() {
        let r = Registry::parse(initial_text().as_bytes(), Path::new("r")).unwrap();
        assert_eq!(r.environments, DEFAULT_ENVIRONMENTS);
        assert!(r.prompts.is_empty());
        assert_eq!(r.last_environment(), "production");
    }
}
