//! `import`: another system's export (Langfuse, `.prompty`, dotprompt) as releases of this
//! registry — one `create` per version in version order, with the original author and date when
//! the export has them; labels that name an environment of the pipeline become its pointer
//! (promoted in pipeline order, never forced); and a report of every prompt, version and field.
//!
//! Everything is read, converted and checked before the first write, so a refusal changes
//! nothing. A version already released with the same content is left alone (a second run of the
//! same import changes nothing); with different content, the import is refused.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::bridge::{self, ForeignPrompt, Format, Planned};
use crate::model::registry::Pointer;
use crate::store::identity::{Identity, Signatures};
use crate::store::Store;
use crate::{Error, PromptName, Result, Version};

use super::create::{create, CreateRequest, PromptSource, VersionChoice};
use super::promote::{promote, PromoteRequest, Promoted};

/// What to import.
#[derive(Clone, Debug)]
pub struct ImportRequest {
    pub format: Format,
    /// Files, or directories whose files of the format are read (sorted by name).
    pub paths: Vec<PathBuf>,
    /// Put every prompt under this domain (`support` → `support/<name>`).
    pub domain: Option<String>,
    /// Report what would happen and write nothing.
    pub dry_run: bool,
    /// Labels to read as other environments' names (`prod` → `production`).
    pub labels: Vec<(String, String)>,
}

/// The mapping report.
#[derive(Clone, Debug, Serialize)]
pub struct ImportReport {
    pub format: &'static str,
    pub dry_run: bool,
    /// Whether anything was (or, with `--dry-run`, would be) written.
    pub changed: bool,
    pub prompts: Vec<PromptReport>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PromptReport {
    /// The name in the export.
    pub source: String,
    pub file: String,
    /// The name here.
    pub name: String,
    pub versions: Vec<VersionReport>,
    pub labels: Vec<LabelReport>,
}

#[derive(Clone, Debug, Serialize)]
pub struct VersionReport {
    /// The version as the export numbers it.
    pub source: String,
    pub version: String,
    /// `created`, `would create`, `already imported`.
    pub action: &'static str,
    pub author: String,
    /// `export`, or `importing user` when the export has no e-mail address for it.
    pub author_from: &'static str,
    pub date: String,
    /// `export`, or `now` when the export has no date.
    pub date_from: &'static str,
    /// Template conversions and values moved elsewhere.
    pub notes: Vec<String>,
    /// What was not carried over, and why.
    pub not_carried: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct LabelReport {
    pub label: String,
    pub version: String,
    /// The environment it maps to (null: not an environment of the pipeline).
    pub environment: Option<String>,
    /// `moved`, `would move`, `already there`, `not carried: …`, `refused: …`.
    pub action: String,
    /// Environments promoted on the way (the pipeline rule: each takes what the one before holds).
    pub via: Vec<String>,
}

/// One version ready to release.
struct Item {
    source: String,
    planned: Planned,
    message: String,
    author: Option<(String, String)>,
    date: Option<chrono::DateTime<chrono::FixedOffset>>,
    not_carried: Vec<String>,
    labels: Vec<String>,
}

struct Mapped {
    foreign: ForeignPrompt,
    name: PromptName,
    items: Vec<Item>,
}

/// Reads, converts and checks everything, then (unless `dry_run`) writes it. `signatures`
/// is the importing user's: it moves the pointers, and tags what the export has no author for.
pub fn import(
    store: &Store,
    request: &ImportRequest,
    signatures: &Signatures,
) -> Result<ImportReport> {
    let format = request.format;
    let mapped = read_all(request)?;
    let commit = store.commit(None)?;
    let registry = crate::read::registry_at(store, &commit, "HEAD", None)?;
    let mut reports = Vec::new();
    let mut changed = false;
    // Check every version against what is released before writing any.
    let mut existing: Vec<Vec<bool>> = Vec::new();
    for m in &mapped {
        let released: Vec<Version> = store
            .versions(&m.name)?
            .into_iter()
            .map(|(v, _)| v)
            .collect();
        let mut flags = Vec::new();
        for item in &m.items {
            let version = &item.planned.version;
            if !released.contains(version) {
                flags.push(false);
                continue;
            }
            let release = store
                .release(&m.name, version)?
                .ok_or_else(|| crate::read::missing_version(store, &m.name, version))?;
            let there = crate::read::read_prompt(store, &release)?;
            if there != item.planned.prompt {
                return Err(Error::ImportConflict {
                    file: m.foreign.file.clone(),
                    field: format!("version {}", item.source),
                    name: m.name.to_string(),
                    version: version.to_string(),
                });
            }
            flags.push(true);
        }
        existing.push(flags);
    }
    // A release takes the whole working-tree directory of the prompt: edits in progress there
    // (or files not committed) would be overwritten or released with it.
    let head_tree = commit
        .tree()
        .map_err(Error::git("cannot read the commit's tree"))?;
    for (m, flags) in mapped.iter().zip(&existing) {
        if flags.iter().any(|there| !there) && uncommitted(store, &head_tree, &m.name)? {
            return Err(Error::Dirty { path: m.name.dir() });
        }
    }
    // Pointer moves refuse uncommitted edits to registry.yaml: found now, before any release.
    let moves = mapped.iter().any(|m| {
        m.items.iter().any(|item| {
            item.labels.iter().any(|label| {
                let env = request
                    .labels
                    .iter()
                    .find(|(from, _)| from == label)
                    .map_or(label.as_str(), |(_, to)| to.as_str());
                registry.environments.iter().any(|e| e == env)
                    && registry.pointer(&m.name, env)
                        != Some(&Pointer::Version(item.planned.version.clone()))
            })
        })
    });
    if moves {
        let committed = store.read_file(&head_tree, crate::REGISTRY_FILE)?;
        let on_disk = crate::fsread::WorkTree::new(store.workdir("import")?)
            .read_bounded(crate::REGISTRY_FILE, crate::model::yaml::MAX_DOCUMENT_BYTES)?;
        if on_disk != committed || store.index_differs(crate::REGISTRY_FILE, &head_tree)? {
            return Err(Error::RegistryDirty);
        }
    }
    for (m, flags) in mapped.iter().zip(&existing) {
        let mut versions = Vec::new();
        for (item, &there) in m.items.iter().zip(flags) {
            let (author, author_from) = match &item.author {
                Some((n, e)) => (format!("{n} <{e}>"), "export"),
                None => (
                    format!(
                        "{} <{}>",
                        signatures.committer.name, signatures.committer.email
                    ),
                    "importing user",
                ),
            };
            let when = item.date.unwrap_or(signatures.committer.when);
            let action = if there {
                "already imported"
            } else if request.dry_run {
                changed = true;
                "would create"
            } else {
                changed = true;
                let identity = match &item.author {
                    Some((name, email)) => Identity {
                        name: name.clone(),
                        email: email.clone(),
                        when,
                    },
                    None => Identity {
                        when,
                        ..signatures.committer.clone()
                    },
                };
                let as_author = Signatures {
                    author: identity.clone(),
                    committer: identity,
                };
                create(
                    store,
                    &CreateRequest {
                        name: m.name.clone(),
                        version: VersionChoice::Exact(item.planned.version.clone()),
                        message: item.message.clone(),
                        source: PromptSource::Content(item.planned.yaml.clone().into_bytes()),
                        allow_unchanged: true,
                    },
                    &as_author,
                )?;
                "created"
            };
            versions.push(VersionReport {
                source: item.source.clone(),
                version: item.planned.version.to_string(),
                action,
                author,
                author_from,
                date: when.to_rfc3339(),
                date_from: if item.date.is_some() { "export" } else { "now" },
                notes: item.planned.notes.clone(),
                not_carried: item.not_carried.clone(),
            });
        }
        let labels = pointers(store, &registry, m, request, signatures, &mut changed)?;
        reports.push(PromptReport {
            source: m.foreign.name.clone(),
            file: m.foreign.file.display().to_string(),
            name: m.name.to_string(),
            versions,
            labels,
        });
    }
    Ok(ImportReport {
        format: format.as_str(),
        dry_run: request.dry_run,
        changed,
        prompts: reports,
    })
}

/// The files to read: each file given, and the format's files in each directory given.
fn files(format: Format, paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(Error::io(path))?;
        if !meta.is_dir() {
            out.push(path.clone());
            continue;
        }
        let mut found = Vec::new();
        walk(format, path, 0, &mut found)?;
        found.sort();
        if found.is_empty() {
            return Err(bridge::refused(
                path,
                "(directory)",
                format!("holds no {} file", format.as_str()),
            ));
        }
        out.extend(found);
    }
    Ok(out)
}

/// The format's files under `dir`, down to the depth of a prompt name (4 levels), so an export
/// written as `support/refund-agent.prompty` reads back; links are not followed.
fn walk(format: Format, dir: &std::path::Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(Error::io(dir))? {
        let entry = entry.map_err(Error::io(dir))?;
        let kind = entry.file_type().map_err(Error::io(entry.path()))?;
        if kind.is_dir() && depth < 3 {
            walk(format, &entry.path(), depth + 1, out)?;
        } else if kind.is_file() && entry.file_name().to_str().is_some_and(|n| format.takes(n)) {
            out.push(entry.path());
        }
    }
    Ok(())
}

fn read_all(request: &ImportRequest) -> Result<Vec<Mapped>> {
    let mut by_name: BTreeMap<PromptName, Mapped> = BTreeMap::new();
    for file in files(request.format, &request.paths)? {
        let bytes = crate::fsread::read_named(&file, crate::model::yaml::MAX_DOCUMENT_BYTES)?;
        for foreign in request.format.parse(&bytes, &file)? {
            let name =
                bridge::prompt_name(&foreign.name, request.domain.as_deref()).ok_or_else(|| {
                    bridge::refused(
                        &file,
                        "name",
                        format!(
                            "`{}` leaves no usable prompt name (letters, digits, `-`, `_`)",
                            foreign.name
                        ),
                    )
                })?;
            let mut items = Vec::new();
            for version in &foreign.versions {
                let planned = bridge::plan(&file, request.format, version)?;
                let source = match &version.id {
                    bridge::VersionId::Number(n) => n.to_string(),
                    bridge::VersionId::Semver(v) => v.to_string(),
                };
                let mut not_carried = version.dropped.clone();
                let author = match version.author.as_deref() {
                    Some(a) => {
                        let identity = bridge::author_identity(a);
                        if identity.is_none() {
                            not_carried.push(format!(
                                "author `{a}`: not an e-mail address; tagged as the importing user"
                            ));
                        }
                        identity
                    }
                    None => None,
                };
                let message = version
                    .message
                    .clone()
                    .filter(|m| !m.trim().is_empty())
                    .unwrap_or_else(|| {
                        format!(
                            "Imported from {}: {} version {source}",
                            request.format.as_str(),
                            foreign.name
                        )
                    });
                items.push(Item {
                    source,
                    planned,
                    message,
                    author,
                    date: version.created_at,
                    not_carried,
                    labels: version.labels.clone(),
                });
            }
            match by_name.get_mut(&name) {
                None => {
                    by_name.insert(name.clone(), Mapped { foreign, name, items });
                }
                Some(there) if there.foreign.name != foreign.name => {
                    return Err(bridge::refused(
                        &file,
                        "name",
                        format!(
                            "`{}` and `{}` (in {}) both become `{name}`; import one of them with --domain",
                            foreign.name,
                            there.foreign.name,
                            there.foreign.file.display()
                        ),
                    ))
                }
                Some(there) => {
                    for item in items {
                        match there.items.iter().find(|i| i.planned.version == item.planned.version) {
                            Some(same) if same.planned.prompt == item.planned.prompt => {}
                            Some(_) => {
                                return Err(bridge::refused(
                                    &file,
                                    format!("version {}", item.source),
                                    format!("`{}` has version {} in two files, with different content", foreign.name, item.source),
                                ))
                            }
                            None => there.items.push(item),
                        }
                    }
                    there.items.sort_by(|a, b| a.planned.version.cmp(&b.planned.version));
                }
            }
        }
    }
    Ok(by_name.into_values().collect())
}

/// Labels that name environments become pointers: the highest environment first, each
/// promoted through the environments before it (the pipeline rule), never forced.
fn pointers(
    store: &Store,
    registry: &crate::model::registry::Registry,
    m: &Mapped,
    request: &ImportRequest,
    signatures: &Signatures,
    changed: &mut bool,
) -> Result<Vec<LabelReport>> {
    let pipeline = &registry.environments;
    let mut reports = Vec::new();
    let mut targets: Vec<(usize, Version, String)> = Vec::new();
    for item in &m.items {
        for label in &item.labels {
            let version = item.planned.version.clone();
            let env = request
                .labels
                .iter()
                .find(|(from, _)| from == label)
                .map_or(label.as_str(), |(_, to)| to.as_str());
            match pipeline.iter().position(|e| e == env) {
                Some(k) => targets.push((k, version, label.clone())),
                None => reports.push(LabelReport {
                    label: label.clone(),
                    version: version.to_string(),
                    environment: None,
                    action: if label == "latest" {
                        "not carried: promptreg computes @latest itself".into()
                    } else {
                        format!(
                            "not carried: not an environment of the pipeline ({})",
                            pipeline.join(", ")
                        )
                    },
                    via: Vec::new(),
                }),
            }
        }
    }
    targets.sort_by_key(|t| std::cmp::Reverse(t.0));
    let mut current = registry.clone();
    for (k, version, label) in targets {
        let env = &pipeline[k];
        let holds = |r: &crate::model::registry::Registry, e: &str| {
            r.pointer(&m.name, e) == Some(&Pointer::Version(version.clone()))
        };
        let mut report = LabelReport {
            label: label.clone(),
            version: version.to_string(),
            environment: Some(env.clone()),
            action: String::new(),
            via: Vec::new(),
        };
        if holds(&current, env) {
            report.action = "already there".into();
            reports.push(report);
            continue;
        }
        let steps: Vec<&String> = pipeline[..=k]
            .iter()
            .filter(|e| {
                !current
                    .pointer(&m.name, e)
                    .is_some_and(|p| p.serves(&version))
                    || *e == env
            })
            .collect();
        report.via = steps[..steps.len() - 1]
            .iter()
            .map(|e| (*e).clone())
            .collect();
        if request.dry_run {
            *changed = true;
            report.action = "would move".into();
            // What the later labels see: this one done.
            for e in &steps {
                set(&mut current, &m.name, e, &version);
            }
            reports.push(report);
            continue;
        }
        report.action = "moved".into();
        for e in &steps {
            let promoted = promote(
                store,
                &PromoteRequest {
                    name: m.name.clone(),
                    version: version.clone(),
                    environment: (*e).clone(),
                    reason: format!("import from {}: label `{label}`", request.format.as_str()),
                    force: false,
                    canary: None,
                },
                signatures,
            );
            match promoted {
                Ok(Promoted::Moved { .. }) => {
                    *changed = true;
                    set(&mut current, &m.name, e, &version)
                }
                Ok(Promoted::AlreadyThere) => set(&mut current, &m.name, e, &version),
                Err(
                    err @ (Error::GateNotMet { .. }
                    | Error::AccessDenied { .. }
                    | Error::PipelineSkipped { .. }),
                ) => {
                    report.action = format!("refused: {e}: {err}");
                    break;
                }
                Err(other) => return Err(other),
            }
        }
        reports.push(report);
    }
    Ok(reports)
}

fn set(
    registry: &mut crate::model::registry::Registry,
    name: &PromptName,
    env: &str,
    version: &Version,
) {
    registry
        .prompts
        .entry(name.clone())
        .or_default()
        .insert(env.to_owned(), Pointer::Version(version.clone()));
}

/// Whether `prompts/<name>/` in the working tree (or its staged entries) differs from HEAD's.
fn uncommitted(
    store: &Store,
    head: &crate::store::TreeView<'_>,
    name: &PromptName,
) -> Result<bool> {
    let dir = name.dir();
    let workdir = store.workdir("import")?;
    let mut paths = Vec::new();
    if !collect(store, workdir, &dir, &mut paths)? {
        return Ok(true);
    }
    let committed = store.entry_id(head, &dir);
    if paths.is_empty() {
        return Ok(committed.is_some());
    }
    for path in &paths {
        if store.index_differs(path, head)? {
            return Ok(true);
        }
    }
    let files = store.hash_worktree_files(&paths)?;
    Ok(Some(store.tree_of(&files, &dir)?) != committed)
}

/// The files under `dir` (repository-relative) that are not ignored; false when there is
/// something other than regular files and directories (a link: never released by an import).
fn collect(
    store: &Store,
    workdir: &std::path::Path,
    dir: &str,
    out: &mut Vec<String>,
) -> Result<bool> {
    let full = workdir.join(dir);
    let entries = match std::fs::read_dir(&full) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(true),
        Err(e) => return Err(Error::io(&full)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(Error::io(&full))?;
        let Ok(file_name) = entry.file_name().into_string() else {
            return Ok(false);
        };
        let path = format!("{dir}/{file_name}");
        if store.is_ignored(&path) {
            continue;
        }
        let kind = entry.file_type().map_err(Error::io(entry.path()))?;
        if kind.is_dir() {
            if !collect(store, workdir, &path, out)? {
                return Ok(false);
            }
        } else if kind.is_file() {
            out.push(path);
        } else {
            return Ok(false);
        }
    }
    Ok(true)
}
