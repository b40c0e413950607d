//! What `validate` (and `list`) read from Git besides trees and blobs: the tag refs under a prefix with
//! their targets (and the peeled commits `packed-refs` records for free), the objects tags point
//! at, whether release commits hold a prompt's `prompt.yaml`, and the entries of the index.

use std::collections::HashMap;

use git2::{ObjectType, Odb, Oid};

use super::tree_index::TreeIndex;
use super::trees::{link_refusal, links_below, raw_entries};
use super::{refs, Store};
use crate::{Error, PromptName, Result, Version};

/// A ref under `refs/tags/` and where it points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagRef {
    /// The full ref name, `refs/tags/<name>/v<version>`.
    pub refname: String,
    /// The object the ref names directly.
    pub target: Oid,
    /// Whether that object is a tag object, when the ref store says so without reading it.
    pub annotated: Option<bool>,
    /// The commit (or other non-tag object) the tag peels to, when `packed-refs` records it.
    pub peeled: Option<Oid>,
}

/// What a tag ref's target object is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagObject {
    /// The object is not in the repository.
    Missing,
    /// A tag object pointing at `target` (of kind `kind`, `None` when unknown).
    Annotated {
        target: Oid,
        kind: Option<ObjectType>,
    },
    /// Not a tag object: a lightweight tag naming a commit (or a tree or blob).
    Lightweight(Option<ObjectType>),
}

/// One entry of the index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexFile {
    /// The path, `/`-separated, relative to the working tree (lossily decoded).
    pub path: String,
    /// The Git file mode (`0o100644`, `0o120000` for a symbolic link, `0o160000` for a submodule).
    pub mode: u32,
    pub id: Oid,
    /// The merge stage: 0 normally, 1–3 for an unresolved conflict.
    pub stage: u16,
}

impl Store {
    /// A digest of the listing [`Store::tag_refs`] makes for `prefix`, made from the bytes it
    /// is read from without parsing them (see `refs::listing_digest`).
    pub fn tag_listing_digest(&self, prefix: &str) -> Result<[u8; 32]> {
        refs::listing_digest(self.common_dir(), prefix)
    }

    /// The refs whose names start with `prefix` (ending in `/`, e.g. `refs/tags/`), sorted by
    /// name, loose refs winning over packed ones.
    pub fn tag_refs(&self, prefix: &str) -> Result<Vec<TagRef>> {
        Ok(refs::list_prefix(self.common_dir(), prefix)?
            .into_iter()
            .map(|(refname, target)| TagRef {
                refname,
                target: target.id,
                annotated: target.annotated,
                peeled: target.peeled,
            })
            .collect())
    }

    /// The refs shaped like versions of `name` (`refs/tags/<name>/v<semver>`) that are not
    /// annotated tags, so not versions ([`Store::versions`] leaves them out), each with the
    /// [`Error::BadTag`] a warning shows.
    pub fn lightweight_version_tags(&self, name: &PromptName) -> Result<Vec<(Version, Error)>> {
        let prefix = name.tag_prefix();
        let mut found = Vec::new();
        for (refname, target) in refs::list_prefix(self.common_dir(), &prefix)? {
            let Some(version) = Version::from_tag_component(&refname[prefix.len()..]) else {
                continue;
            };
            let annotated = target
                .annotated
                .unwrap_or_else(|| self.object_kind(target.id) == Some(ObjectType::Tag));
            if !annotated {
                let error = Error::BadTag {
                    tag: version.tag_name(name),
                    reason: "it is a lightweight tag; versions are annotated tags".into(),
                };
                found.push((version, error));
            }
        }
        found.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(found)
    }

    /// What the object a tag ref names is.
    pub fn tag_object(&self, id: Oid) -> TagObject {
        let Ok(object) = self.repo.find_object(id, None) else {
            return TagObject::Missing;
        };
        match object.as_tag() {
            Some(tag) => TagObject::Annotated {
                target: tag.target_id(),
                kind: tag.target_type(),
            },
            None => TagObject::Lightweight(object.kind()),
        }
    }

    /// The kind of object `id` is, `None` when it is missing.
    pub fn object_kind(&self, id: Oid) -> Option<ObjectType> {
        let odb = self.repo.odb().ok()?;
        odb.read_header(id).ok().map(|(_, kind)| kind)
    }

    /// Every entry of the index (the staging area), in index order.
    pub fn index_files(&self) -> Result<Vec<IndexFile>> {
        let index = self
            .repo
            .index()
            .map_err(Error::git("cannot read the index"))?;
        Ok(index
            .iter()
            .map(|entry| IndexFile {
                path: String::from_utf8_lossy(&entry.path).into_owned(),
                mode: entry.mode,
                id: entry.id,
                stage: (entry.flags >> 12) & 0x3,
            })
            .collect())
    }

    /// The content of blob `id`.
    pub fn blob(&self, id: Oid) -> Result<Vec<u8>> {
        let blob = self
            .repo
            .find_blob(id)
            .map_err(Error::git(format!("cannot read blob {id}")))?;
        Ok(blob.content().to_vec())
    }

    /// The size of object `id` in bytes, without reading it.
    pub fn object_size(&self, id: Oid) -> Result<u64> {
        let odb = self
            .repo
            .odb()
            .map_err(Error::git("cannot open the object database"))?;
        let (size, _) = odb
            .read_header(id)
            .map_err(Error::git(format!("cannot read object {id}")))?;
        Ok(size as u64)
    }

    /// A reader of release commits' `prompts/` trees (each read once).
    pub fn release_trees(&self) -> Result<ReleaseTrees<'_>> {
        Ok(ReleaseTrees {
            store: self,
            odb: self
                .repo
                .odb()
                .map_err(Error::git("cannot open the object database"))?,
            prompts: HashMap::new(),
        })
    }
}

/// Whether a release commit holds a prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holds {
    /// `prompts/<name>/prompt.yaml` is a file in the commit's tree.
    Prompt,
    /// It is not.
    Nothing,
    /// The object is missing or not a commit.
    NotACommit,
}

/// A `prompts/` tree's entries, found by name.
type TreeEntries = TreeIndex;

/// Entries of the `prompts/` trees of release commits: a large registry's `prompts/` tree has
/// thousands of entries and every release commit is shared by many tags, so each is read and
/// indexed once, and only the small trees below it are read per tag.
pub struct ReleaseTrees<'r> {
    store: &'r Store,
    odb: Odb<'r>,
    /// Commit → the entries of its `prompts/` tree (`None`: no such tree, or not a commit).
    prompts: HashMap<Oid, Option<TreeEntries>>,
}

impl ReleaseTrees<'_> {
    /// Whether `commit` holds `prompts/<name>/prompt.yaml`.
    pub fn holds(&mut self, commit: Oid, name: &PromptName) -> Result<Holds> {
        if self.prompt_file(commit, name)?.is_some() {
            return Ok(Holds::Prompt);
        }
        Ok(match self.prompts.get(&commit) {
            Some(Some(_)) => Holds::Nothing,
            _ if self.store.object_kind(commit) == Some(ObjectType::Commit) => Holds::Nothing,
            _ => Holds::NotACommit,
        })
    }

    /// Whether `commit`'s `prompts/` tree has been read: when it has not (there is none, or
    /// an object on the way is missing), what a release of that commit holds was not seen.
    pub fn read_prompts_of(&self, commit: Oid) -> bool {
        matches!(self.prompts.get(&commit), Some(Some(_)))
    }

    /// The blob id of `prompts/<name>/prompt.yaml` in `commit`, when it is a regular file there.
    pub fn prompt_file(&mut self, commit: Oid, name: &PromptName) -> Result<Option<Oid>> {
        if !self.prompts.contains_key(&commit) {
            let entries = self.read_prompts_tree(commit)?;
            self.prompts.insert(commit, entries);
        }
        let Some(Some(top)) = self.prompts.get(&commit) else {
            return Ok(None);
        };
        let mut segments = name.as_str().split('/');
        let first = segments.next().unwrap_or_default();
        let Some((TREE_MODE, mut current)) = top.get(first.as_bytes()) else {
            return Ok(None);
        };
        for segment in segments {
            match self.entry(current, segment.as_bytes())? {
                Some((TREE_MODE, id)) => current = id,
                _ => return Ok(None),
            }
        }
        Ok(match self.entry(current, crate::PROMPT_FILE.as_bytes())? {
            Some((mode, id)) if mode == 0o100644 || mode == 0o100755 => Some(id),
            _ => None,
        })
    }

    /// The first symbolic link or submodule on the way to or below `prompts/<name>` in
    /// `commit` (its path and what it is): reading that release refuses it. Uses the same
    /// indexed `prompts/` tree as [`ReleaseTrees::prompt_file`].
    pub fn first_link(
        &mut self,
        commit: Oid,
        name: &PromptName,
    ) -> Result<Option<(String, crate::fsread::Refusal)>> {
        if !self.prompts.contains_key(&commit) {
            let entries = self.read_prompts_tree(commit)?;
            self.prompts.insert(commit, entries);
        }
        let Some(Some(top)) = self.prompts.get(&commit) else {
            // No `prompts/` tree: perhaps a link where it should be.
            let Ok(commit) = self.store.repo.find_commit(commit) else {
                return Ok(None);
            };
            return self.store.first_link(commit.tree_id(), &name.dir());
        };
        let mut segments = name.as_str().split('/');
        let first = segments.next().unwrap_or_default();
        let mut at = format!("{}/{first}", crate::PROMPTS_DIR);
        let mut found = top.get(first.as_bytes());
        for segment in segments {
            match found {
                Some((TREE_MODE, id)) => found = self.entry(id, segment.as_bytes())?,
                Some((mode, _)) => return Ok(link_refusal(mode).map(|r| (at, r))),
                None => return Ok(None),
            }
            at = format!("{at}/{segment}");
        }
        match found {
            Some((TREE_MODE, id)) => links_below(&self.odb, id, &at),
            Some((mode, _)) => Ok(link_refusal(mode).map(|r| (at, r))),
            None => Ok(None),
        }
    }

    fn read_prompts_tree(&self, commit: Oid) -> Result<Option<TreeEntries>> {
        let Ok(commit) = self.store.repo.find_commit(commit) else {
            return Ok(None);
        };
        let Some(id) = self.store.path_id(commit.tree_id(), crate::PROMPTS_DIR)? else {
            return Ok(None);
        };
        let Ok(object) = self.odb.read(id) else {
            return Ok(None);
        };
        if object.kind() != ObjectType::Tree {
            return Ok(None);
        }
        Ok(Some(TreeIndex::new(object.data().to_vec())))
    }

    /// The entry `name` of tree `tree`: its mode and id.
    fn entry(&self, tree: Oid, name: &[u8]) -> Result<Option<(u32, Oid)>> {
        let object = self
            .odb
            .read(tree)
            .map_err(Error::git(format!("cannot read tree {tree}")))?;
        if object.kind() != ObjectType::Tree {
            return Ok(None);
        }
        let found = raw_entries(object.data())
            .find(|(_, entry, _)| *entry == name)
            .map(|(mode, _, id)| (mode, id));
        Ok(found)
    }
}

const TREE_MODE: u32 = 0o40000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_entries_parse_and_stop_on_garbage() {
        let mut data = Vec::new();
        data.extend_from_slice(b"100644 a.txt\0");
        data.extend_from_slice(&[1; 20]);
        data.extend_from_slice(b"40000 dir\0");
        data.extend_from_slice(&[2; 20]);
        data.extend_from_slice(b"junk");
        let entries: Vec<_> = raw_entries(&data).collect();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].0, 0o100644);
        assert_eq!(
            entries[1],
            (TREE_MODE, &b"dir"[..], Oid::from_bytes(&[2; 20]).unwrap())
        );
    }
}
