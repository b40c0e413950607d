//! What git's index records of each file it tracks: the blob, and the stat data git saw when it
//! hashed the file. A file whose stat data still matches its record has not changed since, which
//! is how `git status` knows without reading it; `validate` uses that to key its cached checks
//! by the record instead of reading and hashing 10,000 files.
//!
//! The rules are git's own (`read-cache.c`: `ie_match_stat`, `is_racy_timestamp`):
//! - ctime and mtime to the nanosecond, inode, owner and size (the low 32 bits git keeps of
//!   each) must all match. The ctime changes with every write and every change of the others,
//!   and nothing but the clock sets it, so a file rewritten with its old mtime still differs.
//! - An entry whose mtime is not older than the index file's is "racily clean": the file may
//!   have changed in the same clock tick after git hashed it, so it is never trusted.
//! - Entries whose stat data git does not keep are never trusted: unmerged stages,
//!   assume-unchanged (`VALID`), skip-worktree and intent-to-add entries, and anything but a
//!   regular file.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;

use git2::{IndexEntry, IndexEntryExtendedFlag, IndexEntryFlag};

use super::{ObjectId, Store};
use crate::fsread::FileStat;

/// The trusted records of an index, by repository-relative path.
pub struct IndexStat {
    entries: HashMap<String, Recorded>,
}

/// One entry's blob and stat data, as the index holds them (seconds and sizes truncated to 32
/// bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Recorded {
    id: ObjectId,
    ino: u32,
    uid: u32,
    gid: u32,
    size: u32,
    mtime: (u32, u32),
    ctime: (u32, u32),
}

impl Recorded {
    fn of(entry: &IndexEntry) -> Recorded {
        Recorded {
            id: entry.id,
            ino: entry.ino,
            uid: entry.uid,
            gid: entry.gid,
            size: entry.file_size,
            mtime: (entry.mtime.seconds() as u32, entry.mtime.nanoseconds()),
            ctime: (entry.ctime.seconds() as u32, entry.ctime.nanoseconds()),
        }
    }

    /// Whether `stat` is what git recorded (compared as git keeps it: the low 32 bits).
    fn matches(&self, stat: &FileStat) -> bool {
        self.ino == stat.ino as u32
            && self.uid == stat.uid
            && self.gid == stat.gid
            && self.size == stat.size as u32
            && self.mtime == (stat.mtime.0 as u32, stat.mtime.1)
            && self.ctime == (stat.ctime.0 as u32, stat.ctime.1)
    }
}

/// Whether git keeps stat data for `entry` that can vouch for the file: a regular file at stage
/// 0, none of the flags under which git does not look at the file, and not racily clean (its
/// mtime older than the index file's `index_mtime`).
fn trusted(entry: &IndexEntry, index_mtime: (i64, u32)) -> bool {
    let stage = (entry.flags >> 12) & 0x3;
    let regular = matches!(entry.mode, 0o100644 | 0o100755);
    let unwatched = entry.flags & IndexEntryFlag::VALID.bits() != 0
        || entry.flags_extended
            & (IndexEntryExtendedFlag::SKIP_WORKTREE | IndexEntryExtendedFlag::INTENT_TO_ADD)
                .bits()
            != 0;
    let mtime = (
        i64::from(entry.mtime.seconds() as u32),
        entry.mtime.nanoseconds(),
    );
    stage == 0 && regular && !unwatched && mtime < index_mtime
}

impl IndexStat {
    /// The blob the index records for `path`, if the file's `stat` shows it unchanged since git
    /// hashed it.
    pub fn unchanged(&self, path: &str, stat: &FileStat) -> Option<ObjectId> {
        let recorded = self.entries.get(path)?;
        recorded.matches(stat).then_some(recorded.id)
    }
}

impl Store {
    /// The index's trusted records of the working tree's files (see the module doc); `None`
    /// when there is no index, or it cannot be read: every file is then read and hashed.
    pub fn index_stat(&self) -> Option<IndexStat> {
        let mut index = self.repo.index().ok()?;
        let path = index.path()?.to_owned();
        // The index file's time is taken before its entries are (re)read, so entries written
        // after it are judged against an older time, which can only trust fewer.
        let meta = std::fs::metadata(&path).ok()?;
        let index_mtime = (meta.mtime(), meta.mtime_nsec() as u32);
        index.read(false).ok()?;
        let entries = index
            .iter()
            .filter(|entry| trusted(entry, index_mtime))
            .filter_map(|entry| {
                let path = String::from_utf8(entry.path.clone()).ok()?;
                Some((path, Recorded::of(&entry)))
            })
            .collect();
        Some(IndexStat { entries })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use git2::IndexTime;

    fn entry(mtime: (i32, u32)) -> IndexEntry {
        IndexEntry {
            ctime: IndexTime::new(1_700_000_000, 5),
            mtime: IndexTime::new(mtime.0, mtime.1),
            dev: 1,
            ino: 77,
            mode: 0o100644,
            uid: 1000,
            gid: 1000,
            file_size: 12,
            id: ObjectId::ZERO_SHA1,
            flags: 0,
            flags_extended: 0,
            path: b"prompts/a/prompt.yaml".to_vec(),
        }
    }

    fn stat() -> FileStat {
        FileStat {
            ino: 77,
            uid: 1000,
            gid: 1000,
            size: 12,
            mtime: (1_700_000_000, 9),
            ctime: (1_700_000_000, 5),
        }
    }

    #[test]
    fn a_racily_clean_entry_is_not_trusted() {
        let index_mtime = (1_700_000_000, 10);
        assert!(trusted(&entry((1_700_000_000, 9)), index_mtime));
        // Not older than the index: git may have hashed it before a change in the same tick.
        assert!(!trusted(&entry((1_700_000_000, 10)), index_mtime));
        assert!(!trusted(&entry((1_700_000_001, 0)), index_mtime));
    }

    #[test]
    fn entries_git_does_not_watch_are_not_trusted() {
        let index_mtime = (1_800_000_000, 0);
        let with = |change: &dyn Fn(&mut IndexEntry)| {
            let mut e = entry((1_700_000_000, 9));
            change(&mut e);
            trusted(&e, index_mtime)
        };
        assert!(with(&|_| {}));
        assert!(with(&|e| e.mode = 0o100755));
        assert!(!with(&|e| e.mode = 0o120000)); // A link.
        assert!(!with(&|e| e.mode = 0o160000)); // A submodule.
        assert!(!with(&|e| e.flags |= 2 << 12)); // A conflict's stage.
        assert!(!with(&|e| e.flags |= IndexEntryFlag::VALID.bits()));
        assert!(!with(
            &|e| e.flags_extended |= IndexEntryExtendedFlag::SKIP_WORKTREE.bits()
        ));
        assert!(!with(
            &|e| e.flags_extended |= IndexEntryExtendedFlag::INTENT_TO_ADD.bits()
        ));
    }

    #[test]
    fn every_recorded_field_must_match() {
        let recorded = Recorded::of(&entry((1_700_000_000, 9)));
        assert!(recorded.matches(&stat()));
        // Only the low 32 bits are recorded, as git keeps them.
        assert!(recorded.matches(&FileStat {
            ino: 77 + (1 << 32),
            ..stat()
        }));
        for changed in [
            FileStat { ino: 78, ..stat() },
            FileStat { uid: 0, ..stat() },
            FileStat { gid: 0, ..stat() },
            FileStat { size: 13, ..stat() },
            FileStat {
                mtime: (1_700_000_000, 8),
                ..stat()
            },
            FileStat {
                mtime: (1_700_000_001, 9),
                ..stat()
            },
            // Rewritten with its old mtime put back: the ctime tells.
            FileStat {
                ctime: (1_700_000_003, 0),
                ..stat()
            },
        ] {
            assert!(!recorded.matches(&changed), "{changed:?}");
        }
    }
}
