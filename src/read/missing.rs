//! The errors for what a read did not find, with what exists instead: similar prompt names for a
//! prompt that has no versions, the released versions for a version that has no tag.

use crate::store::Store;
use crate::{Error, PromptName, Version};

/// Up to five known prompt names that look like `name` (for "not found" messages).
pub fn nearby_names(store: &Store, name: &PromptName) -> Vec<String> {
    let Ok(all) = store.all_versions() else {
        return Vec::new();
    };
    let wanted = name.as_str();
    let mut scored: Vec<(usize, String)> = all
        .keys()
        .map(|known| known.as_str())
        .filter_map(|known| {
            let distance = strsim::levenshtein(known, wanted);
            let related = known.contains(wanted)
                || wanted.contains(known)
                || name
                    .domain()
                    .is_some_and(|d| known.starts_with(&format!("{d}/")));
            (distance <= 3 || related).then(|| (distance, known.to_owned()))
        })
        .collect();
    scored.sort();
    let mut names: Vec<String> = scored.into_iter().map(|(_, n)| n).take(5).collect();
    if names.is_empty() {
        names = all.keys().take(5).map(ToString::to_string).collect();
    }
    names
}

/// The environments of `known` (a pipeline) that look like `wanted`, closest first (for
/// "did you mean" on an unknown environment): a small edit away, or one containing the other.
pub fn nearby_environments(wanted: &str, known: &[String]) -> Vec<String> {
    let mut scored: Vec<(usize, &String)> = known
        .iter()
        .filter_map(|env| {
            let distance = strsim::levenshtein(env, wanted);
            let related =
                !wanted.is_empty() && (env.contains(wanted) || wanted.contains(env.as_str()));
            (distance <= 2.max(wanted.len() / 3) || related).then_some((distance, env))
        })
        .collect();
    scored.sort();
    scored.into_iter().map(|(_, env)| env.clone()).collect()
}

/// The error for a prompt with no versions.
pub fn not_found(store: &Store, name: &PromptName) -> Error {
    Error::PromptNotFound {
        name: name.to_string(),
        nearby: nearby_names(store, name),
    }
}

/// The error for a version that has no tag.
pub fn missing_version(store: &Store, name: &PromptName, version: &Version) -> Error {
    match store.versions(name) {
        Ok(versions) if !versions.is_empty() => Error::VersionNotFound {
            name: name.to_string(),
            version: version.to_string(),
            existing: versions.into_iter().map(|(v, _)| v.to_string()).collect(),
        },
        _ => not_found(store, name),
    }
}

#[cfg(test)]
mod tests {
    use super::nearby_environments;

    fn pipeline() -> Vec<String> {
        ["dev", "staging", "production", "qa-eu"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn close_names_are_suggested_closest_first() {
        assert_eq!(nearby_environments("prod", &pipeline()), ["production"]);
        assert_eq!(nearby_environments("stagng", &pipeline()), ["staging"]);
        assert_eq!(nearby_environments("qa", &pipeline()), ["qa-eu"]);
        assert_eq!(nearby_environments("devv", &pipeline())[0], "dev");
    }

    #[test]
    fn unrelated_names_are_not() {
        assert!(nearby_environments("canary", &pipeline()).is_empty());
    }
}
