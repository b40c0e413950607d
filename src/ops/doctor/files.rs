//! The files `doctor` looks at: listing directories without following links, telling a file
//! from its replacement before removing it, and the words its findings use (ages, pids).

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::{Finding, Kind};
use crate::{Error, Result};

/// A finding and the identity of the file as it was seen, so a file replaced meanwhile (a
/// new lock taken by a new writer) is never removed in its place.
pub(super) struct Candidate {
    pub(super) finding: Finding,
    seen: Identity,
}

/// What tells one file from another at the same path.
#[derive(PartialEq, Eq)]
struct Identity {
    device: u64,
    inode: u64,
    modified: Option<SystemTime>,
    len: u64,
}

impl Identity {
    fn of(metadata: &std::fs::Metadata) -> Self {
        Identity {
            device: metadata.dev(),
            inode: metadata.ino(),
            modified: metadata.modified().ok(),
            len: metadata.len(),
        }
    }
}

impl Candidate {
    pub(super) fn remove(&mut self) {
        let path = &self.finding.path;
        let unchanged = std::fs::symlink_metadata(path)
            .map(|m| Identity::of(&m) == self.seen)
            .unwrap_or(false);
        if !unchanged {
            self.finding
                .detail
                .push_str("; it changed while being checked, so it was left alone");
            return;
        }
        match std::fs::remove_file(path) {
            Ok(()) => self.finding.fixed = true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => self.finding.fixed = true,
            Err(e) => self
                .finding
                .detail
                .push_str(&format!("; cannot remove it: {e}")),
        }
    }
}

pub(super) fn candidate(
    kind: Kind,
    path: &Path,
    detail: String,
    fixable: bool,
    metadata: &std::fs::Metadata,
) -> Candidate {
    Candidate {
        finding: Finding {
            kind,
            path: path.to_owned(),
            detail,
            fixable,
            fixed: false,
        },
        seen: Identity::of(metadata),
    }
}

/// The metadata of a regular file at `path` (not following symlinks); `None` when there is no
/// such file.
pub(super) fn file_metadata(path: &Path) -> Result<Option<std::fs::Metadata>> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_file() => Ok(Some(m)),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path)(e)),
    }
}

/// The entries of a directory; none when it does not exist (or is not a directory).
pub(super) fn entries(dir: &Path) -> Result<Vec<std::fs::DirEntry>> {
    match std::fs::read_dir(dir) {
        Ok(list) => list
            .collect::<std::io::Result<Vec<_>>>()
            .map_err(Error::io(dir)),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(Vec::new())
        }
        Err(e) => Err(Error::io(dir)(e)),
    }
}

/// Calls `visit` for every regular file below `dir`, without following symlinks.
pub(super) fn walk(dir: &Path, visit: &mut dyn FnMut(&Path)) -> Result<()> {
    for entry in entries(dir)? {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if kind.is_dir() {
            walk(&path, visit)?;
        } else if kind.is_file() {
            visit(&path);
        }
    }
    Ok(())
}

pub(super) fn is_pid(text: &str) -> bool {
    !text.is_empty() && text.len() <= 10 && text.bytes().all(|b| b.is_ascii_digit())
}

/// The command name of a running process, where the system tells.
pub(super) fn process_name(pid: &str) -> Option<String> {
    let name = std::fs::read_to_string(Path::new("/proc").join(pid).join("comm")).ok()?;
    Some(name.trim_end().to_owned()).filter(|n| !n.is_empty())
}

/// `42 s`, `5 min`, `3 h`, `2 days`.
pub(super) fn age_text(age: Duration) -> String {
    let s = age.as_secs();
    match s {
        0..=119 => format!("{s} s"),
        120..=7_199 => format!("{} min", s / 60),
        7_200..=172_799 => format!("{} h", s / 3_600),
        _ => format!("{} days", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_naturally() {
        assert_eq!(age_text(Duration::from_secs(0)), "0 s");
        assert_eq!(age_text(Duration::from_secs(60)), "60 s");
        assert_eq!(age_text(Duration::from_secs(7_000)), "116 min");
        assert_eq!(age_text(Duration::from_secs(7_200)), "2 h");
        assert_eq!(age_text(Duration::from_secs(3 * 86_400)), "3 days");
    }

    #[test]
    fn pids_are_digits() {
        assert!(is_pid("12345"));
        assert!(!is_pid(""));
        assert!(!is_pid("12a"));
        assert!(!is_pid("123456789012"));
    }
}
