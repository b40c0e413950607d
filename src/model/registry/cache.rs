//! The read cache's line form of a parsed index: a head (format, pipeline, access rules and
//! policy), one line per prompt, `name<TAB>env=pointer…` (a version, or a split as
//! `1.1.0=90 1.2.0=10`), sorted by name, and an end line, so a
//! one-prompt read needs only the head, the last line and the prompt's own line.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Pointer, Pointers, Registry};
use crate::model::access::Access;
use crate::model::policy::Policy;
use crate::PromptName;

/// First line of the cache form; bump when the form changes.
const CACHE_HEADER: &str = "promptreg-index-cache 4";
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
        pointers.insert(env.to_owned(), Pointer::parse(version).ok()?);
    }
    Some((name, pointers))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::model::registry::tests::{name, TEXT};

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
}
