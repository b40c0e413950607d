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

pub mod cache;
pub mod edit;
pub mod index_text;
pub(crate) mod layout;
pub mod pointer;
pub(crate) mod scan;

pub use cache::{cache_key, CACHE_HEAD_LINES};
pub use pointer::{Percent, Pointer, Share, Split};

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

/// Environment → what it holds (a version or a split), for one prompt.
pub type Pointers = BTreeMap<String, Pointer>;

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

/// Environment → pointer as written, with positions for error messages.
type RawPointers = BTreeMap<String, Spanned<RawPointer>>;

/// A pointer as written: a version, a `{split: [...]}` map, or a number (`1.0`, refused with a
/// hint: YAML reads it as a number, and its digits as written are gone).
enum RawPointer {
    Version(String),
    Split(Vec<RawShare>),
    Number(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSplit {
    split: Vec<RawShare>,
}

/// One entry of a split as written, with positions so that an error points at the entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShare {
    version: Spanned<String>,
    percent: Spanned<f64>,
}

/// Line and column, 1-based, of a value.
fn place<T>(spanned: &Spanned<T>) -> (u64, u64) {
    (spanned.referenced.line(), spanned.referenced.column())
}

impl<'de> Deserialize<'de> for RawPointer {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = RawPointer;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a version (X.Y.Z) or a split ({split: [{version, percent}, ...]})")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<RawPointer, E> {
                Ok(RawPointer::Version(v.to_owned()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> std::result::Result<RawPointer, E> {
                Ok(RawPointer::Number(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<RawPointer, E> {
                Ok(RawPointer::Number(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<RawPointer, E> {
                Ok(RawPointer::Number(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<RawPointer, A::Error> {
                let raw = RawSplit::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(RawPointer::Split(raw.split))
            }
        }
        deserializer.deserialize_any(Visit)
    }
}

/// The plain scalar written at (line, column), 1-based, up to a space, `#`, `,` or `}`.
fn scalar_at(text: &[u8], (line, column): (u64, u64)) -> Option<String> {
    let line = text
        .split(|&b| b == b'\n')
        .nth(usize::try_from(line).ok()?.checked_sub(1)?)?;
    let rest = line.get(usize::try_from(column).ok()?.checked_sub(1)?..)?;
    let end = rest
        .iter()
        .position(|b| matches!(b, b' ' | b'\t' | b'\r' | b'#' | b',' | b'}' | b']'))
        .unwrap_or(rest.len());
    let scalar = std::str::from_utf8(&rest[..end]).ok()?;
    (!scalar.is_empty()).then(|| scalar.to_owned())
}

impl RawPointer {
    /// The checked pointer, or what is wrong with it in one sentence and where: the entry of a
    /// split that breaks a rule, else `at`. `text` and `at` (line, column) locate the value in
    /// the document, to quote a number as it was written.
    fn check(
        self,
        text: &[u8],
        at: (u64, u64),
    ) -> std::result::Result<Pointer, (YamlProblem, String, (u64, u64))> {
        let version = |text: &str, at: (u64, u64)| {
            Version::parse(text).map_err(|e| (YamlProblem::BadVersion, e.to_string(), at))
        };
        match self {
            RawPointer::Version(text) => version(&text, at).map(Pointer::Version),
            // YAML reads `1.0` as a number; the version error quotes it as written.
            RawPointer::Number(number) => {
                let written = scalar_at(text, at).unwrap_or(number);
                version(&written, at)?;
                Err((
                    YamlProblem::BadVersion,
                    format!("`{written}` reads as a number, not a version; quote it"),
                    at,
                ))
            }
            RawPointer::Split(raw) => {
                let mut shares = Vec::with_capacity(raw.len());
                let mut places = Vec::with_capacity(raw.len());
                for share in raw {
                    let percent = Percent::from_number(share.percent.value).map_err(|m| {
                        (
                            YamlProblem::BadSplit,
                            format!("version {}: {m}", share.version.value),
                            place(&share.percent),
                        )
                    })?;
                    places.push((place(&share.version), place(&share.percent)));
                    shares.push(Share {
                        version: version(&share.version.value, place(&share.version))?,
                        percent,
                    });
                }
                // The rule an entry breaks is reported at it (the one `Split::new` names
                // first: it counts the entries, then checks them in order, then their sum); a
                // split-wide rule at the split.
                let entries = if shares.len() < 2 {
                    &[][..]
                } else {
                    &shares[..]
                };
                let offending = entries.iter().enumerate().find_map(|(i, share)| {
                    if share.percent.hundredths() == 0 {
                        Some(places[i].1)
                    } else if shares[..i].iter().any(|s| s.version == share.version) {
                        Some(places[i].0)
                    } else {
                        None
                    }
                });
                Split::new(shares)
                    .map(Pointer::Split)
                    .map_err(|m| (YamlProblem::BadSplit, m, offending.unwrap_or(at)))
            }
        }
    }
}

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
    /// Parses and checks the whole index: in one pass over its lines when it is laid out the
    /// way promptreg writes it (see `layout`), else — and for every error — by the YAML parser.
    pub fn parse(bytes: &[u8], file: &Path) -> Result<Self> {
        match layout::fast_parse(bytes, file) {
            Some(registry) => Ok(registry),
            None => Self::parse_slow(bytes, file),
        }
    }

    /// Parses and checks the whole index with the YAML parser (what [`Registry::parse`] falls
    /// back to; the fuzz target compares the two).
    pub fn parse_slow(bytes: &[u8], file: &Path) -> Result<Self> {
        Self::from_raw(yaml::parse(bytes, file)?, file, bytes)
    }

    /// Parses the index keeping only `name`'s entry (all other entries are skipped unread).
    /// Errors are the same as [`Registry::parse`] would report for the parts it reads.
    pub fn parse_for(bytes: &[u8], file: &Path, name: &PromptName) -> Result<Self> {
        if let Some(registry) = layout::fast_parse_one(bytes, file, name) {
            return Ok(registry);
        }
        // Unusual layout or an error: the full parse decides, with exact positions.
        let mut registry = Self::parse(bytes, file)?;
        registry.prompts.retain(|n, _| n == name);
        Ok(registry)
    }

    /// Checks the parsed document; `bytes` is its text, for quoting a value as written.
    fn from_raw(raw: RawRegistry, file: &Path, bytes: &[u8]) -> Result<Self> {
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
            for (env, pointer) in pointers.unwrap_or_default() {
                let l = pointer.referenced;
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
                let pointer = pointer
                    .value
                    .check(bytes, place)
                    .map_err(|(problem, message, place)| at(problem)(place, message))?;
                parsed.insert(env, pointer);
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

    /// The environments serving `version` of `name`, in whole or in part, in pipeline order.
    pub fn holders(&self, name: &PromptName, version: &Version) -> Vec<String> {
        let Some(pointers) = self.prompts.get(name) else {
            return Vec::new();
        };
        self.environments
            .iter()
            .filter(|env| pointers.get(*env).is_some_and(|p| p.serves(version)))
            .cloned()
            .collect()
    }

    /// What `environment` holds for `name`, if anything.
    pub fn pointer(&self, name: &PromptName, environment: &str) -> Option<&Pointer> {
        self.prompts.get(name)?.get(environment)
    }

    /// The gate of `environment` (`None`: it has none).
    pub fn gate(&self, environment: &str) -> Option<&crate::model::policy::Gate> {
        self.policy.get(environment)
    }

    /// A version's status: the last environment (in pipeline order) serving it, else `draft`.
    /// A share of a split counts (see [`Registry::status_share`] for how much).
    pub fn status(&self, name: &PromptName, version: &Version) -> String {
        self.holders(name, version)
            .pop()
            .unwrap_or_else(|| DRAFT.to_owned())
    }

    /// The share of its status environment's traffic `version` gets, when that environment
    /// splits (`None`: it serves the version alone, or nothing does).
    pub fn status_share(&self, name: &PromptName, version: &Version) -> Option<Percent> {
        let env = self.holders(name, version).pop()?;
        self.pointer(name, &env)?
            .share_of(version)
            .filter(|p| *p != Percent::WHOLE)
    }
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const TEXT: &str = "# index\nformat: 1\nenvironments: [dev, staging, production]\nprompts:\n  customer-support:\n    staging: 2.1.0   # candidate\n    production: 2.0.0\n  # a comment\n  'support/refund':\n    dev: 1.0.0\n  other: {dev: 0.1.0}\n  empty:\n  canary:\n    staging: 1.1.0\n    production:\n      split:\n        - {version: 1.0.0, percent: 90}\n        - {version: 1.1.0, percent: 10}\n";

    pub(crate) fn name(s: &str) -> PromptName {
        PromptName::parse(s).unwrap()
    }

    #[test]
    fn full_parse_reads_every_entry() {
        let r = Registry::parse(TEXT.as_bytes(), Path::new("registry.yaml")).unwrap();
        assert_eq!(r.prompts.len(), 5);
        let canary = name("canary");
        let v = |s: &str| Version::parse(s).unwrap();
        assert_eq!(r.status(&canary, &v("1.1.0")), "production");
        assert_eq!(
            r.status_share(&canary, &v("1.1.0")).unwrap().to_string(),
            "10"
        );
        assert_eq!(r.holders(&canary, &v("1.0.0")), ["production"]);
        assert_eq!(r.status_share(&canary, &v("2.0.0")), None);
        assert_eq!(
            r.pointer(&canary, "production").unwrap().first(),
            &v("1.0.0")
        );
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
            "canary",
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
    fn split_errors_point_at_the_entry_breaking_the_rule() {
        let at = |entries: &str| {
            let text = format!("format: 1\nprompts:\n  a:\n    dev:\n      split:\n{entries}");
            match Registry::parse(text.as_bytes(), Path::new("r")) {
                Err(Error::Yaml { line, column, .. }) => (line, column),
                other => panic!("{entries:?}: {other:?}"),
            }
        };
        let e = |version: &str, percent: &str| {
            format!("        - {{version: {version}, percent: {percent}}}\n")
        };
        // Rules of the whole split: at the split.
        assert_eq!(at(&(e("1.0.0", "90") + &e("1.1.0", "20"))), (5, 7));
        assert_eq!(at(&e("1.0.0", "100")), (5, 7));
        assert_eq!(at(&e("1.0.0", "0")), (5, 7));
        // An entry's rule: at its percent or its version.
        assert_eq!(at(&(e("1.0.0", "100") + &e("1.1.0", "0"))), (7, 37));
        assert_eq!(at(&(e("1.0.0", "87.655") + &e("1.1.0", "12.345"))), (6, 37));
        assert_eq!(at(&(e("1.0.0", "50") + &e("1.0.0", "50"))), (7, 21));
        assert_eq!(at(&(e("1.0.0", "50") + &e("1.1", "50"))), (7, 21));
        // The one-entry parse reports the same places.
        let text = format!(
            "format: 1\nprompts:\n  a:\n    dev:\n      split:\n{}",
            e("1.0.0", "50") + &e("1.0.0", "50")
        );
        let err = Registry::parse_for(text.as_bytes(), Path::new("r"), &name("a")).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Yaml {
                    line: 7,
                    column: 21,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn initial_text_parses_to_default_pipeline() {
        let r = Registry::parse(initial_text().as_bytes(), Path::new("r")).unwrap();
        assert_eq!(r.environments, DEFAULT_ENVIRONMENTS);
        assert!(r.prompts.is_empty());
        assert_eq!(r.last_environment(), "production");
    }
}
