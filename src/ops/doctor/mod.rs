//! `doctor`: what killed processes leave behind, and clearing what is safe to clear.
//!
//! promptreg's own lock is a kernel lock (see `store::lock`): it never outlives its holder, so
//! it is never a problem, only a sign that a writer runs now. What a writer killed at the wrong
//! moment can leave is: a Git lock file it created (`index.lock`, `refs/heads/main.lock`, a tag
//! ref's lock) that blocks every later update of that file; libgit2's temporary object files
//! and promptreg's own temporary files; index entries (and working files) still as before a
//! commit that landed, which a `git commit` would undo; and a `create` commit whose tag was
//! never written. Each is reported as a [`Finding`]; with `fix`, those that are safe to clear
//! are, under the write lock.
//!
//! What counts as safe: a Git lock file the journal in `promptreg.lock` proves was created by a
//! promptreg writer that is gone (same path and inode), at any age; any other Git lock file or
//! temporary object only when older than `min_age` while no promptreg writer runs (its creator
//! is unknown: Git commands hold their locks for milliseconds and carry no process id); a file
//! named after a process that is no longer running; an index entry that holds exactly the blob
//! from before a promptreg commit HEAD still carries, while the working file holds that blob or
//! the new one; an untagged `create` commit whose tag ref is free (the tag is created as the
//! commit describes it). A lock held by a running process is never removed.

mod files;
mod index;
mod leftovers;
mod untagged;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::store::{read_journal, Lock, Store, LOCK_FILE};
use crate::Result;

use index::{behind_finding, behind_items, fix_behind, BehindItem};
use leftovers::Scan;
use untagged::{fix_untagged, untagged_creates, Untagged};

/// What a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// promptreg's write lock, held by a running process.
    LiveLock,
    /// A Git lock file (`*.lock` under `refs/`, `packed-refs.lock`, `index.lock`, …).
    GitLock,
    /// A libgit2 temporary object file (`objects/tmp_object_git2_*`).
    TempObject,
    /// A cache entry being written by a process that is gone.
    CacheTemp,
    /// A working-tree file being replaced by a process that is gone.
    WorktreeTemp,
    /// An index entry (and perhaps the working file) still as before a promptreg commit HEAD
    /// carries: its writer was killed after the commit, before updating them.
    IndexBehind,
    /// A private file promptreg creates a lock file or an index from, left by a killed writer.
    LockTemp,
    /// A `create` commit whose version tag was never written (its writer was killed between).
    UntaggedCreate,
}

impl Kind {
    /// The name used in output (`stale-lock`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::LiveLock => "live-lock",
            Kind::GitLock => "git-lock",
            Kind::TempObject => "temp-object",
            Kind::CacheTemp => "cache-temp",
            Kind::WorktreeTemp => "worktree-temp",
            Kind::IndexBehind => "index-behind",
            Kind::LockTemp => "lock-temp",
            Kind::UntaggedCreate => "untagged-create",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One leftover.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub kind: Kind,
    /// The file (absolute).
    pub path: PathBuf,
    /// What it is, who left it, how old it is, and why it was left alone if it was.
    pub detail: String,
    /// Whether it is safe to remove (what `fix` removes).
    pub fixable: bool,
    /// Whether `fix` removed it.
    pub fixed: bool,
}

/// Looks for leftovers of killed processes; with `fix`, removes the ones that are safe to remove.
/// `min_age` is how old a Git lock file or temporary object of unknown origin must be to count
/// as abandoned. Returns every finding (an empty list when there is nothing to report), in a
/// stable order.
pub fn doctor(store: &Store, fix: bool, min_age: Duration) -> Result<Vec<Finding>> {
    let common = store.common_dir();
    let scan = Scan {
        now: SystemTime::now(),
        min_age,
        common: common.to_owned(),
    };
    let lock_path = common.join(LOCK_FILE);
    // With --fix, the write lock is held throughout, so no writer starts while we clear.
    let (lock, journal) = match fix {
        true => match Lock::try_acquire(common)? {
            Some((lock, journal)) => (Some(lock), Some(journal)),
            None => (None, None),
        },
        false => match Lock::is_held(common)? {
            None => (None, Some(read_journal(&lock_path))),
            Some(_) => (None, None),
        },
    };
    let writer_running = journal.is_none();
    let mut found = Vec::new();
    if writer_running {
        scan.live_lock(&lock_path, &mut found)?;
    }
    let journal = journal.unwrap_or_default();
    scan.journal_leftovers(&journal, &mut found)?;
    scan.git_locks(store, writer_running, &mut found)?;
    scan.temp_objects(&common.join("objects"), &mut found)?;
    scan.cache_temps(&common.join("promptreg").join("cache"), &mut found)?;
    scan.index_copies(store.git_dir(), &mut found)?;
    let mut behind = Vec::new();
    let mut untagged = Vec::new();
    if let Ok(workdir) = store.workdir("doctor") {
        scan.worktree_temps(workdir, &mut found)?;
    }
    if !writer_running {
        // While a writer runs, its commit may be ahead of the index for a moment.
        if store.workdir("doctor").is_ok() {
            behind = behind_items(store, store.behind_head()?);
        }
        untagged = untagged_creates(store)?;
    }
    if let (true, Some(lock)) = (fix, lock) {
        // What the journal proves is a dead writer's first, as the next writer would.
        let recovered = lock.recover(&journal);
        for candidate in found.iter_mut() {
            if recovered.removed.contains(&candidate.finding.path) {
                candidate.finding.fixed = true;
            }
        }
        for candidate in found
            .iter_mut()
            .filter(|c| c.finding.fixable && !c.finding.fixed)
        {
            candidate.remove();
        }
        // After the locks are gone: the index and refs may have been locked by the same writer.
        let pending = behind.iter().any(|b| b.finding.fixable)
            || untagged.iter().any(|u: &Untagged| u.finding.fixable);
        if pending {
            match store.guard_with(lock) {
                Ok(guard) => {
                    fix_untagged(store, &guard, &mut untagged);
                    fix_behind(store, &guard, &mut behind);
                }
                Err(e) => note_all(&mut behind, &mut untagged, &format!("cannot fix it: {e}")),
            }
        }
    }
    let mut findings: Vec<Finding> = found.into_iter().map(|c| c.finding).collect();
    findings.extend(behind.iter().map(behind_finding));
    findings.extend(untagged.into_iter().map(|u| u.finding));
    Ok(findings)
}

fn note<'a>(findings: impl Iterator<Item = &'a mut Finding>, why: &str) {
    for finding in findings.filter(|f| f.fixable && !f.fixed) {
        finding.detail.push_str(&format!("; {why}"));
    }
}

fn note_all(behind: &mut [BehindItem], untagged: &mut [Untagged], why: &str) {
    note(behind.iter_mut().map(|i| &mut i.finding), why);
    note(untagged.iter_mut().map(|i| &mut i.finding), why);
}
