//! A read cache in the Git directory: `<common-dir>/promptreg/cache/<kind>-<blob id>`.
//!
//! Entries are keyed by the id of the blob they were derived from, so they can never be stale;
//! they are written atomically and are best-effort (a read-only repository just skips them).
//! Parsing a 10,000-prompt `registry.yaml` takes tens of milliseconds; reading its cached line
//! form takes well under one.

use std::path::PathBuf;

use git2::Oid;

use super::Store;

/// How many entries of one kind are kept.
const KEEP: usize = 8;

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

    /// Stores `text` derived from blob `id`, pruning old entries of the same kind. Errors are
    /// ignored: the cache only ever saves time.
    pub fn cache_put(&self, kind: &str, id: Oid, text: &str) {
        let path = self.cache_path(kind, id);
        let Some(dir) = path.parent() else { return };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        if super::write_atomic(&path, text.as_bytes()).is_err() {
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
        if mine.len() > KEEP {
            mine.sort();
            for (_, old) in &mine[..mine.len() - KEEP] {
                let _ = std::fs::remove_file(old);
            }
        }
    }
}
