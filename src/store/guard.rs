//! What a write holds from start to end: promptreg's lock and, as git's own commands do,
//! the repository's `index.lock`.
//!
//! Git's protocol for a commit is: create `index.lock` exclusively, read HEAD, write objects,
//! move the branch (with its own `<ref>.lock` and old-value check), write the new index into
//! `index.lock` and rename it over `index`. Holding `index.lock` across the whole span is what
//! makes a concurrent `git commit` (which takes `index.lock` first, also with `-- <path>` and
//! its temporary index) either fail with git's usual "index.lock exists" or run after us and see
//! our commit and our index; never read HEAD after our commit with the index from before it.
//!
//! libgit2's `Index::write` takes `index.lock` itself, so it cannot write while we hold it: the
//! index is edited in a private copy (`index.promptreg-<pid>` in the git directory) and the
//! result copied into the held lock file.

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use git2::{Index, Oid};

use super::file_entry::FileEntry;
use super::lock::{GitLock, Lock, Recovered};
use super::Store;
use crate::{Error, Result};

/// How long a writer waits for a Git command to release `index.lock`.
const INDEX_WAIT: Duration = Duration::from_secs(10);

/// The locks of one write; dropping it releases them (an unwritten `index.lock` is removed).
pub struct WriteGuard {
    pub(crate) lock: Lock,
    index: Mutex<Option<GitLock>>,
    /// What a killed predecessor left, already cleared (its lock files) or to finish (the
    /// index of its landed commits, see [`Store::begin_write`]).
    pub recovered: Recovered,
}

/// One index entry to set (`entry`) or remove (`None`).
pub struct IndexChange {
    pub path: String,
    pub entry: Option<FileEntry>,
}

impl Store {
    /// Takes promptreg's lock (clearing a dead predecessor's Git lock files), then
    /// `index.lock`, waiting a bounded time for a Git command holding it.
    pub fn begin_write(&self) -> Result<WriteGuard> {
        let (lock, recovered) = Lock::acquire(self.common_dir())?;
        let index = self.take_index_lock(&lock)?;
        Ok(WriteGuard {
            lock,
            index: Mutex::new(Some(index)),
            recovered,
        })
    }

    /// A guard around a lock already held (`doctor --fix`, which clears Git lock files first):
    /// takes `index.lock`.
    pub fn guard_with(&self, lock: Lock) -> Result<WriteGuard> {
        let index = self.take_index_lock(&lock)?;
        Ok(WriteGuard {
            lock,
            index: Mutex::new(Some(index)),
            recovered: Recovered::default(),
        })
    }

    fn take_index_lock(&self, lock: &Lock) -> Result<GitLock> {
        let path = self.git_dir().join("index.lock");
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            if let Some(held) = lock.create_git_lock(&path)? {
                return Ok(held);
            }
            if started.elapsed() > INDEX_WAIT {
                return Err(Error::IndexLocked { path });
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// The index as it is on disk now (read fresh: a Git command may have changed it before we
    /// held `index.lock`).
    pub(crate) fn current_index(&self) -> Result<Index> {
        let mut index = self
            .repo
            .index()
            .map_err(Error::git("cannot open the index"))?;
        index
            .read(true)
            .map_err(Error::git("cannot read the index"))?;
        Ok(index)
    }

    /// Writes the index with exactly `changes` applied — and, with `dir`, every other entry
    /// under that directory dropped — through the held `index.lock` (taken again first when an
    /// earlier call used it up).
    pub fn write_index(
        &self,
        guard: &WriteGuard,
        dir: Option<&str>,
        changes: &[IndexChange],
    ) -> Result<()> {
        let mut slot = guard
            .index
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let held = match slot.take() {
            Some(held) => held,
            None => self.take_index_lock(&guard.lock)?,
        };
        let bytes = self.edited_index(guard, dir, changes)?;
        let target = self.git_dir().join("index");
        held.commit(&bytes, &target)
    }

    /// Takes `index.lock` again after [`Store::write_index`] used it up, for a write that
    /// continues (reading HEAD must happen under it).
    pub fn retake_index_lock(&self, guard: &WriteGuard) -> Result<()> {
        let mut slot = guard
            .index
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if slot.is_none() {
            *slot = Some(self.take_index_lock(&guard.lock)?);
        }
        Ok(())
    }

    /// The bytes of the current index with `changes` applied, made in a private copy.
    fn edited_index(
        &self,
        guard: &WriteGuard,
        dir: Option<&str>,
        changes: &[IndexChange],
    ) -> Result<Vec<u8>> {
        let source = self.git_dir().join("index");
        let copy = self
            .git_dir()
            .join(format!("index.promptreg-{}", std::process::id()));
        let copy_lock = self
            .git_dir()
            .join(format!("index.promptreg-{}.lock", std::process::id()));
        guard.lock.with_temps(&[copy.clone(), copy_lock], || {
            match std::fs::copy(&source, &copy) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let _ = std::fs::remove_file(&copy);
                }
                Err(e) => return Err(Error::io(&source)(e)),
            }
            let mut index = Index::open(&copy).map_err(Error::git("cannot read the index"))?;
            if let Some(dir) = dir {
                index
                    .remove_dir(Path::new(dir), 0)
                    .map_err(Error::git(format!("cannot update `{dir}` in the index")))?;
            }
            for change in changes {
                let failed = Error::git(format!("cannot update `{}` in the index", change.path));
                match &change.entry {
                    Some(file) => index.add(&file.entry).map_err(failed)?,
                    None => match index.remove_path(Path::new(&change.path)) {
                        Ok(()) => {}
                        Err(e) if e.code() == git2::ErrorCode::NotFound => {}
                        Err(e) => return Err(failed(e)),
                    },
                }
            }
            index
                .write()
                .map_err(Error::git("cannot write the index"))?;
            std::fs::read(&copy).map_err(Error::io(&copy))
        })
    }

    /// Records, before `commit` moves a branch, that the index is yet to follow (see
    /// `store::lock`): a writer killed in between leaves it for the next one to finish.
    pub(crate) fn record_landing(&self, guard: &WriteGuard, commit: Oid) -> Result<()> {
        guard.lock.record_landed(commit)
    }
}

impl WriteGuard {
    /// Writes a working-tree file atomically ([`super::write_atomic`]), its temporary file
    /// recorded in the journal so a kill leaves nothing for the user to clean.
    pub fn write_file(&self, path: &Path, content: &[u8]) -> Result<()> {
        self.lock.with_temps(&[super::atomic_temp(path)], || {
            super::write_atomic(path, content)
        })
    }

    /// The kernel lock, for taking further Git lock files (refs) under it.
    pub fn lock(&self) -> &Lock {
        &self.lock
    }

    /// Marks the landed commits (this write's and a predecessor's) as reflected in the index.
    pub fn index_done(&self) -> Result<()> {
        self.lock.clear_landed()
    }
}
