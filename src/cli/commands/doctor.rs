//! `promptreg doctor`

use std::path::Path;
use std::time::Duration;

use crate::cli::output::Cell;
use anyhow::Result;
use promptreg::ops::doctor::{doctor, Finding};

use crate::cli::context::Format;
use crate::cli::{output, CliError, Context};

/// Find (and with --fix, clear) stale locks and other leftovers of killed processes
///
/// promptreg's write lock (.git/promptreg.lock) is a kernel lock that dies with its holder; it
/// is reported only while a writer holds it. Looks for Git lock files (*.lock under .git/refs/,
/// packed-refs.lock, index.lock, HEAD.lock, config.lock), libgit2 temporary objects,
/// promptreg's temporary files, index entries still as before a promptreg commit HEAD carries
/// (its writer stopped after committing), and create commits whose tag was never written.
/// --fix removes the Git lock files a promptreg writer that is gone recorded as its own (at any
/// age), other Git lock files and temporary objects older than --min-age while no promptreg
/// writer runs, and temporary files of processes that are gone; it brings such index entries
/// (and unedited working files) up to the commit and writes missing tags. A lock held by a
/// running process is never removed.
///
/// Exit status: 0 when nothing remains (nothing found, or --fix cleared everything found);
/// 1 when problems remain (found without --fix, or not safe to clear).
#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  promptreg doctor --fix")]
pub struct Args {
    /// Clear what is safe to clear (see above)
    #[arg(long)]
    fix: bool,
    /// How old a Git lock file of unknown origin or a temporary object must be to count as abandoned
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    min_age: u64,
}

pub fn run(context: &Context, args: &Args) -> Result<()> {
    let format = context.format(&[Format::Table, Format::Json], Format::Table)?;
    let store = context.store()?;
    let mut findings = doctor(&store, args.fix, Duration::from_secs(args.min_age))?;
    let root = store
        .workdir("doctor")
        .unwrap_or_else(|_| store.common_dir())
        .to_owned();
    for finding in &mut findings {
        finding.path = shown(&root, &finding.path);
    }
    if format == Format::Json {
        output::json(&findings)?;
    } else if !findings.is_empty() {
        let mut table = output::table(
            context,
            &[
                output::id("KIND"),
                output::id("PATH"),
                output::text("DETAIL"),
                output::id("FIXED"),
            ],
        );
        for finding in &findings {
            table.add_row(vec![
                Cell::new(finding.kind),
                Cell::new(finding.path.display()),
                Cell::new(&finding.detail),
                Cell::new(if finding.fixed { "yes" } else { "no" }),
            ]);
        }
        output::print_table(table)?;
    }
    let remaining: Vec<&Finding> = findings.iter().filter(|f| !f.fixed).collect();
    let clearable = remaining.iter().filter(|f| f.fixable).count();
    let fixed = findings.len() - remaining.len();
    match (findings.len(), remaining.len()) {
        (0, _) => context.status("no problems found"),
        (_, 0) => context.status(&format!("cleared {}", count(fixed))),
        (_, left) if args.fix && fixed == 0 => {
            context.status(&format!("{} left alone (see DETAIL)", count(left)))
        }
        (_, left) if args.fix => context.status(&format!(
            "cleared {}; {left} left alone (see DETAIL)",
            count(fixed)
        )),
        (found, _) if clearable == found => context.status(&format!(
            "found {}; `promptreg doctor --fix` clears {}",
            count(found),
            if found == 1 { "it" } else { "them" }
        )),
        (found, _) => context.status(&format!(
            "found {}; `promptreg doctor --fix` clears {clearable} of them (see DETAIL)",
            count(found)
        )),
    }
    if !remaining.is_empty() {
        // Problems remain: not an error of doctor's, so no `error:` line, but exit status 1.
        return Err(CliError::Status { code: 1 }.into());
    }
    Ok(())
}

/// `path` relative to the repository root when it is inside it.
fn shown(root: &Path, path: &Path) -> std::path::PathBuf {
    path.strip_prefix(root).unwrap_or(path).to_owned()
}

fn count(n: usize) -> String {
    format!("{n} problem{}", if n == 1 { "" } else { "s" })
}
