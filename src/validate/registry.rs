//! The checks of `registry.yaml`: it parses and follows the format (through
//! [`Registry::parse`]), and every pointer names a released version.

use std::collections::BTreeSet;
use std::path::Path;

use super::files::Content;
use super::finding::Finding;
use super::tags::Released;
use crate::model::registry::scan::Entries;
use crate::model::registry::Registry;
use crate::{Error, PromptName, Version, REGISTRY_FILE};

/// Checks `registry.yaml` as read (`content`, `None` when there is none). Returns the versions
/// the pointers name that are releases (annotated tags), for the content checks of
/// `tags::check_contents`.
pub(crate) fn check(
    content: Option<&Content>,
    released: &Released,
    out: &mut Vec<Finding>,
) -> BTreeSet<(PromptName, Version)> {
    let mut served = BTreeSet::new();
    let bytes = match content {
        Some(Content::Bytes(bytes)) => bytes,
        Some(Content::TooLarge(size)) => {
            out.push(Finding::error(
                REGISTRY_FILE,
                None,
                "too-large",
                crate::error::too_large(*size, crate::model::yaml::MAX_DOCUMENT_BYTES),
            ));
            return served;
        }
        None => {
            out.push(Finding::error(
                REGISTRY_FILE,
                None,
                "registry-missing",
                "there is no registry.yaml; create one with `promptreg init`",
            ));
            return served;
        }
    };
    let registry = match Registry::parse(bytes, Path::new(REGISTRY_FILE)) {
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
                    let text = String::from_utf8_lossy(bytes);
                    let at = Entries::of(&text).get(&name).map(|e| (e.line, e.column));
                    (at, Error::InvalidName { name, reason }.to_string())
                }
                other => (None, other.to_string()),
            };
            out.push(Finding::error(REGISTRY_FILE, at, code, message));
            return served;
        }
    };
    let mut entries: Option<Entries> = None;
    let text = String::from_utf8_lossy(bytes);
    for (name, pointers) in &registry.prompts {
        let served_by = registry
            .environments
            .iter()
            .filter_map(|env| pointers.get(env).map(|p| (env, p)));
        for (env, version) in
            served_by.flat_map(|(env, p)| p.versions().into_iter().map(move |v| (env, v)))
        {
            let versions = released.versions(name.as_str());
            let problem = match versions.as_deref().and_then(|v| v.get(version)) {
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
            let at = match pointers.get(env).and_then(|p| p.split()) {
                // The entry of the split naming it.
                Some(_) => entries.split_entry(&text, name.as_str(), env, &version.to_string()),
                None => entries.pointer(&text, name.as_str(), env),
            };
            out.push(Finding::error(
                REGISTRY_FILE,
                at,
                "dangling-pointer",
                problem,
            ));
        }
    }
    served
}

#[cfg(test)]
mod tests {
    use super::*;

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
            ("format: 1\nprompts:\n  a:\n    dev: 1.0\n", "bad-version"),
            ("format: 1\nprompts:\n  a:\n    dev:\n      split:\n        - {version: 1.0.0, percent: 90}\n        - {version: 1.1.0, percent: 20}\n", "bad-split"),
            ("format: 1\nprompts:\n  a:\n    dev:\n      split:\n        - {version: 1.0.0, percent: 100}\n", "bad-split"),
            ("format: 1\nprompts:\n  a:\n    dev:\n      split:\n        - {version: 1.0.0, percent: 87.655}\n        - {version: 1.1.0, percent: 12.345}\n", "bad-split"),
            ("format: 1\nprompts:\n  a:\n    dev:\n      split:\n        - {version: 1.0.0, percent: 50}\n        - {version: 1.0.0, percent: 50}\n", "bad-split"),
            ("format: 1\nprompts:\n  a:\n    dev:\n      split:\n        - {version: 1.0, percent: 50}\n        - {version: 1.1.0, percent: 50}\n", "bad-version"),
            ("format: 1\nprompts:\n  a:\n    dev:\n      split:\n        - {version: 1.0.0, weight: 50}\n", "unknown-key"),
            ("format: 1\nprompts:\n  a:\n    dev: {splits: []}\n", "unknown-key"),
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
