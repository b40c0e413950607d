//! The served state in memory: the served ref's tip, kept with a stamp (device, inode, size,
//! modification time) of the files it was read from, so a request learns whether the ref moved
//! from two `stat`s on its own task instead of a ref read on the blocking pool; and a stamp of a
//! prompt's version tags (`packed-refs` and the prompt's directory under `refs/tags/`) to key
//! the response cache with.
//!
//! Git replaces a ref file by renaming a new one over it, so its inode changes on every update
//! (a promotion, a `git commit`, a `git fetch` into the ref, a `git pull`), and a new or deleted
//! loose tag changes its directory's modification time. A modification time is only as fine as
//! the file system's clock tick (a few milliseconds, a second or two on some), so a stamp whose
//! times are younger than [`SETTLE`] is not trusted: a second change within the same tick could
//! leave it as it was. Such a request reads the ref and lists the tags as before, on the
//! blocking pool; so do all requests when the refs are not plain files ([`Store::ref_files`]:
//! reftable, per-worktree refs) or the served ref is a symbolic ref.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::{Duration, SystemTime};

use crate::store::{ObjectId, RefFiles, Store};
use crate::PromptName;

/// How old a stamped file's modification time must be before its stamp is trusted: longer than
/// the coarsest clock tick of the file systems a repository lives on (ext4 without nanosecond
/// times, HFS+: 1 s; FAT: 2 s), so any later change shows as a later time.
pub(super) const SETTLE: Duration = Duration::from_millis(2_100);

/// What `stat` says of one file, enough to tell that it was replaced or changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: i64,
    mtime_ns: i64,
}

/// The stamp of `path` (`None` when it does not exist), or `Err` when it cannot be trusted: it
/// changed within [`SETTLE`] of `now` (or in the future), or it cannot be stat'ed.
#[cfg(unix)]
fn stamp(path: &Path, now: SystemTime) -> Result<Option<Stamp>, ()> {
    use std::os::unix::fs::MetadataExt;
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(_) => return Err(()),
    };
    let modified = meta.modified().map_err(|_| ())?;
    match now.duration_since(modified) {
        Ok(age) if age >= SETTLE => {}
        _ => return Err(()),
    }
    Ok(Some(Stamp {
        dev: meta.dev(),
        ino: meta.ino(),
        size: meta.size(),
        mtime: meta.mtime(),
        mtime_ns: meta.mtime_nsec(),
    }))
}

/// Without inode numbers a replaced file may look unchanged: nothing is trusted.
#[cfg(not(unix))]
fn stamp(_: &Path, _: SystemTime) -> Result<Option<Stamp>, ()> {
    Err(())
}

/// The stamps the served ref's tip was read under: its loose file and `packed-refs`.
pub(crate) type TipStamp = (Option<Stamp>, Option<Stamp>);

/// The tip of the served ref as last read, and the stamp of its files then.
pub(crate) struct ServedState {
    /// `None`: the refs are not files this can watch; every request reads the ref.
    files: Option<RefFiles>,
    tip: RwLock<Option<(TipStamp, ObjectId)>>,
    /// The directories of `refs/tags/` as last walked (sorted, `refs/tags/` itself first even
    /// when missing), each with its stamp then: what [`ServedState::all_tags`] checks.
    tag_dirs: RwLock<Option<TagDirs>>,
}

/// Directories and their stamps (`None`: the directory did not exist).
type TagDirs = Vec<(PathBuf, Option<Stamp>)>;

/// Most directories under `refs/tags/` whose stamps are checked on a request's own task; a
/// registry with more loose tag directories lists them on the blocking pool for every list.
const FAST_TAG_DIRS: usize = 256;

impl ServedState {
    /// The state of `refname` in the repository at `repo`, nothing read yet.
    pub fn new(repo: &Path, refname: &str) -> Self {
        let files = Store::discover(repo)
            .ok()
            .and_then(|store| store.ref_files(refname));
        Self {
            files,
            tip: RwLock::new(None),
            tag_dirs: RwLock::new(None),
        }
    }

    fn tip_stamp(&self, now: SystemTime) -> Option<TipStamp> {
        let files = self.files.as_ref()?;
        Some((
            stamp(&files.loose, now).ok()?,
            stamp(&files.packed, now).ok()?,
        ))
    }

    /// The tip from memory, when the ref's files are as they were when it was read (and old
    /// enough to be trusted): two `stat`s, no ref read.
    pub fn tip(&self) -> Option<ObjectId> {
        let stamp = self.tip_stamp(SystemTime::now())?;
        match *self.tip.read().ok()? {
            Some((seen, tip)) if seen == stamp => Some(tip),
            _ => None,
        }
    }

    /// The stamp to [`ServedState::remember`] a tip under: taken before the ref is read, so the
    /// tip read is at least as new as the files stamped. `None` when it cannot be trusted, or
    /// the ref is symbolic (its target's file would be the one to watch).
    pub fn stamp_before_read(&self) -> Option<TipStamp> {
        let stamp = self.tip_stamp(SystemTime::now())?;
        let loose = &self.files.as_ref()?.loose;
        match std::fs::read(loose) {
            Ok(content) if content.starts_with(b"ref:") => None,
            Ok(_) => Some(stamp),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(stamp),
            Err(_) => None,
        }
    }

    /// Keeps `tip`, read after `stamp` was taken, for the requests that find the same stamp.
    pub fn remember(&self, stamp: Option<TipStamp>, tip: ObjectId) {
        if let (Some(stamp), Ok(mut held)) = (stamp, self.tip.write()) {
            *held = Some((stamp, tip));
        }
    }

    /// A fingerprint of `name`'s version tags from the stamps of `packed-refs` and of
    /// `refs/tags/<name>/` (a new, deleted, moved or packed tag changes one of them); `None` when
    /// they cannot be trusted.
    pub fn tags(&self, name: &PromptName) -> Option<u64> {
        let files = self.files.as_ref()?;
        let now = SystemTime::now();
        let packed = stamp(&files.packed, now).ok()?;
        let dir = stamp(&files.tags.join(name.as_str()), now).ok()?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        "stamps".hash(&mut hasher);
        (packed, dir).hash(&mut hasher);
        Some(hasher.finish())
    }
}

impl ServedState {
    /// A fingerprint of every version tag from the stamps of `packed-refs` and of the
    /// directories [`ServedState::walk_tags`] last found under `refs/tags/`: a tag created,
    /// deleted or moved changes its directory's stamp, a new directory its parent's. `None`
    /// when nothing was walked yet, a stamp changed or cannot be trusted: walk again.
    pub fn all_tags(&self) -> Option<u64> {
        let files = self.files.as_ref()?;
        let now = SystemTime::now();
        let packed = stamp(&files.packed, now).ok()?;
        let held = self.tag_dirs.read().ok()?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        "all tags".hash(&mut hasher);
        packed.hash(&mut hasher);
        for (dir, seen) in held.as_ref()? {
            let now = stamp(dir, now).ok()?;
            if now != *seen {
                return None;
            }
            (dir, now).hash(&mut hasher);
        }
        Some(hasher.finish())
    }

    /// Walks `refs/tags/`, keeping each directory's stamp (taken before it is listed, so a
    /// change while listing shows next time) for [`ServedState::all_tags`]. Returns both
    /// fingerprints the walk gives: the stamps' (`None` when a stamp cannot be trusted yet or
    /// there are more than [`FAST_TAG_DIRS`] directories; then nothing is kept) and the
    /// listing's, of `packed-refs`' size and time and every loose tag's path, which a caller
    /// uses instead without walking again. `None` when the refs are not files.
    pub fn walk_tags(&self) -> Option<TagsWalk> {
        let files = self.files.as_ref()?;
        let now = SystemTime::now();
        let mut dirs = vec![(files.tags.clone(), stamp(&files.tags, now))];
        let mut tags = Vec::new();
        let mut next = 0;
        while let Some((dir, _)) = dirs.get(next) {
            let mut found = Vec::new();
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                match entry.file_type() {
                    Ok(kind) if kind.is_dir() => found.push(entry.path()),
                    _ => tags.push(entry.path()),
                }
            }
            for path in found {
                let stamped = stamp(&path, now);
                dirs.push((path, stamped));
            }
            next += 1;
        }
        let mut listed = std::collections::hash_map::DefaultHasher::new();
        "listed tags".hash(&mut listed);
        if let Ok(meta) = std::fs::metadata(&files.packed) {
            (meta.len(), meta.modified().ok()).hash(&mut listed);
        }
        tags.sort();
        tags.hash(&mut listed);
        let mut kept: Option<TagDirs> = (dirs.len() <= FAST_TAG_DIRS)
            .then(|| {
                dirs.into_iter()
                    .map(|(dir, stamped)| stamped.ok().map(|s| (dir, s)))
                    .collect()
            })
            .flatten();
        if let Some(kept) = &mut kept {
            // `refs/tags/` stays first (it is the first found); the rest by path.
            kept[1..].sort_by(|a, b| a.0.cmp(&b.0));
        }
        if let Ok(mut held) = self.tag_dirs.write() {
            *held = kept;
        }
        Some(TagsWalk {
            stamped: self.all_tags(),
            listed: listed.finish(),
        })
    }
}

/// What one walk of `refs/tags/` gives ([`ServedState::walk_tags`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct TagsWalk {
    /// The fingerprint [`ServedState::all_tags`] gives from now on, when it can be trusted.
    pub stamped: Option<u64>,
    /// The fingerprint of the listing itself.
    pub listed: u64,
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    use std::fs::File;

    /// Sets `path`'s modification time to a minute ago, as if it had settled.
    fn settle(path: &Path) {
        let old = SystemTime::now() - Duration::from_secs(60);
        File::options()
            .write(true)
            .open(path)
            .or_else(|_| File::open(path))
            .unwrap()
            .set_modified(old)
            .unwrap();
    }

    fn state(dir: &Path) -> ServedState {
        std::fs::create_dir_all(dir.join("refs/heads")).unwrap();
        std::fs::create_dir_all(dir.join("refs/tags/p")).unwrap();
        ServedState {
            files: Some(RefFiles {
                loose: dir.join("refs/heads/main"),
                packed: dir.join("packed-refs"),
                tags: dir.join("refs/tags"),
            }),
            tip: RwLock::new(None),
            tag_dirs: RwLock::new(None),
        }
    }

    /// Replaces `path` as Git does: a new file renamed over it.
    fn replace(path: &Path, content: &str) {
        let temp = path.with_extension("lock");
        std::fs::write(&temp, content).unwrap();
        settle(&temp);
        std::fs::rename(&temp, path).unwrap();
    }

    #[test]
    fn a_replaced_ref_file_is_seen_even_with_the_same_size_and_time() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path());
        let main = dir.path().join("refs/heads/main");
        replace(&main, &format!("{}\n", "a".repeat(40)));
        let one = ObjectId::from_bytes(&[1; 20]).unwrap();
        assert_eq!(state.tip(), None, "nothing read yet");
        let stamp = state.stamp_before_read();
        assert!(stamp.is_some(), "settled files are trusted");
        state.remember(stamp, one);
        assert_eq!(state.tip(), Some(one));
        // Same size, same (settled) time: only the inode differs.
        let time = std::fs::metadata(&main).unwrap().modified().unwrap();
        replace(&main, &format!("{}\n", "b".repeat(40)));
        File::open(&main).unwrap().set_modified(time).unwrap();
        assert_eq!(state.tip(), None, "the replaced file is not the one read");
        // packed-refs appearing changes the stamp too.
        let stamp = state.stamp_before_read();
        state.remember(stamp, one);
        assert_eq!(state.tip(), Some(one));
        replace(&dir.path().join("packed-refs"), "# pack-refs\n");
        assert_eq!(state.tip(), None);
    }

    #[test]
    fn a_recent_change_is_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path());
        let main = dir.path().join("refs/heads/main");
        std::fs::write(&main, format!("{}\n", "a".repeat(40))).unwrap();
        assert_eq!(state.stamp_before_read(), None, "just written");
        settle(&main);
        assert!(state.stamp_before_read().is_some());
        std::fs::write(&main, "ref: refs/heads/other\n").unwrap();
        settle(&main);
        assert_eq!(state.stamp_before_read(), None, "a symbolic ref");
    }

    #[test]
    fn every_tag_directory_is_stamped_for_the_list() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path());
        let tags = dir.path().join("refs/tags");
        std::fs::create_dir_all(tags.join("support/agent")).unwrap();
        std::fs::write(dir.path().join("packed-refs"), "# pack-refs\n").unwrap();
        let settle_all = || {
            for path in [
                dir.path().join("packed-refs"),
                tags.join("support/agent"),
                tags.join("support"),
                tags.join("p"),
                tags.clone(),
            ] {
                if path.exists() {
                    settle(&path);
                }
            }
        };
        settle_all();
        assert_eq!(state.all_tags(), None, "nothing walked yet");
        let first = state.walk_tags().unwrap().stamped.expect("settled");
        assert_eq!(state.all_tags(), Some(first), "stamps unchanged");
        // A loose tag two levels down: its directory's stamp changes.
        std::fs::write(tags.join("support/agent/v1.0.0"), "x").unwrap();
        assert_eq!(state.all_tags(), None);
        assert_eq!(
            state.walk_tags().unwrap().stamped,
            None,
            "just changed: not trusted"
        );
        settle_all();
        let second = state.walk_tags().unwrap().stamped.unwrap();
        assert_ne!(second, first);
        // A new prompt's directory: its parent's stamp changes.
        std::fs::create_dir_all(tags.join("support/other")).unwrap();
        settle(&tags.join("support/other"));
        File::open(tags.join("support"))
            .unwrap()
            .set_modified(SystemTime::now() - Duration::from_secs(30))
            .unwrap();
        assert_eq!(state.all_tags(), None);
        let third = state.walk_tags().unwrap().stamped.unwrap();
        assert_ne!(third, second);
        // Packed: `packed-refs` replaced.
        replace(
            &dir.path().join("packed-refs"),
            "# pack-refs with: peeled\n",
        );
        assert_ne!(state.all_tags(), Some(third));
    }

    #[test]
    fn past_the_limit_of_directories_the_walk_s_listing_keys_the_list() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path());
        let tags = dir.path().join("refs/tags");
        for n in 0..FAST_TAG_DIRS + 10 {
            std::fs::create_dir_all(tags.join(format!("p{n}"))).unwrap();
        }
        let old = SystemTime::now() - Duration::from_secs(60);
        for entry in std::fs::read_dir(&tags).unwrap().flatten() {
            File::open(entry.path()).unwrap().set_modified(old).unwrap();
        }
        settle(&tags);
        let walk = state.walk_tags().unwrap();
        assert_eq!(walk.stamped, None, "too many directories to stamp");
        assert_eq!(state.all_tags(), None, "nothing kept");
        assert_eq!(
            state.walk_tags().unwrap().listed,
            walk.listed,
            "the same listing"
        );
        std::fs::write(tags.join("p7/v1.0.0"), "x").unwrap();
        assert_ne!(state.walk_tags().unwrap().listed, walk.listed, "a new tag");
    }

    #[test]
    fn a_tag_added_or_removed_changes_the_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path());
        let tags = dir.path().join("refs/tags/p");
        let name = PromptName::parse("p").unwrap();
        assert_eq!(state.tags(&name), None, "the directory is new");
        settle(&tags);
        let before = state.tags(&name).unwrap();
        assert_eq!(state.tags(&name), Some(before));
        std::fs::write(tags.join("v1.0.0"), "x").unwrap();
        assert_eq!(state.tags(&name), None, "a change just now");
        settle(&tags);
        let added = state.tags(&name).unwrap();
        assert_ne!(added, before);
        std::fs::remove_file(tags.join("v1.0.0")).unwrap();
        settle(&tags);
        assert_ne!(state.tags(&name).unwrap(), added);
    }
}
