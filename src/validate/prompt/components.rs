//! The component files a prompt names (`system_prompt_file`, `examples_file`): present, regular,
//! and within the size limit.

use super::lookup;
use super::templates::Contents;
use crate::model::prompt::MAX_COMPONENT_BYTES;
use crate::validate::files::{Content, Kind};
use crate::validate::finding::Finding;
use crate::Result;

impl Contents<'_, '_> {
    /// Reads a component file, reporting why it cannot be read. `None` when it cannot.
    pub(super) fn component(
        &mut self,
        key: &'static str,
        path: &str,
        out: &mut Vec<Finding>,
    ) -> Result<Option<(String, Vec<u8>)>> {
        if crate::model::prompt::check_component_path(path).is_err() {
            return Ok(None); // Reported with the rules.
        }
        let shown = format!("{}/{path}", self.dir);
        // A link on the way (a linked directory) is reported with the layout.
        let mut parent = self.dir.to_owned();
        for part in path.split('/') {
            parent = format!("{parent}/{part}");
            if lookup(self.entries, &parent).is_some_and(|e| e.kind == Kind::Symlink) {
                return Ok(None);
            }
        }
        let entry = match lookup(self.entries, &shown) {
            Some(entry) if entry.kind == Kind::File => entry,
            Some(_) => return Ok(None), // A link, conflict or special file: reported already.
            None => {
                let at = self.spans().value(key);
                let kind = if self.files.is_dir(&shown) {
                    "is a directory"
                } else {
                    "does not exist"
                };
                out.push(Finding::error(
                    self.file,
                    at,
                    "missing-component",
                    format!("`{key}: {path}`: {shown} {kind}"),
                ));
                return Ok(None);
            }
        };
        match self.files.read(&shown, &entry, MAX_COMPONENT_BYTES)? {
            Content::Bytes(bytes) => Ok(Some((shown, bytes))),
            Content::TooLarge(size) => {
                out.push(Finding::error(
                    shown,
                    None,
                    "too-large",
                    format!(
                        "{} for component files",
                        crate::error::too_large(size, MAX_COMPONENT_BYTES)
                    ),
                ));
                Ok(None)
            }
        }
    }
}
