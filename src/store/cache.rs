//! A read cache in the Git directory: `<common-dir>/promptreg/cache/<kind>-<object id>`.
//!
//! Entries are keyed by the id of the (immutable) object they were derived from, so they can never be stale;
//! they are written atomically and are best-effort (a read-only repository just skips them).
//! Parsing a 10,000-prompt `registry.yaml` takes tens of milliseconds; reading its cached line
//! form takes well under one.

use std::path::PathBuf;

use git2::Oid;

use super::sorted_lines::SortedLines;
use super::Store;

impl Store {
    fn cache_path(&self, kind: &str, id: Oid) -> PathBuf {
        self.common_dir()
            .join("promptreg")
            .join("cache")
            .join(format!("{kind}-{id}"))
    }

    /// The cached text derived from blob `id`, if any.
    pub fn cache_get(&self, kind: &str, id: Oid) -> Option<String> {
        std::fs::read_to_string(self.cache_path(kind, id)).ok()
    }

    /// Stores `text` derived from object `id`, keeping the newest `keep` entries of the same
    /// kind. Errors are ignored: the cache only ever saves time.
    pub fn cache_put(&self, kind: &str, id: Oid, text: &str, keep: usize) {
        let path = self.cache_path(kind, id);
        let Some(dir) = path.parent() else { return };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        // Temp file and rename, without fsync: after a crash an entry may be missing or
        // truncated, and readers reject truncated entries (JSON fails, the index form has an
        // end line), so durability would only cost time.
        let temp = dir.join(format!(".{kind}-{id}.{}", std::process::id()));
        if std::fs::write(&temp, text).is_err() || std::fs::rename(&temp, &path).is_err() {
            let _ = std::fs::remove_file(&temp);
            return;
        }
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let prefix = format!("{kind}-");
        let mut mine: Vec<(std::time::SystemTime, PathBuf)> = entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        if mine.len() > keep {
            mine.sort();
            for (_, old) in &mine[..mine.len() - keep] {
                let _ = std::fs::remove_file(old);
            }
        }
    }
}

/// The lines of a cached sorted-lines entry that a one-key read needs.
pub struct CachedLines {
    /// The first lines (the header), however many were asked for.
    pub head: Vec<String>,
    /// The last line (an end marker, to tell a complete entry from a truncated one).
    pub last: String,
    /// The record whose key equals the one searched for.
    pub found: Option<String>,
}

impl Store {
    /// Looks up `key` in a cached file of sorted lines by binary search, reading a few
    /// kilobytes instead of the file. `key_of` gives a line's key (`None` for non-records).
    pub fn cache_find(
        &self,
        kind: &str,
        id: Oid,
        head_lines: usize,
        key: &str,
        key_of: fn(&str) -> Option<&str>,
    ) -> Option<CachedLines> {
        let path = self.cache_path(kind, id);
        let file = std::fs::File::open(&path).ok()?;
        let len = file.metadata().ok()?.len();
        let lines = SortedLines {
            file: &file,
            len,
            path: &path,
            key: key_of,
        };
        let mut head = Vec::with_capacity(head_lines);
        let mut at = 0;
        for _ in 0..head_lines {
            let (line, next) = lines.line_at(at).ok()??;
            head.push(line);
            at = next;
        }
        let last = last_line(&file, len)?;
        let start = lines.lower_bound(at, key).ok()?;
        let found = lines
            .record_at_or_after(start)
            .ok()?
            .filter(|record| record.key(&lines) == key)
            .map(|record| record.line);
        Some(CachedLines { head, last, found })
    }
}

/// The last line of a file that ends with a newline.
fn last_line(file: &std::fs::File, len: u64) -> Option<String> {
    use std::os::unix::fs::FileExt;
    let take = len.min(256);
    let mut tail = vec![0u8; take as usize];
    file.read_exact_at(&mut tail, len - take).ok()?;
    let body = tail.strip_suffix(b"\n")?;
    let start = memchr::memrchr(b'\n', body).map_or(0, |i| i + 1);
    String::from_utf8(body[start..].to_vec()).ok()
}
