//! `promptreg archive`, `archive verify`, `archive restore`, `archive prune`

use std::path::PathBuf;

use crate::cli::output::Cell;
use anyhow::Result;
use promptreg::ops::archive::{archive, prune, restore, verify, ArchiveRequest};

use crate::cli::context::Format;
use crate::cli::report::{Failed, Usage};
use crate::cli::{output, Context};

/// Archive the releases tagged before a date to a verifiable git bundle; verify, restore, prune
///
/// `archive --before DATE --out FILE` writes one self-contained file; `archive verify FILE`
/// checks it (no registry needed), `archive restore FILE` brings its tags back, `archive prune
/// FILE` deletes them from the registry. The archive holds the version tags, everything they reach (their commits and the history
/// before them) and a manifest listing each tag with its tag object and commit
/// (docs/FORMAT.md §11). Nothing in the registry changes while it is written.
#[derive(clap::Args, Debug)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Examples:\n  promptreg archive --before 2025-01-01 --out releases-2024.bundle\n  promptreg archive verify releases-2024.bundle\n  promptreg archive restore releases-2024.bundle\n  promptreg archive prune releases-2024.bundle"
)]
pub struct Args {
    #[command(subcommand)]
    action: Option<Action>,
    /// Archive the releases tagged before this date
    ///
    /// The forms `history --since` accepts: YYYY-MM-DD (midnight UTC), an ISO date and time,
    /// `@SECONDS`, an RFC 2822 date, or relative to now: `yesterday`, `2.years.ago`, `last month`
    #[arg(long, value_name = "DATE", required = true)]
    before: Option<String>,
    /// The file to write (atomically: a temporary file beside it, renamed into place)
    #[arg(long, short, value_name = "FILE", required = true)]
    out: Option<PathBuf>,
}

#[derive(clap::Subcommand, Debug)]
enum Action {
    /// Check an archive, no registry needed: a complete git bundle whose every listed tag is
    /// there with its listed ids, and whose prompts read. Exit 1 when a check fails
    Verify {
        /// The archive
        file: PathBuf,
    },
    /// Bring an archive's tags back into the registry (a fresh clone too); tags already here
    /// are skipped; a tag here with other contents refuses the whole restore
    Restore {
        /// The archive
        file: PathBuf,
    },
    /// Delete the archive's tags from the registry, after checking the archive; refused for
    /// any version an environment holds
    Prune {
        /// The archive
        file: PathBuf,
    },
}

pub fn run(context: &Context, args: &Args) -> Result<()> {
    let format = context.format(&[Format::Table, Format::Json], Format::Table)?;
    let scratch = std::env::temp_dir();
    match &args.action {
        Some(Action::Verify { file }) => run_verify(context, format, file, &scratch),
        Some(Action::Restore { file }) => {
            let store = context.store()?;
            let done = restore(&store, file, &scratch)?;
            if format == Format::Json {
                return output::json(&done);
            }
            for tag in &done.skipped {
                context.note(&format!("{tag}: already here, skipped"));
            }
            for tag in &done.restored {
                output::print(&format!("restored {tag}"))?;
            }
            context.status(&format!(
                "restored {} tag(s) from {}, {} already here",
                done.restored.len(),
                file.display(),
                done.skipped.len()
            ));
            Ok(())
        }
        Some(Action::Prune { file }) => {
            let store = context.store()?;
            let done = prune(&store, file, &scratch)?;
            if format == Format::Json {
                return output::json(&done);
            }
            for tag in &done.absent {
                context.note(&format!("{tag}: not here (or another object), left alone"));
            }
            for tag in &done.deleted {
                output::print(&format!("deleted {tag}"))?;
            }
            context.status(&format!(
                "deleted {} archived tag(s); `promptreg archive restore {}` brings them back",
                done.deleted.len(),
                file.display()
            ));
            Ok(())
        }
        None => {
            let (Some(text), Some(out)) = (&args.before, &args.out) else {
                return Err(Usage(
                    "archive needs --before DATE and --out FILE".into(),
                    "e.g. `promptreg archive --before 2025-01-01 --out old.bundle`".into(),
                )
                .into());
            };
            let now = chrono::Local::now().fixed_offset();
            let before = promptreg::model::date::parse_since(text, now).ok_or_else(|| {
                Usage(
                    format!("--before `{text}` is not a date"),
                    "give a day, a time or a relative date: 2025-01-01, 2025-01-01T12:00:00Z, 2.years.ago (`promptreg archive --help` lists every form)".into(),
                )
            })?;
            let store = context.store()?;
            let request = ArchiveRequest {
                before,
                out,
                now,
                scratch: &scratch,
            };
            let manifest = archive(&store, &request)?;
            if format == Format::Json {
                return output::json(&manifest);
            }
            let mut table = output::table(
                context,
                &[
                    output::id("TAG"),
                    output::id("CREATED"),
                    output::id("COMMIT"),
                ],
            );
            for tag in &manifest.tags {
                table.add_row(vec![
                    Cell::new(&tag.tag),
                    Cell::new(output::short_time(&tag.created_at)),
                    Cell::new(&tag.commit[..tag.commit.len().min(10)]),
                ]);
            }
            output::print_table(table)?;
            context.status(&format!(
                "archived {} release(s) tagged before {} to {}; check it with `promptreg archive verify {}`",
                manifest.tags.len(),
                manifest.before,
                out.display(),
                out.display()
            ));
            Ok(())
        }
    }
}

fn run_verify(
    context: &Context,
    format: Format,
    file: &std::path::Path,
    scratch: &std::path::Path,
) -> Result<()> {
    let report = verify(file, scratch)?;
    if format == Format::Json {
        output::json(&report)?;
    } else {
        let mut table = output::table(
            context,
            &[
                output::id("CHECK"),
                output::id("RESULT"),
                output::text("DETAIL"),
            ],
        );
        for check in &report.checks {
            table.add_row(vec![
                Cell::new(&check.check),
                Cell::new(if check.ok { "ok" } else { "FAILED" }),
                Cell::new(&check.detail),
            ]);
        }
        output::print_table(table)?;
    }
    if !report.ok {
        let failed = report.checks.iter().filter(|c| !c.ok).count();
        return Err(Failed(
            format!("{}: {failed} check(s) failed", file.display()),
            "the archive is damaged or incomplete; write it again with `promptreg archive --before DATE --out FILE` from a registry that has the tags".into(),
        )
        .into());
    }
    context.status(&format!(
        "{}: complete, {} tag(s)",
        file.display(),
        report.tags
    ));
    Ok(())
}
