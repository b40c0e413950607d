//! The Git store: the only module that talks to Git. It reads commits, trees, blobs and version
//! tags, and writes commits (compare-and-swap on the branch) and annotated tags.

mod branch;
mod branch_commit;
pub mod bundle;
mod cache;
mod catch_up;
mod commits;
mod components;
mod file_entry;
mod guard;
mod hex;
pub mod identity;
mod index_stat;
mod lock;
pub mod memo;
mod refs;
mod release;
mod sorted_lines;
pub mod tags;
mod tree_index;
mod trees;
mod write;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use git2::{ErrorCode, ObjectType, Repository, RepositoryOpenFlags};

pub use cache::{prune_batch, SortedEntry};
pub use catch_up::Behind;
pub use commits::{CommitView, Person};
pub use components::{DirComponents, TreeComponents};
pub use file_entry::FileEntry;
pub use guard::{IndexChange, WriteGuard};
pub use hex::{hex_of, parse_id};
pub use index_stat::IndexStat;
pub use lock::{process_alive, read_journal, Journal, Lock, Recovered, LOCK_FILE};
pub use release::{Release, TagReservation};
pub use trees::{hash_blob, Blob, TreeView};
pub use write::{Committed, PathUpdate};

use crate::{Error, PromptName, Result, Version};

/// The id of a git object (a commit, tree, blob or tag): git's own 20-byte id, named here so
/// nothing outside the store names the git library.
pub use git2::Oid as ObjectId;

/// What kind of object an id names (commit, tree, blob, tag).
pub use git2::ObjectType as ObjectKind;

/// An error from the git library, as [`Error::Git`] carries it.
pub use git2::Error as GitError;

/// An open registry repository.
pub struct Store {
    repo: Repository,
}

impl Store {
    /// Opens the repository at or above `path`, as git discovers it (`GIT_DIR` is honoured).
    pub fn discover(path: &Path) -> Result<Self> {
        let flags = RepositoryOpenFlags::FROM_ENV;
        let repo = Repository::open_ext(path, flags, std::iter::empty::<&std::ffi::OsStr>())
            .map_err(|e| {
                if e.message().contains("refstorage") || e.message().contains("reftable") {
                    Error::ReftableUnsupported {
                        path: path.to_owned(),
                    }
                } else {
                    Error::NotARepository {
                        path: path.to_owned(),
                    }
                }
            })?;
        Ok(Self::from_repository(repo))
    }

    /// Creates a repository at `dir` whose HEAD names `branch` (unborn), and opens it.
    pub fn init(dir: &Path, branch: &str) -> Result<Self> {
        let mut options = git2::RepositoryInitOptions::new();
        options.initial_head(branch);
        let repo = Repository::init_opts(dir, &options).map_err(Error::git(format!(
            "cannot create a repository in `{}`",
            dir.display()
        )))?;
        Ok(Self::from_repository(repo))
    }

    /// Wraps an already open repository.
    fn from_repository(repo: Repository) -> Self {
        // Like git's own reads, trust the object store's hashes; `git fsck` checks them.
        // Re-hashing every object read costs more than reading it (a 1 MiB index: ~1 ms).
        git2::opts::strict_hash_verification(false);
        Self { repo }
    }

    /// The working tree, or an error naming `operation` when the repository is bare.
    pub fn workdir(&self, operation: &'static str) -> Result<&Path> {
        self.repo
            .workdir()
            .ok_or(Error::BareRepository { operation })
    }

    /// The git directory shared by all worktrees (where refs and locks live).
    pub fn common_dir(&self) -> &Path {
        self.repo.commondir()
    }

    /// This worktree's git directory (where its `index` and `HEAD` live); the common directory
    /// for the main worktree.
    pub fn git_dir(&self) -> &Path {
        self.repo.path()
    }

    /// The files `refname`'s value lives in (its loose file, then `packed-refs`) and the
    /// directory of the loose version tags (`refs/tags/`), all in the common directory; `None`
    /// when refs are not plain files there: another ref backend (`extensions.refStorage`, e.g.
    /// reftable) or a per-worktree ref (anything outside `refs/heads/`, `refs/remotes/` and
    /// `refs/tags/`). The server watches these to know when to read the ref again.
    pub fn ref_files(&self, refname: &str) -> Option<RefFiles> {
        let storage = self.config_value("extensions.refStorage");
        if storage.is_some_and(|s| !s.eq_ignore_ascii_case("files")) {
            return None;
        }
        let shared = ["refs/heads/", "refs/remotes/", "refs/tags/"];
        if !shared.iter().any(|p| refname.starts_with(p)) || refname.contains("..") {
            return None;
        }
        let common = self.common_dir();
        Some(RefFiles {
            loose: common.join(refname),
            packed: common.join("packed-refs"),
            tags: common.join("refs/tags"),
        })
    }

    /// A configuration value (`user.name`), if set.
    pub fn config_value(&self, key: &str) -> Option<String> {
        self.repo.config().ok()?.get_string(key).ok()
    }

    /// The branch HEAD points at (`refs/heads/main`) and its tip, `None` when unborn.
    /// Refuses a detached HEAD.
    pub fn head_branch(&self) -> Result<(String, Option<ObjectId>)> {
        let head = self
            .repo
            .find_reference("HEAD")
            .map_err(Error::git("cannot read HEAD"))?;
        let Some(branch) = head.symbolic_target().ok().flatten().map(str::to_owned) else {
            return Err(Error::DetachedHead);
        };
        match self.repo.refname_to_id(&branch) {
            Ok(oid) => Ok((branch, Some(oid))),
            Err(e) if e.code() == ErrorCode::NotFound => Ok((branch, None)),
            Err(e) => Err(Error::git(format!("cannot read `{branch}`"))(e)),
        }
    }

    /// Where `refname` (a full ref name, `refs/heads/main`) points, peeled through symbolic
    /// refs; `None` when there is no such ref (or it is unborn).
    pub fn ref_target(&self, refname: &str) -> std::result::Result<Option<ObjectId>, GitError> {
        match self.repo.refname_to_id(refname) {
            Ok(id) => Ok(Some(id)),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether this is a shallow clone (`.git/shallow` exists): history stops at the commits
    /// it lists, whose parents are not here.
    pub fn is_shallow(&self) -> bool {
        self.repo.is_shallow()
    }

    /// The commits a shallow clone's history stops at (their parents were not fetched), as
    /// `.git/shallow` lists them; empty for a complete clone.
    pub fn shallow_roots(&self) -> Result<Vec<ObjectId>> {
        let path = self.common_dir().join("shallow");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(path)(e)),
        };
        Ok(text
            .lines()
            .filter_map(|line| ObjectId::from_str(line.trim()).ok())
            .collect())
    }

    /// Whether `.gitignore` rules ignore `path` (repository-relative); `false` when that
    /// cannot be told.
    pub fn is_ignored(&self, path: &str) -> bool {
        self.repo.is_path_ignored(path).unwrap_or(false)
    }

    /// Refuses when a merge, rebase or similar is in progress.
    pub fn ensure_clean_state(&self) -> Result<()> {
        let state = self.repo.state();
        if state == git2::RepositoryState::Clean {
            Ok(())
        } else {
            Err(Error::OperationInProgress {
                state: format!("{state:?}").to_lowercase(),
            })
        }
    }

    /// The versions of `name`, ascending, with the ids of their tag objects. Refs shaped like
    /// versions that are not annotated tags (lightweight tags) are not versions and are left out.
    pub fn versions(&self, name: &PromptName) -> Result<Vec<(Version, ObjectId)>> {
        let prefix = name.tag_prefix();
        let refs = refs::list_prefix(self.common_dir(), &prefix)?;
        let mut versions: Vec<(Version, ObjectId)> = refs
            .into_iter()
            .filter(|(_, target)| self.is_annotated(target))
            .filter_map(|(refname, target)| {
                Version::from_tag_component(&refname[prefix.len()..]).map(|v| (v, target.id))
            })
            .collect();
        versions.sort();
        Ok(versions)
    }

    /// Every prompt that has at least one version tag, with its versions ascending.
    pub fn all_versions(&self) -> Result<BTreeMap<PromptName, Vec<Version>>> {
        Ok(self
            .all_version_tags()?
            .into_iter()
            .map(|(name, tags)| (name, tags.into_iter().map(|(v, _)| v).collect()))
            .collect())
    }

    /// Every prompt that has at least one version tag, with its versions ascending and the id
    /// of each version's tag object (from one read of the ref store, as [`Store::all_versions`]).
    pub fn all_version_tags(&self) -> Result<BTreeMap<PromptName, Vec<(Version, ObjectId)>>> {
        // A prompt's tags are next to each other in the sorted listing: its name is checked
        // once, not once per version, and the map is built from whole runs. The refs are
        // visited, not listed: a listing of 100,000 would be held beside the runs made of it.
        let mut runs: Vec<(PromptName, Vec<(Version, ObjectId)>)> = Vec::new();
        refs::each_with_prefix(self.common_dir(), "refs/tags/", |refname, target| {
            let Some((name, component)) = refname["refs/tags/".len()..].rsplit_once('/') else {
                return;
            };
            let Some(version) = Version::from_tag_component(component) else {
                return;
            };
            if !self.is_annotated(&target) {
                return;
            }
            match runs.last_mut() {
                Some((last, versions)) if last.as_str() == name => {
                    versions.push((version, target.id))
                }
                _ => {
                    if let Ok(name) = PromptName::parse(name) {
                        runs.push((name, vec![(version, target.id)]));
                    }
                }
            }
        })?;
        let mut all: BTreeMap<PromptName, Vec<(Version, ObjectId)>> = BTreeMap::new();
        for (name, versions) in runs {
            all.entry(name).or_default().extend(versions);
        }
        for versions in all.values_mut() {
            versions.sort();
        }
        Ok(all)
    }

    /// Whether a tag ref points at a tag object (asking the object store only when the ref
    /// store did not say).
    fn is_annotated(&self, target: &refs::RefTarget) -> bool {
        target.annotated.unwrap_or_else(|| {
            self.repo
                .odb()
                .and_then(|odb| odb.read_header(target.id))
                .is_ok_and(|(_, kind)| kind == ObjectType::Tag)
        })
    }

    /// Whether `version` of `name` is already a tag.
    pub fn version_exists(&self, name: &PromptName, version: &Version) -> bool {
        self.repo.find_reference(&version.tag_ref(name)).is_ok()
    }
}

/// Where a ref backed by files keeps its value ([`Store::ref_files`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefFiles {
    /// The ref's loose file (`refs/heads/main`), which may not exist.
    pub loose: PathBuf,
    /// `packed-refs`, which may not exist.
    pub packed: PathBuf,
    /// `refs/tags/`: a prompt's loose version tags are the files of `refs/tags/<name>/`.
    pub tags: PathBuf,
}

/// Turns libgit2's cache of parsed objects off for the whole process (it is process-wide).
///
/// The cache keeps every commit, tree and tag read (up to 256 MiB) in case it is read again. A
/// command that reads each object once gains nothing from it: `history` of every prompt read
/// 100,000 tag objects and kept 12.8 MB of them alive to the end. Walks over commits keep it:
/// without it, `history NAME` over 5,000 cached commits took 110 ms instead of 85 (each commit
/// is read again as its child's parent). So does the server: its requests read the same objects
/// again and again.
pub fn disable_object_cache() {
    git2::opts::enable_caching(false);
}

/// How promptreg abbreviates a commit id wherever it shows one: its first 10 hex digits
/// (enough to be unique in very large repositories, and what `git rev-parse --short=10` gives).
pub fn short_id(id: ObjectId) -> String {
    let mut text = id.to_string();
    text.truncate(10);
    text
}

/// `main` from `refs/heads/main`.
pub fn short_branch(refname: &str) -> &str {
    refname.strip_prefix("refs/heads/").unwrap_or(refname)
}

/// The temporary file [`write_atomic`] writes `path` through.
pub(crate) fn atomic_temp(path: &Path) -> PathBuf {
    let dir = path.parent().unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.join(format!(".{file_name}.promptreg-{}", std::process::id()))
}

/// Writes a working-tree file atomically: a temporary file beside it, then a rename, so a reader
/// (or a crash) sees the old content or the new, never half of it.
pub fn write_atomic(path: &Path, content: &[u8]) -> Result<()> {
    use std::io::Write;
    write_atomic_with(path, |file| file.write_all(content))
}

/// [`write_atomic`] with the content written by `write` as it is made, for content too large to
/// hold whole first. When `write` fails, `path` is left as it was.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<()> {
    let temp = atomic_temp(path);
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        write(&mut file)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.map_err(Error::io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ref_files_are_in_the_common_dir_unless_refs_are_not_plain_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(dir.path(), "main").unwrap();
        let common = store.common_dir().to_owned();
        assert_eq!(
            store.ref_files("refs/heads/main"),
            Some(RefFiles {
                loose: common.join("refs/heads/main"),
                packed: common.join("packed-refs"),
                tags: common.join("refs/tags"),
            })
        );
        assert!(store.ref_files("refs/remotes/origin/main").is_some());
        // Per-worktree refs live in a worktree's own git directory; a name climbing out is no ref.
        assert_eq!(store.ref_files("refs/worktree/main"), None);
        assert_eq!(store.ref_files("refs/heads/../../config"), None);
        // Another ref backend: nothing to stat.
        let repo = Repository::open(dir.path()).unwrap();
        repo.config()
            .unwrap()
            .set_str("extensions.refStorage", "reftable")
            .unwrap();
        assert_eq!(store.ref_files("refs/heads/main"), None);
        repo.config()
            .unwrap()
            .set_str("extensions.refStorage", "files")
            .unwrap();
        assert!(store.ref_files("refs/heads/main").is_some());
    }
}
