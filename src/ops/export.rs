//! `export`: one file holding every prompt an environment serves, for deployments that must work
//! without the registry (baked into an image, or as a client's fallback). The bundle's shape is
//! [`promptreg_wire::Bundle`].
//!
//! Each prompt is the exact record `fetch --format json` prints for `NAME@ENVIRONMENT`, including
//! `updated_by` / `updated_at` (computed, not null), all resolved against one commit so the bundle
//! is a consistent snapshot even while promotions land. An environment that splits exports its
//! first entry there (with the `split`) and every other entry under `variants`, so a reader
//! assigns keys offline exactly as the server does.

use std::collections::BTreeMap;

use promptreg_wire::{Bundle, BUNDLE_FORMAT};

use crate::model::selector::{Selector, Target};
use crate::read::record::prompt_record;
use crate::read::{fetch, registry_at, revision_label};
use crate::store::Store;
use crate::{Error, Result};

/// A bundle, and the results files that could not be read while building it (those prompts
/// are in the bundle without `tests`, as `fetch` and the HTTP API give them).
#[derive(Debug)]
pub struct Exported {
    pub bundle: Bundle,
    pub results_errors: Vec<Error>,
}

/// Every prompt `environment` (default: the last of the pipeline) serves at `revision` (default
/// HEAD).
pub fn export(
    store: &Store,
    environment: Option<&str>,
    revision: Option<&str>,
) -> Result<Exported> {
    let commit = store.commit(revision)?;
    let registry = registry_at(store, &commit, revision_label(revision), None)?;
    let environment = environment
        .unwrap_or_else(|| registry.last_environment())
        .to_owned();
    registry.check_environment(&environment)?;
    // Read everything from this one commit, whatever HEAD does meanwhile.
    let pinned = commit.id().to_string();
    let mut prompts = BTreeMap::new();
    let mut variants = BTreeMap::new();
    let mut results_errors = Vec::new();
    for (name, pointers) in &registry.prompts {
        if !pointers.contains_key(&environment) {
            continue;
        }
        let selector = Selector {
            name: name.clone(),
            target: Some(Target::Environment(environment.clone())),
        };
        let fetched = fetch(store, &selector, Some(&pinned), None)?;
        let split = fetched.split.clone();
        // The same record the HTTP API serves, results included.
        let full = prompt_record(store, &fetched, Some(&pinned))?;
        results_errors.extend(full.results_error);
        prompts.insert(name.to_string(), to_value(name, full.record)?);
        let Some(split) = split else { continue };
        let mut others = BTreeMap::new();
        for share in &split.shares()[1..] {
            let selector = Selector {
                name: name.clone(),
                target: Some(Target::Version(share.version.clone())),
            };
            let fetched = fetch(store, &selector, Some(&pinned), None)?;
            let mut full = prompt_record(store, &fetched, Some(&pinned))?;
            results_errors.extend(full.results_error);
            // Each variant names the split it is part of, as the server's answer would.
            full.record.split = Some(split.to_wire());
            others.insert(share.version.to_string(), to_value(name, full.record)?);
        }
        variants.insert(name.to_string(), others);
    }
    let bundle = Bundle {
        format: BUNDLE_FORMAT,
        environment,
        exported_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        commit: pinned,
        prompts,
        variants,
    };
    Ok(Exported {
        bundle,
        results_errors,
    })
}

fn to_value(
    name: &crate::PromptName,
    record: promptreg_wire::PromptRecord,
) -> Result<serde_json::Value> {
    serde_json::to_value(record).map_err(|e| Error::Invalid {
        file: crate::PROMPTS_DIR.into(),
        message: format!("cannot serialize the record of `{name}`: {e}"),
    })
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
