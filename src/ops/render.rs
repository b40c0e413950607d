//! `render`: fill a prompt's templates with values, strictly, giving the messages of a
//! chat-completion call.
//!
//! This reads the content (a release, or the working tree) and the variables files; the rules of
//! rendering are [`crate::model::render`]'s.

use std::path::{Path, PathBuf};

use crate::model::prompt::{Prompt, PromptFile};
use crate::model::selector::Selector;
use crate::store::DirComponents;
use crate::store::Store;
use crate::{Error, PromptName, Result};

pub use crate::model::render::{ChatRecord, Input, Origin, Rendered, RenderedMessage};

/// Which content to render.
#[derive(Clone, Debug)]
pub enum Source {
    /// A released version, chosen as `fetch` chooses it.
    Release(Selector),
    /// The working-tree content of `prompts/<name>/` (not necessarily committed or released).
    Worktree(PromptName),
}

/// Reads the content `source` names and renders it with `inputs` (later inputs override
/// earlier ones with the same name).
pub fn render(
    store: &Store,
    source: &Source,
    inputs: &[Input],
    revision: Option<&str>,
) -> Result<Rendered> {
    let (name, version, prompt) = match source {
        Source::Release(selector) => {
            let fetched = crate::read::fetch(store, selector, revision, None)?;
            let release = fetched.release;
            (release.name, Some(release.version), fetched.prompt)
        }
        Source::Worktree(name) => (name.clone(), None, worktree_prompt(store, name)?),
    };
    Rendered::new(name, version, prompt, inputs)
}

/// Reads and resolves the working-tree content of `prompts/<name>/`, through
/// [`crate::fsread`]: a link or special file anywhere on the way is refused, so a checkout of
/// an untrusted branch cannot make `render --worktree` (or `diff … worktree`) print files from
/// outside the repository, or hang on a FIFO.
pub fn worktree_prompt(store: &Store, name: &PromptName) -> Result<Prompt> {
    let workdir = store.workdir("worktree")?;
    let bytes = crate::fsread::WorkTree::new(workdir)
        .read_bounded(&name.file(), crate::model::yaml::MAX_DOCUMENT_BYTES)?
        .ok_or_else(|| Error::Invalid {
            file: PathBuf::from(name.file()),
            message: "not found in the working tree".into(),
        })?;
    let components = DirComponents {
        root: workdir,
        dir: name.dir(),
    };
    PromptFile::parse(&bytes, Path::new(&name.file()))?.resolve(&components)
}

/// Reads a variables file: a JSON object (`.json`) or a YAML map (anything else), in file order.
pub fn read_vars_file(path: &Path) -> Result<Vec<Input>> {
    let bytes = std::fs::read(path).map_err(Error::io(path))?;
    crate::model::render::parse_vars(&bytes, path)
}
