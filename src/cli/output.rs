//! Writing data to stdout: JSON, YAML and tables. Write errors (a closed pipe) become errors the
//! reporter recognises, never panics.

use std::io::Write;

use anyhow::Result;
use comfy_table::{presets, Attribute, Cell, Color, ColumnConstraint, ContentArrangement, Width};
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

/// What a table column holds, which decides whether it may wrap to fit the width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Names, versions, ids, e-mails, dates, numbers, statuses: never broken across lines; the
    /// column is as wide as its longest cell.
    Identifier,
    /// Summaries, descriptions, reasons, details: wrapped at word boundaries to fit the width.
    FreeText,
}

/// A column of a [`Table`]: its header and its [`Kind`].
pub struct Column<'a>(pub &'a str, pub Kind);

/// An identifier column (see [`Kind::Identifier`]).
pub fn id(header: &str) -> Column<'_> {
    Column(header, Kind::Identifier)
}

/// A free-text column (see [`Kind::FreeText`]).
pub fn text(header: &str) -> Column<'_> {
    Column(header, Kind::FreeText)
}

/// A free-text column is never narrowed below this many characters (or its longest cell).
const MIN_TEXT_WIDTH: u16 = 16;

/// A table with a header row whose columns say whether they may wrap, fitted to the context's
/// width (none: no limit) and coloured when the context colours stdout.
pub struct Table {
    table: comfy_table::Table,
    kinds: Vec<Kind>,
}

impl Table {
    pub fn add_row(&mut self, cells: Vec<Cell>) -> &mut Self {
        self.table.add_row(cells);
        self
    }

    /// The rendered table: identifier columns at their content width, free-text columns
    /// sharing what the width leaves (the table is wider than the width when identifiers
    /// alone do not fit: they are never broken).
    pub fn render(mut self) -> String {
        let widths = self.table.column_max_content_widths();
        let content = |index: usize| widths.get(index).copied().unwrap_or(0);
        // Each column has one character of padding either side.
        let identifiers: usize = (0..self.kinds.len())
            .filter(|i| self.kinds[*i] == Kind::Identifier)
            .map(|i| usize::from(content(i)) + 2)
            .sum();
        let free = self.kinds.iter().filter(|k| **k == Kind::FreeText).count();
        let cramped = self.table.width().is_some_and(|width| {
            free > 0
                && usize::from(width).saturating_sub(identifiers) / free
                    < usize::from(MIN_TEXT_WIDTH) + 2
        });
        for (index, kind) in self.kinds.iter().enumerate() {
            let narrow = MIN_TEXT_WIDTH.min(content(index));
            let constraint = match kind {
                Kind::Identifier => ColumnConstraint::ContentWidth,
                // The identifiers leave too little: the table gets wider than the width, and
                // the text no narrower than the minimum.
                Kind::FreeText if cramped => ColumnConstraint::Absolute(Width::Fixed(narrow + 2)),
                Kind::FreeText => ColumnConstraint::LowerBoundary(Width::Fixed(narrow + 2)),
            };
            if let Some(column) = self.table.column_mut(index) {
                column.set_constraint(constraint);
            }
        }
        self.table.to_string()
    }
}

/// A table with `columns`; see [`Table`].
pub fn table(context: &Context, columns: &[Column]) -> Table {
    let mut table = comfy_table::Table::new();
    table.load_preset(presets::NOTHING).force_no_tty();
    match context.width {
        Some(width) => {
            table
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(width);
        }
        None => {
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    if context.color {
        table.enforce_styling();
    }
    table.set_header(
        columns
            .iter()
            .map(|Column(h, _)| Cell::new(h).add_attribute(Attribute::Bold)),
    );
    Table {
        table,
        kinds: columns.iter().map(|Column(_, kind)| *kind).collect(),
    }
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

/// Prints a table followed by a newline.
pub fn print_table(table: Table) -> Result<()> {
    print(&format!("{}\n", table.render()))
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
    chrono::DateTime::parse_from_rfc3339(rfc3339).map_or_else(
        |_| rfc3339.to_owned(),
        |t| t.format("%Y-%m-%d %H:%M").to_string(),
    )
}
