//! A file as a write commits it: the blob and its index entry, shared by the commit builder
//! ([`super::write`]) and the index update ([`super::guard`]).

use git2::IndexEntry;

/// A file as it will be committed: the blob and mode, plus the index entry that records it.
pub struct FileEntry {
    pub path: String,
    pub entry: IndexEntry,
}

impl FileEntry {
    /// The blob the file is committed as.
    pub fn id(&self) -> git2::Oid {
        self.entry.id
    }
}

impl Clone for FileEntry {
    fn clone(&self) -> Self {
        let e = &self.entry;
        FileEntry {
            path: self.path.clone(),
            entry: IndexEntry {
                ctime: e.ctime,
                mtime: e.mtime,
                dev: e.dev,
                ino: e.ino,
                mode: e.mode,
                uid: e.uid,
                gid: e.gid,
                file_size: e.file_size,
                id: e.id,
                flags: e.flags,
                flags_extended: e.flags_extended,
                path: e.path.clone(),
            },
        }
    }
}
