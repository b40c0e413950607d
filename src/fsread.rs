//! The one way promptreg reads files of the working tree.
//!
//! A checkout is outside input: a branch under review can hold `prompts/` as a symbolic link to
//! `/etc`, a component file linked to a token file, or a FIFO that blocks whoever opens it. So
//! every read below the repository root goes through [`WorkTree`], which
//!
//! - walks the path one component at a time from the root, opening each directory with
//!   `O_DIRECTORY | O_NOFOLLOW` relative to its parent (`openat`), so no link is followed at any
//!   depth and nothing can be swapped between a check and the open (no check-then-open);
//! - opens the file itself with `O_NOFOLLOW | O_NONBLOCK` (a FIFO opens without waiting for a
//!   writer), then `fstat`s the open descriptor and reads it only if it is a regular file;
//! - reads at most the given limit, even from a file that grows while it is read.
//!
//! A refused path is an [`Error::NotRegular`] naming the repository-relative path and why; the
//! link's target and the content behind it are never read or shown. The repository root itself
//! is opened as given (it is where the user chose to work, link or not).

use std::ffi::CString;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{openat, statat, AtFlags, Dir, FileType, Mode, OFlags, CWD};
use rustix::io::Errno;

use crate::{Error, Result};

/// Why promptreg refuses to read a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A symbolic link (mode 120000 in a commit).
    Symlink,
    /// A submodule (a gitlink, mode 160000 in a commit).
    Submodule,
    /// Something that is neither a regular file nor a directory: `"a FIFO"`, `"a socket"`,
    /// `"a device"`.
    Special(&'static str),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Symlink => f.write_str("a symbolic link"),
            Refusal::Submodule => f.write_str("a submodule (gitlink)"),
            Refusal::Special(what) => f.write_str(what),
        }
    }
}

/// What is at a path, seen without following links.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    /// A FIFO, socket or device (named as in [`Refusal::Special`]).
    Special(&'static str),
}

/// What `lstat` says of a regular file: the parts git's index records of each file it tracks,
/// so a file whose record still matches need not be read to know its blob (see
/// `store::index_stat`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileStat {
    pub ino: u64,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    /// Seconds and nanoseconds.
    pub mtime: (i64, u32),
    /// Seconds and nanoseconds: changed by every write and every change of the other fields,
    /// and settable by no one but the clock.
    pub ctime: (i64, u32),
}

impl FileStat {
    // The field types of `stat` differ between platforms (32-bit ones have narrower times).
    #[allow(clippy::unnecessary_cast)]
    fn of(stat: &rustix::fs::Stat) -> FileStat {
        FileStat {
            ino: stat.st_ino as u64,
            uid: stat.st_uid,
            gid: stat.st_gid,
            size: stat.st_size as u64,
            mtime: (stat.st_mtime as i64, stat.st_mtime_nsec as u32),
            ctime: (stat.st_ctime as i64, stat.st_ctime_nsec as u32),
        }
    }
}

/// One thing a walk found: its repository-relative path, what it is, and for a regular file
/// when asked for, its [`FileStat`].
pub type Walked = (String, Kind, Option<FileStat>);

/// The content of a regular file read with a limit.
#[derive(Debug, PartialEq, Eq)]
pub enum Content {
    Bytes(Vec<u8>),
    /// Larger than the limit; this many bytes (at least).
    TooLarge(u64),
}

/// Reads below one repository root, never following a link and never opening anything but
/// regular files and directories.
#[derive(Clone, Copy, Debug)]
pub struct WorkTree<'a> {
    root: &'a Path,
}

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);
const FILE_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::NOFOLLOW)
    .union(OFlags::NONBLOCK)
    .union(OFlags::NOCTTY)
    .union(OFlags::CLOEXEC);

impl<'a> WorkTree<'a> {
    /// The working tree whose root directory is `root`.
    pub fn new(root: &'a Path) -> Self {
        WorkTree { root }
    }

    /// What is at `relative` (`/`-separated, below the root). `None` when nothing is, or when
    /// a directory on the way is not a directory (a file, or a link, which is not followed).
    pub fn kind(&self, relative: &str) -> Result<Option<Kind>> {
        let (parents, leaf) = split(relative)?;
        let dir = match self.open_dirs(&parents) {
            Ok(Some(dir)) => dir,
            Ok(None) | Err(Error::NotRegular { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        self.kind_at(&dir, leaf, relative)
    }

    /// The content of the regular file at `relative`, unless it is larger than `limit` bytes.
    /// `None` when there is nothing at the path (or a plain file stands where a directory on the
    /// way should be); refused when the path or a directory on the way is a link or a special
    /// file, or when the path is a directory.
    pub fn read(&self, relative: &str, limit: usize) -> Result<Option<Content>> {
        let (parents, leaf) = split(relative)?;
        // One open for the whole path where the kernel refuses every link on the way itself
        // (`openat2`, Linux 5.6): a fourth of the system calls of a walk from the root. Any
        // failure (a link, nothing there, an older kernel, a root path through a link) takes
        // the walk below, which tells those apart.
        #[cfg(target_os = "linux")]
        if let Ok(fd) = rustix::fs::openat2(
            CWD,
            self.root.join(relative),
            FILE_FLAGS,
            Mode::empty(),
            rustix::fs::ResolveFlags::NO_SYMLINKS | rustix::fs::ResolveFlags::NO_MAGICLINKS,
        ) {
            return read_open(fd, relative, limit).map(Some);
        }
        let Some(dir) = self.open_dirs(&parents)? else {
            return Ok(None);
        };
        let fd = match openat(&dir, leaf, FILE_FLAGS, Mode::empty()) {
            Ok(fd) => fd,
            Err(errno) => {
                return match self.kind_at(&dir, leaf, relative)? {
                    None => Ok(None),
                    Some(Kind::Symlink) => Err(refused(relative, Refusal::Symlink)),
                    Some(Kind::Special(what)) => Err(refused(relative, Refusal::Special(what))),
                    Some(Kind::File | Kind::Dir) => Err(io(relative, errno)),
                }
            }
        };
        read_open(fd, relative, limit).map(Some)
    }

    /// Like [`WorkTree::read`], with a file over `limit` an error.
    pub fn read_bounded(&self, relative: &str, limit: usize) -> Result<Option<Vec<u8>>> {
        match self.read(relative, limit)? {
            None => Ok(None),
            Some(Content::Bytes(bytes)) => Ok(Some(bytes)),
            Some(Content::TooLarge(size)) => Err(too_large(relative, size, limit)),
        }
    }

    /// Every file, link and special file below the directory `relative`, with
    /// repository-relative paths, in no particular order; directories are descended into
    /// (through `openat` from their parent, never by path) and a `.git` directory is listed as
    /// special rather than entered. Empty when `relative` is not a directory; refused when a
    /// directory on the way to it is a link or a special file.
    pub fn walk(&self, relative: &str) -> Result<Vec<(String, Kind)>> {
        let found = self.walk_with(relative, false)?;
        Ok(found
            .into_iter()
            .map(|(path, kind, _)| (path, kind))
            .collect())
    }

    /// [`WorkTree::walk`], with each regular file's [`FileStat`], taken from its directory's
    /// open descriptor without following anything (one more system call a file).
    pub fn walk_stat(&self, relative: &str) -> Result<Vec<Walked>> {
        self.walk_with(relative, true)
    }

    fn walk_with(&self, relative: &str, stat: bool) -> Result<Vec<Walked>> {
        let parts = parts(relative)?;
        let mut out = Vec::new();
        if let Some(dir) = self.open_dirs(&parts)? {
            walk_fd(dir, relative, stat, &mut out)?;
        }
        Ok(out)
    }

    /// Refuses the first link or special file at or below `relative` (a directory, or the
    /// directories on the way to where it will be): what a write must check before it reads
    /// or hashes anything there. A missing directory passes.
    pub fn check_dir(&self, relative: &str) -> Result<()> {
        let parts = parts(relative)?;
        // A regular file where a directory on the way should be is left to the caller: it
        // reads as "not found", which is what it is.
        if self.open_dirs(&parts)?.is_none() {
            return Ok(());
        }
        let mut found = self.walk(relative)?;
        found.sort_by(|a, b| a.0.cmp(&b.0));
        match found.into_iter().find(|(_, kind)| *kind != Kind::File) {
            None => Ok(()),
            Some((path, Kind::Symlink)) => Err(refused(&path, Refusal::Symlink)),
            Some((path, Kind::Special(what))) => Err(refused(&path, Refusal::Special(what))),
            // `walk` lists neither directories nor, here, regular files.
            Some((path, Kind::File | Kind::Dir)) => Err(io(&path, Errno::INVAL)),
        }
    }

    /// Opens the root and then each of `parts` below it as a directory without following
    /// links. `None` when one is missing or is a regular file.
    fn open_dirs(&self, parts: &[&str]) -> Result<Option<OwnedFd>> {
        let mut dir = openat(
            CWD,
            self.root,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::io(self.root)(e.into()))?;
        let mut shown = String::new();
        for part in parts {
            if !shown.is_empty() {
                shown.push('/');
            }
            shown.push_str(part);
            dir = match openat(&dir, *part, DIR_FLAGS, Mode::empty()) {
                Ok(next) => next,
                Err(errno) => {
                    return match self.kind_at(&dir, part, &shown)? {
                        None | Some(Kind::File) => Ok(None),
                        Some(Kind::Symlink) => Err(refused(&shown, Refusal::Symlink)),
                        Some(Kind::Special(what)) => Err(refused(&shown, Refusal::Special(what))),
                        Some(Kind::Dir) => Err(io(&shown, errno)),
                    }
                }
            };
        }
        Ok(Some(dir))
    }

    /// What `name` in the open directory `dir` is, without following it.
    fn kind_at(&self, dir: &impl AsFd, name: &str, shown: &str) -> Result<Option<Kind>> {
        match statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => Ok(Some(kind_of(FileType::from_raw_mode(stat.st_mode)))),
            Err(Errno::NOENT | Errno::NOTDIR) => Ok(None),
            Err(errno) => Err(io(shown, errno)),
        }
    }
}

/// Reads a file a person named on the command line (`create --file`): a link is followed, since
/// the person chose the path, but only a regular file is read (a FIFO would block, a device
/// never end), and at most `limit` bytes.
pub fn read_named(path: &Path, limit: usize) -> Result<Vec<u8>> {
    let shown = path.display().to_string();
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let fd = openat(CWD, path, flags, Mode::empty()).map_err(|e| io(&shown, e))?;
    match read_open(fd, &shown, limit)? {
        Content::Bytes(bytes) => Ok(bytes),
        Content::TooLarge(size) => Err(too_large(&shown, size, limit)),
    }
}

/// Reads an open descriptor if it is a regular file, at most `limit` bytes.
fn read_open(fd: OwnedFd, shown: &str, limit: usize) -> Result<Content> {
    let stat = rustix::fs::fstat(&fd).map_err(|e| io(shown, e))?;
    match kind_of(FileType::from_raw_mode(stat.st_mode)) {
        Kind::File => {}
        Kind::Symlink => return Err(refused(shown, Refusal::Symlink)),
        Kind::Dir => {
            return Err(Error::Invalid {
                file: PathBuf::from(shown),
                message: "is a directory, not a file".into(),
            })
        }
        Kind::Special(what) => return Err(refused(shown, Refusal::Special(what))),
    }
    let size = u64::try_from(stat.st_size).unwrap_or(0);
    if size > limit as u64 {
        return Ok(Content::TooLarge(size));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    File::from(fd)
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(Error::io(shown))?;
    if bytes.len() > limit {
        return Ok(Content::TooLarge(bytes.len() as u64));
    }
    Ok(Content::Bytes(bytes))
}

/// Lists the open directory `fd` (shown as `shown`) into `out` and descends into its
/// sub-directories one at a time, each opened from this one without following links: open
/// descriptors are bounded by the depth, not by how many directories there are.
fn walk_fd(fd: OwnedFd, shown: &str, stat: bool, out: &mut Vec<Walked>) -> Result<()> {
    let mut dir = Dir::new(fd).map_err(|e| io(shown, e))?;
    let mut subdirs: Vec<(CString, String)> = Vec::new();
    while let Some(entry) = dir.read() {
        let entry = entry.map_err(|e| io(shown, e))?;
        let raw = entry.file_name();
        if raw.to_bytes() == b"." || raw.to_bytes() == b".." {
            continue;
        }
        let path = format!("{shown}/{}", String::from_utf8_lossy(raw.to_bytes()));
        let listed = entry.file_type();
        // Some file systems do not say in the listing; a file's stat is wanted anyway.
        let stat = if listed == FileType::Unknown || (stat && listed == FileType::RegularFile) {
            let parent = dir.fd().map_err(|e| io(shown, e))?;
            match statat(parent, raw, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(stat) => Some(stat),
                Err(Errno::NOENT) => continue,
                Err(errno) => return Err(io(&path, errno)),
            }
        } else {
            None
        };
        let kind = match &stat {
            // What the file is now, should it have been replaced since it was listed.
            Some(stat) => kind_of(FileType::from_raw_mode(stat.st_mode)),
            None => kind_of(listed),
        };
        match kind {
            Kind::Dir if raw.to_bytes() == b".git" => {
                out.push((path, Kind::Special("a Git directory"), None))
            }
            Kind::Dir => subdirs.push((raw.to_owned(), path)),
            Kind::File => out.push((path, kind, stat.as_ref().map(FileStat::of))),
            kind => out.push((path, kind, None)),
        }
    }
    let parent = dir.fd().map_err(|e| io(shown, e))?;
    if subdirs.len() >= PARALLEL_FROM {
        // `prompts/` of 10,000 prompts: the opening and listing of their directories is kernel
        // work two threads share; the halves are appended in order, as one thread gives them.
        let (first, second) = subdirs.split_at(subdirs.len() / 2);
        let (a, b) = std::thread::scope(|scope| {
            let other = scope.spawn(|| walk_subdirs(parent, second, stat));
            (walk_subdirs(parent, first, stat), other.join())
        });
        out.extend(a?);
        out.extend(b.unwrap_or_else(|panic| std::panic::resume_unwind(panic))?);
        return Ok(());
    }
    out.extend(walk_subdirs(parent, &subdirs, stat)?);
    Ok(())
}

/// How many sub-directories a directory has before its walk is shared with a second thread.
const PARALLEL_FROM: usize = 512;

/// Walks each of `subdirs` (their names in `parent`, and their shown paths) in turn.
fn walk_subdirs(
    parent: BorrowedFd<'_>,
    subdirs: &[(CString, String)],
    stat: bool,
) -> Result<Vec<Walked>> {
    let mut out = Vec::new();
    for (raw, path) in subdirs {
        match openat(parent, raw.as_c_str(), DIR_FLAGS, Mode::empty()) {
            Ok(sub) => walk_fd(sub, path, stat, &mut out)?,
            // Replaced since it was listed: report what it is now.
            Err(errno) => match statat(parent, raw.as_c_str(), AtFlags::SYMLINK_NOFOLLOW) {
                Ok(found) => {
                    let kind = kind_of(FileType::from_raw_mode(found.st_mode));
                    let stat = (stat && kind == Kind::File).then(|| FileStat::of(&found));
                    out.push((path.clone(), kind, stat))
                }
                Err(Errno::NOENT) => {}
                Err(_) => return Err(io(path, errno)),
            },
        }
    }
    Ok(out)
}

fn kind_of(file_type: FileType) -> Kind {
    match file_type {
        FileType::RegularFile => Kind::File,
        FileType::Directory => Kind::Dir,
        FileType::Symlink => Kind::Symlink,
        FileType::Fifo => Kind::Special("a FIFO"),
        FileType::Socket => Kind::Special("a socket"),
        FileType::CharacterDevice | FileType::BlockDevice => Kind::Special("a device"),
        FileType::Unknown => Kind::Special("a special file"),
    }
}

/// The components of a repository-relative path, refusing any that could leave the root.
fn parts(relative: &str) -> Result<Vec<&str>> {
    let parts: Vec<&str> = relative.split('/').collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || *p == "." || *p == ".." || p.contains('\0'))
    {
        return Err(Error::Invalid {
            file: PathBuf::from(relative),
            message: "is not a plain path inside the repository (empty, `.` or `..` parts)".into(),
        });
    }
    Ok(parts)
}

/// The directories on the way to `relative`, and its last component.
fn split(relative: &str) -> Result<(Vec<&str>, &str)> {
    let mut parts = parts(relative)?;
    let leaf = parts.pop().unwrap_or_default();
    Ok((parts, leaf))
}

fn refused(shown: &str, reason: Refusal) -> Error {
    Error::NotRegular {
        path: PathBuf::from(shown),
        reason,
        committed: false,
    }
}

fn io(shown: &str, errno: Errno) -> Error {
    Error::io(shown)(errno.into())
}

fn too_large(shown: &str, size: u64, limit: usize) -> Error {
    Error::TooLarge {
        file: PathBuf::from(shown),
        size,
        limit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("prompts/x/sub")).unwrap();
        std::fs::write(dir.path().join("prompts/x/prompt.yaml"), "a: 1\n").unwrap();
        std::fs::write(dir.path().join("prompts/x/sub/s.md"), "hi").unwrap();
        dir
    }

    fn refusal(result: Result<impl std::fmt::Debug>) -> (PathBuf, Refusal) {
        match result {
            Err(Error::NotRegular { path, reason, .. }) => (path, reason),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn reads_regular_files_and_reports_missing_ones() {
        let dir = tree();
        let wt = WorkTree::new(dir.path());
        assert_eq!(
            wt.read("prompts/x/sub/s.md", 10).unwrap(),
            Some(Content::Bytes(b"hi".to_vec()))
        );
        assert_eq!(wt.read("prompts/x/none.md", 10).unwrap(), None);
        assert_eq!(wt.read("prompts/y/prompt.yaml", 10).unwrap(), None);
        // A file where a directory should be: nothing is there.
        assert_eq!(wt.read("prompts/x/prompt.yaml/z", 10).unwrap(), None);
        assert_eq!(
            wt.read("prompts/x/prompt.yaml", 2).unwrap(),
            Some(Content::TooLarge(5))
        );
        assert!(wt.read("prompts/../x", 10).is_err());
    }

    #[test]
    fn refuses_a_link_at_every_depth() {
        let dir = tree();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(outside.path().join("x/sub")).unwrap();
        std::fs::write(outside.path().join("x/sub/s.md"), "secret").unwrap();
        std::fs::write(outside.path().join("x/prompt.yaml"), "secret").unwrap();
        let root = dir.path();
        // The file itself.
        std::fs::remove_file(root.join("prompts/x/sub/s.md")).unwrap();
        symlink(
            outside.path().join("x/sub/s.md"),
            root.join("prompts/x/sub/s.md"),
        )
        .unwrap();
        let wt = WorkTree::new(root);
        assert_eq!(
            refusal(wt.read("prompts/x/sub/s.md", 100)),
            ("prompts/x/sub/s.md".into(), Refusal::Symlink)
        );
        // A sub-directory.
        std::fs::remove_dir_all(root.join("prompts/x/sub")).unwrap();
        symlink(outside.path().join("x/sub"), root.join("prompts/x/sub")).unwrap();
        assert_eq!(
            refusal(wt.read("prompts/x/sub/s.md", 100)),
            ("prompts/x/sub".into(), Refusal::Symlink)
        );
        assert_eq!(wt.kind("prompts/x/sub").unwrap(), Some(Kind::Symlink));
        assert_eq!(wt.kind("prompts/x/sub/s.md").unwrap(), None);
        // The prompts directory.
        std::fs::remove_dir_all(root.join("prompts")).unwrap();
        symlink(outside.path(), root.join("prompts")).unwrap();
        assert_eq!(
            refusal(wt.read("prompts/x/prompt.yaml", 100)),
            ("prompts".into(), Refusal::Symlink)
        );
        assert_eq!(
            refusal(wt.walk("prompts/x")),
            ("prompts".into(), Refusal::Symlink)
        );
        assert_eq!(
            refusal(wt.check_dir("prompts/x")),
            ("prompts".into(), Refusal::Symlink)
        );
    }

    #[test]
    fn walk_lists_links_without_following_them() {
        let dir = tree();
        let root = dir.path();
        symlink("/", root.join("prompts/x/root")).unwrap();
        let mut found = WorkTree::new(root).walk("prompts").unwrap();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            found,
            vec![
                ("prompts/x/prompt.yaml".into(), Kind::File),
                ("prompts/x/root".into(), Kind::Symlink),
                ("prompts/x/sub/s.md".into(), Kind::File),
            ]
        );
        assert_eq!(
            refusal(WorkTree::new(root).check_dir("prompts/x")),
            ("prompts/x/root".into(), Refusal::Symlink)
        );
        assert!(WorkTree::new(root).check_dir("prompts/new/one").is_ok());
    }

    #[test]
    fn walking_many_directories_holds_few_descriptors() {
        let dir = tempfile::tempdir().unwrap();
        // tests/cli/symlinks.rs runs the same under `ulimit -n 48` (with `validate`).
        for i in 0..300 {
            std::fs::create_dir_all(dir.path().join(format!("prompts/p{i}"))).unwrap();
            std::fs::write(dir.path().join(format!("prompts/p{i}/prompt.yaml")), "").unwrap();
        }
        let found = WorkTree::new(dir.path()).walk("prompts").unwrap();
        assert_eq!(found.len(), 300);
        assert!(found.iter().all(|(_, kind)| *kind == Kind::File));
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tree();
        let fifo = dir.path().join("prompts/x/sub/s.md");
        std::fs::remove_file(&fifo).unwrap();
        rustix::fs::mknodat(CWD, &fifo, FileType::Fifo, Mode::RUSR | Mode::WUSR, 0).unwrap();
        let wt = WorkTree::new(dir.path());
        assert_eq!(
            refusal(wt.read("prompts/x/sub/s.md", 100)),
            ("prompts/x/sub/s.md".into(), Refusal::Special("a FIFO"))
        );
        assert_eq!(
            refusal(read_named(&fifo, 100)).1,
            Refusal::Special("a FIFO")
        );
        assert_eq!(
            refusal(wt.check_dir("prompts/x")).1,
            Refusal::Special("a FIFO")
        );
    }
}
