//! Writing: commits that touch only the paths an operation owns, made without the user's index,
//! landed with a compare-and-swap on the branch, then mirrored into the index entries of exactly
//! those paths (what `git commit -- <paths>` does), so the user's next commit cannot undo them.

use std::path::Path;
use std::time::Duration;

use git2::build::TreeUpdateBuilder;
use git2::{ErrorCode, FileMode, Index, IndexEntry, Oid};

use super::branch::RefUpdate;
use super::file_entry::FileEntry;
use super::guard::{IndexChange, WriteGuard};
use super::{Store, TreeView};
use crate::store::identity::Signatures;
use crate::{Error, Result};

/// How often a commit is retried when the branch moves or its ref is locked.
const ATTEMPTS: u32 = 60;

/// One change to a tree: put a blob or a tree at a path.
pub struct PathUpdate {
    pub path: String,
    pub id: Oid,
    pub mode: FileMode,
}

impl PathUpdate {
    /// Puts the blob `id` at `path` as a regular (non-executable) file.
    pub fn file(path: impl Into<String>, id: Oid) -> Self {
        PathUpdate {
            path: path.into(),
            id,
            mode: FileMode::Blob,
        }
    }

    /// Puts the tree `id` at `path`, replacing whatever was there.
    pub fn tree(path: impl Into<String>, id: Oid) -> Self {
        PathUpdate {
            path: path.into(),
            id,
            mode: FileMode::Tree,
        }
    }
}

/// What a commit attempt produced.
pub enum Committed {
    /// A new commit on the branch.
    New(Oid),
    /// The tip already had that content; nothing was committed.
    Unchanged(Oid),
}

impl Committed {
    /// The commit that holds the content either way.
    pub fn id(&self) -> Oid {
        match self {
            Committed::New(id) | Committed::Unchanged(id) => *id,
        }
    }
}

impl Store {
    /// Hashes working-tree files as `git add` would (clean filters, line endings) and returns
    /// their index entries. The on-disk index is not changed.
    pub fn hash_worktree_files(&self, paths: &[String]) -> Result<Vec<FileEntry>> {
        let mut index = self.current_index()?;
        let mut entries = Vec::with_capacity(paths.len());
        for path in paths {
            index
                .add_path(Path::new(path))
                .map_err(Error::git(format!("cannot hash `{path}`")))?;
            let entry = index
                .get_path(Path::new(path), 0)
                .ok_or_else(|| Error::Git {
                    context: format!("cannot hash `{path}`"),
                    source: git2::Error::from_str("entry vanished"),
                })?;
            entries.push(FileEntry {
                path: path.clone(),
                entry,
            });
        }
        // Drop the in-memory additions: the index is updated only after the commit lands.
        index
            .read(true)
            .map_err(Error::git("cannot read the index"))?;
        Ok(entries)
    }

    /// Builds the tree holding exactly `files`, and returns the id of its sub-tree at `dir`.
    pub fn tree_of(&self, files: &[FileEntry], dir: &str) -> Result<Oid> {
        let mut index = Index::new().map_err(Error::git("cannot create an index"))?;
        for file in files {
            index
                .add(&file.entry)
                .map_err(Error::git(format!("cannot add `{}`", file.path)))?;
        }
        let root = index
            .write_tree_to(&self.repo)
            .map_err(Error::git("cannot write the tree"))?;
        let root = self
            .repo
            .find_tree(root)
            .map_err(Error::git("cannot read the tree"))?;
        root.get_path(Path::new(dir))
            .map(|e| e.id())
            .map_err(Error::git(format!("cannot find `{dir}`")))
    }

    /// Commits on `branch`: `updates` gets the tip's tree (`None` when unborn) and returns the
    /// changes to make. The branch moves only if it still points at the tip the changes were
    /// computed from; otherwise they are recomputed on the new tip and tried again.
    pub fn commit_on_branch(
        &self,
        guard: &WriteGuard,
        branch: &str,
        message: &str,
        signatures: &Signatures,
        updates: &dyn Fn(Option<&TreeView<'_>>) -> Result<Vec<PathUpdate>>,
    ) -> Result<Committed> {
        let author = signatures.author.signature()?;
        let committer = signatures.committer.signature()?;
        let mut pause = Duration::from_millis(1);
        let mut locked = None;
        for _ in 0..ATTEMPTS {
            let tip = match self.repo.refname_to_id(branch) {
                Ok(id) => Some(
                    self.repo
                        .find_commit(id)
                        .map_err(Error::git("cannot read the branch tip"))?,
                ),
                Err(e) if e.code() == ErrorCode::NotFound => None,
                Err(e) => return Err(Error::git(format!("cannot read `{branch}`"))(e)),
            };
            let base = match &tip {
                Some(commit) => Some(TreeView::new(
                    commit
                        .tree()
                        .map_err(Error::git("cannot read the tip's tree"))?,
                )),
                None => None,
            };
            let changes = updates(base.as_ref())?;
            let tree_id = match &base {
                Some(base) => {
                    let mut builder = TreeUpdateBuilder::new();
                    for change in &changes {
                        builder.upsert(&change.path, change.id, change.mode);
                    }
                    builder
                        .create_updated(&self.repo, &base.tree)
                        .map_err(Error::git("cannot build the tree"))?
                }
                None => self.tree_from_scratch(&changes)?,
            };
            if let (Some(tip), Some(base)) = (&tip, &base) {
                if base.id() == tree_id {
                    return Ok(Committed::Unchanged(tip.id()));
                }
            }
            let tree = self
                .repo
                .find_tree(tree_id)
                .map_err(Error::git("cannot read the new tree"))?;
            let parents: Vec<&git2::Commit<'_>> = tip.iter().collect();
            let id = self
                .repo
                .commit(None, &author, &committer, message, &tree, &parents)
                .map_err(Error::git("cannot write the commit"))?;
            let reflog = format!("commit: {}", message.lines().next().unwrap_or(""));
            let expected = tip.as_ref().map(|c| c.id());
            match self.update_branch(guard, branch, id, expected, &reflog, &signatures.committer)? {
                RefUpdate::Done => return Ok(Committed::New(id)),
                RefUpdate::Locked(path) => locked = Some(path),
                RefUpdate::Moved => locked = None,
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(100));
        }
        if let Some(path) = locked {
            // The ref's lock file never went away: most likely left by a killed writer.
            return Err(Error::RefLocked { path });
        }
        Err(Error::Contended {
            branch: super::short_branch(branch).to_owned(),
            attempts: ATTEMPTS,
        })
    }

    fn tree_from_scratch(&self, changes: &[PathUpdate]) -> Result<Oid> {
        let empty = self
            .repo
            .treebuilder(None)
            .and_then(|b| b.write())
            .map_err(Error::git("cannot write a tree"))?;
        let empty = self
            .repo
            .find_tree(empty)
            .map_err(Error::git("cannot read a tree"))?;
        let mut builder = TreeUpdateBuilder::new();
        for change in changes {
            builder.upsert(&change.path, change.id, change.mode);
        }
        builder
            .create_updated(&self.repo, &empty)
            .map_err(Error::git("cannot build the tree"))
    }

    /// Makes the index agree with a commit for exactly `files` — and, with `dir`, drops the
    /// other entries under that directory (files the commit removed) — leaving every other
    /// entry as it was; written through the guard's `index.lock`.
    pub fn sync_index(
        &self,
        guard: &WriteGuard,
        dir: Option<&str>,
        files: &[FileEntry],
    ) -> Result<()> {
        let changes: Vec<IndexChange> = files
            .iter()
            .map(|f| IndexChange {
                path: f.path.clone(),
                entry: Some(f.clone()),
            })
            .collect();
        self.write_index(guard, dir, &changes)?;
        guard.index_done()
    }
}

impl Store {
    /// The index entry for a working-tree file promptreg has just written with exactly the
    /// content of blob `id` (so nothing needs hashing or filtering): its stat data and the id.
    pub fn written_file_entry(&self, path: &str, id: Oid) -> Result<FileEntry> {
        use std::os::unix::fs::MetadataExt;
        let workdir = self.workdir("write")?;
        let meta = std::fs::metadata(workdir.join(path)).map_err(Error::io(path))?;
        let time = |secs: i64, nanos: i64| git2::IndexTime::new(secs as i32, nanos as u32);
        let executable = meta.mode() & 0o111 != 0;
        Ok(FileEntry {
            path: path.to_owned(),
            entry: IndexEntry {
                ctime: time(meta.ctime(), meta.ctime_nsec()),
                mtime: time(meta.mtime(), meta.mtime_nsec()),
                dev: meta.dev() as u32,
                ino: meta.ino() as u32,
                mode: if executable { 0o100755 } else { 0o100644 },
                uid: meta.uid(),
                gid: meta.gid(),
                file_size: meta.size() as u32,
                id,
                flags: path.len().min(0xfff) as u16,
                flags_extended: 0,
                path: path.as_bytes().to_vec(),
            },
        })
    }

    /// Whether the index entry of `path` differs from the blob `tree` has there (staged edits).
    pub fn index_differs(&self, path: &str, tree: &TreeView<'_>) -> Result<bool> {
        let index = self.current_index()?;
        let staged = index.get_path(Path::new(path), 0).map(|e| e.id);
        Ok(staged != self.entry_id(tree, path))
    }
}
