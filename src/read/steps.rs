//! Walking back through many versions of `registry.yaml` (`history`, a version's last update):
//! from a commit's index to its parent's, only the entries whose bytes changed are read (see
//! `model::registry::index_text`).

use crate::model::registry::index_text::IndexText;
use crate::model::registry::Pointers;
use crate::store::{ObjectId, Store};
use crate::{Error, PromptName, Result};

/// The text of the index a walk last stepped to (a first parent's), for the next step.
#[derive(Default)]
pub struct IndexSteps {
    last: Option<(ObjectId, IndexText)>,
}

/// What a step from a commit's index to its parent's found: the two pipelines and each prompt
/// whose entry differs, with its pointers before and after.
pub struct Stepped {
    /// The commit's pipeline.
    pub environments: Vec<String>,
    /// The parent's pipeline.
    pub environments_before: Vec<String>,
    pub changed: Vec<(PromptName, Pointers, Pointers)>,
}

impl IndexSteps {
    /// The prompts whose entries differ between index `after` and its parent's `before`, read
    /// from the bytes that changed; `None` when either text is not plain (the caller then
    /// parses both whole).
    pub fn step(
        &mut self,
        store: &Store,
        after: ObjectId,
        before: ObjectId,
    ) -> Result<Option<Stepped>> {
        let file = std::path::Path::new(crate::REGISTRY_FILE);
        let read = |id| {
            store
                .read_blob(id)
                .map(|blob| blob.to_vec())
                .map_err(Error::git("cannot read registry.yaml"))
        };
        let newer = match self.last.take() {
            Some((id, text)) if id == after => text,
            _ => match IndexText::open(read(after)?, file) {
                Some(text) => text,
                None => return Ok(None),
            },
        };
        let Ok((older, changed)) = newer.step(read(before)?, file) else {
            return Ok(None);
        };
        let mut out = Vec::with_capacity(changed.len());
        for change in changed {
            let Ok(name) = PromptName::parse(&change.name) else {
                return Ok(None);
            };
            let pointers = |text: &IndexText, span: &Option<std::ops::Range<usize>>| match span {
                Some(span) => text.pointers(span, file),
                None => Some(Pointers::new()),
            };
            let (Some(old), Some(new)) = (
                pointers(&older, &change.older),
                pointers(&newer, &change.newer),
            ) else {
                return Ok(None);
            };
            out.push((name, old, new));
        }
        let environments = newer.header().environments.clone();
        let environments_before = older.header().environments.clone();
        self.last = Some((before, older));
        Ok(Some(Stepped {
            environments,
            environments_before,
            changed: out,
        }))
    }
}
