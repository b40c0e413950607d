//! The prompts a revision has files for — a `prompt.yaml` under `prompts/`, released or not —
//! read from the working tree (the revision being worked on) or from a commit's tree (`--ref`).

use std::collections::BTreeMap;

use crate::fsread::{Kind, WorkTree};
use crate::model::yaml::MAX_DOCUMENT_BYTES;
use crate::store::{CommitView, ObjectId, Store};
use crate::{Error, PromptName, Result, PROMPTS_DIR, PROMPT_FILE};

/// Where a prompt's `prompt.yaml` was found.
#[derive(Clone, Debug)]
pub enum PromptFileAt {
    /// In the working tree, at this repository-relative path.
    WorkTree(String),
    /// In a commit's tree: this blob.
    Blob(ObjectId),
}

/// Which tree to look in.
pub enum FilesOf<'c, 'r> {
    /// The working tree (falling back to the commit's tree in a bare repository).
    WorkTree(&'c CommitView<'r>),
    /// Exactly this commit's tree.
    Commit(&'c CommitView<'r>),
}

/// Every prompt with a regular `prompts/<name>/prompt.yaml` in `of`, by name. Directories whose
/// path is not a prompt name, and links or special files (which are never read), are passed
/// over: `validate` reports them.
pub fn prompt_files(
    store: &Store,
    of: FilesOf<'_, '_>,
) -> Result<BTreeMap<PromptName, PromptFileAt>> {
    let mut out = BTreeMap::new();
    let commit = match of {
        FilesOf::WorkTree(commit) => match store.workdir("list") {
            Ok(root) => {
                let entries = match WorkTree::new(root).walk(PROMPTS_DIR) {
                    Ok(entries) => entries,
                    Err(Error::NotRegular { .. }) => Vec::new(),
                    Err(e) => return Err(e),
                };
                for (path, kind) in entries {
                    if kind != Kind::File {
                        continue;
                    }
                    if let Some(name) = name_of(&path) {
                        out.insert(name, PromptFileAt::WorkTree(path));
                    }
                }
                return Ok(out);
            }
            Err(_) => commit,
        },
        FilesOf::Commit(commit) => commit,
    };
    for (dir, blob) in store.prompt_files(commit.tree_id())? {
        if let Ok(name) = PromptName::parse(&dir) {
            out.insert(name, PromptFileAt::Blob(blob));
        }
    }
    Ok(out)
}

/// The prompt a working-tree path `prompts/<name>/prompt.yaml` belongs to.
fn name_of(path: &str) -> Option<PromptName> {
    let dir = path
        .strip_prefix(PROMPTS_DIR)?
        .strip_prefix('/')?
        .strip_suffix(PROMPT_FILE)?
        .strip_suffix('/')?;
    PromptName::parse(dir).ok()
}

/// The bytes of a `prompt.yaml` found by [`prompt_files`] (`None`: gone since, or too large).
pub fn read_prompt_file(store: &Store, at: &PromptFileAt) -> Result<Option<Vec<u8>>> {
    match at {
        PromptFileAt::WorkTree(path) => {
            let root = store.workdir("list")?;
            match WorkTree::new(root).read_bounded(path, MAX_DOCUMENT_BYTES) {
                Ok(bytes) => Ok(bytes),
                Err(Error::TooLarge { .. } | Error::NotRegular { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        }
        PromptFileAt::Blob(id) => {
            if store.object_size(*id)? > MAX_DOCUMENT_BYTES as u64 {
                return Ok(None);
            }
            store.blob(*id).map(Some)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::name_of;

    #[test]
    fn only_prompt_files_name_prompts() {
        let name = |p| name_of(p).map(|n| n.to_string());
        assert_eq!(name("prompts/a/prompt.yaml").as_deref(), Some("a"));
        assert_eq!(
            name("prompts/s/refund/prompt.yaml").as_deref(),
            Some("s/refund")
        );
        assert_eq!(name("prompts/prompt.yaml"), None);
        assert_eq!(name("prompts/a/notprompt.yaml"), None);
        assert_eq!(name("prompts/a/b.md"), None);
        assert_eq!(name("prompts/Bad Name/prompt.yaml"), None);
    }
}
