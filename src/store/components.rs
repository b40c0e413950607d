//! Where a prompt's component files (`system_prompt_file`, `examples_file`) come from: a prompt
//! directory of the working tree, read through [`crate::fsread`], or a committed one.

use std::path::{Path, PathBuf};

use super::{Store, TreeView};
use crate::fsread::WorkTree;
use crate::model::prompt::{Components, MAX_COMPONENT_BYTES};
use crate::{PromptName, Result};

/// Component files read from a prompt directory of the working tree, through
/// [`WorkTree`]: a link or a special file anywhere on the way is refused, never
/// followed or opened.
pub struct DirComponents<'a> {
    /// The repository root.
    pub root: &'a Path,
    /// The prompt directory, repository-relative (`prompts/<name>`).
    pub dir: String,
}

impl Components for DirComponents<'_> {
    fn read(&self, relative: &str) -> Result<Option<Vec<u8>>> {
        let path = format!("{}/{relative}", self.dir);
        WorkTree::new(self.root).read_bounded(&path, MAX_COMPONENT_BYTES)
    }

    fn display(&self, relative: &str) -> PathBuf {
        Path::new(&self.dir).join(relative)
    }
}

/// A committed prompt directory as a source of component files.
pub struct TreeComponents<'r> {
    store: &'r Store,
    tree: TreeView<'r>,
    shown_as: PathBuf,
}

impl Components for TreeComponents<'_> {
    fn read(&self, relative: &str) -> Result<Option<Vec<u8>>> {
        self.store
            .read_regular(&self.tree, relative, &self.shown_as)
    }

    fn display(&self, relative: &str) -> PathBuf {
        self.shown_as.join(relative)
    }
}

impl Store {
    /// Components read from a committed prompt directory.
    pub fn tree_components<'r>(
        &'r self,
        tree: TreeView<'r>,
        name: &PromptName,
    ) -> TreeComponents<'r> {
        TreeComponents {
            store: self,
            tree,
            shown_as: PathBuf::from(name.dir()),
        }
    }
}
