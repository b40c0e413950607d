//! Writing data to stdout: JSON, YAML and tables. Write errors (a closed pipe) become errors the
//! reporter recognises, never panics.

use std::io::Write;

use anyhow::Result;
use comfy_table::Color;
use serde::Serialize;

use super::Context;

/// Writes `text` to stdout.
pub fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    if !text.is_empty() && !text.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// Pretty JSON, never coloured, written as it is made: `history` of every prompt is some 60 MB
/// of JSON, which as one string would double the command's memory. (Serialising what the
/// commands print cannot fail but for the writes, so no half-document is left by anything
/// else.)
pub fn json<T: Serialize>(value: &T) -> Result<()> {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, value).map_err(|error| match error.is_io() {
        // The system's error itself, so that a closed pipe is recognised as one.
        true => anyhow::Error::from(std::io::Error::from(error)),
        false => error.into(),
    })?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

/// YAML.
pub fn yaml<T: Serialize>(value: &T) -> Result<()> {
    print(&promptreg::model::yaml::to_string(value)?)
}

pub use super::table::{Cell, Column, Kind, Table};

/// An identifier column (see [`Kind::Identifier`]).
pub fn id(header: &str) -> Column<'_> {
    Column(header, Kind::Identifier)
}

/// A free-text column (see [`Kind::FreeText`]).
pub fn text(header: &str) -> Column<'_> {
    Column(header, Kind::FreeText)
}

/// A table with `columns`, fitted to the context's width (none: no limit) and coloured when
/// the context colours stdout; see [`Table`].
pub fn table(context: &Context, columns: &[Column]) -> Table {
    Table::new(columns, context.width, context.color)
}

/// A status cell, coloured by how far along the pipeline it is; with the share of the status
/// environment's traffic when it serves the version as part of a split (`production 10%`).
pub fn status_cell(
    status: &str,
    share: Option<promptreg_wire::Percent>,
    pipeline: &[String],
) -> Cell {
    let cell = Cell::new(match share {
        Some(percent) => format!("{status} {percent}%"),
        None => status.to_owned(),
    });
    match pipeline.iter().position(|e| e == status) {
        None => cell.fg(Color::DarkGrey),
        Some(i) if i + 1 == pipeline.len() => cell.fg(Color::Green),
        Some(0) => cell.fg(Color::Cyan),
        Some(_) => cell.fg(Color::Yellow),
    }
}

/// Prints a table, row by row as it is laid out.
pub fn print_table(table: Table) -> Result<()> {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    table.write(&mut out)?;
    out.flush()?;
    Ok(())
}

/// A split as a person reads it in a table cell, `1.0.0 90% / 1.1.0 10%` (the form of
/// `Pointer::describe`), from its wire entries.
pub fn split_text(entries: &[promptreg_wire::SplitEntry]) -> String {
    entries
        .iter()
        .map(|e| format!("{} {}%", e.version, e.percent))
        .collect::<Vec<_>>()
        .join(" / ")
}

/// A pointer in its text form (`1.2.0`, or a split as `1.1.0=90 1.2.0=10`) as a person reads
/// it: the version, or the split with its weights (`1.1.0 90% / 1.2.0 10%`).
pub fn pointer_text(text: &str) -> String {
    promptreg::model::registry::Pointer::parse(text)
        .map_or_else(|_| text.to_owned(), |p| p.describe())
}

/// The first line of a text, for one-line columns.
pub fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// A date column: the day and time, without seconds.
pub fn short_time(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map_or_else(|_| rfc3339.to_owned(), |t| short_date(&t))
}

/// A date column from a date: the day and time, without seconds.
pub fn short_date(at: &chrono::DateTime<chrono::FixedOffset>) -> String {
    at.format("%Y-%m-%d %H:%M").to_string()
}
