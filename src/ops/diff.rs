//! `diff`: what differs between two versions of a prompt (released versions, what environments
//! serve, or the working tree), and between what two environments serve across the registry.
//!
//! This resolves the two sides (from releases, the index or the working tree); how two prompts
//! are compared is [`crate::model::diff`]'s.

use serde::Serialize;

use crate::model::diff::compare;
use crate::model::prompt::Prompt;
use crate::model::selector::Target;
use crate::store::Store;
use crate::{PromptName, Result, Version};

use super::render::worktree_prompt;
use crate::read::{missing_version, read_prompt, resolve_version};
use crate::read::{registry_at, revision_label};

pub use crate::model::diff::{FieldChange, PromptDiff};

/// One side of a comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Side {
    /// A version, an environment, or `latest`, resolved as `fetch` resolves it.
    Target(Target),
    /// The working-tree content of `prompts/<name>/`.
    Worktree,
}

impl Side {
    /// `worktree`, `latest`, a version (`1.2.0`) or an environment (`production`).
    pub fn parse(text: &str) -> Result<Self> {
        if text == "worktree" {
            Ok(Side::Worktree)
        } else {
            Target::parse(text).map(Side::Target)
        }
    }
}

/// One resolved side: how to name it and its content.
struct Resolved {
    label: String,
    prompt: Prompt,
}

/// Compares two sides of prompt `name`; environments are read from the index at `revision`.
pub fn diff(
    store: &Store,
    name: &PromptName,
    a: &Side,
    b: &Side,
    revision: Option<&str>,
) -> Result<PromptDiff> {
    let needs_index = [a, b].iter().any(|side| {
        matches!(
            side,
            Side::Target(Target::Environment(_)) | Side::Target(Target::Latest)
        )
    });
    let registry = if needs_index {
        let commit = store.commit(revision)?;
        Some(registry_at(
            store,
            &commit,
            revision_label(revision),
            Some(name),
        )?)
    } else {
        None
    };
    let resolve = |side: &Side| -> Result<Resolved> {
        match side {
            Side::Worktree => Ok(Resolved {
                label: "worktree".into(),
                prompt: worktree_prompt(store, name)?,
            }),
            Side::Target(target) => {
                let version = match (target, &registry) {
                    (Target::Version(v), _) => v.clone(),
                    (_, Some(registry)) => resolve_version(store, registry, name, Some(target))?,
                    (_, None) => unreachable!("the index is read for environments and latest"),
                };
                Ok(Resolved {
                    label: version.to_string(),
                    prompt: released(store, name, &version)?,
                })
            }
        }
    };
    let (a, b) = (resolve(a)?, resolve(b)?);
    Ok(compare(
        &format!("{name}@{}", a.label),
        &a.prompt,
        &format!("{name}@{}", b.label),
        &b.prompt,
    ))
}

fn released(store: &Store, name: &PromptName, version: &Version) -> Result<Prompt> {
    let release = store
        .release(name, version)?
        .ok_or_else(|| missing_version(store, name, version))?;
    read_prompt(store, &release)
}

/// One prompt whose versions differ between two environments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EnvironmentChange {
    pub name: String,
    /// What the first environment serves, if anything: a version, or a split as
    /// `1.1.0=90 1.2.0=10` (compared by its first entry).
    pub a: Option<String>,
    pub b: Option<String>,
    /// `only in staging`, `same content`, or what differs (`text, model`); for a split side,
    /// `; production split, compared by its first entry 1.0.0` follows.
    pub change: String,
    /// The comparison, when both environments serve a version.
    pub diff: Option<PromptDiff>,
}

/// What differs between two environments across the registry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EnvironmentDiff {
    pub a: String,
    pub b: String,
    pub equal: bool,
    pub prompts: Vec<EnvironmentChange>,
}

/// Every prompt whose version differs between environments `a` and `b` (including prompts only
/// one of them serves), in name order, read from the index at `revision`.
pub fn diff_environments(
    store: &Store,
    a: &str,
    b: &str,
    revision: Option<&str>,
) -> Result<EnvironmentDiff> {
    let commit = store.commit(revision)?;
    let registry = registry_at(store, &commit, revision_label(revision), None)?;
    registry.check_environment(a)?;
    registry.check_environment(b)?;
    let mut prompts = Vec::new();
    for (name, pointers) in &registry.prompts {
        let (x, y) = (pointers.get(a), pointers.get(b));
        if x == y {
            continue;
        }
        let (change, diff) = match (x, y) {
            (Some(px), Some(py)) => {
                // A split is compared by what it serves without a key (its first entry); the
                // change says how each side splits.
                let (x, y) = (px.first(), py.first());
                let diff = compare(
                    &format!("{name}@{x}"),
                    &released(store, name, x)?,
                    &format!("{name}@{y}"),
                    &released(store, name, y)?,
                );
                let mut change = if diff.equal {
                    "same content".to_owned()
                } else {
                    diff.changed().join(", ")
                };
                // `a` and `b` show the splits; say which of their versions was compared.
                for (env, pointer) in [(a, px), (b, py)] {
                    if pointer.split().is_some() {
                        change.push_str(&format!(
                            "; {env} split, compared by its first entry {}",
                            pointer.first()
                        ));
                    }
                }
                (change, Some(diff))
            }
            (Some(_), None) => (format!("only in {a}"), None),
            (None, _) => (format!("only in {b}"), None),
        };
        prompts.push(EnvironmentChange {
            name: name.to_string(),
            a: x.map(ToString::to_string),
            b: y.map(ToString::to_string),
            change,
            diff,
        });
    }
    Ok(EnvironmentDiff {
        a: a.to_owned(),
        b: b.to_owned(),
        equal: prompts.is_empty(),
        prompts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sides() {
        assert_eq!(Side::parse("worktree").unwrap(), Side::Worktree);
        assert_eq!(Side::parse("latest").unwrap(), Side::Target(Target::Latest));
        assert!(matches!(
            Side::parse("1.2.0").unwrap(),
            Side::Target(Target::Version(_))
        ));
        assert!(Side::parse("1.2").is_err());
    }
}
