//! `--sync REMOTE`: fetch from the remote with the git CLI (so the user's credentials and
//! configuration apply) and fast-forward the served branch, every interval.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use super::{NotifyFn, Shared, SyncConfig};
use crate::store::Store;

pub(super) async fn run(
    shared: Arc<Shared>,
    config: SyncConfig,
    notify: NotifyFn,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(config.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stopped.changed() => return,
        }
        let (shared, remote) = (shared.clone(), config.remote.clone());
        let outcome =
            tokio::task::spawn_blocking(move || once(&shared.repo, &shared.refname, &remote)).await;
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(message)) => notify(&format!("sync from {}: {message}", config.remote)),
            Err(e) => notify(&format!("sync from {}: {e}", config.remote)),
        }
    }
}

/// Why `--sync REMOTE` cannot work, found before the server starts (rather than as a failure
/// logged at every interval).
#[derive(Debug)]
pub enum RemoteProblem {
    /// Neither a remote of the repository, a URL, nor a path that exists; the remotes it has.
    Unknown { remotes: Vec<String> },
    /// `git remote` could not be run or failed.
    Git(String),
}

/// Whether `remote` is something `git fetch` can fetch from: a remote configured in the
/// repository at `repo` (as `git remote` lists them, so included configuration counts), a URL
/// (`https://…`, `ssh://…`, scp-like `host:path`), or a path that exists (relative to the
/// repository's working tree, where the fetch runs). A URL is not contacted: a network failure
/// is a sync failure like any other, retried at the next interval.
pub fn check_remote(repo: &Path, remote: &str) -> Result<(), RemoteProblem> {
    let store = Store::discover(repo).map_err(|e| RemoteProblem::Git(e.to_string()))?;
    let dir = match store.workdir("sync") {
        Ok(dir) => dir.to_owned(),
        Err(_) => store.git_dir().to_owned(),
    };
    let out = Command::new("git")
        .arg("-C")
        .arg(&dir)
        .arg("remote")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| RemoteProblem::Git(format!("cannot run git: {e}")))?;
    if !out.status.success() {
        return Err(RemoteProblem::Git(format!(
            "`git remote` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let mut remotes: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    remotes.sort();
    // git reads `host:path` as scp-like SSH when no `/` comes before the first `:`.
    let scp_like = remote
        .split_once(':')
        .is_some_and(|(host, _)| !host.is_empty() && !host.contains('/'));
    if remotes.iter().any(|r| r == remote)
        || remote.contains("://")
        || scp_like
        || (!remote.is_empty() && dir.join(remote).exists())
    {
        return Ok(());
    }
    Err(RemoteProblem::Unknown { remotes })
}

/// One fetch and fast-forward. A checked-out branch is moved with `git merge --ff-only` so the
/// working tree and index follow; any other branch by a non-forced fetch refspec.
pub fn once(repo: &Path, refname: &str, remote: &str) -> Result<(), String> {
    let store = Store::discover(repo).map_err(|e| e.to_string())?;
    let Some(short) = refname.strip_prefix("refs/heads/") else {
        return Err(format!(
            "`{refname}` is not a branch; only branches are synced"
        ));
    };
    let checked_out = store.workdir("sync").is_ok()
        && store.head_branch().ok().map(|(b, _)| b).as_deref() == Some(refname);
    let dir = match store.workdir("sync") {
        Ok(dir) => dir.to_owned(),
        Err(_) => store.git_dir().to_owned(),
    };
    if checked_out {
        git(&dir, &["fetch", "--quiet", "--tags", remote, short])?;
        git(&dir, &["merge", "--ff-only", "--quiet", "FETCH_HEAD"])
    } else {
        let spec = format!("{short}:{refname}");
        git(&dir, &["fetch", "--quiet", "--tags", remote, &spec])
    }
}

fn git(dir: &Path, args: &[&str]) -> Result<(), String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`git {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
