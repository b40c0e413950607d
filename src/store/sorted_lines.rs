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

/// Below how many bytes a binary search reads the rest at once.
const SCAN_BELOW: u64 = 32 << 10;

impl SortedLines<'_> {
    /// The offset of the first record at or after `lo` whose key is not below `target`.
    pub fn lower_bound(&self, mut lo: u64, target: &str) -> Result<u64> {
        // Invariant: records starting before `lo` sort below `target`; those at or after `hi`
        // do not.
        let mut hi = self.len;
        while lo < hi {
            if hi - lo <= SCAN_BELOW {
                return self.scan(lo, hi, target);
            }
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

    /// [`SortedLines::lower_bound`]'s end: the lines in `[lo, hi)` read at once and walked in
    /// order, instead of two or three positioned reads for each of the last halvings.
    fn scan(&self, lo: u64, hi: u64, target: &str) -> Result<u64> {
        let mut buf = vec![0u8; (hi - lo) as usize];
        self.file
            .read_exact_at(&mut buf, lo)
            .map_err(Error::io(self.path))?;
        let mut at = 0;
        while at < buf.len() {
            let Some(nl) = memchr::memchr(b'\n', &buf[at..]) else {
                // The last line goes on past `hi`: read it whole.
                let start = lo + at as u64;
                return Ok(match self.line_at(start)? {
                    Some((line, next)) if (self.key)(&line).is_some_and(|k| k < target) => next,
                    _ => start,
                });
            };
            let bytes = &buf[at..at + nl];
            // Checked in one pass (a lossy conversion walks valid text chunk by chunk).
            let line = match std::str::from_utf8(bytes) {
                Ok(line) => std::borrow::Cow::Borrowed(line),
                Err(_) => String::from_utf8_lossy(bytes),
            };
            if (self.key)(&line).is_some_and(|k| k >= target) {
                return Ok(lo + at as u64);
            }
            at += nl + 1;
        }
        Ok(hi)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Keys of record lines; lines starting with `^` are not records (as peeled lines in
    /// `packed-refs`).
    fn key(line: &str) -> Option<&str> {
        (!line.starts_with('^')).then(|| line.split(' ').next().unwrap_or_default())
    }

    #[test]
    fn lower_bound_agrees_with_a_walk_over_every_line() {
        // Files small and large (past the size below which the rest is read at once), with
        // long lines and non-record lines between the records.
        for (count, pad) in [
            (3, 1),
            (40, 3),
            (2_000, 20),
            (9_000, 5),
            (300, 400),
            (60, 5_000),
        ] {
            let mut text = String::new();
            let mut starts = Vec::new();
            for i in 0..count {
                starts.push((text.len() as u64, format!("k{:06}", i * 2)));
                text.push_str(&format!(
                    "k{:06} {}\n",
                    i * 2,
                    "x".repeat(pad * (1 + i % 7))
                ));
                if i % 5 == 0 {
                    text.push_str("^peeled\n");
                }
            }
            let mut file = tempfile::tempfile().unwrap();
            file.write_all(text.as_bytes()).unwrap();
            let path = Path::new("lines");
            let lines = SortedLines {
                file: &file,
                len: text.len() as u64,
                path,
                key,
            };
            for target in (0..count * 2 + 2).step_by(1 + count / 300) {
                let target = format!("k{target:06}");
                let want = starts.iter().find(|(_, k)| *k >= target);
                let found = lines.lower_bound(0, &target).unwrap();
                let record = lines.record_at_or_after(found).unwrap();
                match want {
                    Some((start, _)) => {
                        assert_eq!(record.map(|r| r.start), Some(*start), "{target} in {count}")
                    }
                    None => assert!(record.is_none(), "{target} in {count}"),
                }
            }
        }
    }
}
