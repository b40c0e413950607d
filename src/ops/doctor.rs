//! `doctor`: what killed processes leave behind, and clearing what is safe to clear.
//!
//! A writer killed at the wrong moment can leave promptreg's write lock (which every later
//! writer then refuses to break), a Git lock file (`refs/heads/main.lock`, `index.lock`, …) that
//! blocks every later update of that ref or file, libgit2's temporary object files, and
//! promptreg's own temporary files (cache entries being written, working-tree files being
//! replaced), and, when it was killed after its commit landed, index entries (and working
//! files) that still hold what was there before that commit: a `git commit` would undo it.
//! Each is reported as a [`Finding`]; with `fix`, those that are safe to clear are.
//!
//! What counts as safe: a file named after a process that is no longer running; a Git lock file
//! or temporary object older than `min_age` while no live promptreg holds the write lock (Git
//! commands hold their locks for milliseconds, and carry no process id); an index entry that
//! holds exactly the previous commit's blob, while the working file holds that blob or the new
//! one (brought up to date under the write lock, as the killed writer would have). A lock held
//! by a running process is never removed.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use git2::Oid;

use crate::store::{holder, process_alive, Store, LOCK_FILE};
use crate::{Error, Result, PROMPTS_DIR};

/// What a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// promptreg's write lock, left by a process that is gone.
    StaleLock,
    /// promptreg's write lock, held by a running process (or just being taken).
    LiveLock,
    /// A Git lock file (`*.lock` under `refs/`, `packed-refs.lock`, `index.lock`, …).
    GitLock,
    /// A libgit2 temporary object file (`objects/tmp_object_git2_*`).
    TempObject,
    /// A cache entry being written by a process that is gone.
    CacheTemp,
    /// A working-tree file being replaced by a process that is gone.
    WorktreeTemp,
    /// An index entry (and perhaps the working file) still as before promptreg's last commit:
    /// the writer was killed after the commit, before updating them.
    IndexBehind,
}

impl Kind {
    /// The name used in output (`stale-lock`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::StaleLock => "stale-lock",
            Kind::LiveLock => "live-lock",
            Kind::GitLock => "git-lock",
            Kind::TempObject => "temp-object",
            Kind::CacheTemp => "cache-temp",
            Kind::WorktreeTemp => "worktree-temp",
            Kind::IndexBehind => "index-behind",
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
/// `min_age` is how old a Git lock file or temporary object must be to count as abandoned.
/// Returns every finding (an empty list when there is nothing to report), in a stable order.
pub fn doctor(store: &Store, fix: bool, min_age: Duration) -> Result<Vec<Finding>> {
    let scan = Scan {
        now: SystemTime::now(),
        min_age,
    };
    let common = store.common_dir();
    let mut found = Vec::new();
    let writer_running = scan.registry_lock(&common.join(LOCK_FILE), &mut found)?;
    scan.git_locks(store, writer_running, &mut found)?;
    scan.temp_objects(&common.join("objects"), &mut found)?;
    scan.cache_temps(&common.join("promptreg").join("cache"), &mut found)?;
    let mut behind = Vec::new();
    if let Ok(workdir) = store.workdir("doctor") {
        scan.worktree_temps(workdir, &mut found)?;
        if !writer_running {
            // While a writer runs, its commit may be ahead of the index for a moment.
            behind = index_behind(store, workdir)?;
        }
    }
    if fix {
        for candidate in found.iter_mut().filter(|c| c.finding.fixable) {
            candidate.remove();
        }
        // After the locks are gone: the index may have been locked by the same killed writer.
        if behind.iter().any(|b| b.finding.fixable) {
            catch_up(store, &mut behind);
        }
    }
    let mut findings: Vec<Finding> = found.into_iter().map(|c| c.finding).collect();
    findings.extend(behind.into_iter().map(|b| b.finding));
    Ok(findings)
}

/// A finding and the identity of the file as it was seen, so a file replaced meanwhile (a
/// new lock taken by a new writer) is never removed in its place.
struct Candidate {
    finding: Finding,
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
    fn remove(&mut self) {
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

struct Scan {
    now: SystemTime,
    min_age: Duration,
}

impl Scan {
    fn age(&self, metadata: &std::fs::Metadata) -> Duration {
        metadata
            .modified()
            .ok()
            .and_then(|t| self.now.duration_since(t).ok())
            .unwrap_or_default()
    }

    fn old(&self, age: Duration) -> bool {
        age >= self.min_age
    }

    /// promptreg's write lock. Returns whether a live writer may hold it.
    fn registry_lock(&self, path: &Path, out: &mut Vec<Candidate>) -> Result<bool> {
        let Some(metadata) = file_metadata(path)? else {
            return Ok(false);
        };
        let age = self.age(&metadata);
        let (kind, detail, fixable) = match holder(path) {
            Some(pid) if process_alive(&pid) => (
                Kind::LiveLock,
                format!(
                    "held by process {pid}{}, which is running ({} old); left alone",
                    process_name(&pid)
                        .map(|n| format!(" ({n})"))
                        .unwrap_or_default(),
                    age_text(age)
                ),
                false,
            ),
            Some(pid) => (
                Kind::StaleLock,
                format!(
                    "held by process {pid}, which is no longer running ({} old)",
                    age_text(age)
                ),
                true,
            ),
            // Created but no process id written yet: being taken right now, or its writer was
            // killed in between.
            None if self.old(age) => (
                Kind::StaleLock,
                format!("names no process ({} old)", age_text(age)),
                true,
            ),
            None => (
                Kind::LiveLock,
                format!(
                    "names no process yet ({} old): a writer may be taking it; left alone",
                    age_text(age)
                ),
                false,
            ),
        };
        out.push(candidate(kind, path, detail, fixable, &metadata));
        Ok(kind == Kind::LiveLock)
    }

    /// Git's lock files: ref locks, `packed-refs.lock`, `config.lock`, and this worktree's
    /// `index.lock` and `HEAD.lock`.
    fn git_locks(
        &self,
        store: &Store,
        writer_running: bool,
        out: &mut Vec<Candidate>,
    ) -> Result<()> {
        let common = store.common_dir();
        let git_dir = store.git_dir();
        let mut paths = Vec::new();
        walk(&common.join("refs"), &mut |path| {
            if path.extension().is_some_and(|e| e == "lock") {
                paths.push(path.to_owned());
            }
        })?;
        paths.sort();
        for extra in [
            common.join("packed-refs.lock"),
            common.join("config.lock"),
            git_dir.join("index.lock"),
            git_dir.join("HEAD.lock"),
        ] {
            if !paths.contains(&extra) {
                paths.push(extra);
            }
        }
        for path in paths {
            let Some(metadata) = file_metadata(&path)? else {
                continue;
            };
            let age = self.age(&metadata);
            let what = match path.strip_prefix(common).ok().and_then(Path::to_str) {
                Some(rel) if rel.starts_with("refs/") => {
                    format!("blocks updates of `{}`", rel.trim_end_matches(".lock"))
                }
                _ => match path.file_name().and_then(|n| n.to_str()) {
                    Some("index.lock") => "blocks writes to the index".to_owned(),
                    Some("HEAD.lock") => "blocks updates of HEAD".to_owned(),
                    Some("packed-refs.lock") => "blocks deleting and packing refs".to_owned(),
                    _ => "blocks writes to the repository configuration".to_owned(),
                },
            };
            let (detail, fixable) = if writer_running {
                (
                    format!(
                        "{} old, {what}; a promptreg writer is running, so it was left alone",
                        age_text(age)
                    ),
                    false,
                )
            } else if !self.old(age) {
                (
                    format!(
                        "{} old, {what}; younger than {}, so a Git command may still be using it",
                        age_text(age),
                        age_text(self.min_age)
                    ),
                    false,
                )
            } else {
                (format!("{} old, {what}", age_text(age)), true)
            };
            out.push(candidate(Kind::GitLock, &path, detail, fixable, &metadata));
        }
        Ok(())
    }

    /// libgit2's temporary object files, in `objects/` and its fan-out directories. Young ones
    /// belong to writes in progress and are not reported.
    fn temp_objects(&self, objects: &Path, out: &mut Vec<Candidate>) -> Result<()> {
        let mut dirs = vec![objects.to_owned()];
        for entry in entries(objects)? {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.len() == 2 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
                dirs.push(entry.path());
            }
        }
        for dir in dirs {
            let mut here = Vec::new();
            for entry in entries(&dir)? {
                if !entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with("tmp_object_git2_")
                {
                    continue;
                }
                let path = entry.path();
                let Some(metadata) = file_metadata(&path)? else {
                    continue;
                };
                let age = self.age(&metadata);
                if self.old(age) {
                    let detail = format!(
                        "libgit2 temporary object, {} old; harmless clutter",
                        age_text(age)
                    );
                    here.push(candidate(Kind::TempObject, &path, detail, true, &metadata));
                }
            }
            here.sort_by(|a, b| a.finding.path.cmp(&b.finding.path));
            out.extend(here);
        }
        Ok(())
    }

    /// Cache entries being written (`.<kind>-<id>.<pid>`) by processes that are gone.
    fn cache_temps(&self, cache: &Path, out: &mut Vec<Candidate>) -> Result<()> {
        let mut here = Vec::new();
        for entry in entries(cache)? {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let Some(pid) = name
                .strip_prefix('.')
                .and_then(|rest| rest.rsplit_once('.'))
                .map(|(_, pid)| pid)
                .filter(|pid| is_pid(pid))
            else {
                continue;
            };
            self.dead_writer_temp(Kind::CacheTemp, &entry.path(), pid, &mut here)?;
        }
        here.sort_by(|a, b| a.finding.path.cmp(&b.finding.path));
        out.extend(here);
        Ok(())
    }

    /// Working-tree files being replaced (`.<file>.promptreg-<pid>`, see
    /// `store::write_atomic`) by processes that are gone: beside `registry.yaml` and anywhere
    /// under `prompts/` and `results/`.
    fn worktree_temps(&self, workdir: &Path, out: &mut Vec<Candidate>) -> Result<()> {
        let mut paths = Vec::new();
        let mut consider = |path: &Path| {
            let pid = path
                .file_name()
                .and_then(|n| n.to_str())
                .filter(|n| n.starts_with('.'))
                .and_then(|n| n.rsplit_once(".promptreg-"))
                .map(|(_, pid)| pid)
                .filter(|pid| is_pid(pid));
            if let Some(pid) = pid {
                paths.push((path.to_owned(), pid.to_owned()));
            }
        };
        for entry in entries(workdir)? {
            if entry.file_type().is_ok_and(|t| t.is_file()) {
                consider(&entry.path());
            }
        }
        walk(&workdir.join(PROMPTS_DIR), &mut consider)?;
        walk(&workdir.join(crate::results::RESULTS_DIR), &mut consider)?;
        paths.sort();
        for (path, pid) in paths {
            self.dead_writer_temp(Kind::WorktreeTemp, &path, &pid, out)?;
        }
        Ok(())
    }

    /// A temporary file named after the process writing it: reported once that process is gone.
    fn dead_writer_temp(
        &self,
        kind: Kind,
        path: &Path,
        pid: &str,
        out: &mut Vec<Candidate>,
    ) -> Result<()> {
        if process_alive(pid) {
            return Ok(());
        }
        let Some(metadata) = file_metadata(path)? else {
            return Ok(());
        };
        let detail = format!(
            "temporary file of process {pid}, which is no longer running ({} old)",
            age_text(self.age(&metadata))
        );
        out.push(candidate(kind, path, detail, true, &metadata));
        Ok(())
    }
}

/// An index entry left behind promptreg's last commit.
struct Behind {
    finding: Finding,
    /// The path in the repository (`registry.yaml`).
    path: String,
    /// HEAD when it was found, and the blobs before and in HEAD (`None`: absent).
    head: Oid,
    old: Option<Oid>,
    new: Option<Oid>,
    /// Whether the working file still holds the old content too.
    rewrite: bool,
}

/// The paths HEAD's commit changed whose index entries still hold the parent's version, when
/// HEAD is a promptreg commit (it carries a `Prompt:` trailer): what a writer killed between
/// landing its commit and updating the index leaves. A `git commit` in that state would undo
/// the commit, and promptreg refuses to write over it.
fn index_behind(store: &Store, workdir: &Path) -> Result<Vec<Behind>> {
    let repo = store.repo();
    let Ok(head) = repo.head().and_then(|h| h.peel_to_commit()) else {
        return Ok(Vec::new());
    };
    let ours = String::from_utf8_lossy(head.message_raw_bytes())
        .lines()
        .any(|line| line.starts_with("Prompt: "));
    if head.parent_count() != 1 || !ours {
        return Ok(Vec::new());
    }
    let read = |e| Error::git("cannot read the last commit")(e);
    let parent = head.parent(0).map_err(read)?;
    let (before, after) = (parent.tree().map_err(read)?, head.tree().map_err(read)?);
    let diff = repo
        .diff_tree_to_tree(Some(&before), Some(&after), None)
        .map_err(read)?;
    let mut index = repo.index().map_err(Error::git("cannot open the index"))?;
    index
        .read(true)
        .map_err(Error::git("cannot read the index"))?;
    let short = head.id().to_string()[..10].to_owned();
    let summary = String::from_utf8_lossy(head.summary_bytes().unwrap_or_default()).into_owned();
    let mut out = Vec::new();
    for delta in diff.deltas() {
        let present = |f: git2::DiffFile<'_>| f.exists().then(|| f.id());
        let (old, new) = (present(delta.old_file()), present(delta.new_file()));
        let Some(path) = delta
            .new_file()
            .path()
            .or(delta.old_file().path())
            .and_then(Path::to_str)
        else {
            continue;
        };
        let staged = index.get_path(Path::new(path), 0).map(|e| e.id);
        if staged != old || staged == new {
            // Up to date, or somebody else's staged work: not ours to judge.
            continue;
        }
        let file = workdir.join(path);
        let content = match std::fs::read(&file) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io(&file)(e)),
        };
        let blob = |id: Option<Oid>| -> Result<Option<Vec<u8>>> {
            id.map(|id| repo.find_blob(id).map(|b| b.content().to_vec()))
                .transpose()
                .map_err(Error::git(format!("cannot read `{path}`")))
        };
        let (old_content, new_content) = (blob(old)?, blob(new)?);
        let (rewrite, fixable) = if content == new_content {
            (false, true)
        } else if content == old_content && new.is_some() {
            (true, true)
        } else {
            (false, false)
        };
        let holders = if rewrite {
            "the index and the working file still hold"
        } else {
            "the index still holds"
        };
        let them = if rewrite { "them" } else { "it" };
        let mut detail = format!(
            "{holders} it as before commit {short} (\"{summary}\"): its writer stopped before \
             updating {them}; a `git commit` now would undo that commit"
        );
        if !fixable {
            detail.push_str(&format!(
                "; the working file has other edits, so it was left alone \
                 (`git reset -q -- {path}` updates the index and keeps them)"
            ));
        }
        out.push(Behind {
            finding: Finding {
                kind: Kind::IndexBehind,
                path: file,
                detail,
                fixable,
                fixed: false,
            },
            path: path.to_owned(),
            head: head.id(),
            old,
            new,
            rewrite,
        });
    }
    Ok(out)
}

/// Brings the index entries (and working files) in `behind` up to date with HEAD, under the
/// write lock, after checking that nothing moved since they were found.
fn catch_up(store: &Store, behind: &mut [Behind]) {
    let note = |behind: &mut [Behind], why: &str| {
        for b in behind.iter_mut().filter(|b| b.finding.fixable) {
            b.finding.detail.push_str(&format!("; {why}"));
        }
    };
    let _lock = match store.lock() {
        Ok(lock) => lock,
        Err(e) => return note(behind, &format!("cannot take the write lock: {e}")),
    };
    let repo = store.repo();
    let (Ok(workdir), Ok(head)) = (store.workdir("doctor"), repo.refname_to_id("HEAD")) else {
        return note(behind, "cannot read HEAD");
    };
    let mut index = match repo.index().and_then(|mut i| i.read(true).map(|()| i)) {
        Ok(index) => index,
        Err(e) => return note(behind, &format!("cannot read the index: {}", e.message())),
    };
    let mut changed = Vec::new();
    for (at, b) in behind.iter_mut().enumerate() {
        if !b.finding.fixable {
            continue;
        }
        let path = Path::new(&b.path);
        let staged = index.get_path(path, 0);
        if head != b.head || staged.as_ref().map(|e| e.id) != b.old {
            b.finding
                .detail
                .push_str("; it changed while being checked, so it was left alone");
            continue;
        }
        let result = match b.new {
            None => index.remove_path(path).map_err(|e| e.message().to_owned()),
            Some(new) => sync_entry(store, workdir, &mut index, b, new),
        };
        match result {
            Ok(()) => changed.push(at),
            Err(why) => {
                // Put back what was there.
                let _ = match staged {
                    Some(entry) => index.add(&entry),
                    None => index.remove_path(path),
                };
                b.finding
                    .detail
                    .push_str(&format!("; cannot update it: {why}"));
            }
        }
    }
    if changed.is_empty() {
        return;
    }
    match index.write() {
        Ok(()) => {
            for at in changed {
                behind[at].finding.fixed = true;
            }
        }
        Err(e) => note(behind, &format!("cannot write the index: {}", e.message())),
    }
}

/// Makes one working file (when it still holds the old content) and its index entry hold the
/// blob `new`, checking that the file hashes to it as `git add` would.
fn sync_entry(
    store: &Store,
    workdir: &Path,
    index: &mut git2::Index,
    behind: &Behind,
    new: Oid,
) -> std::result::Result<(), String> {
    if behind.rewrite {
        let blob = store
            .repo()
            .find_blob(new)
            .map_err(|e| e.message().to_owned())?;
        crate::store::write_atomic(&workdir.join(&behind.path), blob.content())
            .map_err(|e| e.to_string())?;
    }
    let path = Path::new(&behind.path);
    index.add_path(path).map_err(|e| e.message().to_owned())?;
    match index.get_path(path, 0) {
        Some(entry) if entry.id == new => Ok(()),
        _ => Err("the working file does not hash to the committed content".to_owned()),
    }
}

fn candidate(
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
fn file_metadata(path: &Path) -> Result<Option<std::fs::Metadata>> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_file() => Ok(Some(m)),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path)(e)),
    }
}

/// The entries of a directory; none when it does not exist (or is not a directory).
fn entries(dir: &Path) -> Result<Vec<std::fs::DirEntry>> {
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
fn walk(dir: &Path, visit: &mut dyn FnMut(&Path)) -> Result<()> {
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

fn is_pid(text: &str) -> bool {
    !text.is_empty() && text.len() <= 10 && text.bytes().all(|b| b.is_ascii_digit())
}

/// The command name of a running process, where the system tells.
fn process_name(pid: &str) -> Option<String> {
    let name = std::fs::read_to_string(Path::new("/proc").join(pid).join("comm")).ok()?;
    Some(name.trim_end().to_owned()).filter(|n| !n.is_empty())
}

/// `42 s`, `5 min`, `3 h`, `2 days`.
fn age_text(age: Duration) -> String {
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
