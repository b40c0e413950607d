//! `export`: one file holding every prompt an environment serves, for deployments that must work
//! without the registry (baked into an image, or as a client's fallback). The bundle's shape is
//! [`promptreg_wire::Bundle`].
//!
//! Each prompt is the exact record `fetch --format json` prints for `NAME@ENVIRONMENT`, including
//! `updated_by` / `updated_at` (computed, not null), all resolved against one commit so the bundle
//! is a consistent snapshot even while promotions land. An environment that splits exports its
//! first entry there (with the `split`) and every other entry under `variants`, so a reader
//! assigns keys offline exactly as the server does. The bundle is written as it is read (see
//! [`Export`]).

use std::cell::RefCell;
use std::collections::BTreeMap;

use promptreg_wire::{PromptRecord, BUNDLE_FORMAT};
use serde::ser::{Error as _, SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};

use crate::model::registry::Registry;
use crate::model::selector::{Selector, Target};
use crate::read::record::prompt_record;
use crate::read::{fetch, registry_at, revision_label};
use crate::store::Store;
use crate::{Error, PromptName, Result};

/// A bundle being exported. Serializing it (as JSON or YAML: it has
/// [`promptreg_wire::Bundle`]'s shape, byte for byte) reads each prompt's record as it is
/// written, so its records are never held together: 10,000 records took 45 MB as JSON values
/// and 30 MB as structs, and the whole `export` went over 100 MB. Serialize it once;
/// [`Export::finish`] then says what was written, or what stopped the writing.
pub struct Export<'s> {
    store: &'s Store,
    registry: Registry,
    environment: String,
    /// The commit everything is read from, whatever HEAD does meanwhile.
    commit: String,
    exported_at: String,
    /// What writing the prompts learned, for the fields after them and for `finish`.
    written: RefCell<Written>,
}

#[derive(Default)]
struct Written {
    prompts: usize,
    variants: BTreeMap<String, BTreeMap<String, PromptRecord>>,
    results_errors: Vec<Error>,
    /// The error that stopped the writing (the serializer only carries its message).
    failed: Option<Error>,
}

/// What an export wrote, and the results files that could not be read meanwhile (those
/// prompts are in the bundle without `tests`, as `fetch` and the HTTP API give them).
#[derive(Debug)]
pub struct Exported {
    pub environment: String,
    pub prompts: usize,
    pub results_errors: Vec<Error>,
}

/// The bundle of every prompt `environment` (default: the last of the pipeline) serves at
/// `revision` (default HEAD), to serialize.
pub fn export<'s>(
    store: &'s Store,
    environment: Option<&str>,
    revision: Option<&str>,
) -> Result<Export<'s>> {
    let commit = store.commit(revision)?;
    let registry = registry_at(store, &commit, revision_label(revision), None)?;
    let environment = environment
        .unwrap_or_else(|| registry.last_environment())
        .to_owned();
    registry.check_environment(&environment)?;
    Ok(Export {
        store,
        environment,
        commit: commit.id().to_string(),
        exported_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        registry,
        written: RefCell::default(),
    })
}

impl Export<'_> {
    /// What was written, or the error that stopped it.
    pub fn finish(self) -> Result<Exported> {
        let written = self.written.into_inner();
        if let Some(error) = written.failed {
            return Err(error);
        }
        Ok(Exported {
            environment: self.environment,
            prompts: written.prompts,
            results_errors: written.results_errors,
        })
    }

    /// The names the environment serves, in the bundle's order.
    fn names(&self) -> impl Iterator<Item = &PromptName> {
        self.registry
            .prompts
            .iter()
            .filter(|(_, pointers)| pointers.contains_key(&self.environment))
            .map(|(name, _)| name)
    }

    /// The record `name` is served by, the same the HTTP API serves (results included); when
    /// the environment splits it, the records of the other entries are kept for `variants`.
    fn record(&self, name: &PromptName) -> Result<PromptRecord> {
        let selector = Selector {
            name: name.clone(),
            target: Some(Target::Environment(self.environment.clone())),
        };
        let fetched = fetch(self.store, &selector, Some(&self.commit), None)?;
        let full = prompt_record(self.store, &fetched, Some(&self.commit))?;
        self.written
            .borrow_mut()
            .results_errors
            .extend(full.results_error);
        if let Some(split) = &fetched.split {
            let mut others = BTreeMap::new();
            for share in &split.shares()[1..] {
                let selector = Selector {
                    name: name.clone(),
                    target: Some(Target::Version(share.version.clone())),
                };
                let fetched = fetch(self.store, &selector, Some(&self.commit), None)?;
                let mut other = prompt_record(self.store, &fetched, Some(&self.commit))?;
                // Each variant names the split it is part of, as the server's answer would.
                other.record.split = Some(split.to_wire());
                let mut written = self.written.borrow_mut();
                written.results_errors.extend(other.results_error);
                others.insert(share.version.to_string(), other.record);
            }
            self.written
                .borrow_mut()
                .variants
                .insert(name.to_string(), others);
        }
        self.written.borrow_mut().prompts += 1;
        Ok(full.record)
    }
}

impl Serialize for Export<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut bundle = serializer.serialize_struct("Bundle", 6)?;
        bundle.serialize_field("format", &BUNDLE_FORMAT)?;
        bundle.serialize_field("environment", &self.environment)?;
        bundle.serialize_field("exported_at", &self.exported_at)?;
        bundle.serialize_field("commit", &self.commit)?;
        bundle.serialize_field("prompts", &Prompts(self))?;
        // Known once every prompt is written: a split prompt's other entries, a few records.
        let variants = std::mem::take(&mut self.written.borrow_mut().variants);
        bundle.serialize_field("variants", &variants)?;
        bundle.end()
    }
}

/// The bundle's `prompts`: each record read as it is written.
struct Prompts<'e, 's>(&'e Export<'s>);

impl Serialize for Prompts<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let export = self.0;
        // The length given, as a map's would be: serializers may write an empty map otherwise.
        let mut map = serializer.serialize_map(Some(export.names().count()))?;
        for name in export.names() {
            match export.record(name) {
                Ok(record) => map.serialize_entry(name.as_str(), &record)?,
                Err(error) => {
                    let message = error.to_string();
                    export.written.borrow_mut().failed = Some(error);
                    return Err(S::Error::custom(message));
                }
            }
        }
        map.end()
    }
}

/// The formats of another system `export --to` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Foreign {
    /// The Langfuse prompts API's JSON: one list of version objects.
    Langfuse,
    /// One `.prompty` file per prompt.
    Prompty,
    /// One dotprompt `.prompt` file per prompt.
    Dotprompt,
}

/// What to write in another system's format.
#[derive(Clone, Debug)]
pub struct ForeignRequest {
    pub to: Foreign,
    /// Only the versions this environment serves (default: Langfuse every version, the file
    /// formats each prompt's latest).
    pub environment: Option<String>,
    /// Only this prompt.
    pub prompt: Option<crate::PromptName>,
}

/// A file to write: its path relative to the output (for Langfuse, the one file) and content.
#[derive(Clone, Debug)]
pub struct ForeignFile {
    pub path: String,
    pub content: String,
}

/// What `export --to` produced.
#[derive(Clone, Debug, Default)]
pub struct ForeignExport {
    pub files: Vec<ForeignFile>,
    /// `name@version` of everything written.
    pub exported: Vec<String>,
    /// `name@version: why` of what the format cannot say.
    pub skipped: Vec<String>,
}

/// Writes the registry (or one environment, or one prompt) at `revision` in another system's
/// format. A version whose templates that format cannot express exactly is skipped and named.
pub fn export_foreign(
    store: &Store,
    request: &ForeignRequest,
    revision: Option<&str>,
) -> Result<ForeignExport> {
    use crate::bridge::{langfuse, prompty, template, Syntax};

    let commit = store.commit(revision)?;
    let registry = registry_at(store, &commit, revision_label(revision), None)?;
    if let Some(env) = &request.environment {
        registry.check_environment(env)?;
    }
    let pinned = commit.id().to_string();
    let names: Vec<crate::PromptName> = match &request.prompt {
        Some(name) => vec![name.clone()],
        None => {
            let filter = super::list::Filter {
                environment: request.environment.clone(),
                domain: None,
            };
            super::list::list(store, &filter, Some(&pinned))?
                .rows
                .into_iter()
                .filter(|r| r.latest.is_some())
                .filter_map(|r| crate::PromptName::parse(&r.name).ok())
                .collect()
        }
    };
    let mut out = ForeignExport::default();
    let mut langfuse_items = Vec::new();
    for name in &names {
        let versions: Vec<crate::Version> =
            store.versions(name)?.into_iter().map(|(v, _)| v).collect();
        if versions.is_empty() {
            return Err(crate::read::not_found(store, name));
        }
        // Langfuse numbers versions 1, 2, 3: N.0.0 becomes N when every version is one, else
        // the position in version order.
        let major = |v: &crate::Version| -> Option<u64> {
            v.to_string()
                .strip_suffix(".0.0")
                .and_then(|m| m.parse().ok())
        };
        let whole = versions.iter().all(|v| major(v).is_some());
        let number = |v: &crate::Version| -> u64 {
            if whole {
                major(v).unwrap_or(0)
            } else {
                versions
                    .iter()
                    .position(|x| x == v)
                    .map_or(0, |i| i as u64 + 1)
            }
        };
        let target = match (&request.environment, request.to) {
            (Some(env), _) => Some(Target::Environment(env.clone())),
            (None, Foreign::Langfuse) => None,
            (None, _) => Some(Target::Latest),
        };
        let selected: Vec<Target> = match target {
            Some(t) => vec![t],
            None => versions.iter().cloned().map(Target::Version).collect(),
        };
        for target in selected {
            if let Target::Environment(env) = &target {
                if registry.pointer(name, env).is_none() {
                    continue;
                }
            }
            let selector = Selector {
                name: name.clone(),
                target: Some(target),
            };
            let fetched = fetch(store, &selector, Some(&pinned), None)?;
            let (release, prompt) = (&fetched.release, &fetched.prompt);
            let id = format!("{name}@{}", release.version);
            let serving: Vec<String> = registry
                .environments
                .iter()
                .filter(|e| {
                    registry
                        .pointer(name, e)
                        .is_some_and(|p| p.serves(&release.version))
                })
                .cloned()
                .collect();
            let author = format!("{} <{}>", release.created_by_name, release.created_by);
            let created_at = release
                .created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            match request.to {
                Foreign::Langfuse => {
                    let exported = |text: &str| template::export_template(text, Syntax::Mustache);
                    let text = if prompt.system_prompt.is_empty() {
                        None
                    } else {
                        match exported(&prompt.system_prompt) {
                            Some(t) => Some(t),
                            None => {
                                out.skipped.push(format!("{id}: system_prompt uses template logic Langfuse's {{{{variable}}}} substitution cannot express"));
                                continue;
                            }
                        }
                    };
                    let mut chat = Vec::new();
                    let mut ok = true;
                    for (i, m) in prompt.messages.iter().enumerate() {
                        match exported(&m.content) {
                            Some(t) => chat.push((crate::model::render::role_name(m.role), t)),
                            None => {
                                out.skipped.push(format!("{id}: messages[{i}] uses template logic Langfuse's {{{{variable}}}} substitution cannot express"));
                                ok = false;
                                break;
                            }
                        }
                    }
                    if !ok {
                        continue;
                    }
                    let mut config = serde_json::Map::new();
                    if let Some(m) = &prompt.model {
                        config.insert("model".into(), m.clone().into());
                    }
                    config.insert("temperature".into(), prompt.temperature.into());
                    if let Some(serde_json::Value::Object(extra)) = prompt.metadata.get("config") {
                        for (k, v) in extra {
                            config.entry(k.clone()).or_insert_with(|| v.clone());
                        }
                    }
                    let mut labels = serving.clone();
                    if versions.last() == Some(&release.version) {
                        labels.push("latest".into());
                    }
                    langfuse_items.push(langfuse::to_json(&langfuse::Release {
                        name: name.as_str(),
                        number: number(&release.version),
                        text,
                        chat,
                        config,
                        labels,
                        tags: &prompt.tags,
                        commit_message: &release.description,
                        created_at: &created_at,
                        created_by: &author,
                    }));
                }
                Foreign::Prompty => {
                    if let Some(why) = prompty::unsayable(prompt) {
                        out.skipped.push(format!("{id}: {why}"));
                        continue;
                    }
                    out.files.push(ForeignFile {
                        path: format!("{name}.prompty"),
                        content: prompty::render(
                            name.as_str(),
                            &release.version.to_string(),
                            prompt,
                            &author,
                        )?,
                    });
                }
                Foreign::Dotprompt => {
                    match crate::bridge::dotprompt::render(
                        name.as_str(),
                        &release.version.to_string(),
                        prompt,
                    )? {
                        Some(content) => out.files.push(ForeignFile {
                            path: format!("{name}.prompt"),
                            content,
                        }),
                        None => {
                            out.skipped.push(format!("{id}: a template uses logic this export writes only as `{{{{variable}}}}` (Handlebars blocks are not generated)"));
                            continue;
                        }
                    }
                }
            }
            out.exported.push(id);
        }
    }
    if request.to == Foreign::Langfuse {
        let text = serde_json::to_string_pretty(&langfuse_items).map_err(|e| Error::Invalid {
            file: "langfuse.json".into(),
            message: format!("cannot serialize: {e}"),
        })?;
        out.files.push(ForeignFile {
            path: "langfuse.json".into(),
            content: text + "\n",
        });
    }
    Ok(out)
}
