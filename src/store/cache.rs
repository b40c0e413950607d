//! A read cache in the Git directory: `<common-dir>/promptreg/cache/<kind>-<object id>`.
//!
//! Entries are keyed by the id of the (immutable) object they were derived from, so they can never be stale;
//! they are written atomically and are best-effort (a read-only repository just skips them).
//! Parsing a 10,000-prompt `registry.yaml` takes tens of milliseconds; reading its cached line
//! form takes well under one.
//!
//! The directory is outside input like the working tree: `promptreg/` and `cache/` are opened
//! one at a time without following links (a link there means no cache), entries are opened
//! with `O_NOFOLLOW` and read only when regular, and a new entry is created exclusively under a
//! temporary name no other writer uses (`.<kind>-<id>-<n>.<pid>`, what `doctor` clears when its
//! writer is gone), then renamed into place, so a torn write is never read.
//!
//! Each kind keeps at most about `keep` entries. Pruning lists and stats the directory, so it
//! runs once per batch of writes, not on every write: a count of the kind's writes since its
//! last pruning, `.<kind>.count`, is updated under a kernel lock (`flock`, released when its
//! holder dies) by every process that writes, and the write that fills a batch prunes. A missing
//! or unreadable count prunes at once, so entries written without counting (an older
//! promptreg, a deleted count) are bounded too.

use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use git2::Oid;
use rustix::fs::{
    fstat, mkdirat, openat, renameat, statat, unlinkat, AtFlags, Dir, FileType, Mode, OFlags, CWD,
};
use rustix::io::Errno;

use super::sorted_lines::SortedLines;
use super::Store;

/// The largest entry read back (a cached index is about 50 bytes per prompt).
const MAX_ENTRY_BYTES: u64 = 64 << 20;

/// A directory below the common directory, opened without following a link.
const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// Numbers this process's temporary entries, so two threads writing the same entry never share
/// a temporary file.
static TEMP_SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// The file name of the entry of `kind` derived from `id`.
fn entry_name(kind: &str, id: Oid) -> String {
    format!("{kind}-{id}")
}

/// How many writes of a kind that keeps `keep` entries go between two prunings: a quarter of
/// `keep` (so a kind holds at most `keep + keep / 4` entries, less one), at least one.
pub fn prune_batch(keep: usize) -> u64 {
    (keep as u64 / 4).max(1)
}

impl Store {
    /// The path of an entry (for messages; entries are opened through [`Store::cache_dir`]).
    fn cache_path(&self, kind: &str, id: Oid) -> PathBuf {
        self.common_dir()
            .join("promptreg")
            .join("cache")
            .join(entry_name(kind, id))
    }

    /// The cache directory, opened without following links; created when `create` is set.
    /// `None` when it is missing (and not created), a link, or not a directory.
    fn cache_dir(&self, create: bool) -> Option<OwnedFd> {
        let root = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let mut dir = openat(CWD, self.common_dir(), root, Mode::empty()).ok()?;
        for part in ["promptreg", "cache"] {
            dir = match openat(&dir, part, DIR_FLAGS, Mode::empty()) {
                Ok(next) => next,
                Err(Errno::NOENT) if create => {
                    match mkdirat(&dir, part, Mode::from_raw_mode(0o777)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(_) => return None,
                    }
                    openat(&dir, part, DIR_FLAGS, Mode::empty()).ok()?
                }
                Err(_) => return None,
            };
        }
        Some(dir)
    }

    /// The entry of `kind` derived from `id`, open, with its length: `None` when there is none
    /// or it is not a regular file (a link is never followed) or too large.
    fn cache_open(&self, kind: &str, id: Oid) -> Option<(File, u64)> {
        let dir = self.cache_dir(false)?;
        let flags =
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        let fd = openat(&dir, entry_name(kind, id), flags, Mode::empty()).ok()?;
        let stat = fstat(&fd).ok()?;
        if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
            return None;
        }
        let len = u64::try_from(stat.st_size).ok()?;
        (len <= MAX_ENTRY_BYTES).then(|| (File::from(fd), len))
    }

    /// The cached text derived from blob `id`, if any.
    pub fn cache_get(&self, kind: &str, id: Oid) -> Option<String> {
        let (file, len) = self.cache_open(kind, id)?;
        let mut text = String::with_capacity(len as usize);
        file.take(MAX_ENTRY_BYTES).read_to_string(&mut text).ok()?;
        Some(text)
    }

    /// Stores `text` derived from object `id`, keeping about the newest `keep` entries of the
    /// same kind (at most `keep + keep / 4`; see the module's documentation). Errors are
    /// ignored: the cache only ever saves time.
    pub fn cache_put(&self, kind: &str, id: Oid, text: &str, keep: usize) {
        let Some(dir) = self.cache_dir(true) else {
            return;
        };
        // Counted before the entry is written: a writer killed in between leaves the count
        // high (an early pruning), never low (an entry beyond the bound).
        let prune = count_write(&dir, kind, prune_batch(keep));
        let name = entry_name(kind, id);
        // Without fsync: after a crash an entry may be missing or truncated, and readers
        // reject truncated entries (JSON fails, the index form has an end line), so
        // durability would only cost time.
        let sequence = TEMP_SEQUENCE.fetch_add(1, Ordering::Relaxed);
        let temp = format!(".{name}-{sequence}.{}", std::process::id());
        if write_new(&dir, &temp, text.as_bytes()).is_err()
            || renameat(&dir, &temp, &dir, &name).is_err()
        {
            let _ = unlinkat(&dir, &temp, AtFlags::empty());
            return;
        }
        if prune {
            prune_kind(&dir, kind, keep);
        }
    }
}

/// Creates `name` in `dir` (never an existing file or link) holding `bytes`.
fn write_new(dir: &OwnedFd, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = openat(dir, name, flags, Mode::from_raw_mode(0o666))?;
    File::from(fd).write_all(bytes)
}

/// Counts one write of `kind` in its `.<kind>.count` (under the file's kernel lock) and says
/// whether this write fills a batch of `batch` and so prunes. A count that cannot be read
/// (missing, damaged, not a regular file) prunes and starts again from zero.
fn count_write(dir: &OwnedFd, kind: &str, batch: u64) -> bool {
    let flags =
        OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let Ok(fd) = openat(
        dir,
        format!(".{kind}.count"),
        flags,
        Mode::from_raw_mode(0o666),
    ) else {
        return true;
    };
    if fstat(&fd).map_or(true, |s| {
        FileType::from_raw_mode(s.st_mode) != FileType::RegularFile
    }) {
        return true;
    }
    let file = File::from(fd);
    if file.lock().is_err() {
        return true;
    }
    let mut buf = [0u8; COUNT_WIDTH];
    let count = match file.read_at(&mut buf, 0) {
        Ok(COUNT_WIDTH) => std::str::from_utf8(&buf)
            .ok()
            .and_then(|text| text.trim_end().parse::<u64>().ok()),
        _ => None,
    };
    let (next, prune) = match count {
        Some(count) if count + 1 < batch => (count + 1, false),
        _ => (0, true),
    };
    // A fixed width: the new count always overwrites the old one whole.
    let _ = file.write_all_at(format!("{next:0w$}\n", w = COUNT_WIDTH - 1).as_bytes(), 0);
    prune
}

/// The bytes of a count: 20 digits and a newline.
const COUNT_WIDTH: usize = 21;

/// Removes the oldest entries of `kind` (by modification time) beyond the newest `keep`.
fn prune_kind(dir: &OwnedFd, kind: &str, keep: usize) {
    let Ok(listing) = Dir::read_from(dir) else {
        return;
    };
    let prefix = format!("{kind}-");
    let mut mine: Vec<((i64, i64), std::ffi::CString)> = listing
        .flatten()
        .filter(|entry| entry.file_name().to_bytes().starts_with(prefix.as_bytes()))
        .filter_map(|entry| {
            let name = entry.file_name().to_owned();
            let stat = statat(dir, &name, AtFlags::SYMLINK_NOFOLLOW).ok()?;
            Some(((stat.st_mtime, stat.st_mtime_nsec as i64), name))
        })
        .collect();
    if mine.len() > keep {
        mine.sort();
        for (_, old) in &mine[..mine.len() - keep] {
            let _ = unlinkat(dir, old, AtFlags::empty());
        }
    }
}

/// The lines of a cached sorted-lines entry that a one-key read needs.
pub struct CachedLines {
    /// The first lines (the header), however many were asked for.
    pub head: Vec<String>,
    /// The last line (an end marker, to tell a complete entry from a truncated one).
    pub last: String,
    /// The record whose key equals the one searched for.
    pub found: Option<String>,
}

impl Store {
    /// Looks up `key` in a cached file of sorted lines by binary search, reading a few
    /// kilobytes instead of the file. `key_of` gives a line's key (`None` for non-records).
    pub fn cache_find(
        &self,
        kind: &str,
        id: Oid,
        head_lines: usize,
        key: &str,
        key_of: fn(&str) -> Option<&str>,
    ) -> Option<CachedLines> {
        let entry = self.cache_sorted(kind, id, head_lines, key_of)?;
        let found = entry.find(key);
        Some(CachedLines {
            head: entry.head,
            last: entry.last,
            found,
        })
    }
}

/// A cached sorted-lines entry opened once for many one-key reads.
pub struct SortedEntry {
    file: std::fs::File,
    len: u64,
    path: PathBuf,
    key_of: fn(&str) -> Option<&str>,
    /// The first lines (the header), however many were asked for.
    pub head: Vec<String>,
    /// The last line (an end marker, to tell a complete entry from a truncated one).
    pub last: String,
    /// Where the records start (after the head lines).
    body: u64,
}

impl Store {
    /// Opens a cached file of sorted lines for lookups by binary search ([`SortedEntry::find`]);
    /// `key_of` gives a line's key (`None` for non-records).
    pub fn cache_sorted(
        &self,
        kind: &str,
        id: Oid,
        head_lines: usize,
        key_of: fn(&str) -> Option<&str>,
    ) -> Option<SortedEntry> {
        let path = self.cache_path(kind, id);
        let (file, len) = self.cache_open(kind, id)?;
        let mut entry = SortedEntry {
            file,
            len,
            path,
            key_of,
            head: Vec::with_capacity(head_lines),
            last: String::new(),
            body: 0,
        };
        let lines = entry.lines();
        let mut head = Vec::with_capacity(head_lines);
        let mut at = 0;
        for _ in 0..head_lines {
            let (line, next) = lines.line_at(at).ok()??;
            head.push(line);
            at = next;
        }
        entry.last = last_line(&entry.file, len)?;
        entry.head = head;
        entry.body = at;
        Some(entry)
    }
}

impl SortedEntry {
    fn lines(&self) -> SortedLines<'_> {
        SortedLines {
            file: &self.file,
            len: self.len,
            path: &self.path,
            key: self.key_of,
        }
    }

    /// The first record whose key equals `key`.
    pub fn find(&self, key: &str) -> Option<String> {
        let lines = self.lines();
        let start = lines.lower_bound(self.body, key).ok()?;
        lines
            .record_at_or_after(start)
            .ok()?
            .filter(|record| record.key(&lines) == key)
            .map(|record| record.line)
    }
}

/// The last line of a file that ends with a newline.
fn last_line(file: &std::fs::File, len: u64) -> Option<String> {
    use std::os::unix::fs::FileExt;
    let take = len.min(256);
    let mut tail = vec![0u8; take as usize];
    file.read_exact_at(&mut tail, len - take).ok()?;
    let body = tail.strip_suffix(b"\n")?;
    let start = memchr::memrchr(b'\n', body).map_or(0, |i| i + 1);
    String::from_utf8(body[start..].to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(dir.path(), "main").unwrap();
        (dir, store)
    }

    fn id(n: u64) -> Oid {
        let mut bytes = [0u8; 20];
        bytes[12..].copy_from_slice(&n.to_be_bytes());
        Oid::from_bytes(&bytes).unwrap()
    }

    fn cache(store: &Store) -> PathBuf {
        store.common_dir().join("promptreg").join("cache")
    }

    /// The names in the cache directory starting with `prefix`.
    fn names(store: &Store, prefix: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(cache(store))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(prefix))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_kind_stays_within_its_bound_and_keeps_the_newest() {
        let (_dir, store) = store();
        let keep = 16;
        let most = keep + prune_batch(keep) as usize - 1;
        for n in 0..200 {
            store.cache_put("k", id(n), &format!("entry {n}"), keep);
            let count = names(&store, "k-").len();
            assert!(count <= most, "{count} entries of a kind keeping {keep}");
        }
        // The newest entry is always there, and so are the `keep` newest.
        for n in 200 - keep as u64..200 {
            assert_eq!(
                store.cache_get("k", id(n)).as_deref(),
                Some(&*format!("entry {n}"))
            );
        }
        assert_eq!(store.cache_get("k", id(0)), None, "the oldest was pruned");
        // Other kinds are not counted or pruned with it.
        store.cache_put("other", id(1), "x", 1);
        store.cache_put("k", id(500), "y", keep);
        assert_eq!(store.cache_get("other", id(1)).as_deref(), Some("x"));
        assert!(names(&store, ".").iter().all(|n| n.ends_with(".count")));
    }

    #[test]
    fn pruning_runs_once_per_batch_of_writes() {
        let (_dir, store) = store();
        let keep = 40; // a batch of 10
        for n in 0..keep as u64 {
            store.cache_put("k", id(n), "e", keep);
        }
        // Entries listed by hand but not counted (an older promptreg wrote them).
        let count = cache(&store).join(".k.count");
        for n in 100..130 {
            std::fs::write(cache(&store).join(format!("k-{}", id(n))), "old").unwrap();
        }
        let batch = prune_batch(keep);
        // Without a count the next write prunes at once.
        std::fs::remove_file(&count).unwrap();
        store.cache_put("k", id(200), "e", keep);
        assert_eq!(names(&store, "k-").len(), keep);
        // Then `batch - 1` writes go by unpruned, and the next one prunes.
        for n in 1..batch {
            store.cache_put("k", id(200 + n), "e", keep);
            assert_eq!(names(&store, "k-").len(), keep + n as usize);
        }
        store.cache_put("k", id(300), "e", keep);
        assert_eq!(names(&store, "k-").len(), keep);
        // A damaged count prunes too.
        store.cache_put("k", id(301), "e", keep);
        std::fs::write(&count, "garbage").unwrap();
        store.cache_put("k", id(302), "e", keep);
        assert_eq!(names(&store, "k-").len(), keep);
    }

    #[test]
    fn concurrent_writers_never_leave_a_torn_or_extra_entry() {
        let (dir, store) = store();
        let keep = 32;
        let body = |n: u64| format!("{n}:{}\n", "x".repeat(20_000 + n as usize % 7 * 1000));
        std::thread::scope(|scope| {
            for t in 0..8u64 {
                let path = dir.path().to_owned();
                scope.spawn(move || {
                    // Each thread its own handle, as the server's threads have.
                    let store = Store::discover(&path).unwrap();
                    for n in 0..150u64 {
                        // Half the writes race another thread writing the same entry.
                        let n = if n % 2 == 0 { n } else { n * 10 + t };
                        store.cache_put("k", id(n), &body(n), keep);
                        if let Some(text) = store.cache_get("k", id(n)) {
                            assert_eq!(text, body(n), "a torn entry was read");
                        }
                    }
                });
            }
        });
        let entries = names(&store, "k-");
        assert!(
            entries.len() < keep + prune_batch(keep) as usize + 8,
            "{}",
            entries.len()
        );
        for name in &entries {
            let text = std::fs::read_to_string(cache(&store).join(name)).unwrap();
            let n: u64 = text.split(':').next().unwrap().parse().unwrap();
            assert_eq!(name, &format!("k-{}", id(n)));
            assert_eq!(text, body(n));
        }
        // Every temporary file was renamed into place or removed.
        assert_eq!(names(&store, ".").len(), 1, "{:?}", names(&store, "."));
    }

    #[test]
    fn links_in_the_cache_are_never_followed() {
        use std::os::unix::fs::symlink;
        let (_dir, store) = store();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join(format!("k-{}", id(1))), "secret").unwrap();
        // The cache directory is a link: no reads, no writes through it.
        std::fs::create_dir_all(store.common_dir().join("promptreg")).unwrap();
        symlink(outside.path(), cache(&store)).unwrap();
        assert_eq!(store.cache_get("k", id(1)), None);
        store.cache_put("k", id(2), "e", 4);
        assert!(!outside.path().join(format!("k-{}", id(2))).exists());
        std::fs::remove_file(cache(&store)).unwrap();
        // An entry that is a link is not read; writing the entry replaces the link itself.
        store.cache_put("k", id(3), "e", 4);
        let secret = outside.path().join(format!("k-{}", id(1)));
        symlink(&secret, cache(&store).join(format!("k-{}", id(1)))).unwrap();
        assert_eq!(store.cache_get("k", id(1)), None);
        assert!(store.cache_find("k", id(1), 0, "a", |l| Some(l)).is_none());
        store.cache_put("k", id(1), "mine", 4);
        assert_eq!(std::fs::read_to_string(&secret).unwrap(), "secret");
        assert_eq!(store.cache_get("k", id(1)).as_deref(), Some("mine"));
        // A count that is a link is not written through either.
        let count_target = outside.path().join("count");
        std::fs::write(&count_target, "keep me").unwrap();
        std::fs::remove_file(cache(&store).join(".k.count")).unwrap();
        symlink(&count_target, cache(&store).join(".k.count")).unwrap();
        store.cache_put("k", id(4), "e", 4);
        assert_eq!(std::fs::read_to_string(&count_target).unwrap(), "keep me");
        assert_eq!(store.cache_get("k", id(4)).as_deref(), Some("e"));
    }
}
