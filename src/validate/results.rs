//! The checks of `results/*.yaml`: each file parses, follows the format (through
//! [`Results::parse`]), sits at the path of a valid prompt name, and records runs of released
//! versions only.

use std::path::Path;

use super::files::{Content, Files, Kind};
use super::finding::Finding;
use super::tags::Released;
use crate::model::results::{Results, RESULTS_DIR};
use crate::{Error, PromptName, Result};

/// Checks every `.yaml` file under `results/` (other files there are left alone).
pub(crate) fn check(files: &Files<'_>, released: &Released, out: &mut Vec<Finding>) -> Result<()> {
    if !files.is_dir(RESULTS_DIR) {
        return Ok(());
    }
    for (path, entry) in files.walk(RESULTS_DIR)? {
        let Some(relative) = path
            .strip_prefix(&format!("{RESULTS_DIR}/"))
            .and_then(|p| p.strip_suffix(".yaml"))
        else {
            continue;
        };
        if entry.kind != Kind::File {
            out.push(Finding::error(
                &path,
                None,
                "results-invalid",
                "is not a regular file",
            ));
            continue;
        }
        let name = match PromptName::parse(relative) {
            Ok(name) => name,
            Err(e) => {
                out.push(Finding::error(
                    &path,
                    None,
                    "results-invalid",
                    format!("the path does not name a prompt: {e}"),
                ));
                continue;
            }
        };
        let bytes = match files.read(&path, &entry, crate::model::yaml::MAX_DOCUMENT_BYTES)? {
            Content::Bytes(bytes) => bytes,
            Content::TooLarge(size) => {
                out.push(Finding::error(
                    &path,
                    None,
                    "too-large",
                    crate::error::too_large(size, crate::model::yaml::MAX_DOCUMENT_BYTES),
                ));
                continue;
            }
        };
        let results = match Results::parse(&bytes, Path::new(&path), &name) {
            Ok(results) => results,
            Err(Error::Yaml {
                line,
                column,
                message,
                ..
            }) => {
                // One code for every way a results file breaks its format, worded as for
                // prompt.yaml (unknown keys with suggestions, types in words).
                out.push(Finding::error(
                    &path,
                    Some((line, column)),
                    "results-invalid",
                    message,
                ));
                continue;
            }
            Err(Error::Invalid { message, .. }) => {
                out.push(Finding::error(&path, None, "results-invalid", message));
                continue;
            }
            Err(other) => return Err(other),
        };
        let known = released.versions(name.as_str());
        for version in results.versions.keys() {
            if known
                .as_deref()
                .is_none_or(|versions| versions.get(version) != Some(&true))
            {
                out.push(Finding::error(
                    &path,
                    None,
                    "results-unreleased",
                    format!("records runs of {name} {version}, which was never released"),
                ));
            }
        }
    }
    Ok(())
}
