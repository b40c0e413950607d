//! `promptreg versions`

use crate::cli::output::Cell;
use anyhow::Result;
use promptreg::ops::versions::versions_checked;
use promptreg::PromptName;

use crate::cli::context::Format;
use crate::cli::{output, Context};

/// List every version of a prompt, oldest first, with status, creator, date and changelog
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The prompt, e.g. support/refund-agent
    name: String,
}

pub fn run(context: &Context, args: &Args) -> Result<()> {
    let format = context.format(&[Format::Table, Format::Json], Format::Table)?;
    let name = PromptName::parse(&args.name)?;
    let store = context.store()?;
    let listing = versions_checked(&store, &name, context.revision.as_deref())?;
    for skipped in &listing.skipped {
        context.warning(&crate::cli::report::skipped_tag(skipped));
    }
    if let Some(e) = &listing.results_error {
        context.warning(&format!("test results not shown: {e}"));
    }
    let rows = listing.rows;
    if format == Format::Json {
        return output::json(&rows);
    }
    let pipeline = pipeline(&rows);
    let mut table = output::table(
        context,
        &[
            output::id("VERSION"),
            output::id("STATUS"),
            output::id("PASS RATE"),
            output::id("CREATED BY"),
            output::id("CREATED"),
            output::text("DESCRIPTION"),
        ],
    );
    for row in &rows {
        table.add_row(vec![
            Cell::new(&row.version),
            output::status_cell(&row.status, row.percent, &pipeline),
            Cell::new(pass_rate_cell(row)),
            Cell::new(&row.created_by),
            Cell::new(output::short_time(&row.created_at)),
            Cell::new(output::first_line(&row.description)),
        ]);
    }
    output::print_table(table)
}

/// What a gate's `min_pass_rate` is held against: the worst test's pass rate (gates judge each
/// test alone), `66.7% (worst of 3)`; `-` when never tested.
fn pass_rate_cell(row: &promptreg_wire::VersionRecord) -> String {
    match (row.worst_pass_rate, row.tests) {
        (None, _) | (_, 0) => "-".to_owned(),
        (Some(rate), 1) => format!("{} (1 test)", promptreg::model::results::percent(rate)),
        (Some(rate), n) => format!(
            "{} (worst of {n})",
            promptreg::model::results::percent(rate)
        ),
    }
}

/// The environments seen, for colouring: anything but `draft`, last one greenest.
fn pipeline(rows: &[promptreg_wire::VersionRecord]) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for env in rows.iter().flat_map(|r| r.environments.iter()) {
        if !seen.contains(env) {
            seen.push(env.clone());
        }
    }
    seen
}
