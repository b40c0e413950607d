//! The registry write lock: a kernel lock (`flock`) on `<git-common-dir>/promptreg.lock`, and
//! the journal of Git lock files its holder creates, kept inside that same file.
//!
//! Writers (init, create, promote, rollback, results record, doctor --fix) hold it for the whole
//! write, so two promptreg processes never interleave. The kernel releases it when its holder
//! dies, so a killed writer never blocks the next one; the file itself is never deleted
//! (deleting a locked file lets two processes each lock a different file of the same name).
//! The holder's pid is written into it after locking, for the message of a writer that waits
//! too long; it is information only.
//!
//! Git's own lock files (`index.lock`, `refs/heads/<b>.lock`, `refs/tags/<t>.lock`) are not
//! released by the kernel. Every one promptreg creates is made as a private file first, recorded
//! in the journal with its inode, and only then linked to the lock name (`link` fails when the
//! name exists, like git's `O_EXCL`). So after a `kill -9`, the next holder reads the journal
//! and removes exactly the lock files whose inode is still the recorded one: provably the dead
//! writer's, never a live git's. The journal also records a commit that landed before its
//! writer could update the index (`landed`), for the next holder to finish.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use git2::Oid;

use crate::{Error, Result};

/// The lock file's name inside the common git directory.
pub const LOCK_FILE: &str = "promptreg.lock";
/// How long a writer waits for another to finish.
const WAIT: Duration = Duration::from_secs(30);
/// The journal's last line; anything after it is the tail of a longer, older journal.
const END: &[u8] = b"end\n";

/// A held lock; dropping it (or the process dying) releases it.
#[derive(Clone, Debug)]
pub struct Lock {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    file: File,
    path: PathBuf,
    journal: Mutex<Journal>,
}

/// What the holder is in the middle of: written into the lock file on every change.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Journal {
    /// The process that wrote it.
    pub pid: Option<String>,
    /// Git lock files created.
    pub locks: Vec<Recorded>,
    /// Private files about to be linked to a lock name.
    pub temps: Vec<PathBuf>,
    /// Commits that moved a branch before the index was updated for them.
    pub landed: Vec<Oid>,
}

/// A Git lock file in the journal: its path and what identifies its inode. A lock file whose
/// inode is freed (renamed over its target, which is later replaced) can have its number
/// reused by a new file, so the change time is recorded too, except (zero) while the file is
/// being created or written: then it is linked at the lock name, which nobody else removes, so
/// its inode cannot be freed and reused before the rename.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub device: u64,
    pub inode: u64,
    pub ctime: (i64, i64),
    pub path: PathBuf,
}

impl Recorded {
    /// Whether the file now at the recorded path is the recorded one.
    pub fn matches(&self, meta: &std::fs::Metadata) -> bool {
        meta.dev() == self.device
            && meta.ino() == self.inode
            && (self.ctime == (0, 0) || self.ctime == (meta.ctime(), meta.ctime_nsec()))
    }
}

/// What a dead predecessor left, as found in the journal when the lock was taken.
#[derive(Debug, Default)]
pub struct Recovered {
    /// The predecessor's pid (information only).
    pub pid: Option<String>,
    /// The Git lock files (and private files) that were provably its and have been removed.
    pub removed: Vec<PathBuf>,
    /// Commits it landed without updating the index.
    pub landed: Vec<Oid>,
}

impl Lock {
    /// Takes the lock, waiting (bounded) while another process holds it, then clears what a
    /// killed predecessor left behind (see the module docs).
    pub fn acquire(common_dir: &Path) -> Result<(Lock, Recovered)> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            if let Some((lock, journal)) = Self::try_acquire(common_dir)? {
                let recovered = lock.recover(&journal);
                return Ok((lock, recovered));
            }
            if started.elapsed() > WAIT {
                let path = common_dir.join(LOCK_FILE);
                let holder = read_journal(&path).pid;
                return Err(Error::Locked {
                    path,
                    holder: describe(holder.as_deref()),
                });
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// Takes the lock if nobody holds it, without waiting and without clearing anything:
    /// returns the lock and the journal a dead predecessor left (empty after a clean release).
    pub fn try_acquire(common_dir: &Path) -> Result<Option<(Lock, Journal)>> {
        let path = common_dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(Error::io(&path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path)(e)),
        }
        let mut previous = Vec::new();
        file.read_to_end(&mut previous).map_err(Error::io(&path))?;
        let found = parse(&previous);
        let lock = Lock {
            inner: Arc::new(Inner {
                file,
                path,
                journal: Mutex::new(Journal::default()),
            }),
        };
        // The predecessor's records stay until they are cleared, so a kill right now loses
        // nothing: the new journal is the old one under a new pid.
        lock.update(|j| {
            *j = Journal {
                pid: Some(std::process::id().to_string()),
                ..found.clone()
            }
        })?;
        Ok(Some((lock, found)))
    }

    /// Whether some process holds the lock right now (for `doctor`).
    pub fn is_held(common_dir: &Path) -> Result<Option<String>> {
        let path = common_dir.join(LOCK_FILE);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(&path)(e)),
        };
        match file.try_lock_shared() {
            Ok(()) => Ok(None),
            Err(std::fs::TryLockError::WouldBlock) => Ok(Some(
                read_journal(&path).pid.unwrap_or_else(|| "?".to_owned()),
            )),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&path)(e)),
        }
    }

    /// Removes the lock files and private files recorded in `journal` that are provably a
    /// dead holder's (same inode), and keeps its landed commits for the caller to finish.
    pub fn recover(&self, journal: &Journal) -> Recovered {
        let mut removed = Vec::new();
        for recorded in &journal.locks {
            let ours =
                std::fs::symlink_metadata(&recorded.path).is_ok_and(|m| recorded.matches(&m));
            if ours && std::fs::remove_file(&recorded.path).is_ok() {
                removed.push(recorded.path.clone());
            }
        }
        for path in &journal.temps {
            if std::fs::remove_file(path).is_ok() {
                removed.push(path.clone());
            }
        }
        // Landed commits stay recorded until the caller has brought the index up to date.
        let _ = self.update(|j| {
            j.locks.retain(|l| !journal.locks.contains(l));
            j.temps.retain(|t| !journal.temps.contains(t));
        });
        Recovered {
            pid: journal.pid.clone(),
            removed,
            landed: journal.landed.clone(),
        }
    }

    /// Forgets landed commits once the index has been brought up to date for them.
    pub fn clear_landed(&self) -> Result<()> {
        self.update(|j| j.landed.clear())
    }

    /// Records that `commit` is about to move a branch, before the index follows.
    pub fn record_landed(&self, commit: Oid) -> Result<()> {
        self.update(|j| j.landed.push(commit))
    }

    /// Creates the Git lock file `path` (`…/index.lock`, `…/<ref>.lock`) the way git does,
    /// exclusively, recorded in the journal first. `None` when it exists (another process holds
    /// it).
    pub fn create_git_lock(&self, path: &Path) -> Result<Option<GitLock>> {
        let temp = temp_name(path);
        // A file of that name can only be left by an earlier process with our pid.
        let _ = std::fs::remove_file(&temp);
        self.update(|j| j.temps.push(temp.clone()))?;
        let created = (|| {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&temp)
                .map_err(Error::io(&temp))?;
            // Journals the file as one of ours (the lock name comes after, where hard links work).
            let record = |file: &std::fs::File, shown: &Path| -> Result<(u64, u64)> {
                let meta = file.metadata().map_err(Error::io(shown))?;
                let (device, inode) = (meta.dev(), meta.ino());
                self.update(|j| {
                    j.locks.push(Recorded {
                        device,
                        inode,
                        ctime: (0, 0),
                        path: path.to_owned(),
                    })
                })?;
                Ok((device, inode))
            };
            let (device, inode) = record(&file, &temp)?;
            match std::fs::hard_link(&temp, path) {
                Ok(()) => Ok(Some((file, device, inode))),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    self.update(|j| j.locks.retain(|l| (l.device, l.inode) != (device, inode)))?;
                    Ok(None)
                }
                // A file system without hard links: create the lock name itself, as git does,
                // and record it right after (a kill in between leaves it to `doctor`).
                Err(_) => {
                    self.update(|j| j.locks.retain(|l| (l.device, l.inode) != (device, inode)))?;
                    let file = match OpenOptions::new()
                        .read(true)
                        .write(true)
                        .create_new(true)
                        .open(path)
                    {
                        Ok(file) => file,
                        Err(e) if e.kind() == ErrorKind::AlreadyExists => return Ok(None),
                        Err(e) => return Err(Error::io(path)(e)),
                    };
                    let (device, inode) = record(&file, path)?;
                    Ok(Some((file, device, inode)))
                }
            }
        })();
        let _ = std::fs::remove_file(&temp);
        self.update(|j| j.temps.retain(|t| *t != temp))?;
        let Some((file, device, inode)) = created? else {
            return Ok(None);
        };
        let held = GitLock {
            lock: self.clone(),
            path: path.to_owned(),
            file,
            device,
            inode,
            done: false,
        };
        held.stamp()?;
        Ok(Some(held))
    }

    /// Runs `write`, which creates (and renames or removes) the private file `temp`, with
    /// `temp` recorded in the journal meanwhile: a writer killed in between leaves it for the
    /// next holder to remove.
    pub fn with_temps<T>(&self, temps: &[PathBuf], write: impl FnOnce() -> Result<T>) -> Result<T> {
        self.update(|j| j.temps.extend(temps.iter().cloned()))?;
        let result = write();
        for temp in temps {
            let _ = std::fs::remove_file(temp);
        }
        self.update(|j| j.temps.retain(|t| !temps.contains(t)))?;
        result
    }

    /// Rewrites the journal in the lock file: the new text in one positioned write, then the
    /// length, so a kill in between leaves the new text followed by ignored old bytes.
    fn update(&self, change: impl FnOnce(&mut Journal)) -> Result<()> {
        let mut journal = self
            .inner
            .journal
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        change(&mut journal);
        let text = render(&journal)?;
        let file = &self.inner.file;
        file.write_all_at(&text, 0)
            .and_then(|()| file.set_len(text.len() as u64))
            .map_err(Error::io(&self.inner.path))
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // A clean release leaves nothing to recover, except a landed commit whose index was
        // not written (an error after the branch moved): the next writer catches it up. Every
        // Git lock file is released by now (each holds this `Inner`). The kernel lock goes
        // with the file.
        let journal = self
            .journal
            .get_mut()
            .map(std::mem::take)
            .unwrap_or_default();
        if journal.landed.is_empty() {
            let _ = self.file.set_len(0);
        } else if let Ok(text) = render(&Journal {
            pid: journal.pid,
            landed: journal.landed,
            ..Journal::default()
        }) {
            let _ = self.file.write_all_at(&text, 0);
            let _ = self.file.set_len(text.len() as u64);
        }
    }
}

/// A Git lock file promptreg holds; dropping it without [`GitLock::commit`] removes it.
#[derive(Debug)]
pub struct GitLock {
    lock: Lock,
    path: PathBuf,
    file: File,
    device: u64,
    inode: u64,
    done: bool,
}

impl GitLock {
    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `content` into the lock file, flushes it to disk and renames it over `target`:
    /// how git lands a new ref value or index.
    pub fn commit(mut self, content: &[u8], target: &Path) -> Result<()> {
        // Writing changes the change time: until it is recorded again, the inode alone says
        // the file is ours (still linked at the lock name, which nobody else removes).
        self.unstamp()?;
        self.file
            .write_all(content)
            .and_then(|()| self.file.sync_all())
            .map_err(Error::io(&self.path))?;
        self.stamp()?;
        std::fs::rename(&self.path, target).map_err(Error::io(target))?;
        self.done = true;
        self.forget()
    }

    /// Records the file's current change time in the journal.
    fn stamp(&self) -> Result<()> {
        let meta = self.file.metadata().map_err(Error::io(&self.path))?;
        let (device, inode) = (self.device, self.inode);
        self.lock.update(|j| {
            for l in j.locks.iter_mut() {
                if (l.device, l.inode) == (device, inode) {
                    l.ctime = (meta.ctime(), meta.ctime_nsec());
                }
            }
        })
    }

    fn unstamp(&self) -> Result<()> {
        let (device, inode) = (self.device, self.inode);
        self.lock.update(|j| {
            for l in j.locks.iter_mut() {
                if (l.device, l.inode) == (device, inode) {
                    l.ctime = (0, 0);
                }
            }
        })
    }

    fn forget(&self) -> Result<()> {
        let (device, inode) = (self.device, self.inode);
        self.lock
            .update(|j| j.locks.retain(|l| (l.device, l.inode) != (device, inode)))
    }
}

impl Drop for GitLock {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let ours = std::fs::symlink_metadata(&self.path)
            .is_ok_and(|m| m.dev() == self.device && m.ino() == self.inode);
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
        let _ = self.forget();
    }
}

/// The private name a lock file is created under before it is linked to `lock`: ends in
/// `.lock`, so git and promptreg's ref listing skip it like any lock file.
fn temp_name(lock: &Path) -> PathBuf {
    let mut name = lock.as_os_str().to_owned();
    name.push(format!(".{}.lock", std::process::id()));
    PathBuf::from(name)
}

fn render(journal: &Journal) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut path_line = |tag: &str, prefix: String, path: &Path| -> Result<()> {
        let bytes = path.as_os_str().as_bytes();
        if bytes.contains(&b'\n') {
            return Err(Error::Io {
                path: path.to_owned(),
                source: std::io::Error::new(ErrorKind::InvalidInput, "a newline in a path"),
            });
        }
        out.extend_from_slice(format!("{tag} {prefix}").as_bytes());
        out.extend_from_slice(bytes);
        out.push(b'\n');
        Ok(())
    };
    for l in &journal.locks {
        let prefix = format!("{} {} {} {} ", l.device, l.inode, l.ctime.0, l.ctime.1);
        path_line("lock", prefix, &l.path)?;
    }
    for path in &journal.temps {
        path_line("temp", String::new(), path)?;
    }
    let mut head = Vec::new();
    if let Some(pid) = &journal.pid {
        writeln!(head, "{pid}").ok();
    }
    for commit in &journal.landed {
        writeln!(head, "landed {commit}").ok();
    }
    head.extend_from_slice(&out);
    head.extend_from_slice(END);
    Ok(head)
}

/// Reads a journal; tolerant of anything (an old-style lock file holds just a pid).
fn parse(bytes: &[u8]) -> Journal {
    let mut journal = Journal::default();
    for (n, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if line == &END[..END.len() - 1] {
            break;
        }
        let text = String::from_utf8_lossy(line);
        if n == 0 && !line.is_empty() && line.iter().all(u8::is_ascii_digit) {
            journal.pid = Some(text.into_owned());
        } else if let Some(rest) = text.strip_prefix("landed ") {
            if let Ok(id) = Oid::from_str(rest.trim()) {
                journal.landed.push(id);
            }
        } else if let Some(rest) = line.strip_prefix(b"temp ") {
            journal
                .temps
                .push(PathBuf::from(std::ffi::OsStr::from_bytes(rest)));
        } else if let Some(rest) = line.strip_prefix(b"lock ") {
            let mut parts = rest.splitn(5, |b| *b == b' ');
            let mut number =
                || -> Option<i128> { std::str::from_utf8(parts.next()?).ok()?.parse().ok() };
            let numbers = (number(), number(), number(), number());
            if let ((Some(device), Some(inode), Some(sec), Some(nsec)), Some(path)) =
                (numbers, parts.next())
            {
                journal.locks.push(Recorded {
                    device: device as u64,
                    inode: inode as u64,
                    ctime: (sec as i64, nsec as i64),
                    path: PathBuf::from(std::ffi::OsStr::from_bytes(path)),
                });
            }
        }
    }
    journal
}

/// The journal in the lock file at `path` (empty when unreadable).
pub fn read_journal(path: &Path) -> Journal {
    std::fs::read(path).map(|b| parse(&b)).unwrap_or_default()
}

/// Whether a process with this id runs on this machine.
pub fn process_alive(pid: &str) -> bool {
    Path::new("/proc").join(pid).exists() || !Path::new("/proc/self").exists()
}

fn describe(holder: Option<&str>) -> String {
    match holder {
        Some(pid) => format!("process {pid}"),
        None => "another process".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let (lock, _) = Lock::acquire(dir.path()).unwrap();
        assert!(Lock::try_acquire(dir.path()).unwrap().is_none());
        assert!(Lock::is_held(dir.path()).unwrap().is_some());
        drop(lock);
        assert!(Lock::is_held(dir.path()).unwrap().is_none());
        // The file stays: deleting a locked file would race.
        assert!(dir.path().join(LOCK_FILE).exists());
        assert!(Lock::try_acquire(dir.path()).unwrap().is_some());
    }

    #[test]
    fn an_old_style_lock_file_blocks_nobody() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(LOCK_FILE), "999999999\n").unwrap();
        let (_lock, recovered) = Lock::acquire(dir.path()).unwrap();
        assert_eq!(recovered.pid.as_deref(), Some("999999999"));
        assert!(recovered.removed.is_empty());
    }

    #[test]
    fn journal_round_trips_and_ignores_a_stale_tail() {
        let journal = Journal {
            pid: Some("42".into()),
            locks: vec![Recorded {
                device: 1,
                inode: 2,
                ctime: (3, 4),
                path: PathBuf::from("/r/.git/index.lock"),
            }],
            temps: vec![PathBuf::from("/r/.git/index.lock.42.lock")],
            landed: vec![Oid::from_str("0123456789012345678901234567890123456789").unwrap()],
        };
        let mut text = render(&journal).unwrap();
        text.extend_from_slice(b"lock 9 9 9 9 /old\n");
        assert_eq!(parse(&text), journal);
    }

    #[test]
    fn git_locks_of_a_dead_holder_are_removed_only_when_still_theirs() {
        let dir = tempfile::tempdir().unwrap();
        let (ours, theirs) = (dir.path().join("a.lock"), dir.path().join("b.lock"));
        {
            let (lock, _) = Lock::acquire(dir.path()).unwrap();
            let held = lock.create_git_lock(&ours).unwrap().unwrap();
            assert!(lock.create_git_lock(&ours).unwrap().is_none(), "exclusive");
            let other = lock.create_git_lock(&theirs).unwrap().unwrap();
            // As if killed now: the kernel drops the lock, the files and the journal stay.
            let journal = read_journal(&dir.path().join(LOCK_FILE));
            assert_eq!(journal.locks.len(), 2);
            assert!(journal.temps.is_empty());
            lock.inner.file.unlock().unwrap();
            std::mem::forget((held, other, lock));
        }
        // Someone else's lock now has the second name (perhaps even the same inode number,
        // freed and reused: its change time differs).
        std::fs::remove_file(&theirs).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&theirs, "").unwrap();
        let (_lock, recovered) = Lock::acquire(dir.path()).unwrap();
        assert_eq!(recovered.removed, vec![ours.clone()]);
        assert!(!ours.exists());
        assert!(theirs.exists());
    }

    #[test]
    fn a_committed_git_lock_lands_and_is_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let (lock, _) = Lock::acquire(dir.path()).unwrap();
        let held = lock
            .create_git_lock(&dir.path().join("r.lock"))
            .unwrap()
            .unwrap();
        held.commit(b"x\n", &dir.path().join("r")).unwrap();
        assert_eq!(std::fs::read(dir.path().join("r")).unwrap(), b"x\n");
        let journal = read_journal(&dir.path().join(LOCK_FILE));
        assert!(journal.locks.is_empty() && journal.temps.is_empty());
        drop(lock);
        assert_eq!(std::fs::read(dir.path().join(LOCK_FILE)).unwrap(), b"");
    }
}
