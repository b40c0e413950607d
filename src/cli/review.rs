//! `--branch NAME [--push REMOTE [--pr]]` of `promote`, `rollback` and `split`: the move as one
//! commit on a new branch for review, how to push it and open the pull request, and doing both
//! by shelling out to `git push` (the user's credentials apply) and to `gh` or `glab`.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Context as _, Result};

use promptreg::model::registry::Pointer;
use promptreg::model::trailers::Trailers;
use promptreg::ops::diff::Side;
use promptreg::store::{short_branch, ObjectId, Store};
use promptreg::PromptName;

use super::Context;

/// ` on branch NAME (HEAD unchanged)` for the status line of a move made with `--branch`.
pub fn on_branch(args: &BranchArgs) -> String {
    match &args.branch {
        Some(branch) => format!(" on new branch `{branch}`; the checkout is unchanged"),
        None => String::new(),
    }
}

/// The options shared by the commands that move a pointer.
#[derive(clap::Args, Debug, Default)]
pub struct BranchArgs {
    /// Write the move as one commit on this new branch, made from the registry branch's tip,
    /// for a pull request; the checked-out branch, the index and the working tree stay as they
    /// are. Needed for a protected environment (access.protected)
    #[arg(long, value_name = "NAME")]
    pub branch: Option<String>,
    /// Push the new branch: runs `git push REMOTE NAME` (your credentials and configuration
    /// apply)
    #[arg(long, value_name = "REMOTE", requires = "branch")]
    pub push: Option<String>,
    /// Open the pull request with `gh` (GitHub) or `glab` (GitLab), whichever is installed;
    /// its body holds the move, the reason, the gate results and the prompt's diff
    #[arg(long, requires = "push")]
    pub pr: bool,
}

/// What the pull request says.
pub struct Proposal {
    /// The registry branch it goes into.
    pub base: String,
    pub title: String,
    pub body: String,
}

impl Proposal {
    /// The pull request of a move: what moves, why, the gate, and the prompt's diff.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: &Store,
        title: &str,
        name: &PromptName,
        environment: &str,
        from: Option<&Pointer>,
        to: &Pointer,
        reason: &str,
        commit: ObjectId,
    ) -> Proposal {
        let base = store
            .head_branch()
            .map(|(b, _)| short_branch(&b).to_owned())
            .unwrap_or_else(|_| "main".into());
        let was = from.map_or("nothing".to_owned(), Pointer::describe);
        let mut body = format!(
            "Moves `{name}` in **{environment}**: {was} → {}.\n\n**Reason:** {}\n\n",
            to.describe(),
            reason.trim()
        );
        let message = store
            .find_commit(commit)
            .map(|c| String::from_utf8_lossy(c.message_bytes()).into_owned())
            .unwrap_or_default();
        let trailers = Trailers::parse(&message);
        let gated = promptreg::read::registry_at(
            store,
            &match store.commit(None) {
                Ok(c) => c,
                Err(_) => {
                    return Proposal {
                        base,
                        title: title.into(),
                        body,
                    }
                }
            },
            "HEAD",
            Some(name),
        )
        .ok()
        .is_some_and(|r| r.gate(environment).is_some());
        let gate = match trailers.as_ref() {
            Some(t) if !t.gate_unmet.is_empty() => {
                format!("forced past unmet conditions: {}", t.gate_unmet.join("; "))
            }
            Some(t) if t.forced => "met; the pipeline rule was overridden with --force".into(),
            _ if gated => format!("the {environment} gate (policy) is met"),
            _ => format!("{environment} has no gate"),
        };
        body.push_str(&format!("**Gate:** {gate}\n\n"));
        if let (Some(old), Some(new)) = (from.map(Pointer::first), Some(to.first())) {
            let side = |v: &promptreg::Version| {
                Side::Target(promptreg::model::selector::Target::Version(v.clone()))
            };
            if let Ok(diff) = promptreg::ops::diff::diff(store, name, &side(old), &side(new), None)
            {
                if !diff.text_diff.is_empty() {
                    body.push_str(&format!("```diff\n{}```\n\n", diff.text_diff));
                }
            }
        }
        body.push_str(&format!(
            "Written by promptreg. CI checks it with `promptreg audit --base origin/{base}`; merge it with a merge commit (not a squash or a rebase) so that the move keeps its author and reason.\n"
        ));
        Proposal {
            base,
            title: title.to_owned(),
            body,
        }
    }
}

/// After a move committed on `--branch`: pushes it and opens the pull request when asked, and
/// says (on stderr) how to do what was not asked.
pub fn after_branch_commit(
    context: &Context,
    args: &BranchArgs,
    store: &Store,
    proposal: &Proposal,
) -> Result<()> {
    let Some(branch) = &args.branch else {
        return Ok(());
    };
    let workdir = store.workdir("push")?;
    let Some(remote) = &args.push else {
        context.status(&format!(
            "to propose it: `git push origin {branch}`, then open a pull request from `{branch}` into `{}` (or pass --push REMOTE --pr next time)",
            proposal.base
        ));
        return Ok(());
    };
    let out = Command::new("git")
        .arg("-C")
        .arg(workdir)
        .args(["push", "--", remote.as_str(), branch.as_str()])
        .stdin(Stdio::null())
        // git's progress and messages are talk: stderr, so stdout stays data.
        .stdout(Stdio::from(std::io::stderr().as_fd_owned()?))
        .status()
        .context("cannot run `git push`")?;
    if !out.success() {
        bail!(super::CliError::Failed(
            format!("`git push {remote} {branch}` failed; the branch `{branch}` is committed locally"),
            format!("check the remote and your credentials, then run `git push {remote} {branch}` yourself"),
        ));
    }
    context.status(&format!("pushed `{branch}` to {remote}"));
    if !args.pr {
        context.status(&format!(
            "open a pull request from `{branch}` into `{}` (or pass --pr to have gh or glab open it)",
            proposal.base
        ));
        return Ok(());
    }
    open_pull_request(context, workdir, branch, proposal)
}

fn found(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn open_pull_request(
    context: &Context,
    workdir: &Path,
    branch: &str,
    proposal: &Proposal,
) -> Result<()> {
    let (program, args): (&str, Vec<&OsStr>) = if found("gh") {
        (
            "gh",
            [
                "pr",
                "create",
                "--head",
                branch,
                "--base",
                &proposal.base,
                "--title",
                &proposal.title,
                "--body",
                &proposal.body,
            ]
            .map(OsStr::new)
            .to_vec(),
        )
    } else if found("glab") {
        (
            "glab",
            [
                "mr",
                "create",
                "--source-branch",
                branch,
                "--target-branch",
                &proposal.base,
                "--title",
                &proposal.title,
                "--description",
                &proposal.body,
                "--yes",
            ]
            .map(OsStr::new)
            .to_vec(),
        )
    } else {
        bail!(super::CliError::Failed(
            "--pr needs the `gh` or `glab` command, and neither is installed; the branch is pushed".into(),
            format!("open the pull request from `{branch}` into `{}` in the forge's web page, or install gh (https://cli.github.com) or glab", proposal.base),
        ));
    };
    let status = Command::new(program)
        .current_dir(workdir)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::io::stderr().as_fd_owned()?))
        .status()
        .with_context(|| format!("cannot run `{program}`"))?;
    if !status.success() {
        bail!(super::CliError::Failed(
            format!("`{program}` could not open the pull request; the branch `{branch}` is pushed"),
            format!("open it from `{branch}` into `{}` yourself", proposal.base),
        ));
    }
    context.status(&format!("opened the pull request with {program}"));
    Ok(())
}

/// Stderr as an owned handle, to give a child process as its stdout.
trait OwnedStderr {
    fn as_fd_owned(&self) -> Result<std::os::fd::OwnedFd>;
}

impl OwnedStderr for std::io::Stderr {
    fn as_fd_owned(&self) -> Result<std::os::fd::OwnedFd> {
        use std::os::fd::AsFd;
        Ok(self.as_fd().try_clone_to_owned()?)
    }
}
