//! Trees and blobs: reading a committed file or directory by path (regular files only: a
//! committed link is refused, never followed), the raw-tree lookups that skip parsing large
//! trees, blob contents, and hashing content as a blob.

use std::collections::HashMap;
use std::path::Path;

use git2::ObjectType;

use super::memo::Memo;
use super::{refs, GitError, ObjectId, Store};
use crate::fsread::Refusal;
use crate::{Error, PromptName, Result, Version};

/// A tree read from the repository.
#[derive(Clone)]
pub struct TreeView<'r> {
    pub(super) tree: git2::Tree<'r>,
}

impl<'r> TreeView<'r> {
    pub(super) fn new(tree: git2::Tree<'r>) -> Self {
        TreeView { tree }
    }

    pub fn id(&self) -> ObjectId {
        self.tree.id()
    }
}

/// A blob's content, borrowed from the object libgit2 read (no copy).
pub struct Blob<'r> {
    blob: git2::Blob<'r>,
}

impl std::ops::Deref for Blob<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.blob.content()
    }
}

/// The id git gives `content` as a blob (`git hash-object`), computed without the repository.
pub fn hash_blob(content: &[u8]) -> std::result::Result<ObjectId, GitError> {
    ObjectId::hash_object(ObjectType::Blob, content)
}

impl Store {
    /// The tree `id`.
    pub fn find_tree(&self, id: ObjectId) -> std::result::Result<TreeView<'_>, GitError> {
        self.repo.find_tree(id).map(TreeView::new)
    }

    /// The paths whose entries differ between the trees `old` and `new` (`None`: empty), as
    /// `git diff-tree -r` names them; paths that are not UTF-8 are left out.
    pub fn changed_paths(
        &self,
        old: Option<&TreeView<'_>>,
        new: Option<&TreeView<'_>>,
    ) -> std::result::Result<Vec<String>, GitError> {
        let diff = self
            .repo
            .diff_tree_to_tree(old.map(|t| &t.tree), new.map(|t| &t.tree), None)?;
        Ok(diff
            .deltas()
            .filter_map(|delta| {
                let path = delta.new_file().path().or(delta.old_file().path())?;
                Some(path.to_str()?.to_owned())
            })
            .collect())
    }

    /// Writes `content` as a blob into the object store.
    pub fn write_blob(&self, content: &[u8]) -> std::result::Result<ObjectId, GitError> {
        self.repo.blob(content)
    }

    /// The content of blob `id`, without copying it.
    pub fn read_blob(&self, id: ObjectId) -> std::result::Result<Blob<'_>, GitError> {
        self.repo.find_blob(id).map(|blob| Blob { blob })
    }

    /// The content of the regular file at `path` in `tree`, `None` when there is none (or a
    /// directory is there). A symbolic link or a submodule at `path` or on the way is refused
    /// (see [`Store::read_regular`]).
    pub fn read_file(&self, tree: &TreeView<'_>, path: &str) -> Result<Option<Vec<u8>>> {
        self.read_regular(tree, path, Path::new(""))
    }

    /// Like [`Store::read_file`], naming paths in errors below `shown` (the directory `tree` is
    /// committed at). A link is refused rather than served as its target's name: a committed
    /// tree is read with the same rule as the working tree, regular files only.
    pub fn read_regular(
        &self,
        tree: &TreeView<'_>,
        path: &str,
        shown: &Path,
    ) -> Result<Option<Vec<u8>>> {
        let failed = || Error::git(format!("cannot read `{}`", shown.join(path).display()));
        let refused = |upto: &str, reason| Error::NotRegular {
            path: shown.join(upto),
            reason,
            committed: true,
        };
        let mut current = tree.tree.clone();
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
                0o120000 => return Err(refused(upto, Refusal::Symlink)),
                0o160000 => return Err(refused(upto, Refusal::Submodule)),
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
    pub fn entry_id(&self, tree: &TreeView<'_>, path: &str) -> Option<ObjectId> {
        tree.tree.get_path(Path::new(path)).ok().map(|e| e.id())
    }

    /// Another prompt inside `name`'s directory: one released (a version tag under
    /// `refs/tags/<name>/…/`) or committed (a `prompt.yaml` below `prompts/<name>/` in `head`).
    pub fn descendant_prompt(
        &self,
        head: &TreeView<'_>,
        name: &PromptName,
    ) -> Result<Option<String>> {
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
        dir.tree
            .walk(git2::TreeWalkMode::PreOrder, |parent, entry| {
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

    /// The directories below `prompts/` in the tree `root` that hold a regular `prompt.yaml`,
    /// as their paths below `prompts/` (`support/refund-agent`), with the file's blob id:
    /// the prompts a revision has files for, released or not.
    pub fn prompt_files(&self, root: ObjectId) -> Result<Vec<(String, ObjectId)>> {
        let Some(id) = self.path_id(root, crate::PROMPTS_DIR)? else {
            return Ok(Vec::new());
        };
        let Ok(tree) = self.repo.find_tree(id) else {
            return Ok(Vec::new()); // `prompts` is a file: `validate` reports it.
        };
        let mut found = Vec::new();
        tree.walk(git2::TreeWalkMode::PreOrder, |parent, entry| {
            let regular = matches!(entry.filemode(), 0o100644 | 0o100755);
            if !parent.is_empty() && regular && entry.name().ok() == Some(crate::PROMPT_FILE) {
                found.push((parent.trim_end_matches('/').to_owned(), entry.id()));
            }
            git2::TreeWalkResult::Ok
        })
        .map_err(Error::git("cannot read the prompts tree"))?;
        Ok(found)
    }

    /// The tree at `path` in `tree`.
    pub fn subtree<'r>(&'r self, tree: &TreeView<'_>, path: &str) -> Option<TreeView<'r>> {
        let entry = tree.tree.get_path(Path::new(path)).ok()?;
        self.repo.find_tree(entry.id()).ok().map(TreeView::new)
    }

    /// The tree of `prompts/<name>` in `tree`.
    pub fn prompt_tree<'r>(
        &'r self,
        tree: &TreeView<'_>,
        name: &PromptName,
    ) -> Result<Option<TreeView<'r>>> {
        match self.path_id(tree.id(), &name.dir())? {
            Some(id) => Ok(self.repo.find_tree(id).ok().map(TreeView::new)),
            None => Ok(None),
        }
    }

    /// The id of the entry at `path` (`/`-separated) below the tree `root`.
    ///
    /// Scans the raw tree objects instead of parsing them: the `prompts/` tree of a large
    /// registry has thousands of entries, and libgit2 parses every one of them (about a third
    /// of a `fetch`) where git, and this, only look for the one wanted.
    pub fn path_id(&self, root: ObjectId, path: &str) -> Result<Option<ObjectId>> {
        let odb = self
            .repo
            .odb()
            .map_err(Error::git("cannot open the object database"))?;
        let mut current = root;
        for component in path.split('/') {
            match tree_child(&odb, current, component.as_bytes(), path)? {
                Some(id) => current = id,
                None => return Ok(None),
            }
        }
        Ok(Some(current))
    }

    /// The first symbolic link or submodule at or below `path` in the tree `root` (a committed
    /// prompt directory), with its path below `root`: what a release must not hold, since
    /// reading it is refused. Read from the raw tree objects, as [`Store::path_id`] does.
    pub fn first_link(&self, root: ObjectId, path: &str) -> Result<Option<(String, Refusal)>> {
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

/// Trees at least this large (the `prompts/` tree of a registry with more than a few hundred
/// prompts) are looked up through an index of their entries kept in memory, by tree id: a first
/// read of each version of a 10,000-prompt registry would otherwise inflate and scan the same
/// 320 KiB tree every time.
const INDEXED_TREE_BYTES: usize = 16 * 1024;

/// The indexes of large trees: name → id, each costing about its raw size plus 64 bytes an
/// entry, 32 MiB in all (a 10,000-entry tree takes under 1 MiB).
static TREE_INDEXES: Memo<HashMap<Box<[u8]>, ObjectId>> = Memo::new(32 << 20);

/// The large trees looked up once lately in this process (not yet indexed).
static SEEN_TREES: std::sync::Mutex<Vec<ObjectId>> = std::sync::Mutex::new(Vec::new());

/// Whether this is the first lookup in large tree `id` in this process (of late); notes it.
fn first_sight(id: ObjectId) -> bool {
    let mut seen = SEEN_TREES.lock().unwrap_or_else(|e| e.into_inner());
    if seen.contains(&id) {
        return false;
    }
    if seen.len() >= 64 {
        seen.remove(0);
    }
    seen.push(id);
    true
}

/// The id of the entry called `name` in the tree `tree` (`None`: no such entry, or `tree` is
/// not a tree); `path` is what is being looked up, for the error.
fn tree_child(
    odb: &git2::Odb<'_>,
    tree: ObjectId,
    name: &[u8],
    path: &str,
) -> Result<Option<ObjectId>> {
    if let Some(index) = TREE_INDEXES.peek(tree) {
        return Ok(index.get(name).copied());
    }
    let object = odb
        .read(tree)
        .map_err(Error::git(format!("cannot read the tree of `{path}`")))?;
    if object.kind() != ObjectType::Tree {
        return Ok(None);
    }
    let data = object.data();
    // A one-shot command scans (it stops at the entry; an index would cost more to build);
    // a process that comes back to the same large tree indexes it.
    if data.len() < INDEXED_TREE_BYTES || first_sight(tree) {
        return Ok(raw_tree_entry(data, name));
    }
    let index = TREE_INDEXES.get(tree, || {
        let mut index = HashMap::new();
        for (_, entry, id) in raw_entries(data) {
            // As a scan would: the first of two entries with one name (a malformed tree).
            index.entry(Box::from(entry)).or_insert(id);
        }
        let cost = data.len() + 64 * index.len();
        Some((index, cost))
    });
    Ok(match index {
        Some(index) => index.get(name).copied(),
        None => raw_tree_entry(data, name),
    })
}

/// The id of the entry called `name` in a raw tree object.
fn raw_tree_entry(data: &[u8], name: &[u8]) -> Option<ObjectId> {
    raw_entries(data)
        .find(|(_, entry, _)| *entry == name)
        .map(|(_, _, id)| id)
}

/// The entries of a raw tree object: `<octal mode> <name>\0<20-byte id>`…; stops at anything
/// malformed.
pub(super) fn raw_entries(data: &[u8]) -> impl Iterator<Item = (u32, &[u8], ObjectId)> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let space = at + memchr::memchr(b' ', data.get(at..)?)?;
        let nul = space + memchr::memchr(0, &data[space..])?;
        let id = ObjectId::from_bytes(data.get(nul + 1..nul + 21)?).ok()?;
        let mode = std::str::from_utf8(&data[at..space])
            .ok()
            .and_then(|m| u32::from_str_radix(m, 8).ok())?;
        let name = &data[space + 1..nul];
        at = nul + 21;
        Some((mode, name, id))
    })
}

/// Why a committed entry of mode `mode` cannot be read as a file or directory, if it cannot.
pub(super) fn link_refusal(mode: u32) -> Option<Refusal> {
    match mode {
        0o120000 => Some(Refusal::Symlink),
        0o160000 => Some(Refusal::Submodule),
        _ => None,
    }
}

/// The first symbolic link or submodule below the tree `dir` (shown as `path`).
pub(super) fn links_below(
    odb: &git2::Odb<'_>,
    dir: ObjectId,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_tree_answers_the_same_scanned_or_indexed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(dir.path(), "main").unwrap();
        let repo = &store.repo;
        let blob = repo.blob(b"x").unwrap();
        let mut inner = repo.treebuilder(None).unwrap();
        inner.insert("prompt.yaml", blob, 0o100644).unwrap();
        let inner = inner.write().unwrap();
        let mut big = repo.treebuilder(None).unwrap();
        for i in 0..1000 {
            let (id, mode) = if i % 2 == 0 {
                (inner, 0o040000)
            } else {
                (blob, 0o100644)
            };
            big.insert(format!("prompt-number-{i:04}"), id, mode)
                .unwrap();
        }
        let big = big.write().unwrap();
        assert!(repo.find_tree(big).unwrap().len() == 1000);
        let mut root = repo.treebuilder(None).unwrap();
        root.insert("prompts", big, 0o040000).unwrap();
        let root = root.write().unwrap();
        let size = repo.odb().unwrap().read(big).unwrap().len();
        assert!(size >= INDEXED_TREE_BYTES, "{size}");
        // The first lookup scans, the later ones go through the index: the same answers.
        for _ in 0..3 {
            for i in [0, 1, 2, 500, 999] {
                let want = if i % 2 == 0 { inner } else { blob };
                let path = format!("prompts/prompt-number-{i:04}");
                assert_eq!(store.path_id(root, &path).unwrap(), Some(want), "{path}");
            }
            assert_eq!(
                store
                    .path_id(root, "prompts/prompt-number-0000/prompt.yaml")
                    .unwrap(),
                Some(blob)
            );
            for absent in [
                "prompts/prompt-number-1000",
                "prompts/x",
                "prompts/prompt-number-0001/a",
            ] {
                assert_eq!(store.path_id(root, absent).unwrap(), None, "{absent}");
            }
        }
        assert!(
            TREE_INDEXES.peek(big).is_some(),
            "the large tree was indexed"
        );
    }
}
