//! The Git store: the only module that talks to Git. It reads commits, trees, blobs and version
//! tags, and writes commits (compare-and-swap on the branch) and annotated tags.

mod branch;
mod cache;
mod catch_up;
mod components;
mod file_entry;
mod guard;
pub mod identity;
mod lock;
mod refs;
mod release;
mod sorted_lines;
pub mod tags;
mod write;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use git2::{Commit, ErrorCode, ObjectType, Oid, Repository, RepositoryOpenFlags, Sort, Tree};

pub use catch_up::{is_promptreg_commit, Behind};
pub use components::{DirComponents, TreeComponents};
pub use file_entry::FileEntry;
pub use guard::{IndexChange, WriteGuard};
pub use lock::{process_alive, read_journal, Journal, Lock, Recovered, LOCK_FILE};
pub use release::{Release, TagReservation};
pub use write::{Committed, PathUpdate};

use crate::fsread::Refusal;
use crate::{Error, PromptName, Result, Version};

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

    /// Wraps an already open repository.
    pub fn from_repository(repo: Repository) -> Self {
        // Like git's own reads, trust the object store's hashes; `git fsck` checks them.
        // Re-hashing every object read costs more than reading it (a 1 MiB index: ~1 ms).
        git2::opts::strict_hash_verification(false);
        Self { repo }
    }

    /// The underlying repository (for operations in this crate).
    pub(crate) fn repo(&self) -> &Repository {
        &self.repo
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

    /// A configuration value (`user.name`), if set.
    pub fn config_value(&self, key: &str) -> Option<String> {
        self.repo.config().ok()?.get_string(key).ok()
    }

    /// Sets `key` in the repository's own configuration (`.git/config`).
    pub fn set_local_config(&self, key: &str, value: &str) -> Result<()> {
        self.repo
            .config()
            .and_then(|c| c.open_level(git2::ConfigLevel::Local))
            .and_then(|mut c| c.set_str(key, value))
            .map_err(Error::git(format!(
                "cannot set `{key}` in the repository's config"
            )))
    }

    /// The branch HEAD points at (`refs/heads/main`) and its tip, `None` when unborn.
    /// Refuses a detached HEAD.
    pub fn head_branch(&self) -> Result<(String, Option<Oid>)> {
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

    /// The commit that `revision` names (`None`: HEAD).
    pub fn commit(&self, revision: Option<&str>) -> Result<Commit<'_>> {
        let Some(revision) = revision else {
            let head = match self.repo.head() {
                Ok(head) => head,
                Err(e) if matches!(e.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => {
                    let (branch, _) = self.head_branch()?;
                    return Err(Error::UnbornBranch {
                        branch: short_branch(&branch).to_owned(),
                    });
                }
                Err(e) => return Err(Error::git("cannot read HEAD")(e)),
            };
            return head
                .peel_to_commit()
                .map_err(Error::git("cannot read the HEAD commit"));
        };
        let object = self
            .repo
            .revparse_single(revision)
            .map_err(|_| Error::RevisionNotFound {
                revision: revision.to_owned(),
            })?;
        object
            .peel_to_commit()
            .map_err(|_| Error::RevisionNotFound {
                revision: revision.to_owned(),
            })
    }

    /// The commits reachable from `from` but not from `hide`, children before parents (newest
    /// first), or the reverse with `oldest_first`.
    pub fn walk(&self, from: Oid, hide: Option<Oid>, oldest_first: bool) -> Result<Vec<Oid>> {
        let failed = |e| Error::git("cannot walk the history")(e);
        let mut walk = self.repo.revwalk().map_err(failed)?;
        walk.push(from).map_err(failed)?;
        if let Some(hide) = hide {
            walk.hide(hide).map_err(failed)?;
        }
        let order = if oldest_first {
            Sort::TOPOLOGICAL | Sort::REVERSE
        } else {
            Sort::TOPOLOGICAL | Sort::TIME
        };
        walk.set_sorting(order).map_err(failed)?;
        walk.collect::<std::result::Result<_, _>>().map_err(failed)
    }

    /// The content of the regular file at `path` in `tree`, `None` when there is none (or a
    /// directory is there). A symbolic link or a submodule at `path` or on the way is refused
    /// (see [`Store::read_regular`]).
    pub fn read_file(&self, tree: &Tree<'_>, path: &str) -> Result<Option<Vec<u8>>> {
        self.read_regular(tree, path, Path::new(""))
    }

    /// Like [`Store::read_file`], naming paths in errors below `shown` (the directory `tree` is
    /// committed at). A link is refused rather than served as its target's name: a committed
    /// tree is read with the same rule as the working tree, regular files only.
    pub fn read_regular(
        &self,
        tree: &Tree<'_>,
        path: &str,
        shown: &Path,
    ) -> Result<Option<Vec<u8>>> {
        let failed = || Error::git(format!("cannot read `{}`", shown.join(path).display()));
        let refused = |upto: &str, reason| Error::NotRegular {
            path: shown.join(upto),
            reason,
            committed: true,
        };
        let mut current = tree.clone();
        let mut at = 0;
        let parts: Vec<&str> = path.split('/').collect();
        for (i, part) in parts.iter().enumerate() {
            at += part.len() + usize::from(i > 0);
            let upto = &path[..at];
            let Some((mode, id)) = current.get_name(part).map(|e| (e.filemode(), e.id())) else {
                return Ok(None);
            };
            let last = i + 1 == parts.len();
            match mode {
                0o120000 => return Err(refused(upto, crate::fsread::Refusal::Symlink)),
                0o160000 => return Err(refused(upto, crate::fsread::Refusal::Submodule)),
                0o040000 if last => return Ok(None),
                0o040000 => {
                    current = self.repo.find_tree(id).map_err(failed())?;
                }
                _ if !last => return Ok(None),
                _ => {
                    let blob = self.repo.find_blob(id).map_err(failed())?;
                    return Ok(Some(blob.content().to_vec()));
                }
            }
        }
        Ok(None)
    }

    /// The id of the tree or blob at `path` in `tree`.
    pub fn entry_id(&self, tree: &Tree<'_>, path: &str) -> Option<Oid> {
        tree.get_path(Path::new(path)).ok().map(|e| e.id())
    }

    /// The versions of `name`, ascending, with the ids of their tag objects. Refs shaped like
    /// versions that are not annotated tags (lightweight tags) are not versions and are left out.
    pub fn versions(&self, name: &PromptName) -> Result<Vec<(Version, Oid)>> {
        let prefix = name.tag_prefix();
        let refs = refs::list_prefix(self.common_dir(), &prefix)?;
        let mut versions: Vec<(Version, Oid)> = refs
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
        let mut all: BTreeMap<PromptName, Vec<Version>> = BTreeMap::new();
        for (refname, target) in refs::list_prefix(self.common_dir(), "refs/tags/")? {
            let Some((name, component)) = refname["refs/tags/".len()..].rsplit_once('/') else {
                continue;
            };
            let (Ok(name), Some(version)) = (
                PromptName::parse(name),
                Version::from_tag_component(component),
            ) else {
                continue;
            };
            if self.is_annotated(&target) {
                all.entry(name).or_default().push(version);
            }
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

    /// Another prompt inside `name`'s directory: one released (a version tag under
    /// `refs/tags/<name>/…/`) or committed (a `prompt.yaml` below `prompts/<name>/` in `head`).
    pub fn descendant_prompt(&self, head: &Tree<'_>, name: &PromptName) -> Result<Option<String>> {
        let prefix = name.tag_prefix();
        for refname in refs::list_prefix(self.common_dir(), &prefix)?.into_keys() {
            if let Some((child, component)) = refname[prefix.len()..].rsplit_once('/') {
                if Version::from_tag_component(component).is_some() {
                    return Ok(Some(format!("{name}/{child}")));
                }
            }
        }
        let Some(dir) = self.subtree(head, &name.dir()) else {
            return Ok(None);
        };
        let mut found = None;
        dir.walk(git2::TreeWalkMode::PreOrder, |parent, entry| {
            if !parent.is_empty() && entry.name().ok() == Some(crate::PROMPT_FILE) {
                found = Some(format!("{name}/{}", parent.trim_end_matches('/')));
                return git2::TreeWalkResult::Abort;
            }
            git2::TreeWalkResult::Ok
        })
        .or_else(|e| if found.is_some() { Ok(()) } else { Err(e) })
        .map_err(Error::git("cannot read the prompt's tree"))?;
        Ok(found)
    }

    /// Whether `version` of `name` is already a tag.
    pub fn version_exists(&self, name: &PromptName, version: &Version) -> bool {
        self.repo.find_reference(&version.tag_ref(name)).is_ok()
    }

    /// The tree at `path` in `tree`.
    pub fn subtree<'r>(&'r self, tree: &Tree<'_>, path: &str) -> Option<Tree<'r>> {
        let entry = tree.get_path(Path::new(path)).ok()?;
        self.repo.find_tree(entry.id()).ok()
    }

    /// The tree of `prompts/<name>` in `tree`.
    pub fn prompt_tree<'r>(
        &'r self,
        tree: &Tree<'_>,
        name: &PromptName,
    ) -> Result<Option<Tree<'r>>> {
        match self.path_id(tree.id(), &name.dir())? {
            Some(id) => Ok(self.repo.find_tree(id).ok()),
            None => Ok(None),
        }
    }

    /// The id of the entry at `path` (`/`-separated) below the tree `root`.
    ///
    /// Scans the raw tree objects instead of parsing them: the `prompts/` tree of a large
    /// registry has thousands of entries, and libgit2 parses every one of them (about a third
    /// of a `fetch`) where git, and this, only look for the one wanted.
    pub fn path_id(&self, root: Oid, path: &str) -> Result<Option<Oid>> {
        let odb = self
            .repo
            .odb()
            .map_err(Error::git("cannot open the object database"))?;
        let mut current = root;
        for component in path.split('/') {
            let object = odb
                .read(current)
                .map_err(Error::git(format!("cannot read the tree of `{path}`")))?;
            if object.kind() != ObjectType::Tree {
                return Ok(None);
            }
            match raw_tree_entry(object.data(), component.as_bytes()) {
                Some(id) => current = id,
                None => return Ok(None),
            }
        }
        Ok(Some(current))
    }

    /// The first symbolic link or submodule at or below `path` in the tree `root` (a committed
    /// prompt directory), with its path below `root`: what a release must not hold, since
    /// reading it is refused. Read from the raw tree objects, as [`Store::path_id`] does.
    pub fn first_link(&self, root: Oid, path: &str) -> Result<Option<(String, Refusal)>> {
        let odb = self
            .repo
            .odb()
            .map_err(Error::git("cannot open the object database"))?;
        // The directories on the way (`prompts`, `prompts/<name>` itself) may be links too.
        let mut dir = root;
        let mut at = String::new();
        for part in path.split('/') {
            let object = odb
                .read(dir)
                .map_err(Error::git(format!("cannot read the tree of `{path}`")))?;
            if object.kind() != ObjectType::Tree {
                return Ok(None);
            }
            if !at.is_empty() {
                at.push('/');
            }
            at.push_str(part);
            let Some((mode, _, id)) =
                raw_entries(object.data()).find(|(_, n, _)| *n == part.as_bytes())
            else {
                return Ok(None);
            };
            if let Some(reason) = link_refusal(mode) {
                return Ok(Some((at, reason)));
            }
            dir = id;
        }
        links_below(&odb, dir, path)
    }
}

/// The id of the entry called `name` in a raw tree object.
fn raw_tree_entry(data: &[u8], name: &[u8]) -> Option<Oid> {
    raw_entries(data)
        .find(|(_, entry, _)| *entry == name)
        .map(|(_, _, id)| id)
}

/// The entries of a raw tree object: `<octal mode> <name>\0<20-byte id>`…; stops at anything
/// malformed.
pub(crate) fn raw_entries(data: &[u8]) -> impl Iterator<Item = (u32, &[u8], Oid)> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let space = at + memchr::memchr(b' ', data.get(at..)?)?;
        let nul = space + memchr::memchr(0, &data[space..])?;
        let id = Oid::from_bytes(data.get(nul + 1..nul + 21)?).ok()?;
        let mode = std::str::from_utf8(&data[at..space])
            .ok()
            .and_then(|m| u32::from_str_radix(m, 8).ok())?;
        let name = &data[space + 1..nul];
        at = nul + 21;
        Some((mode, name, id))
    })
}

/// Why a committed entry of mode `mode` cannot be read as a file or directory, if it cannot.
pub(crate) fn link_refusal(mode: u32) -> Option<Refusal> {
    match mode {
        0o120000 => Some(Refusal::Symlink),
        0o160000 => Some(Refusal::Submodule),
        _ => None,
    }
}

/// The first symbolic link or submodule below the tree `dir` (shown as `path`).
pub(crate) fn links_below(
    odb: &git2::Odb<'_>,
    dir: Oid,
    path: &str,
) -> Result<Option<(String, Refusal)>> {
    let mut pending = vec![(dir, path.to_owned())];
    while let Some((tree, at)) = pending.pop() {
        let object = odb
            .read(tree)
            .map_err(Error::git(format!("cannot read the tree of `{at}`")))?;
        if object.kind() != ObjectType::Tree {
            continue;
        }
        for (mode, name, id) in raw_entries(object.data()) {
            let below = || format!("{at}/{}", String::from_utf8_lossy(name));
            if let Some(reason) = link_refusal(mode) {
                return Ok(Some((below(), reason)));
            }
            if mode == 0o040000 {
                pending.push((id, below()));
            }
        }
    }
    Ok(None)
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
    let temp = atomic_temp(path);
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(content)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.map_err(Error::io(path))
}
