//! What a clone may lack: version tags (`git clone --no-tags`, a CI checkout) and history
//! (`git clone --depth N`). Reads that would otherwise answer wrongly — "no version yet", a
//! latest of `-`, moves invented at the shallow root — ask here and say so instead.

use std::collections::BTreeMap;

use crate::model::registry::Registry;
use crate::store::Store;
use crate::{Error, PromptName, Version};

/// A pointer of the index naming a version that has no tag here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingTag {
    pub name: PromptName,
    pub environment: String,
    pub version: Version,
}

/// The pointers of `registry` whose version has no tag in `tags` (as
/// [`Store::all_versions`] or [`Store::all_version_tags`] give them: `version_of` says which
/// version each item is).
pub fn missing_tags<T>(
    registry: &Registry,
    tags: &BTreeMap<PromptName, Vec<T>>,
    version_of: impl Fn(&T) -> &Version,
) -> Vec<MissingTag> {
    let mut out = Vec::new();
    for (name, pointers) in &registry.prompts {
        let released = tags.get(name).map(Vec::as_slice).unwrap_or_default();
        for environment in &registry.environments {
            let versions = pointers.get(environment).map(|p| p.versions());
            for version in versions.unwrap_or_default() {
                if !released.iter().any(|item| version_of(item) == version) {
                    out.push(MissingTag {
                        name: name.clone(),
                        environment: environment.clone(),
                        version: version.clone(),
                    });
                }
            }
        }
    }
    out
}

/// The error for a read of `name` that found no release although the index points at one
/// (`version`, or any version when `None`) whose tag is not here: [`Error::TagMissing`].
pub fn tag_missing(
    store: &Store,
    registry: &Registry,
    name: &PromptName,
    version: Option<&Version>,
) -> Option<Error> {
    let pointers = registry.pointers(name);
    registry
        .environments
        .iter()
        .rev()
        .flat_map(|env| {
            let versions = pointers.get(env).map(|p| p.versions()).unwrap_or_default();
            versions.into_iter().map(move |v| (env, v))
        })
        .find(|(_, v)| version.is_none_or(|wanted| wanted == *v) && !store.version_exists(name, v))
        .map(|(environment, v)| Error::TagMissing {
            name: name.to_string(),
            version: v.to_string(),
            environment: environment.clone(),
            tag: v.tag_name(name),
            shallow: store.is_shallow(),
        })
}
