//! Binary search in a file of sorted lines with positioned reads, so finding one line of a
//! multi-megabyte file (`packed-refs`, a cached index) reads a few kilobytes, not the file.

use std::fs::File;
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::{Error, Result};

/// A file whose record lines are sorted by a key. Lines for which `key` returns `None`
/// (comments, continuation lines) are skipped.
pub struct SortedLines<'a> {
    pub file: &'a File,
    pub len: u64,
    pub path: &'a Path,
    pub key: fn(&str) -> Option<&str>,
}

/// One record line.
pub struct Record {
    pub line: String,
    pub start: u64,
    /// Where the line after it starts.
    pub next: u64,
}

impl Record {
    /// The record's key (the reader's `key` function applied to the line).
    pub fn key<'l>(&'l self, lines: &SortedLines<'_>) -> &'l str {
        (lines.key)(&self.line).unwrap_or_default()
    }
}

impl SortedLines<'_> {
    /// The offset of the first record at or after `lo` whose key is not below `target`.
    pub fn lower_bound(&self, mut lo: u64, target: &str) -> Result<u64> {
        // Invariant: records starting before `lo` sort below `target`; those at or after `hi`
        // do not.
        let mut hi = self.len;
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.record_at_or_after(mid)? {
                Some(record) if record.start < hi => {
                    if record.key(self) < target {
                        lo = record.next;
                    } else {
                        hi = record.start;
                    }
                }
                _ => hi = mid,
            }
        }
        Ok(lo)
    }

    /// The first record that starts at or after `pos` (skipping a partial line).
    pub fn record_at_or_after(&self, pos: u64) -> Result<Option<Record>> {
        let mut at = pos;
        if at > 0 && !self.starts_line(at)? {
            match self.line_at(at)? {
                Some((_, end)) => at = end,
                None => return Ok(None),
            }
        }
        loop {
            let Some((line, end)) = self.line_at(at)? else {
                return Ok(None);
            };
            if (self.key)(&line).is_some() {
                return Ok(Some(Record {
                    line,
                    start: at,
                    next: end,
                }));
            }
            at = end;
        }
    }

    fn starts_line(&self, pos: u64) -> Result<bool> {
        let mut byte = [0u8; 1];
        self.file
            .read_exact_at(&mut byte, pos - 1)
            .map_err(Error::io(self.path))?;
        Ok(byte[0] == b'\n')
    }

    /// The line from `pos` to the next newline (or the end), without it, and the offset after.
    pub fn line_at(&self, pos: u64) -> Result<Option<(String, u64)>> {
        if pos >= self.len {
            return Ok(None);
        }
        let mut buf = Vec::new();
        let mut chunk = vec![0u8; 256];
        let mut at = pos;
        loop {
            let want = chunk.len().min((self.len - at) as usize);
            let got = self
                .file
                .read_at(&mut chunk[..want], at)
                .map_err(Error::io(self.path))?;
            if got == 0 {
                break;
            }
            if let Some(nl) = memchr::memchr(b'\n', &chunk[..got]) {
                buf.extend_from_slice(&chunk[..nl]);
                at += nl as u64 + 1;
                return Ok(Some((String::from_utf8_lossy(&buf).into_owned(), at)));
            }
            buf.extend_from_slice(&chunk[..got]);
            at += got as u64;
            if chunk.len() < 64 << 10 {
                chunk.resize(chunk.len() * 4, 0);
            }
        }
        Ok(Some((String::from_utf8_lossy(&buf).into_owned(), at)))
    }

    /// An error for a line that does not have the expected form.
    pub fn corrupt(&self, at: u64) -> Error {
        Error::Io {
            path: self.path.to_owned(),
            source: std::io::Error::new(
                ErrorKind::InvalidData,
                format!("malformed line at byte {at}"),
            ),
        }
    }
}
