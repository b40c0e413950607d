//! The full record of a version — content, where it is deployed, who last moved it, its latest
//! test results — as `fetch --format json`, `export` and the HTTP API give it (docs/FORMAT.md §7).

use promptreg_wire::{PromptRecord, TestSummary};

use crate::model::prompt::{Message, Role, Variable};
use crate::model::registry::Registry;
use crate::model::trailers::Trailers;
use crate::store::Store;
use crate::{Error, PromptName, Result, Version};

use super::registry::registry_blob;
use super::release::Fetched;
use super::update_cache;

pub use super::update_cache::Update;

/// A version's full record, and why it lacks test results when it does.
#[derive(Debug)]
pub struct FullRecord {
    pub record: PromptRecord,
    /// The results file could not be read: the record has no `tests`. Callers report it as a
    /// warning; `validate` and `promote` refuse on the same file.
    pub results_error: Option<Error>,
}

/// The full record of a fetched version at `revision` (HEAD by default): the one way every
/// reader — `fetch`, `export`, the HTTP API — builds it.
///
/// A results file that does not parse must not take prompts offline, so it never fails the
/// read: the record is built without tests and the error handed back in
/// [`FullRecord::results_error`].
pub fn prompt_record(
    store: &Store,
    fetched: &Fetched,
    revision: Option<&str>,
) -> Result<FullRecord> {
    let update = last_update(store, fetched, revision)?;
    let (tests, results_error) = match tests(store, fetched, revision) {
        Ok(tests) => (tests, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    Ok(FullRecord {
        record: record(fetched, update, tests),
        results_error,
    })
}

/// The latest run of each test of the fetched version, from the results at `revision`.
fn tests(store: &Store, fetched: &Fetched, revision: Option<&str>) -> Result<Vec<TestSummary>> {
    let results = super::results::results_at(store, &fetched.release.name, revision)?;
    Ok(results.summaries(&fetched.release.version))
}

/// The JSON record of a fetched version, with its latest test results.
fn record(fetched: &Fetched, update: Option<Update>, tests: Vec<TestSummary>) -> PromptRecord {
    let Fetched {
        release,
        prompt,
        registry,
        ..
    } = fetched;
    let environments = registry.holders(&release.name, &release.version);
    let environment = environments.last().cloned();
    PromptRecord {
        id: format!("{}@{}", release.name, release.version),
        name: release.name.to_string(),
        version: release.version.to_string(),
        created_by: release.created_by.clone(),
        created_at: release.created_at.to_rfc3339(),
        updated_by: update.as_ref().map(|u| u.by.clone()),
        updated_at: update.map(|u| u.at),
        description: release.description.clone(),
        system_prompt: prompt.system_prompt.clone(),
        token_budget: prompt.token_budget,
        temperature: prompt.temperature,
        status: environment
            .clone()
            .unwrap_or_else(|| crate::model::registry::DRAFT.to_owned()),
        environment,
        environments,
        split: fetched.split.as_ref().map(|s| s.to_wire()),
        bucket: fetched.bucket,
        domain: release.name.domain().map(str::to_owned),
        model: prompt.model.clone(),
        messages: prompt.messages.iter().map(wire_message).collect(),
        variables: prompt
            .variables
            .iter()
            .map(|(name, variable)| (name.clone(), wire_variable(variable)))
            .collect(),
        examples: prompt.examples.clone(),
        tags: prompt.tags.clone(),
        metadata: prompt.metadata.clone(),
        summary: prompt.summary.clone(),
        commit: release.commit.to_string(),
        tag: release.tag.clone(),
        tests,
    }
}

/// The most recent first-parent commit (from `revision`) that changed which environments hold
/// `version` of `name`, walking back no further than the version's own commit. The answer is
/// cached under the starting commit with the environments holding the version there, and the
/// walk stops at the first parent whose answer is cached (`update_cache`): after a pull, a read
/// compares its holders with the parent's and reads no older index.
fn last_update(store: &Store, fetched: &Fetched, revision: Option<&str>) -> Result<Option<Update>> {
    let name = &fetched.release.name;
    let version = &fetched.release.version;
    let start = store.commit(revision)?;
    let start_id = start.id();
    if let Some(known) = update_cache::cached(store, start_id, name, version) {
        return Ok(known.update);
    }
    let holders = fetched.registry.holders(name, version);
    let (update, lasting) = walk_to_last_update(store, fetched, start, holders.clone())?;
    if lasting {
        update_cache::remember(store, start_id, name, version, update.as_ref(), &holders);
    }
    Ok(update)
}

/// [`last_update`]'s walk from `commit`, where `holders` hold the version; also whether the
/// answer lasts (it was not cut short at a shallow clone's boundary).
fn walk_to_last_update(
    store: &Store,
    fetched: &Fetched,
    mut commit: crate::store::CommitView<'_>,
    mut holders: Vec<String>,
) -> Result<(Option<Update>, bool)> {
    let name = &fetched.release.name;
    let version = &fetched.release.version;
    let mut blob = registry_blob(store, &commit);
    let mut steps = super::steps::IndexSteps::default();
    let moved_by = |commit: &crate::store::CommitView<'_>| {
        let author = commit.author();
        Some(Update {
            by: author.email(),
            at: author.when().to_rfc3339(),
        })
    };
    loop {
        if commit.id() == fetched.release.commit {
            return Ok((None, true));
        }
        let Ok(parent) = commit.parent(0) else {
            // The root, or a shallow clone's boundary (whose parents may yet arrive; libgit2
            // may show it without parents, so `.git/shallow` decides).
            let boundary =
                commit.parent_count() > 0 || store.shallow_roots()?.contains(&commit.id());
            return Ok((None, !boundary));
        };
        // The parent's answer, cached: when it records the parent's holders, this commit moved
        // the version exactly when they differ from its own, and no index needs reading.
        let known = update_cache::cached(store, parent.id(), name, version);
        if let Some(update_cache::Known {
            update,
            holders: Some(before),
        }) = known
        {
            let update = match before == holders {
                true => update,
                false => moved_by(&commit),
            };
            return Ok((update, true));
        }
        let parent_blob = registry_blob(store, &parent);
        if parent_blob != blob {
            // A move promptreg made names itself in its trailers (as `history` reads them):
            // no need to parse the 40,000-line index it started from.
            let message = String::from_utf8_lossy(commit.message_bytes());
            let moved = match commit.parent_count() {
                1 => Trailers::parse(&message),
                _ => None,
            };
            let before = match (moved, parent_blob) {
                (Some(moved), _) => {
                    holders_before(&holders, &moved, name, version, &fetched.registry)
                }
                (None, Some(id)) => match blob.map(|after| steps.step(store, after, id)) {
                    // Only the entries whose bytes changed are read.
                    Some(Ok(Some(stepped))) => {
                        match stepped.changed.iter().find(|(n, _, _)| n == name) {
                            None => holders.clone(),
                            Some((_, old, _)) => stepped
                                .environments_before
                                .iter()
                                .filter(|env| old.get(*env).is_some_and(|p| p.serves(version)))
                                .cloned()
                                .collect(),
                        }
                    }
                    Some(Err(e)) => return Err(e),
                    _ => {
                        let content = store
                            .read_blob(id)
                            .map_err(Error::git("cannot read registry.yaml"))?;
                        match Registry::parse_for(
                            &content,
                            std::path::Path::new(crate::REGISTRY_FILE),
                            name,
                        ) {
                            Ok(registry) => registry.holders(name, version),
                            Err(_) => Vec::new(),
                        }
                    }
                },
                (None, None) => Vec::new(),
            };
            if before != holders {
                return Ok((moved_by(&commit), true));
            }
            holders = before;
            blob = parent_blob;
        }
        // The same environments hold the version at the parent, so an answer cached for it
        // (one without holders) is the answer.
        if let Some(known) = known {
            return Ok((known.update, true));
        }
        commit = parent;
    }
}

/// The environments that held `version` of `name` before the move `moved` (pipeline order),
/// given those that hold it after.
fn holders_before(
    after: &[String],
    moved: &Trailers,
    name: &PromptName,
    version: &Version,
    registry: &Registry,
) -> Vec<String> {
    if moved.prompt != name.as_str() {
        return after.to_vec();
    }
    registry
        .environments
        .iter()
        .filter(|env| match **env == moved.environment {
            true => moved.previous.as_ref().is_some_and(|p| p.serves(version)),
            false => after.contains(env),
        })
        .cloned()
        .collect()
}

fn wire_message(message: &Message) -> promptreg_wire::Message {
    promptreg_wire::Message {
        role: match message.role {
            Role::System => promptreg_wire::Role::System,
            Role::User => promptreg_wire::Role::User,
            Role::Assistant => promptreg_wire::Role::Assistant,
        },
        content: message.content.clone(),
    }
}

fn wire_variable(variable: &Variable) -> promptreg_wire::Variable {
    promptreg_wire::Variable {
        description: variable.description.clone(),
        required: variable.required,
        default: variable.default.clone(),
    }
}
