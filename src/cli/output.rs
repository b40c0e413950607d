//! Writing data to stdout: JSON, YAML and tables. Write errors (a closed pipe) become errors the
//! reporter recognises, never panics.

use std::io::Write;

use anyhow::Result;
use comfy_table::{presets, Attribute, Cell, Color, ContentArrangement, Table};
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

/// Pretty JSON, never coloured.
pub fn json<T: Serialize>(value: &T) -> Result<()> {
    print(&(serde_json::to_string_pretty(value)? + "\n"))
}

/// YAML.
pub fn yaml<T: Serialize>(value: &T) -> Result<()> {
    print(&promptreg::model::yaml::to_string(value)?)
}

/// A table with a header row, plain columns and optional styling.
pub fn table(context: &Context, header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if context.color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    table.set_header(
        header
            .iter()
            .map(|h| Cell::new(h).add_attribute(Attribute::Bold)),
    );
    table
}

/// A status cell, coloured by how far along the pipeline it is.
pub fn status_cell(status: &str, pipeline: &[String]) -> Cell {
    let cell = Cell::new(status);
    match pipeline.iter().position(|e| e == status) {
        None => cell.fg(Color::DarkGrey),
        Some(i) if i + 1 == pipeline.len() => cell.fg(Color::Green),
        Some(0) => cell.fg(Color::Cyan),
        Some(_) => cell.fg(Color::Yellow),
    }
}

/// Prints a table followed by a newline.
pub fn print_table(table: &Table) -> Result<()> {
    print(&format!("{table}\n"))
}

/// The first line of a text, for one-line columns.
pub fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// A date column: the day and time, without seconds.
pub fn short_time(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339).map_or_else(
        |_| rfc3339.to_owned(),
        |t| t.format("%Y-%m-%d %H:%M").to_string(),
    )
}
