//! Errors for people: `error: …`, the causes, then a `hint:` with what to do next.

use promptreg::model::template::Limit;
use std::path::Path;

use promptreg::Error;
use promptreg::YamlProblem;

use super::context::{Paint, Stream};
use super::Context;

use super::error::CliError;
pub use super::error::CliError::{Failed, Usage};

/// Prints `error` to stderr: `error: …`, its causes and a hint (nothing for a closed stdout
/// or a command that has printed its whole answer).
pub fn report(context: &Context, error: &anyhow::Error) {
    if is_broken_pipe(error)
        || error
            .downcast_ref::<CliError>()
            .is_some_and(|e| !e.prints_error())
    {
        return;
    }
    eprintln!(
        "{}: {error}",
        context.paint(Stream::Stderr, Paint::Error, "error")
    );
    for cause in error.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    eprintln!(
        "{}: {}",
        context.paint(Stream::Stderr, Paint::Hint, "hint"),
        hint_for(error)
    );
}

/// The hint every error ends with: the library error's, the command's own, else one from the
/// system error underneath (a file that cannot be read, an address in use).
pub fn hint_for(error: &anyhow::Error) -> String {
    if let Some(hint) = error.downcast_ref::<CliError>().and_then(CliError::hint) {
        return hint.to_owned();
    }
    // A library error, possibly wrapped with context.
    if let Some(error) = error.chain().find_map(|e| e.downcast_ref::<Error>()) {
        return hint(error);
    }
    match error
        .chain()
        .find_map(|e| e.downcast_ref::<std::io::Error>())
    {
        Some(io) => io_hint(io).into(),
        None => "run the command again with --help to check its arguments; if it keeps failing, report the message above".into(),
    }
}

/// What to do about a system error, by its kind.
fn io_hint(error: &std::io::Error) -> &'static str {
    use std::io::ErrorKind::*;
    match error.kind() {
        NotFound => "check the path: it must name an existing file (relative paths start at the current directory)",
        PermissionDenied => "check the file's permissions (`ls -l`): promptreg must be able to read it",
        AddrInUse => "another process listens on that address; stop it or choose another with --addr",
        AddrNotAvailable => "listen on an address of this machine, e.g. --addr 127.0.0.1:8000",
        IsADirectory => "name a file, not a directory",
        InvalidData => "the file must be UTF-8 text",
        _ => "check the file or device named above; the system's own words are after `caused by:`",
    }
}

/// Whether `error` comes from writing to a closed stdout (`promptreg list | head -1`).
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn list(items: &[String]) -> String {
    items.join(", ")
}

/// What to do about a library error: every variant has one (the match is exhaustive, so a new
/// variant cannot be added without its hint).
pub fn hint(error: &Error) -> String {
    match error {
        Error::NotARepository { .. } => "run `git init` first, or point at a registry with --repo PATH".into(),
        Error::ReftableUnsupported { .. } => "convert it with `git refs migrate --ref-format=files`".into(),
        Error::BareRepository { .. } => "run it in a clone that has a working tree".into(),
        Error::DetachedHead => "switch to a branch first, e.g. `git switch main`".into(),
        Error::UnbornBranch { .. } | Error::RegistryMissing { .. } => "create a registry here with `promptreg init`".into(),
        Error::OperationInProgress { .. } => "finish or abort it first (e.g. `git merge --abort`)".into(),
        Error::RegistryExists { .. } => "it is a registry already; see what it holds with `promptreg list`".into(),
        Error::RevisionNotFound { .. } => "name a branch, tag or commit that exists (`git branch -a`)".into(),
        Error::InvalidName { .. } => "names look like `summarize` or `support/refund-agent`".into(),
        Error::InvalidVersion { .. } => "versions are semantic versions such as 1.0.0 or 2.1.0-rc.1".into(),
        Error::InvalidSelector { input, .. } if !input.contains('@') => {
            format!("say which version: {input}@1.2.0, {input}@staging or {input}@latest")
        }
        Error::InvalidSelector { .. } => "write NAME, NAME@1.2.0, NAME@production or NAME@latest".into(),
        Error::InvalidResult { .. } => {
            "counts are whole numbers with at least one case; --score a finite number; --url an http(s) address; test names one line of at most 100 characters".into()
        }
        Error::Import { format, .. } => format!(
            "check the file and --from: promptfoo reads `promptfoo eval --output results.json`, junit reads JUnit XML (this was read as {format})"
        ),
        Error::Yaml { file, .. } | Error::Invalid { file, .. } | Error::TooLarge { file, .. } if file.starts_with(promptreg::model::results::RESULTS_DIR) => format!(
            "fix the file by hand (its format is in docs/FORMAT.md §10; `promptreg validate` lists every problem), or drop uncommitted edits with `git checkout -- {}`",
            file.display()
        ),
        Error::PromptNotFound { nearby, .. } if nearby.is_empty() => {
            "no prompt has a version yet; release one with `promptreg create NAME --version 1.0.0 -m \"…\"`".into()
        }
        Error::PromptNotFound { nearby, .. } => format!("prompts with versions include: {}", list(nearby)),
        Error::NotRegular { committed: false, .. } => "promptreg never follows links or opens special files under the repository, so a checkout cannot make it read anything outside it; replace it with a regular file (or a real directory) holding the content".into(),
        Error::NotRegular { committed: true, .. } => "a release is read exactly as committed, regular files only; `promptreg validate` lists such releases [tag-symlink]; release a fixed version whose directory holds regular files".into(),
        Error::PromptFileMissing { path } => {
            format!("write `{}` first, or pass --file PATH to use another file as its prompt.yaml", path.display())
        }
        Error::VersionNotFound { existing, .. } => format!("existing versions: {}", list(existing)),
        Error::NoVersions { .. } => "release one with `promptreg create`".into(),
        Error::VersionExists { highest: Some(highest), .. } => {
            format!("the highest version is {highest}; choose another --version or use --bump patch|minor|major")
        }
        Error::VersionExists { .. } => "versions are immutable; choose another --version".into(),
        Error::BadTag { tag, .. } => format!("versions are annotated tags made by `promptreg create`; inspect it with `git cat-file -p {tag}`"),
        Error::UnservableRelease { name, .. } => format!(
            "nothing was changed; `promptreg validate` lists the broken tags. Release a fixed version (`promptreg create {name} --bump patch -m \"…\"`) and promote that"
        ),
        Error::TemplateLimit { limit: Limit::Memory, .. } => format!(
            "a render may use {} MiB of memory; a value built by joining itself to itself (`x ~ x` in a loop, a macro or repeated `set`) doubles at every step, so build it once instead",
            promptreg::model::template::MAX_MEMORY_BYTES >> 20
        ),
        Error::TemplateLimit { limit: Limit::Time, .. } => format!(
            "a render may run for {} seconds; work on very large strings (repeat, replace, join) is the usual cause: make them smaller",
            promptreg::model::template::MAX_RENDER_TIME.as_secs()
        ),
        Error::TemplateLimit { .. } => format!(
            "every render is bounded to {} steps, {} bytes of output and calls {} levels deep; make the loop or the recursion smaller, or pass smaller values",
            promptreg::model::template::MAX_STEPS,
            promptreg::model::template::MAX_OUTPUT_BYTES,
            promptreg::model::template::MAX_DEPTH
        ),
        Error::UnknownEnvironment { environment, known } => {
            match promptreg::read::nearby_environments(environment, known).first() {
                Some(near) => format!("did you mean `{near}`? the pipeline is: {}", list(known)),
                None => format!("the pipeline is: {}", list(known)),
            }
        }
        Error::UnknownDomain { known, .. } if known.is_empty() => {
            "no prompt has a domain yet: a domain is the first segment of a nested name such as `support/refund-agent`".into()
        }
        Error::UnknownDomain { known, .. } => format!("the domains are: {}", list(known)),
        Error::TagMissing { shallow: false, .. } => {
            "the clone was made without its tags (`git clone --no-tags`, a CI checkout); fetch them with `git fetch --tags`".into()
        }
        Error::TagMissing { shallow: true, .. } => {
            "this shallow clone lacks the tag; fetch the tags with `git fetch --tags` (and the whole history with `git fetch --unshallow`)".into()
        }
        Error::NotInEnvironment { name, elsewhere, .. } if elsewhere.is_empty() => {
            format!("no environment holds a version of it; try `promptreg fetch {name}@latest`")
        }
        Error::NotInEnvironment { name, elsewhere, .. } => {
            let held: Vec<String> = elsewhere.iter().map(|(env, v)| format!("{env} holds {v}")).collect();
            let (env, _) = &elsewhere[elsewhere.len() - 1];
            format!("{}; try `promptreg fetch {name}@{env}`", held.join(", "))
        }
        Error::PipelineSkipped { name, previous, version, .. } => {
            format!("promote it to {previous} first (`promptreg promote {name} {version} --env {previous}`), or pass --force with a --reason")
        }
        Error::InvalidSplit { .. } => "a share is above 0 and below 100 with at most two decimals (`--canary 10`, `--canary 2.5`); a split is two or more distinct released versions, VERSION=PERCENT each, adding up to 100, e.g. `1.1.0=90 1.2.0=10`".into(),
        Error::InvalidKey { .. } => "pass the id the split should stick to, e.g. `--key user-42`".into(),
        Error::NoStableVersion { name, version, environment } => format!(
            "promote a version there first (`promptreg promote {name} {version} --to {environment}` serves it to everyone), or set the shares yourself with `promptreg split`"
        ),
        Error::CanaryOfStable { name, environment, .. } => format!(
            "name the new version to canary; `promptreg versions {name}` shows what {environment} serves"
        ),
        Error::AccessDenied { allowed, environment, rule, .. } => format!(
            "the access rules in registry.yaml ({rule}) let these move {environment}: {}; ask one of them, or change the rules in a reviewed commit",
            list(allowed)
        ),
        Error::NothingToRollBack { name, environment, .. } => format!(
            "see what it held with `promptreg history {name} --env {environment}`; pick a version with `promote`"
        ),
        Error::NeverInEnvironment { held, .. } if held.is_empty() => "it has held no version yet".into(),
        Error::NeverInEnvironment { held, .. } => format!("it has held: {}", list(held)),
        Error::RegistryDirty => "commit or stash your edits to registry.yaml first (`git stash push registry.yaml`)".into(),
        Error::Dirty { path } => format!("commit or stash your edits to {path} first (`git stash push {path}`)"),
        Error::GateNotMet { name, version, .. } => format!(
            "record passing results (`promptreg results import {name}@{version} --from promptfoo FILE`), or pass --force with a --reason to override the gate (recorded in the commit, reported by `audit`)"
        ),
        Error::Unchanged { .. } => "edit the prompt first, or pass --allow-unchanged to release the same content again".into(),
        Error::NoIdentity { .. } => {
            "set one: `git config --global user.name \"Your Name\"` and `git config --global user.email you@example.com`".into()
        }
        Error::BadIdentity { .. } => "use a date git accepts, e.g. `2026-01-31T12:00:00+01:00` or `@1767225600 +0000`".into(),
        Error::Locked { holder, .. } => format!("{holder} (another promptreg) is still writing after 30 s; try again when it has finished"),
        Error::IndexLocked { .. } => "finish the Git command that holds it (a `git commit` waiting for its editor?); if none runs, `promptreg doctor --fix` clears it".into(),
        Error::TagLocked { .. } => "another process is writing that tag; if none runs, `promptreg doctor --fix` clears the lock".into(),
        Error::TagConflict { conflict, .. } => format!("a version tag cannot sit beside `{conflict}`; rename or delete that ref (`git tag -d`), or choose another name"),
        Error::RefLocked { .. } => "a killed process may have left it; run `promptreg doctor --fix`".into(),
        Error::Contended { .. } => "another process keeps committing to the branch; try again".into(),
        Error::Bridge { .. } => "nothing was imported; fix that field of the export (or the prompt in its system) and run the import again — docs/BRIDGES.md lists what each format carries".into(),
        Error::ImportConflict { name, version, .. } => format!("compare with `promptreg fetch {name}@{version}`; a released version never changes, so import into another --domain or drop that version from the export"),
        Error::Yaml { problem: YamlProblem::Syntax, file, .. } => format!(
            "fix the YAML at that line and column (quote values that hold `: `, `#` or start with `{{`); `promptreg validate {}` lists every problem",
            file.display()
        ),
        Error::Yaml { file, .. } | Error::Invalid { file, .. } if file == Path::new(promptreg::REGISTRY_FILE) => {
            "edit registry.yaml by hand in a reviewed commit (block style: one `NAME:` with an `ENV: VERSION` line each; its format is docs/FORMAT.md), then run the command again; `promptreg validate` lists every problem".into()
        }
        Error::Yaml { file, .. } | Error::Invalid { file, .. } => format!(
            "its format is in docs/FORMAT.md; `promptreg validate {}` lists every problem",
            file.display()
        ),
        Error::Variables { id, file, .. } if id.ends_with("@worktree") => format!(
            "see the `variables:` {} declares, with their descriptions and defaults",
            file.display()
        ),
        Error::Variables { id, .. } => format!(
            "see the variables it declares, with their descriptions and defaults: `promptreg fetch {id} --format json`"
        ),
        Error::TooLarge { limit, .. } => format!("promptreg reads files of at most {limit} bytes here; make it smaller or split it"),
        Error::RegistryName { .. } => "names look like `summarize` or `support/refund-agent`: lower-case letters, digits and `-`, in `/`-separated parts".into(),
        Error::Io { source, .. } => io_hint(source).into(),
        Error::Git { .. } if error.to_string().contains(".lock") => "a killed process may have left the lock file; if no Git command runs, `promptreg doctor --fix` clears it".into(),
        Error::Git { .. } => "check the repository with `git fsck` and `git status`; if they are clean, report the message above".into(),
        Error::ActionDenied { allowed, rule, .. } => format!(
            "the access rules in registry.yaml ({rule}) let these do it: {}; ask one of them, or change the rules in a reviewed commit",
            list(allowed)
        ),
        Error::ProtectedEnvironment { environment, operation, .. } => format!(
            "write the move on a new branch for review: `promptreg {operation} … --branch NAME` (add `--push REMOTE` to push it), then open a pull request into the registry branch; `{environment}` is listed in access.protected"
        ),
        Error::BadBranch { branch, exists: true } => format!(
            "choose another name, or delete the old branch first (`git branch -D {branch}`)"
        ),
        Error::BadBranch { exists: false, .. } => "use a name such as `promote/support-faq-1.2.0` (see `git check-ref-format --branch`)".into(),
        Error::NothingToArchive { .. } => "choose a later date; `promptreg versions NAME` shows when each version was released".into(),
        Error::ArchiveInvalid { .. } => "`promptreg archive verify FILE` lists every check; write the archive again from a registry that still has the tags".into(),
        Error::ArchiveConflict { .. } => "nothing was restored; compare them with `git show <tag>`, and delete or rename the tags here (`git tag -d`) if the archive's are the ones to keep".into(),
        Error::GitCommand { .. } => "promptreg runs `git` from PATH for archives; check that it is installed (`git --version`) and that the file can be written".into(),
        Error::ArchiveHeld { .. } => "nothing was deleted; promote other versions first, or archive with an earlier --before".into(),
    }
}

/// The warning (after `warning: `) for a version tag a read passed over because it is not a valid release.
pub fn skipped_tag(error: &Error) -> String {
    match error {
        Error::BadTag { tag, reason } => {
            format!("skipped tag `{tag}` ({reason}); `promptreg validate` reports it")
        }
        other => other.to_string(),
    }
}

/// The warnings for what this clone lacks (missing version tags, shallow history), each with
/// the git command that fetches it; `history` says whether its walk was cut short.
pub fn gap_warnings(
    missing_tags: &[promptreg::read::MissingTag],
    history_cut: Option<&str>,
) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(first) = missing_tags.first() {
        let more = match missing_tags.len() {
            1 => String::new(),
            n => format!(" and {} more", n - 1),
        };
        out.push(format!(
            "registry.yaml points at versions whose tags are not in this clone ({} of `{}` holds {}{more}); fetch them with `git fetch --tags`",
            first.environment, first.name, first.version
        ));
    }
    if let Some(root) = history_cut {
        out.push(format!(
            "this is a shallow clone: history up to commit {root} (its own changes included) is not available; fetch it with `git fetch --unshallow`"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_error_gets_a_hint() {
        let usage: anyhow::Error = Usage("bad".into(), "do this".into()).into();
        assert_eq!(hint_for(&usage), "do this");
        let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
        let read = anyhow::Error::from(missing).context("cannot read `x`");
        assert!(hint_for(&read).starts_with("check the path"));
        let library = anyhow::Error::from(Error::DetachedHead).context("while serving");
        assert!(hint_for(&library).contains("git switch"));
        let anything = anyhow::anyhow!("something else");
        assert!(!hint_for(&anything).is_empty());
        let variables = Error::Variables {
            file: "prompts/p/prompt.yaml".into(),
            id: "p@1.0.0".into(),
            message: "needs a value".into(),
        };
        assert!(hint(&variables).contains("promptreg fetch p@1.0.0"));
    }
}
