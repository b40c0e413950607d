//! How every write begins: refuse what cannot be written to, take promptreg's lock and
//! `index.lock` (see `store::guard`), finish what a killed predecessor left (its index behind
//! its landed commit), then read the branch and its tip under the locks (a writer that finished
//! while we waited moved them).

use std::path::PathBuf;

use crate::store::{short_branch, ObjectId, Store, TreeView, WriteGuard};
use crate::{Error, Result, REGISTRY_FILE};

/// The state a write builds on, read while holding the lock.
pub struct WriteStart<'r> {
    /// Held until the write is done.
    pub guard: WriteGuard,
    pub workdir: PathBuf,
    /// The checked-out branch, `refs/heads/…`.
    pub branch: String,
    pub tip: Option<(ObjectId, TreeView<'r>)>,
}

/// Catches up the index behind commits a killed predecessor landed (recorded in the lock's
/// journal), so the write that follows, and the user's next `git commit`, build on them.
pub fn finish_predecessor(store: &Store, guard: &WriteGuard) -> Result<()> {
    if guard.recovered.landed.is_empty() {
        return Ok(());
    }
    for commit in &guard.recovered.landed {
        // Best effort: a path that changed shape since (a directory replaced by a file, a file
        // made unreadable) is left as it is — `doctor` reports it as `index-behind` — rather
        // than failing this write and, through the journal, every write after it.
        let _ = store
            .behind_commit(*commit)
            .and_then(|behind| store.catch_up(guard, &behind));
        store.retake_index_lock(guard)?;
    }
    guard.index_done()
}

/// Refuses bare repositories, a detached HEAD and merges in progress, takes the write lock,
/// and reads the branch tip.
pub fn begin<'r>(store: &'r Store, operation: &'static str) -> Result<WriteStart<'r>> {
    let workdir = store.workdir(operation)?.to_owned();
    // Checked before waiting for the lock too, so a refusal is immediate.
    store.head_branch()?;
    store.ensure_clean_state()?;
    let guard = store.begin_write()?;
    finish_predecessor(store, &guard)?;
    let (branch, tip) = store.head_branch()?;
    let tip = match tip {
        Some(id) => {
            let tree = store
                .find_commit(id)
                .and_then(|c| c.tree())
                .map_err(Error::git("cannot read HEAD"))?;
            Some((id, tree))
        }
        None => None,
    };
    Ok(WriteStart {
        guard,
        workdir,
        branch,
        tip,
    })
}

impl<'r> WriteStart<'r> {
    /// After a commit that wrote `path` as blob `id` with `content`: the same content in the
    /// working copy (written atomically, directories created) and in the path's index entry,
    /// so the user's next `git commit` keeps the change. Nothing else is touched.
    pub fn mirror(&self, store: &Store, path: &str, content: &[u8], id: ObjectId) -> Result<()> {
        let file = self.workdir.join(path);
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
        }
        self.guard.write_file(&file, content)?;
        let entry = store.written_file_entry(path, id)?;
        store.sync_index(&self.guard, None, &[entry])
    }

    /// The tip's tree, refusing a branch that is not a registry yet.
    pub fn registry_tree(&self, store: &Store) -> Result<&TreeView<'r>> {
        let missing = || Error::RegistryMissing {
            revision: short_branch(&self.branch).to_owned(),
        };
        let (_, tree) = self.tip.as_ref().ok_or_else(missing)?;
        store.entry_id(tree, REGISTRY_FILE).ok_or_else(missing)?;
        Ok(tree)
    }
}
