//! Tables for people: columns that say whether they may wrap, fitted to the terminal's width,
//! written row by row.
//!
//! The layout is comfy-table's (presets::NOTHING, one space of padding either side), but the
//! rows are not held as comfy-table cells: `history` of every prompt is 130,000 rows of eight
//! cells, which as comfy-table cells, then as its formatted lines, took some 320 MB before the
//! first byte was written. Here the cells' text sits in one string; the column widths are decided
//! once (by comfy-table's own arrangement where text may wrap); and each row is written as soon as
//! it is formatted — directly when every cell fits its column uncoloured (all that comfy-table
//! would do is pad it), through comfy-table with the widths fixed when a cell wraps or is
//! coloured. The test below holds the output to comfy-table's for the whole table.

use std::io::Write;

use comfy_table::{presets, Attribute, Color, ColumnConstraint, ContentArrangement, Width};
use unicode_width::UnicodeWidthStr;

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

/// One cell: its text (lines split at `\n`) and, when the table is coloured, its colour.
pub struct Cell {
    text: String,
    fg: Option<Color>,
}

impl Cell {
    pub fn new(text: impl std::fmt::Display) -> Cell {
        Cell {
            text: text.to_string(),
            fg: None,
        }
    }

    /// The cell in `colour` (shown only when the table is coloured).
    pub fn fg(self, colour: Color) -> Cell {
        Cell {
            fg: Some(colour),
            ..self
        }
    }
}

/// A free-text column is never narrowed below this many characters (or its longest cell).
const MIN_TEXT_WIDTH: u16 = 16;

/// Rows formatted by comfy-table at a time when they cannot be written directly: enough that
/// its per-table cost is spread, few enough that memory stays small.
const BATCH: usize = 256;

/// A table with a header row, fitted to `width` (none: no limit) and coloured when `colour`.
pub struct Table {
    headers: Vec<String>,
    kinds: Vec<Kind>,
    width: Option<u16>,
    colour: bool,
    /// Every cell's text, one after another, row after row.
    text: String,
    /// Where each row's text starts in `text`.
    starts: Vec<usize>,
    /// Where each cell's text ends, from its row's start, row after row: 4 bytes a cell, not 8
    /// (a table of every prompt's history is a million cells).
    ends: Vec<u32>,
    /// The colour of each coloured cell, by its index in `ends`, ascending (most cells have
    /// none).
    colours: Vec<(usize, Color)>,
}

impl Table {
    pub fn new(columns: &[Column], width: Option<u16>, colour: bool) -> Table {
        Table {
            headers: columns.iter().map(|Column(h, _)| (*h).to_owned()).collect(),
            kinds: columns.iter().map(|Column(_, kind)| *kind).collect(),
            width,
            colour,
            text: String::new(),
            starts: Vec::new(),
            ends: Vec::new(),
            colours: Vec::new(),
        }
    }

    /// Adds a row; missing cells are empty, cells beyond the columns are dropped. A row of more
    /// than 4 GiB of text is kept with empty cells.
    pub fn add_row(&mut self, cells: Vec<Cell>) -> &mut Self {
        let start = self.text.len();
        self.starts.push(start);
        let total: usize = cells
            .iter()
            .take(self.kinds.len())
            .map(|c| c.text.len())
            .sum();
        let fits = u32::try_from(total).is_ok();
        let mut cells = cells.into_iter();
        for _ in 0..self.kinds.len() {
            let cell = cells.next();
            if let (Some(cell), true) = (&cell, fits) {
                self.text.push_str(&cell.text);
            }
            let end = u32::try_from(self.text.len() - start).unwrap_or(0);
            if let Some(colour) = cell.and_then(|c| c.fg) {
                self.colours.push((self.ends.len(), colour));
            }
            self.ends.push(end);
        }
        self
    }

    fn rows(&self) -> usize {
        match self.kinds.len() {
            0 => 0,
            _ => self.starts.len(),
        }
    }

    /// The text of row `row`'s cell in column `column`.
    fn cell(&self, row: usize, column: usize) -> &str {
        let index = row * self.kinds.len() + column;
        let from = match column {
            0 => 0,
            _ => self.ends[index - 1] as usize,
        };
        let start = self.starts[row];
        &self.text[start + from..start + self.ends[index] as usize]
    }

    /// The colour of row `row`'s cell in column `column`, if it has one.
    fn colour(&self, row: usize, column: usize) -> Option<Color> {
        let index = row * self.kinds.len() + column;
        self.colours
            .binary_search_by_key(&index, |(at, _)| *at)
            .ok()
            .map(|found| self.colours[found].1)
    }

    /// The rendered table, without a final newline.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Writing to memory cannot fail.
        let _ = self.write(&mut out);
        out.pop();
        String::from_utf8(out).unwrap_or_default()
    }

    /// Writes the table, each line ending in a newline: identifier columns at their content
    /// width, free-text columns sharing what the width leaves (the table is wider than the width
    /// when identifiers alone do not fit: they are never broken).
    pub fn write(&self, out: &mut impl Write) -> std::io::Result<()> {
        let widths = self.content_widths();
        let mut batch: Option<comfy_table::Table> = None;
        // The header first, bold, then the rows.
        for row in 0..=self.rows() {
            let cells = |column: usize| match row {
                0 => (self.headers[column].as_str(), None),
                _ => (self.cell(row - 1, column), self.colour(row - 1, column)),
            };
            let styled = self.colour
                && (row == 0 || (0..self.kinds.len()).any(|column| cells(column).1.is_some()));
            let fits = (0..self.kinds.len()).all(|column| {
                cells(column)
                    .0
                    .split('\n')
                    .all(|line| line.width() <= usize::from(widths[column]))
            });
            if fits && !styled {
                if let Some(table) = batch.take() {
                    flush(out, table, &widths)?;
                }
                write_plain(out, (0..self.kinds.len()).map(|c| cells(c).0), &widths)?;
                continue;
            }
            let table = batch.get_or_insert_with(|| self.batch());
            table.add_row((0..self.kinds.len()).map(|column| {
                let (text, colour) = cells(column);
                let cell = comfy_table::Cell::new(text);
                let cell = match colour {
                    Some(colour) => cell.fg(colour),
                    None => cell,
                };
                match row {
                    0 => cell.add_attribute(Attribute::Bold),
                    _ => cell,
                }
            }));
            if table.row_count() >= BATCH {
                if let Some(table) = batch.take() {
                    flush(out, table, &widths)?;
                }
            }
        }
        if let Some(table) = batch {
            flush(out, table, &widths)?;
        }
        Ok(())
    }

    /// Each column's content width (without padding), as comfy-table would arrange the whole
    /// table. Identifier columns are as wide as their widest cell, found here; comfy-table sees
    /// only the free-text columns, with each distinct text once, when they share a width.
    fn content_widths(&self) -> Vec<u16> {
        let columns = self.kinds.len();
        let mut widest: Vec<u16> = self.headers.iter().map(|h| measure(h)).collect();
        for row in 0..self.rows() {
            for (column, widest) in widest.iter_mut().enumerate() {
                *widest = (*widest).max(measure(self.cell(row, column)));
            }
        }
        let identifiers: usize = (0..columns)
            .filter(|i| self.kinds[*i] == Kind::Identifier)
            .map(|i| usize::from(widest[i]) + 2)
            .sum();
        let free: Vec<usize> = (0..columns)
            .filter(|i| self.kinds[*i] == Kind::FreeText)
            .collect();
        let Some(width) = self.width.filter(|_| !free.is_empty()) else {
            return widest;
        };
        let cramped = usize::from(width).saturating_sub(identifiers) / free.len()
            < usize::from(MIN_TEXT_WIDTH) + 2;
        if cramped {
            // The identifiers leave too little: the table gets wider than the width, and the
            // text no narrower than the minimum.
            for column in &free {
                widest[*column] = MIN_TEXT_WIDTH.min(widest[*column]).max(1);
            }
            return widest;
        }
        // What the identifiers leave, shared by comfy-table among the free-text columns. Its
        // arrangement is not public, so the sizing table is drawn and the widths read off a
        // header of one-letter markers: with no borders, each column starts one space before
        // its marker. The real headers count as cells (comfy-table weighs header and cells
        // alike), each distinct text once.
        let mut sizing = comfy_table::Table::new();
        sizing
            .load_preset(presets::NOTHING)
            .force_no_tty()
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(u16::try_from(usize::from(width) - identifiers).unwrap_or(u16::MAX));
        sizing.set_header(free.iter().map(|_| "x"));
        let mut distinct: Vec<Vec<&str>> = free
            .iter()
            .map(|column| {
                let mut texts: std::collections::HashSet<&str> = (0..self.rows())
                    .map(|row| self.cell(row, *column))
                    .collect();
                texts.insert(&self.headers[*column]);
                let mut texts: Vec<&str> = texts.into_iter().collect();
                texts.sort_unstable();
                texts
            })
            .collect();
        let longest = distinct.iter().map(Vec::len).max().unwrap_or(0);
        for index in 0..longest {
            sizing.add_row(
                distinct
                    .iter_mut()
                    .map(|texts| texts.get(index).copied().unwrap_or("")),
            );
        }
        for (index, column) in free.iter().enumerate() {
            let narrow = MIN_TEXT_WIDTH.min(widest[*column]);
            if let Some(sized) = sizing.column_mut(index) {
                sized.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(narrow + 2)));
            }
        }
        let markers = sizing.lines().next().unwrap_or_default();
        let mut starts: Vec<usize> = markers
            .match_indices('x')
            .map(|(at, _)| at.saturating_sub(1))
            .collect();
        starts.push(markers.len());
        for (bounds, column) in starts.windows(2).zip(&free) {
            let drawn = bounds[1] - bounds[0] - 2;
            widest[*column] = u16::try_from(drawn).unwrap_or(u16::MAX);
        }
        widest
    }

    /// A comfy-table with this table's style, for rows that wrap or are coloured (see [`flush`]).
    fn batch(&self) -> comfy_table::Table {
        let mut table = comfy_table::Table::new();
        table
            .load_preset(presets::NOTHING)
            .force_no_tty()
            .set_content_arrangement(ContentArrangement::Disabled);
        if self.colour {
            table.enforce_styling();
        }
        table
    }
}

/// Writes a batch of rows with every column at its decided width. (comfy-table takes the widths
/// only once the rows have made its columns.)
fn flush(
    out: &mut impl Write,
    mut table: comfy_table::Table,
    widths: &[u16],
) -> std::io::Result<()> {
    table.set_constraints(
        widths
            .iter()
            .map(|w| ColumnConstraint::Absolute(Width::Fixed(w.saturating_add(2)))),
    );
    writeln!(out, "{table}")
}

/// A cell's width as comfy-table measures it: its widest line, at least 1, at most `u16::MAX`.
fn measure(text: &str) -> u16 {
    let widest = text.split('\n').map(|line| line.width()).max().unwrap_or(0);
    u16::try_from(widest).unwrap_or(u16::MAX).max(1)
}

/// A row whose cells all fit their columns: each line of it, every cell padded to its column.
fn write_plain<'a>(
    out: &mut impl Write,
    cells: impl Iterator<Item = &'a str> + Clone,
    widths: &[u16],
) -> std::io::Result<()> {
    let height = cells
        .clone()
        .map(|c| c.split('\n').count())
        .max()
        .unwrap_or(1);
    let mut line = String::new();
    for index in 0..height {
        line.clear();
        for (cell, width) in cells.clone().zip(widths) {
            let text = cell.split('\n').nth(index).unwrap_or("");
            line.push(' ');
            line.push_str(text);
            let fill = usize::from(*width).saturating_sub(text.width()) + 1;
            line.extend(std::iter::repeat_n(' ', fill));
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table as comfy-table lays it out whole: what this module must write.
    fn reference(
        columns: &[Column],
        rows: &[Vec<(String, Option<Color>)>],
        width: Option<u16>,
        colour: bool,
    ) -> String {
        let mut table = comfy_table::Table::new();
        table.load_preset(presets::NOTHING).force_no_tty();
        match width {
            Some(width) => {
                table
                    .set_content_arrangement(ContentArrangement::Dynamic)
                    .set_width(width);
            }
            None => {
                table.set_content_arrangement(ContentArrangement::Disabled);
            }
        }
        if colour {
            table.enforce_styling();
        }
        table.set_header(
            columns
                .iter()
                .map(|Column(h, _)| comfy_table::Cell::new(h).add_attribute(Attribute::Bold)),
        );
        for row in rows {
            table.add_row(row.iter().map(|(text, fg)| {
                let cell = comfy_table::Cell::new(text);
                match fg {
                    Some(fg) => cell.fg(*fg),
                    None => cell,
                }
            }));
        }
        let widths = table.column_max_content_widths();
        let content = |index: usize| widths.get(index).copied().unwrap_or(0);
        let identifiers: usize = (0..columns.len())
            .filter(|i| columns[*i].1 == Kind::Identifier)
            .map(|i| usize::from(content(i)) + 2)
            .sum();
        let free = columns.iter().filter(|c| c.1 == Kind::FreeText).count();
        let cramped = table.width().is_some_and(|width| {
            free > 0
                && usize::from(width).saturating_sub(identifiers) / free
                    < usize::from(MIN_TEXT_WIDTH) + 2
        });
        for (index, Column(_, kind)) in columns.iter().enumerate() {
            let narrow = MIN_TEXT_WIDTH.min(content(index));
            let constraint = match kind {
                Kind::Identifier => ColumnConstraint::ContentWidth,
                Kind::FreeText if cramped => ColumnConstraint::Absolute(Width::Fixed(narrow + 2)),
                Kind::FreeText => ColumnConstraint::LowerBoundary(Width::Fixed(narrow + 2)),
            };
            if let Some(column) = table.column_mut(index) {
                column.set_constraint(constraint);
            }
        }
        table.to_string()
    }

    /// Fails at the first line that differs, showing it and its neighbours.
    fn same(written: &str, expected: &str, case: &str) {
        let (w, e): (Vec<&str>, Vec<&str>) =
            (written.lines().collect(), expected.lines().collect());
        if let Some(at) = (0..w.len().max(e.len())).find(|i| w.get(*i) != e.get(*i)) {
            let around =
                |lines: &[&str]| lines[at.saturating_sub(2)..(at + 2).min(lines.len())].join("⏎\n");
            panic!(
                "{case}: line {at} differs\nwritten:\n{}\nexpected:\n{}",
                around(&w),
                around(&e)
            );
        }
        assert_eq!(
            written, expected,
            "{case}: the same lines, different line ends"
        );
    }

    /// A small deterministic generator (no dependency, the same tables on every run).
    struct Draw(u64);

    impl Draw {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 33) as usize) % n.max(1)
        }
    }

    const WORDS: &[&str] = &[
        "",
        "a",
        "p123",
        "1.10.0",
        "production",
        "rm@example.com",
        "2026-01-31 10:00",
        "Release",
        "the",
        "refund agent answers politely",
        "日本語",
        "naïve",
        "🙂",
        "x\ny",
        "two\nlines here",
        "averyveryverylongidentifierwithoutanyspaces",
        "Add registry.yaml",
        "none → 1.9.0",
        "trailing ",
        "  leading",
        "tab\tin",
        "-",
    ];

    #[test]
    fn it_writes_what_comfy_table_lays_out_for_the_whole_table() {
        let mut draw = Draw(17);
        for case in 0..1500 {
            let kinds = [Kind::Identifier, Kind::FreeText];
            let count = 1 + draw.below(5);
            let headers: Vec<String> = (0..count)
                .map(|i| match draw.below(4) {
                    // Now and then a header wider than its column's cells, which must wrap.
                    0 => format!("COL{i} WITH A HEADER LONGER THAN MOST CELLS"),
                    n => format!("COL{i}{}", "X".repeat(n)),
                })
                .collect();
            let columns: Vec<Column> = headers
                .iter()
                .map(|h| Column(h, kinds[draw.below(2)]))
                .collect();
            let rows: Vec<Vec<(String, Option<Color>)>> = (0..draw.below(12))
                .map(|_| {
                    (0..count)
                        .map(|_| {
                            let words = draw.below(4);
                            let text = (0..words)
                                .map(|_| WORDS[draw.below(WORDS.len())])
                                .collect::<Vec<_>>()
                                .join(" ");
                            let fg = [None, None, Some(Color::Green), Some(Color::DarkGrey)]
                                [draw.below(4)];
                            (text, fg)
                        })
                        .collect()
                })
                .collect();
            let width = [
                None,
                Some(20),
                Some(40),
                Some(60),
                Some(80),
                Some(120),
                Some(7),
            ][draw.below(7)];
            let colour = draw.below(3) == 0;
            let mut table = Table::new(&columns, width, colour);
            for row in &rows {
                table.add_row(
                    row.iter()
                        .map(|(text, fg)| match fg {
                            Some(fg) => Cell::new(text).fg(*fg),
                            None => Cell::new(text),
                        })
                        .collect(),
                );
            }
            same(
                &table.render(),
                &reference(&columns, &rows, width, colour),
                &format!("case {case}: width {width:?}, colour {colour}"),
            );
        }
    }

    #[test]
    fn many_rows_are_written_in_batches_that_join_up() {
        // More wrapped rows than one batch holds, so that batches meet plain rows and each other.
        let columns = [
            Column("NAME", Kind::Identifier),
            Column("SUMMARY", Kind::FreeText),
        ];
        let rows: Vec<Vec<(String, Option<Color>)>> = (0..700)
            .map(|i| {
                // Over a batch of wrapped rows in a row, then wrapped and plain rows mixed.
                let summary = match i % 3 {
                    0 if i > 300 => "short".to_owned(),
                    _ => format!("a summary long enough to wrap in a narrow table {i}"),
                };
                vec![(format!("p{i}"), None), (summary, None)]
            })
            .collect();
        let mut table = Table::new(&columns, Some(40), false);
        for row in &rows {
            table.add_row(row.iter().map(|(t, _)| Cell::new(t)).collect());
        }
        same(
            &table.render(),
            &reference(&columns, &rows, Some(40), false),
            "700 rows",
        );
    }
}
