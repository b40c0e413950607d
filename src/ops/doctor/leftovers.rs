//! Files killed processes leave: Git lock files, libgit2's temporary objects, promptreg's own
//! temporary files (cache entries, working-tree files being replaced, private index copies)
//! and what a dead writer's journal records. Each is a [`Candidate`] for removal.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::files::{
    age_text, candidate, entries, file_metadata, is_pid, process_name, walk, Candidate,
};
use super::Kind;
use crate::store::{process_alive, read_journal, Journal, Store};
use crate::{Result, PROMPTS_DIR};

pub(super) struct Scan {
    pub(super) now: SystemTime,
    pub(super) min_age: Duration,
    pub(super) common: PathBuf,
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
    pub(super) fn live_lock(&self, path: &Path, out: &mut Vec<Candidate>) -> Result<()> {
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
    pub(super) fn journal_leftovers(
        &self,
        journal: &Journal,
        out: &mut Vec<Candidate>,
    ) -> Result<()> {
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
    pub(super) fn index_copies(&self, git_dir: &Path, out: &mut Vec<Candidate>) -> Result<()> {
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
    pub(super) fn git_locks(
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
    pub(super) fn temp_objects(&self, objects: &Path, out: &mut Vec<Candidate>) -> Result<()> {
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
    pub(super) fn cache_temps(&self, cache: &Path, out: &mut Vec<Candidate>) -> Result<()> {
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
    pub(super) fn worktree_temps(&self, workdir: &Path, out: &mut Vec<Candidate>) -> Result<()> {
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
