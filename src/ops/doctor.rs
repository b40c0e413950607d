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

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::store::{
    process_alive, read_journal, Behind, CommitView, Journal, Lock, ObjectId, Store, WriteGuard,
    LOCK_FILE,
};
use crate::{Error, PromptName, Result, Version, PROMPTS_DIR};

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
    common: PathBuf,
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

    /// What a Git lock file stands in the way of.
    fn what_lock_blocks(&self, path: &Path) -> String {
        match path.strip_prefix(&self.common).ok().and_then(Path::to_str) {
            Some(rel) if rel.starts_with("refs/") => {
                format!("blocks updates of `{}`", rel.trim_end_matches(".lock"))
            }
            _ => match path.file_name().and_then(|n| n.to_str()) {
                Some("index.lock") => "blocks writes to the index".to_owned(),
                Some("HEAD.lock") => "blocks updates of HEAD".to_owned(),
                Some("packed-refs.lock") => "blocks deleting and packing refs".to_owned(),
                _ => "blocks writes to the repository configuration".to_owned(),
            },
        }
    }

    /// promptreg's write lock while a writer holds it.
    fn live_lock(&self, path: &Path, out: &mut Vec<Candidate>) -> Result<()> {
        let Some(metadata) = file_metadata(path)? else {
            return Ok(());
        };
        let pid = read_journal(path).pid;
        let who = match &pid {
            Some(pid) => format!(
                "process {pid}{}",
                process_name(pid)
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            ),
            None => "a process".to_owned(),
        };
        let detail = format!("held by {who}, which is writing now; left alone");
        out.push(candidate(Kind::LiveLock, path, detail, false, &metadata));
        Ok(())
    }

    /// What the journal of a writer that is gone records and is still there: its Git lock
    /// files (same inode) and private files. Safe to remove at any age.
    fn journal_leftovers(&self, journal: &Journal, out: &mut Vec<Candidate>) -> Result<()> {
        let by = match &journal.pid {
            Some(pid) => format!("promptreg process {pid}"),
            None => "a promptreg process".to_owned(),
        };
        for recorded in &journal.locks {
            let path = &recorded.path;
            let Some(metadata) = file_metadata(path)? else {
                continue;
            };
            if !recorded.matches(&metadata) {
                continue;
            }
            let detail = format!(
                "{} old, {}; created by {by}, which is no longer running",
                age_text(self.age(&metadata)),
                self.what_lock_blocks(path)
            );
            out.push(candidate(Kind::GitLock, path, detail, true, &metadata));
        }
        for path in &journal.temps {
            let Some(metadata) = file_metadata(path)? else {
                continue;
            };
            let detail = format!("private file of {by}, which is no longer running");
            out.push(candidate(Kind::LockTemp, path, detail, true, &metadata));
        }
        Ok(())
    }

    /// Private copies of the index (`index.promptreg-<pid>`, see `store::guard`) of writers
    /// that are gone.
    fn index_copies(&self, git_dir: &Path, out: &mut Vec<Candidate>) -> Result<()> {
        let mut here = Vec::new();
        for entry in entries(git_dir)? {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let Some(pid) = name
                .strip_prefix("index.promptreg-")
                .map(|rest| rest.trim_end_matches(".lock"))
                .filter(|pid| is_pid(pid))
            else {
                continue;
            };
            self.dead_writer_temp(Kind::LockTemp, &entry.path(), pid, &mut here)?;
        }
        here.sort_by(|a, b| a.finding.path.cmp(&b.finding.path));
        out.extend(here);
        Ok(())
    }

    /// Git's lock files of unknown creators: ref locks, `packed-refs.lock`, `config.lock`, and
    /// this worktree's `index.lock` and `HEAD.lock` (those a dead promptreg writer's journal
    /// names are reported already).
    fn git_locks(
        &self,
        store: &Store,
        writer_running: bool,
        out: &mut Vec<Candidate>,
    ) -> Result<()> {
        let (common, git_dir) = (store.common_dir(), store.git_dir());
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
            if out.iter().any(|c| c.finding.path == path) {
                continue;
            }
            let Some(metadata) = file_metadata(&path)? else {
                continue;
            };
            let age = self.age(&metadata);
            let what = self.what_lock_blocks(&path);
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
        walk(
            &workdir.join(crate::model::results::RESULTS_DIR),
            &mut consider,
        )?;
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

/// An index entry left behind a promptreg commit, as found, with its finding.
struct BehindItem {
    behind: Behind,
    finding: Finding,
}

fn behind_finding(item: &BehindItem) -> Finding {
    item.finding.clone()
}

/// Describes what `Store::behind_head` found.
fn behind_items(store: &Store, found: Vec<Behind>) -> Vec<BehindItem> {
    let root = store
        .workdir("doctor")
        .map(Path::to_owned)
        .unwrap_or_default();
    found
        .into_iter()
        .map(|b| {
            let short = b.commit.to_string()[..10].to_owned();
            let (holders, them) = if b.rewrite {
                ("the index and the working file still hold", "them")
            } else {
                ("the index still holds", "it")
            };
            let mut detail = format!(
                "{holders} it as before commit {short} (\"{}\"): its writer stopped before \
                 updating {them}; a `git commit` now would undo that commit",
                b.summary
            );
            if !b.fixable {
                detail.push_str(&format!(
                    "; the working file has other edits, so it was left alone \
                     (`git reset -q -- {}` updates the index and keeps them)",
                    b.path
                ));
            }
            BehindItem {
                finding: Finding {
                    kind: Kind::IndexBehind,
                    path: root.join(&b.path),
                    detail,
                    fixable: b.fixable,
                    fixed: false,
                },
                behind: b,
            }
        })
        .collect()
}

/// Brings the entries in `items` up to date under the guard, after checking that they are
/// still exactly as found (the index was not locked while scanning).
fn fix_behind(store: &Store, guard: &WriteGuard, items: &mut [BehindItem]) {
    let now = match store.behind_head() {
        Ok(now) => now,
        Err(e) => return note(items.iter_mut().map(|i| &mut i.finding), &format!("{e}")),
    };
    let same = |a: &Behind, b: &Behind| {
        (&a.path, a.commit, a.old, a.new, a.rewrite) == (&b.path, b.commit, b.old, b.new, b.rewrite)
    };
    let mut todo = Vec::new();
    for item in items.iter_mut().filter(|i| i.finding.fixable) {
        match now.iter().find(|b| same(b, &item.behind) && b.fixable) {
            Some(b) => todo.push(b.clone()),
            None => item
                .finding
                .detail
                .push_str("; it changed while being checked, so it was left alone"),
        }
    }
    if todo.is_empty() {
        return;
    }
    match store.catch_up(guard, &todo) {
        Ok(()) => {
            for item in items.iter_mut() {
                if todo.iter().any(|b| same(b, &item.behind)) {
                    item.finding.fixed = true;
                }
            }
        }
        Err(e) => note(
            items.iter_mut().map(|i| &mut i.finding),
            &format!("cannot update it: {e}"),
        ),
    }
}

/// A `create` commit on HEAD's first-parent history whose version tag does not exist.
struct Untagged {
    finding: Finding,
    name: PromptName,
    version: Version,
    commit: ObjectId,
}

/// The `create` commits (subject `create <name> <version>` with `Prompt:` and `Version:`
/// trailers) on HEAD's first-parent history whose tag is missing, for a version above every
/// released one of that prompt.
fn untagged_creates(store: &Store) -> Result<Vec<Untagged>> {
    let Some(mut commit) = store.head_commit() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    // Only the newest create of each prompt (the walk goes newest first): a kill leaves at most
    // that one untagged, and one tag listing per prompt keeps long histories cheap.
    let mut seen = std::collections::HashSet::new();
    loop {
        if let Some((name, version)) =
            created_release(&commit).filter(|(name, _)| seen.insert(name.clone()))
        {
            // Only above every released version: what a kill leaves. An older missing tag is
            // more likely deleted on purpose, and not brought back.
            let newest = store.versions(&name)?.last().map(|(v, _)| v.clone());
            if !store.version_exists(&name, &version) && newest.is_none_or(|n| version > n) {
                let short = commit.id().to_string()[..10].to_owned();
                let tag = version.tag_name(&name);
                out.push(Untagged {
                    finding: Finding {
                        kind: Kind::UntaggedCreate,
                        path: PathBuf::from(version.tag_ref(&name)),
                        detail: format!(
                            "commit {short} releases {name} {version}, but its tag `{tag}` was \
                             never written (its writer stopped in between); the fix creates it"
                        ),
                        fixable: true,
                        fixed: false,
                    },
                    name,
                    version,
                    commit: commit.id(),
                });
            }
        }
        match commit.parent(0) {
            Ok(parent) => commit = parent,
            Err(_) => break,
        }
    }
    Ok(out)
}

/// The release a `create` commit made, from its subject and trailers.
fn created_release(commit: &CommitView<'_>) -> Option<(PromptName, Version)> {
    let summary = std::str::from_utf8(commit.summary_bytes()?).ok()?;
    if !summary.starts_with("create ") || !commit.is_promptreg_commit() {
        return None;
    }
    let message = std::str::from_utf8(commit.raw_message_bytes()).ok()?;
    crate::model::trailers::parse_created(message)
}

/// Writes the missing tags, as `create` would have: the commit's committer as tagger, the
/// commit's body as the changelog.
fn fix_untagged(store: &Store, guard: &WriteGuard, items: &mut [Untagged]) {
    for item in items.iter_mut().filter(|i| i.finding.fixable) {
        let result = (|| {
            let commit = store
                .find_commit(item.commit)
                .map_err(Error::git("cannot read the commit"))?;
            let tagger = commit.committer().identity();
            let description = crate::model::trailers::reason_of(&String::from_utf8_lossy(
                commit.raw_message_bytes(),
            ));
            let reservation = store.reserve_tag(guard, &item.name, &item.version)?;
            store.create_release_tag(
                reservation,
                &item.name,
                &item.version,
                item.commit,
                &tagger,
                &description,
            )
        })();
        match result {
            Ok(_) => item.finding.fixed = true,
            Err(e) => item
                .finding
                .detail
                .push_str(&format!("; cannot create it: {e}")),
        }
    }
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
