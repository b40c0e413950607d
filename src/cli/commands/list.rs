//! `promptreg list`

use crate::cli::output::Cell;
use anyhow::Result;
use promptreg::ops::list::{list, Filter, Listing};

use crate::cli::context::Format;
use crate::cli::{output, report, Context};

/// List prompts: latest version, what each environment serves, and the summary
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only prompts this environment serves
    #[arg(long, value_name = "ENV")]
    env: Option<String>,
    /// Only prompts in this domain (the first segment of a nested name)
    #[arg(long, value_name = "DOMAIN")]
    domain: Option<String>,
}

pub fn run(context: &Context, args: &Args) -> Result<()> {
    let format = context.format(&[Format::Table, Format::Json], Format::Table)?;
    let store = context.store()?;
    let filter = Filter {
        environment: args.env.clone(),
        domain: args.domain.clone(),
    };
    let Listing {
        environments,
        rows,
        missing_tags,
    } = list(&store, &filter, context.revision.as_deref())?;
    for warning in report::gap_warnings(&missing_tags, None) {
        context.warning(&warning);
    }
    if format == Format::Json {
        return output::json(&rows);
    }
    let shown: Vec<&String> = environments
        .iter()
        .filter(|e| args.env.as_ref().is_none_or(|only| only == *e))
        .collect();
    let env_headers: Vec<String> = shown.iter().map(|e| e.to_uppercase()).collect();
    let mut columns = vec![output::id("NAME"), output::id("LATEST")];
    columns.extend(env_headers.iter().map(|h| output::id(h)));
    columns.push(output::text("SUMMARY"));
    let mut table = output::table(context, &columns);
    for row in &rows {
        let mut cells = vec![
            Cell::new(&row.name),
            Cell::new(row.latest.as_deref().unwrap_or("-")),
        ];
        for env in &shown {
            let held = match row.splits.get(env.as_str()) {
                Some(split) => output::split_text(split),
                None => row
                    .environments
                    .get(env.as_str())
                    .and_then(|v| v.as_str())
                    .unwrap_or("-")
                    .to_owned(),
            };
            cells.push(Cell::new(held));
        }
        let summary = row.summary.as_deref().unwrap_or("");
        cells.push(Cell::new(if row.status == "unreleased" {
            format!("(unreleased) {summary}").trim_end().to_owned()
        } else {
            summary.to_owned()
        }));
        table.add_row(cells);
    }
    if rows.is_empty() {
        if args.env.is_some() || args.domain.is_some() {
            context.status("no prompt matches the filter");
        } else {
            context.status("no prompts yet: add prompts/NAME/prompt.yaml and run `promptreg create NAME --version 1.0.0 -m \"…\"`");
        }
        return Ok(());
    }
    output::print_table(table)
}
