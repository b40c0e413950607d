//! Moving a branch ref with compare-and-swap, the way `git update-ref <ref> <new> <old>` does:
//! take `<ref>.lock` exclusively, check the current value, write the new one into the lock file
//! and rename it into place, then append to the reflogs.
//!
//! libgit2 does the same but first loads and checksums all of `packed-refs` to rule out name
//! conflicts (a quarter of a promotion at 100,000 tags); a branch that already exists cannot
//! conflict, so this reads only the branch's own entry.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use git2::Oid;

use super::guard::WriteGuard;
use super::{refs, Store};
use crate::store::identity::Identity;
use crate::{Error, Result};

/// How a compare-and-swap ended.
pub enum RefUpdate {
    /// The branch now points at the new commit.
    Done,
    /// Another process holds the ref's lock file.
    Locked(PathBuf),
    /// The branch no longer points where the caller expected.
    Moved,
}

impl Store {
    /// Moves `branch` (`refs/heads/…`) from `expected` (`None`: unborn) to `new`, recording
    /// `reflog` in the branch's reflog and, when it is checked out, in HEAD's.
    pub fn update_branch(
        &self,
        guard: &WriteGuard,
        branch: &str,
        new: Oid,
        expected: Option<Oid>,
        reflog: &str,
        committer: &Identity,
    ) -> Result<RefUpdate> {
        let path = self.common_dir().join(branch);
        let lock = lock_path(&path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(Error::io(parent))?;
        }
        let Some(held) = guard.lock().create_git_lock(&lock)? else {
            return Ok(RefUpdate::Locked(lock));
        };
        if self.current_target(branch, &path)? != expected {
            return Ok(RefUpdate::Moved);
        }
        // Before the ref moves: a writer killed after it leaves the index for the next one.
        self.record_landing(guard, new)?;
        held.commit(format!("{new}\n").as_bytes(), &path)?;
        // The ref moved; a reflog that cannot be written is not worth failing over.
        let line = reflog_line(expected, new, committer, reflog);
        let _ = append(&self.common_dir().join("logs").join(branch), &line);
        if self.head_branch().is_ok_and(|(head, _)| head == branch) {
            let _ = append(&self.repo.path().join("logs").join("HEAD"), &line);
        }
        Ok(RefUpdate::Done)
    }

    /// The branch's current target: its loose ref, else its `packed-refs` entry.
    fn current_target(&self, branch: &str, path: &Path) -> Result<Option<Oid>> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let text = text.trim();
                Oid::from_str(text).map(Some).map_err(|_| Error::Io {
                    path: path.to_owned(),
                    source: std::io::Error::new(
                        ErrorKind::InvalidData,
                        format!("not a commit id: `{text}`"),
                    ),
                })
            }
            Err(e) if matches!(e.kind(), ErrorKind::NotFound) => {
                refs::packed_lookup(self.common_dir(), branch)
            }
            Err(e) => Err(Error::io(path)(e)),
        }
    }
}

pub(crate) fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// `<old> <new> <name> <<email>> <seconds> <±hhmm>\t<message>`, as git writes it.
fn reflog_line(old: Option<Oid>, new: Oid, who: &Identity, message: &str) -> String {
    let old = old.unwrap_or(Oid::ZERO_SHA1);
    let offset = who.when.offset().local_minus_utc() / 60;
    let sign = if offset < 0 { '-' } else { '+' };
    let message = message.lines().next().unwrap_or("");
    format!(
        "{old} {new} {} <{}> {} {sign}{:02}{:02}\t{message}\n",
        who.name,
        who.email,
        who.when.timestamp(),
        offset.abs() / 60,
        offset.abs() % 60
    )
}

fn append(path: &Path, line: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(line.as_bytes())
}
