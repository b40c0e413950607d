//! Test results at a revision: `results/<name>.yaml` read from a tree, through a cache of the
//! parsed file (JSON, several times faster to read than the YAML it comes from).

use std::path::Path;

use crate::model::results::{path_of, Results, TestRun};
use crate::store::{Store, TreeView};
use crate::{Error, PromptName, Result, Version};

/// `name`'s results in `tree` (none recorded: empty).
pub fn results_in(store: &Store, tree: &TreeView<'_>, name: &PromptName) -> Result<Results> {
    let path = path_of(name);
    // A raw-tree lookup: `results/` has an entry per prompt, and parsing it whole would cost
    // more than reading the file.
    let Some(id) = store.path_id(tree.id(), &path)? else {
        return Ok(Results::default());
    };
    if let Some(results) = store
        .cache_get(RESULTS_CACHE, id)
        .and_then(|text| from_cache(&text))
    {
        return Ok(results);
    }
    let results = Results::parse(&store.blob(id)?, Path::new(&path), name)?;
    store.cache_put(RESULTS_CACHE, id, &to_cache(&results), 256);
    Ok(results)
}

/// The cache kind of parsed results files: JSON, which reads several times faster than the
/// YAML it is derived from (a blob never changes, so neither does its entry).
const RESULTS_CACHE: &str = "results-v1";

fn to_cache(results: &Results) -> String {
    let by_version: std::collections::BTreeMap<String, &Vec<TestRun>> = results
        .versions
        .iter()
        .map(|(version, runs)| (version.to_string(), runs))
        .collect();
    serde_json::to_string(&by_version).unwrap_or_default()
}

fn from_cache(text: &str) -> Option<Results> {
    let by_version: std::collections::BTreeMap<String, Vec<TestRun>> =
        serde_json::from_str(text).ok()?;
    let mut results = Results::default();
    for (version, runs) in by_version {
        results
            .versions
            .insert(Version::parse(&version).ok()?, runs);
    }
    Some(results)
}

/// `name`'s results at `revision` (HEAD by default).
pub fn results_at(store: &Store, name: &PromptName, revision: Option<&str>) -> Result<Results> {
    let commit = store.commit(revision)?;
    let tree = commit
        .tree()
        .map_err(Error::git("cannot read the commit's tree"))?;
    results_in(store, &tree, name)
}
