//! Where `validate` reads files from: the working tree, or the index (what the next commit will
//! hold, which is what a pre-commit hook must check). Symbolic links are never followed: the
//! working tree is read through [`crate::fsread`], one component at a time without following
//! links, and only regular files are opened.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::store::{ObjectId, Store};
use crate::{Error, Result};

/// What a path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    File,
    Symlink,
    /// A submodule, FIFO, socket or device.
    Other,
    /// In the index only: a path with an unresolved conflict.
    Unmerged,
}

/// A file or link (directories are implied by the paths below them).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry {
    pub kind: Kind,
    /// The blob, for index entries.
    id: Option<ObjectId>,
    /// A working-tree file's stat data, when a walk found it.
    stat: Option<FileStat>,
}

impl Entry {
    /// The blob, for index entries (a working-tree file's is known only by reading it, or from
    /// git's record of it when its [`Entry::stat`] matches).
    pub fn id(&self) -> Option<ObjectId> {
        self.id
    }

    /// A working-tree file's stat data, as the walk that found it saw it.
    pub fn stat(&self) -> Option<&FileStat> {
        self.stat.as_ref()
    }
}

/// The content of a file read with a size limit.
pub(crate) use crate::fsread::Content;
use crate::fsread::{self, FileStat, WorkTree};

/// The files `validate` checks.
pub(crate) enum Files<'s> {
    WorkTree {
        root: PathBuf,
    },
    Index {
        store: &'s Store,
        entries: BTreeMap<String, Entry>,
    },
}

impl<'s> Files<'s> {
    /// The working tree of `store`.
    pub fn work_tree(store: &Store) -> Result<Self> {
        Ok(Files::WorkTree {
            root: store.workdir("validate")?.to_owned(),
        })
    }

    /// The index of `store`.
    pub fn index(store: &'s Store) -> Result<Self> {
        let mut entries = BTreeMap::new();
        for file in store.index_files()? {
            let kind = if file.stage != 0 {
                Kind::Unmerged
            } else {
                match file.mode & 0o170000 {
                    0o100000 => Kind::File,
                    0o120000 => Kind::Symlink,
                    _ => Kind::Other,
                }
            };
            let entry = Entry {
                kind,
                id: Some(file.id),
                stat: None,
            };
            // Of a conflict's stages, keep the marker.
            entries
                .entry(file.path)
                .and_modify(|e: &mut Entry| {
                    if kind == Kind::Unmerged {
                        *e = entry
                    }
                })
                .or_insert(entry);
        }
        Ok(Files::Index { store, entries })
    }

    /// The working tree's root, from which another thread can read the same files
    /// ([`Files::WorkTree`]); `None` for the index, read through the repository, which one
    /// thread at a time may use.
    pub fn shareable(&self) -> Option<PathBuf> {
        match self {
            Files::WorkTree { root } => Some(root.clone()),
            Files::Index { .. } => None,
        }
    }

    /// The file or link at `path` (repository-relative, `/`-separated); `None` for a directory or
    /// nothing.
    pub fn entry(&self, path: &str) -> Result<Option<Entry>> {
        match self {
            Files::WorkTree { root } => {
                Ok(WorkTree::new(root)
                    .kind(path)?
                    .and_then(kind_of)
                    .map(|kind| Entry {
                        kind,
                        id: None,
                        stat: None,
                    }))
            }
            Files::Index { entries, .. } => Ok(entries.get(path).copied()),
        }
    }

    /// Whether `path` is a directory (in the index: whether any path lies below it).
    pub fn is_dir(&self, path: &str) -> bool {
        match self {
            Files::WorkTree { root } => {
                matches!(WorkTree::new(root).kind(path), Ok(Some(fsread::Kind::Dir)))
            }
            Files::Index { entries, .. } => {
                let prefix = format!("{path}/");
                entries
                    .range(prefix.clone()..)
                    .next()
                    .is_some_and(|(p, _)| p.starts_with(&prefix))
            }
        }
    }

    /// Every file and link below the directory `dir`, with repository-relative paths, sorted.
    /// Symbolic links to directories are listed, not followed.
    pub fn walk(&self, dir: &str) -> Result<Vec<(String, Entry)>> {
        let mut out = Vec::new();
        match self {
            Files::WorkTree { root } => {
                out.extend(WorkTree::new(root).walk_stat(dir)?.into_iter().filter_map(
                    |(path, kind, stat)| {
                        Some((
                            path,
                            Entry {
                                kind: kind_of(kind)?,
                                id: None,
                                stat,
                            },
                        ))
                    },
                ))
            }
            Files::Index { entries, .. } => {
                let prefix = format!("{dir}/");
                out.extend(
                    entries
                        .range(prefix.clone()..)
                        .take_while(|(p, _)| p.starts_with(&prefix))
                        .map(|(p, e)| (p.clone(), *e)),
                );
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// The content of the regular file `path`, unless it is larger than `limit` bytes.
    pub fn read(&self, path: &str, entry: &Entry, limit: usize) -> Result<Content> {
        match self {
            Files::Index { store, .. } => {
                let id = entry.id.ok_or_else(|| Error::Invalid {
                    file: path.into(),
                    message: "not in the index".into(),
                })?;
                let size = store.object_size(id)?;
                if size > limit as u64 {
                    return Ok(Content::TooLarge(size));
                }
                Ok(Content::Bytes(store.blob(id)?))
            }
            Files::WorkTree { root } => {
                WorkTree::new(root)
                    .read(path, limit)?
                    .ok_or_else(|| Error::Invalid {
                        file: path.into(),
                        message: "vanished while it was being checked".into(),
                    })
            }
        }
    }

    /// `registry.yaml`: its content, or `None` when there is none.
    pub fn registry(&self) -> Result<Option<Content>> {
        let path = crate::REGISTRY_FILE;
        match self.entry(path)? {
            Some(entry) if entry.kind == Kind::File => self
                .read(path, &entry, crate::model::yaml::MAX_DOCUMENT_BYTES)
                .map(Some),
            _ => Ok(None),
        }
    }
}

fn kind_of(kind: fsread::Kind) -> Option<Kind> {
    match kind {
        fsread::Kind::Dir => None,
        fsread::Kind::File => Some(Kind::File),
        fsread::Kind::Symlink => Some(Kind::Symlink),
        fsread::Kind::Special(_) => Some(Kind::Other),
    }
}
