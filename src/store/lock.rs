//! The registry write lock: `<git-common-dir>/promptreg.lock`, created exclusively.
//!
//! Writers (create, promote) hold it from reading the branch tip to updating the index, so two
//! promptreg processes never interleave. The branch update is additionally a compare-and-swap, so
//! writers that do not take the lock (plain `git commit`) cannot lose an update either.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// The lock file's name inside the common git directory.
pub const LOCK_FILE: &str = "promptreg.lock";
/// How long a writer waits for another to finish.
const WAIT: Duration = Duration::from_secs(30);

/// A held lock; dropping it releases it.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
}

impl Lock {
    /// Takes the lock, waiting while a live process holds it. A lock whose holder is no longer
    /// running is reported, not broken: the caller decides (see `promptreg doctor`).
    pub fn acquire(common_dir: &Path) -> Result<Lock> {
        let path = common_dir.join(LOCK_FILE);
        let started = Instant::now();
        let mut pause = Duration::from_millis(2);
        loop {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut file) => {
                    let _ = writeln!(file, "{}", std::process::id());
                    return Ok(Lock { path });
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    let holder = holder(&path);
                    let stale = holder.as_deref().is_some_and(|pid| !process_alive(pid));
                    if stale || started.elapsed() > WAIT {
                        return Err(Error::Locked {
                            path,
                            holder: describe(holder.as_deref(), stale),
                        });
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err(e) => return Err(Error::io(&path)(e)),
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The process id written in a lock file, if readable.
pub fn holder(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let pid = text.split_whitespace().next()?;
    pid.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| pid.to_owned())
}

/// Whether a process with this id runs on this machine.
pub fn process_alive(pid: &str) -> bool {
    Path::new("/proc").join(pid).exists() || !Path::new("/proc/self").exists()
}

fn describe(holder: Option<&str>, stale: bool) -> String {
    match (holder, stale) {
        (Some(pid), true) => format!("process {pid}, which is no longer running"),
        (Some(pid), false) => format!("process {pid}"),
        (None, _) => "an unknown process".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let lock = Lock::acquire(dir.path()).unwrap();
        assert!(dir.path().join(LOCK_FILE).exists());
        drop(lock);
        assert!(!dir.path().join(LOCK_FILE).exists());
    }

    #[test]
    fn stale_lock_is_reported_not_broken() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(LOCK_FILE), "999999999\n").unwrap();
        let err = Lock::acquire(dir.path()).unwrap_err();
        assert!(err.to_string().contains("promptreg.lock"), "{err}");
        assert!(dir.path().join(LOCK_FILE).exists());
    }
}
