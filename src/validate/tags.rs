//! The checks of version tags: each `refs/tags/<name>/v<version>` is an annotated tag whose commit
//! holds `prompts/<name>/prompt.yaml`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use git2::ObjectType;

use super::finding::{Finding, Severity};
use crate::store::tags::{Holds, ReleaseTrees, TagObject, TagRef};
use crate::store::Store;
use crate::{PromptName, Result, Version};

/// The version tags found: prompt name → version → whether it is a release (annotated).
#[derive(Debug, Default)]
pub(crate) struct Released {
    by_name: HashMap<String, BTreeMap<Version, bool>>,
}

impl Released {
    pub fn versions(&self, name: &str) -> Option<&BTreeMap<Version, bool>> {
        self.by_name.get(name)
    }
}

/// A version tag: its prompt, version and ref.
struct VersionTag<'t> {
    name: PromptName,
    version: Version,
    tag: &'t TagRef,
}

fn version_tag(tag: &TagRef) -> Option<VersionTag<'_>> {
    let rest = tag.refname.strip_prefix("refs/tags/")?;
    let (name, component) = rest.rsplit_once('/')?;
    Some(VersionTag {
        version: Version::from_tag_component(component)?,
        name: PromptName::parse(name).ok()?,
        tag,
    })
}

/// Every tag ref under `refs/tags/`.
pub(crate) fn all(store: &Store) -> Result<Vec<TagRef>> {
    store.tag_refs("refs/tags/")
}

/// The tag refs of the prompts in `names` (their own, not those of prompts below them).
pub(crate) fn of(store: &Store, names: &BTreeSet<PromptName>) -> Result<Vec<TagRef>> {
    let mut refs = Vec::new();
    for name in names {
        let prefix = name.tag_prefix();
        refs.extend(
            store
                .tag_refs(&prefix)?
                .into_iter()
                .filter(|t| !t.refname[prefix.len()..].contains('/')),
        );
    }
    Ok(refs)
}

/// Checks the version tags among `refs` whose prompt `in_scope` accepts, and returns every
/// version tag found (for the pointer checks). `prompts` are the prompts the checked tree holds:
/// a lightweight tag of one of them is an error, of anything else a warning.
pub(crate) fn check(
    store: &Store,
    refs: &[TagRef],
    in_scope: &dyn Fn(&PromptName) -> bool,
    prompts: &BTreeSet<PromptName>,
    out: &mut Vec<Finding>,
) -> Result<Released> {
    let tags: Vec<VersionTag<'_>> = refs.iter().filter_map(version_tag).collect();
    let mut released = Released::default();
    let mut trees = store.release_trees()?;
    // (ref, annotated, commit to check)
    let mut to_check = Vec::new();
    for tag in &tags {
        let checked = in_scope(&tag.name);
        let (annotated, commit) = match (tag.tag.annotated, tag.tag.peeled) {
            (Some(true), Some(peeled)) => (true, Some(peeled)),
            (Some(false), _) => (false, None),
            _ if !checked => (
                matches!(
                    store.tag_object(tag.tag.target),
                    TagObject::Annotated { .. }
                ),
                None,
            ),
            _ => match store.tag_object(tag.tag.target) {
                TagObject::Missing => {
                    out.push(Finding::error(
                        &tag.tag.refname,
                        None,
                        "bad-tag",
                        format!("its object {} is missing", tag.tag.target),
                    ));
                    (false, None)
                }
                TagObject::Lightweight(_) => (false, None),
                TagObject::Annotated { target, kind } => {
                    if kind.is_some_and(|k| k != ObjectType::Commit) {
                        out.push(Finding::error(
                            &tag.tag.refname,
                            None,
                            "bad-tag",
                            format!(
                                "the tag points at a {}, not a commit",
                                kind.map_or("missing object".into(), |k| k.to_string())
                            ),
                        ));
                        (true, None)
                    } else {
                        (true, Some(target))
                    }
                }
            },
        };
        released
            .by_name
            .entry(tag.name.to_string())
            .or_default()
            .insert(tag.version.clone(), annotated);
        if !checked {
            continue;
        }
        if !annotated && store.object_kind(tag.tag.target).is_some() {
            to_check.push((tag, false, None));
        } else if let Some(commit) = commit {
            to_check.push((tag, true, Some(commit)));
        }
    }
    for (tag, annotated, commit) in to_check {
        if !annotated {
            let known = prompts.contains(&tag.name)
                || released
                    .versions(tag.name.as_str())
                    .is_some_and(|v| v.values().any(|a| *a));
            let (severity, note) = if known {
                (Severity::Error, String::new())
            } else {
                (
                    Severity::Warning,
                    format!(" (there is no prompt `{}`; if this tag is not meant as one of its versions, ignore this)", tag.name),
                )
            };
            out.push(Finding::new(
                &tag.tag.refname,
                None,
                severity,
                "lightweight-tag",
                format!(
                    "`{}` is a lightweight tag; a version is an annotated tag (`promptreg create` makes them){note}",
                    tag.version.tag_name(&tag.name)
                ),
            ));
            continue;
        }
        let Some(commit) = commit else { continue };
        match trees.holds(commit, &tag.name)? {
            Holds::Prompt => {
                links(&mut trees, tag, commit, out)?;
            }
            // A linked prompt.yaml: say so rather than that there is none.
            Holds::Nothing if links(&mut trees, tag, commit, out)? => {}
            Holds::Nothing => out.push(Finding::error(
                &tag.tag.refname,
                None,
                "tag-without-prompt",
                format!(
                    "the tagged commit has no {}; a version's content is that file's directory",
                    tag.name.file()
                ),
            )),
            Holds::NotACommit => out.push(Finding::error(
                &tag.tag.refname,
                None,
                "bad-tag",
                format!("it does not point at a commit ({})", commit),
            )),
        }
    }
    Ok(released)
}

/// Reports a symbolic link or submodule in a release's prompt directory (reading the release
/// refuses it, so the version can never be fetched or rendered); whether there was one.
fn links(
    trees: &mut ReleaseTrees<'_>,
    tag: &VersionTag<'_>,
    commit: git2::Oid,
    out: &mut Vec<Finding>,
) -> Result<bool> {
    if let Some((path, reason)) = trees.first_link(commit, &tag.name)? {
        out.push(Finding::error(
            &tag.tag.refname,
            None,
            "tag-symlink",
            format!(
                "the release holds `{path}` as {reason}; a release is read as regular files only, so this version cannot be fetched"
            ),
        ));
        return Ok(true);
    }
    Ok(false)
}
