//! `promptreg history`

use crate::cli::output::Cell;
use anyhow::Result;
use promptreg::model::history::{Change, Event, Text};
use promptreg::ops::history::{history, Query};
use promptreg::PromptName;

use crate::cli::context::Format;
use crate::cli::report::{self, Usage};
use crate::cli::{output, Context};

/// The audit trail, newest first: releases, promotions, rollbacks, demotions and recorded test
/// runs, with who, when and why
///
/// Pointer moves come from every commit that changed registry.yaml, whether promptreg, a hand
/// edit or a merged pull request made it.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  promptreg history support/refund-agent\n  promptreg history --env production --since 2026-01-01 --format json"
)]
pub struct Args {
    /// Only this prompt
    name: Option<String>,
    /// Only moves of this environment's pointer
    #[arg(long, value_name = "ENV")]
    env: Option<String>,
    /// Only events on or after this date
    ///
    /// YYYY-MM-DD (midnight UTC), an ISO date and time (`2026-01-31T10:00:00+01:00`, no offset:
    /// UTC), `@SECONDS`, an RFC 2822 date, or relative to now in local time: `now`, `today`,
    /// `yesterday` (the start of the day), `last monday` or `monday` (the start of the most
    /// recent one before today), `N UNIT ago` with spaces, dots or underscores (`2.weeks.ago`,
    /// `3 days ago`; UNIT second, minute, hour, day, week, month or year), `last week|month|year`
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
}

impl Args {
    /// Whether this is the history of every prompt (no name given).
    pub fn every_prompt(&self) -> bool {
        self.name.is_none()
    }
}

pub fn run(context: &Context, args: &Args) -> Result<()> {
    let format = context.format(&[Format::Table, Format::Json], Format::Table)?;
    let since = match &args.since {
        None => None,
        Some(text) => Some(
            promptreg::model::date::parse_since(text, chrono::Local::now().fixed_offset())
                .ok_or_else(|| {
                    Usage(
                        format!("--since `{text}` is not a date"),
                        "give a day, a time or a relative date: 2026-01-31, 2026-01-31T12:00:00Z, yesterday, 2.weeks.ago (`promptreg history --help` lists every form)".into(),
                    )
                })?,
        ),
    };
    let query = Query {
        name: args.name.as_deref().map(PromptName::parse).transpose()?,
        environment: args.env.clone(),
        since,
        revision: context.revision.clone(),
    };
    let store = context.store()?;
    let found = history(&store, &query)?;
    for warning in report::gap_warnings(&found.missing_tags, found.cut_at.as_deref()) {
        context.warning(&warning);
    }
    let events = found.events;
    if format == Format::Json {
        return output::json(&events);
    }
    if events.is_empty() {
        context.status("no events");
        return Ok(());
    }
    let mut columns = vec![output::id("WHEN"), output::id("EVENT")];
    if query.name.is_none() {
        columns.push(output::id("PROMPT"));
    }
    columns.extend([
        output::id("ENV"),
        output::id("VERSION"),
        output::id("BY"),
        output::text("REASON"),
        output::id("COMMIT"),
    ]);
    let mut table = output::table(context, &columns);
    // The events are given back as their rows are made (every prompt's history is 130,000
    // events, about as large as its table): taken from the end of the reversed list, which is
    // shrunk every few thousand.
    let mut events = events;
    events.reverse();
    while let Some(event) = events.pop() {
        if events.len() % RELEASE_EVERY == 0 {
            events.shrink_to_fit();
        }
        let event = &event;
        let mut row = vec![
            Cell::new(output::short_date(&event.at)),
            Cell::new(event.event.as_str()),
        ];
        if query.name.is_none() {
            row.push(Cell::new(&event.prompt));
        }
        row.extend([
            Cell::new(event.environment.as_deref().unwrap_or("")),
            Cell::new(movement(event)),
            Cell::new(&event.by),
            Cell::new(
                match &event.test {
                    Some(test) => promptreg::model::results::describe(test),
                    None => output::first_line(&event.reason).to_owned(),
                } + &merged(event),
            ),
            Cell::new(&event.commit[..event.commit.len().min(10)]),
        ]);
        table.add_row(row);
    }
    output::print_table(table)
}

/// How many events are made into rows between two shrinks of the list left.
const RELEASE_EVERY: usize = 8192;

/// ` (merged by rm@example.com in 1a2b3c4d5e)` for an event a merge brought in.
fn merged(event: &Event) -> String {
    match &event.merge {
        Some(merge) => format!(
            " (merged by {} in {})",
            merge.by,
            &merge.commit[..merge.commit.len().min(10)]
        ),
        None => String::new(),
    }
}

/// `1.0.0 → 1.1.0`, `→ 1.0.0`, `1.0.0 →` (demoted), or the released version; a split side shows
/// its weights (`1.0.0 → 1.0.0 90% / 1.1.0 10%`), so a ramp reads as the weights before and after.
fn movement(event: &Event) -> String {
    let forced = if event.forced { " (forced)" } else { "" };
    let side = |version: &Option<Text>, split: &Option<Vec<promptreg_wire::SplitEntry>>| match split
    {
        Some(split) => output::split_text(split),
        None => version.as_deref().unwrap_or("none").to_owned(),
    };
    match event.event {
        Change::Created | Change::Tested => event.to.as_deref().unwrap_or_default().to_owned(),
        _ => format!(
            "{} → {}{forced}",
            side(&event.from, &event.from_split),
            side(&event.to, &event.to_split)
        ),
    }
}
