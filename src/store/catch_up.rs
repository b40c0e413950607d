//! Index entries left behind a promptreg commit, and bringing them up to date.
//!
//! A writer killed after its commit landed but before it wrote the index leaves the index
//! entries (and perhaps the working files) of the paths it committed as they were before: a
//! plain `git commit` in that state would undo the commit. The next writer finds such a commit
//! in the lock's journal ([`Store::behind_commit`]); `doctor` looks for the same shape behind
//! any promptreg commit HEAD still carries ([`Store::behind_head`]). An entry is caught up only
//! when it holds exactly the blob from before that commit and the working file holds that
//! blob or the new one: anything else is the user's work and is left alone.

use std::path::Path;

use git2::{Commit, Oid};

use super::commits::made_by_promptreg;
use super::guard::{IndexChange, WriteGuard};
use super::Store;
use crate::{Error, Result};

/// How many commits `behind_head` walks back per path to find the one that wrote it.
const WALK_LIMIT: usize = 10_000;

/// One path whose index entry is behind a promptreg commit.
#[derive(Clone, Debug)]
pub struct Behind {
    /// The path in the repository (`registry.yaml`).
    pub path: String,
    /// The commit the index is behind, and its subject.
    pub commit: Oid,
    pub summary: String,
    /// The blobs before and in that commit (`None`: absent).
    pub old: Option<Oid>,
    pub new: Option<Oid>,
    /// Whether the working file still holds the old content too (and is rewritten).
    pub rewrite: bool,
    /// Whether it is safe to bring up to date (the working file holds no other edits).
    pub fixable: bool,
}

impl Store {
    /// The paths `commit` changed whose index entries still hold the blob from before it, while
    /// HEAD still holds the commit's blob there. Empty when the commit is unknown.
    pub fn behind_commit(&self, commit: Oid) -> Result<Vec<Behind>> {
        let Ok(commit) = self.repo.find_commit(commit) else {
            return Ok(Vec::new());
        };
        let Some(head_tree) = self.head_tree()? else {
            return Ok(Vec::new());
        };
        let parent_tree = match commit.parent(0) {
            Ok(parent) => Some(parent.tree().map_err(read_failed)?),
            Err(_) => None,
        };
        let tree = commit.tree().map_err(read_failed)?;
        let diff = self
            .repo
            .diff_tree_to_tree(parent_tree.as_ref(), Some(&tree), None)
            .map_err(read_failed)?;
        let index = self.current_index()?;
        let mut out = Vec::new();
        for delta in diff.deltas() {
            let present = |f: git2::DiffFile<'_>| f.exists().then(|| f.id());
            let (old, new) = (present(delta.old_file()), present(delta.new_file()));
            let Some(path) = delta_path(&delta) else {
                continue;
            };
            let staged = index.get_path(Path::new(&path), 0).map(|e| e.id);
            if staged != old || staged == new || self.path_id(head_tree, &path)? != new {
                continue;
            }
            out.push(self.behind(&commit, path, old, new)?);
        }
        Ok(out)
    }

    /// Every promptreg-owned path (`registry.yaml`, `prompts/…`, `results/…`) whose index entry
    /// differs from HEAD, holding exactly what was there before the promptreg commit (one with
    /// a `Prompt:` trailer) that wrote HEAD's content of it.
    pub fn behind_head(&self) -> Result<Vec<Behind>> {
        let Ok(head) = self.repo.head().and_then(|h| h.peel_to_commit()) else {
            return Ok(Vec::new());
        };
        let head_tree = head.tree().map_err(read_failed)?;
        let index = self.current_index()?;
        let diff = self
            .repo
            .diff_tree_to_index(Some(&head_tree), Some(&index), None)
            .map_err(read_failed)?;
        let mut out = Vec::new();
        for delta in diff.deltas() {
            let Some(path) = delta_path(&delta) else {
                continue;
            };
            let owned = path == crate::REGISTRY_FILE
                || path.starts_with(&format!("{}/", crate::PROMPTS_DIR))
                || path.starts_with(&format!("{}/", crate::model::results::RESULTS_DIR));
            if !owned {
                continue;
            }
            let staged = index.get_path(Path::new(&path), 0).map(|e| e.id);
            let in_head = self.path_id(head_tree.id(), &path)?;
            // The commit that gave the path its content at HEAD: walk back while it holds it.
            let mut child = head.clone();
            let mut found = None;
            for _ in 0..WALK_LIMIT {
                let Ok(parent) = child.parent(0) else {
                    break;
                };
                let before = self.path_id(parent.tree_id(), &path)?;
                if before != in_head {
                    found = Some((child, before));
                    break;
                }
                child = parent;
            }
            let Some((commit, before)) = found else {
                continue;
            };
            if commit.parent_count() == 1
                && made_by_promptreg(commit.message_raw_bytes())
                && before == staged
            {
                out.push(self.behind(&commit, path, before, in_head)?);
            }
        }
        Ok(out)
    }

    /// Brings the fixable entries in `behind` (and working files still holding the old
    /// content) up to date, through the guard's `index.lock`.
    pub fn catch_up(&self, guard: &WriteGuard, behind: &[Behind]) -> Result<()> {
        let workdir = self.workdir("write")?;
        let mut changes = Vec::new();
        for b in behind.iter().filter(|b| b.fixable) {
            let entry = match b.new {
                None => None,
                Some(new) => {
                    if b.rewrite {
                        let file = workdir.join(&b.path);
                        if let Some(dir) = file.parent() {
                            std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
                        }
                        guard.write_file(&file, &self.blob(new)?)?;
                    }
                    Some(self.written_file_entry(&b.path, new)?)
                }
            };
            changes.push(IndexChange {
                path: b.path.clone(),
                entry,
            });
        }
        if changes.is_empty() {
            return Ok(());
        }
        self.write_index(guard, None, &changes)
    }

    fn head_tree(&self) -> Result<Option<Oid>> {
        match self.repo.head().and_then(|h| h.peel_to_commit()) {
            Ok(commit) => Ok(Some(commit.tree_id())),
            Err(_) => Ok(None),
        }
    }

    /// Judges the working file of `path`: up to date (only the index is behind), still the old
    /// content (both are caught up), or something else (left alone).
    fn behind(
        &self,
        commit: &Commit<'_>,
        path: String,
        old: Option<Oid>,
        new: Option<Oid>,
    ) -> Result<Behind> {
        // Read as every working-tree read is (`fsread`: no link at any depth, regular files
        // only, bounded). `Err`: a link, a special file or an oversized file is there, or on
        // the way to it — never read, never written through.
        let worktree = crate::fsread::WorkTree::new(self.workdir("write")?);
        let content = match worktree.read(&path, crate::model::yaml::MAX_DOCUMENT_BYTES) {
            Ok(Some(crate::fsread::Content::Bytes(bytes))) => Ok(Some(bytes)),
            Ok(Some(crate::fsread::Content::TooLarge(_))) | Err(Error::NotRegular { .. }) => {
                Err(())
            }
            Ok(None) => Ok(None),
            Err(e) => return Err(e),
        };
        let blob = |id: Option<Oid>| id.map(|id| self.blob(id)).transpose();
        let (old_content, new_content) = (Ok(blob(old)?), Ok(blob(new)?));
        let (rewrite, fixable) = if content == new_content {
            (false, true)
        } else if content == old_content && new.is_some() {
            (true, true)
        } else {
            (false, false)
        };
        Ok(Behind {
            path,
            commit: commit.id(),
            summary: String::from_utf8_lossy(commit.summary_bytes().unwrap_or_default())
                .into_owned(),
            old,
            new,
            rewrite,
            fixable,
        })
    }
}

fn delta_path(delta: &git2::DiffDelta<'_>) -> Option<String> {
    delta
        .new_file()
        .path()
        .or(delta.old_file().path())
        .and_then(Path::to_str)
        .map(str::to_owned)
}

fn read_failed(e: git2::Error) -> Error {
    Error::git("cannot read the history")(e)
}
