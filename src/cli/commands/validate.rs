//! `promptreg validate`

use std::path::{Component, Path, PathBuf};

use anyhow::Result;
use promptreg::validate::{validate, Options, Source};

use crate::cli::context::Format;
use crate::cli::report::{Failed, Usage};
use crate::cli::{output, Context};

/// Check prompts, registry.yaml, results files and version tags, as CI and pre-commit hooks need
///
/// Every prompt.yaml must parse and follow the format, name only component files inside its
/// directory, have templates that compile and read only declared variables, and fit its token
/// budget; registry.yaml must parse and point only at released versions; every version tag must
/// be annotated and hold its prompt. Findings go to stdout (`file:line:col: error: message
/// [code]`), a summary to stderr. Exit 1 on any error (or, with --strict, any warning).
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  promptreg validate\n  promptreg validate --staged prompts/support/refund-agent/prompt.yaml\n  promptreg validate --strict --format github\n\nFormats: text (default), json, github (workflow annotations). See docs/VALIDATE.md."
)]
pub struct Args {
    /// Check only the prompts these files belong to (and registry.yaml if listed)
    #[arg(value_name = "PATHS")]
    paths: Vec<PathBuf>,
    /// Check the staged content (the index) instead of the working tree, as a pre-commit hook must
    #[arg(long)]
    staged: bool,
    /// Fail on warnings too
    #[arg(long)]
    strict: bool,
}

pub fn run(context: &Context, args: &Args) -> Result<()> {
    let format = context.format(&[Format::Text, Format::Json, Format::Github], Format::Text)?;
    if context.revision.is_some() {
        return Err(Usage(
            "validate checks the working tree, or the index with --staged; --ref does not apply"
                .into(),
            "drop --ref; to check a committed revision, check it out (`git worktree add`)".into(),
        )
        .into());
    }
    let store = context.store()?;
    if args.staged {
        // A bare repository has no index to check (and no registry.yaml in a working tree).
        store.workdir("validate --staged")?;
    }
    let paths = if args.paths.is_empty() {
        None
    } else {
        let root = store
            .workdir("validate")
            .ok()
            .map(|dir| dir.canonicalize().unwrap_or_else(|_| dir.to_owned()));
        // Relative paths are taken from the current directory when it is inside the working
        // tree (as git does), else from the working tree's root (`--repo DIR` from elsewhere).
        let here = std::env::current_dir()?;
        let here = here.canonicalize().unwrap_or(here);
        let cwd = match &root {
            Some(root) if !here.starts_with(root) => root.clone(),
            _ => here,
        };
        Some(
            args.paths
                .iter()
                .map(|path| relative_to_root(root.as_deref(), &cwd, path))
                .collect::<Result<Vec<_>>>()?,
        )
    };
    let source = if args.staged {
        Source::Index
    } else {
        Source::WorkTree
    };
    let report = validate(&store, &Options { source, paths })?;
    match format {
        Format::Json => output::json(&report.findings)?,
        Format::Github => output::print(&report.github())?,
        _ => output::print(&report.text())?,
    }
    let summary = report.summary();
    if report.fails(args.strict) {
        let why = if report.errors() == 0 {
            " (--strict)"
        } else {
            ""
        };
        return Err(Failed(
            format!("{summary}{why}"),
            "fix each problem listed above (docs/VALIDATE.md explains every code), then run `promptreg validate` again".into(),
        )
        .into());
    }
    context.status(&summary);
    Ok(())
}

/// `path` (relative to `cwd`, or absolute) as a `/`-separated path relative to the working tree
/// `root`; as given when there is no working tree.
fn relative_to_root(root: Option<&Path>, cwd: &Path, path: &Path) -> Result<String> {
    let Some(root) = root else {
        return Ok(slashes(path));
    };
    let absolute = normalize(&cwd.join(path));
    let relative = absolute
        .strip_prefix(root)
        .map(Path::to_path_buf)
        .or_else(|_| {
            // The path may reach the repository through a symbolic link.
            let parent = absolute.parent().and_then(|p| p.canonicalize().ok());
            match (parent, absolute.file_name()) {
                (Some(parent), Some(name)) => {
                    parent.join(name).strip_prefix(root).map(Path::to_path_buf)
                }
                _ => absolute.strip_prefix(root).map(Path::to_path_buf),
            }
        })
        .map_err(|_| {
            Usage(format!(
                "`{}` is outside the repository `{}`",
                    path.display(),
                    root.display()
                ),
                "name files inside the registry's working tree, or point at another registry with --repo PATH".into(),
            )
        })?;
    Ok(slashes(&relative))
}

/// Removes `.` and resolves `..` without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn slashes(path: &Path) -> String {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_repository_relative() {
        let root = Path::new("/repo");
        let rel = |cwd: &str, path: &str| {
            relative_to_root(Some(root), Path::new(cwd), Path::new(path)).ok()
        };
        assert_eq!(
            rel("/repo", "prompts/a/prompt.yaml").as_deref(),
            Some("prompts/a/prompt.yaml")
        );
        assert_eq!(
            rel("/repo/prompts", "./a/../b/prompt.yaml").as_deref(),
            Some("prompts/b/prompt.yaml")
        );
        assert_eq!(
            rel("/elsewhere", "/repo/registry.yaml").as_deref(),
            Some("registry.yaml")
        );
        assert_eq!(rel("/elsewhere", "x"), None);
    }
}
