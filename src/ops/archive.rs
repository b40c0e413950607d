//! `archive`: old releases to a self-contained, verifiable file (a git bundle with a manifest,
//! docs/FORMAT.md §11), its checks (`archive verify`), bringing its tags back (`archive
//! restore`) and deleting archived tags from the live registry (`archive prune`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::read::registry_at;
use crate::store::bundle::{self, Unpacked, MANIFEST_FILE, MANIFEST_REF};
use crate::store::{Lock, ObjectId, Store};
use crate::{Error, PromptName, Result, Version};

/// The manifest's `format`.
pub const MANIFEST_FORMAT: u32 = 1;

/// What an archive says it holds ([`MANIFEST_FILE`] of the commit [`MANIFEST_REF`] names).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    /// The releases are those tagged before this time (RFC 3339).
    pub before: String,
    /// When the archive was written (RFC 3339).
    pub created_at: String,
    pub tags: Vec<ManifestTag>,
}

/// One archived release.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestTag {
    /// `<name>/v<version>`.
    pub tag: String,
    pub prompt: String,
    pub version: String,
    /// The annotated tag object.
    pub tag_id: String,
    /// The commit it points at.
    pub commit: String,
    /// The tagger's date (RFC 3339).
    pub created_at: String,
}

impl ManifestTag {
    fn refname(&self) -> String {
        format!("refs/tags/{}", self.tag)
    }
}

/// What `archive --before` is asked for.
pub struct ArchiveRequest<'a> {
    pub before: DateTime<FixedOffset>,
    pub out: &'a Path,
    /// The time the manifest records.
    pub now: DateTime<FixedOffset>,
    /// Where a scratch repository may be made (and is removed after).
    pub scratch: &'a Path,
}

/// Writes the releases tagged before `request.before` to `request.out`; refuses an empty
/// selection ([`Error::NothingToArchive`]) without writing anything.
pub fn archive(store: &Store, request: &ArchiveRequest<'_>) -> Result<Manifest> {
    let mut tags = Vec::new();
    let mut refs: Vec<(String, ObjectId)> = Vec::new();
    // Each release read from the tag object the listing names: looking every ref up again
    // among 100,000 packed ones would cost a second.
    for (name, versions) in store.all_version_tags()? {
        for (version, target) in versions {
            let release = store.release_from(&name, &version, target)?;
            if release.created_at < request.before {
                refs.push((version.tag_ref(&name), release.tag_id));
                tags.push(ManifestTag {
                    tag: release.tag.clone(),
                    prompt: name.to_string(),
                    version: version.to_string(),
                    tag_id: release.tag_id.to_string(),
                    commit: release.commit.to_string(),
                    created_at: rfc3339(release.created_at),
                });
            }
        }
    }
    if tags.is_empty() {
        return Err(Error::NothingToArchive {
            before: rfc3339(request.before),
        });
    }
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        before: rfc3339(request.before),
        created_at: rfc3339(request.now),
        tags,
    };
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| Error::Invalid {
        file: request.out.to_owned(),
        message: format!("cannot write the manifest: {e}"),
    })? + "\n";
    store.write_bundle(
        request.out,
        &refs,
        text.as_bytes(),
        request.now,
        request.scratch,
    )?;
    Ok(manifest)
}

/// RFC 3339 in UTC, to the second.
fn rfc3339(at: DateTime<FixedOffset>) -> String {
    at.with_timezone(&Utc)
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// One check of `archive verify`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// `bundle`, `objects`, `manifest`, `tags` or `tag <name>/v<version>`.
    pub check: String,
    pub ok: bool,
    pub detail: String,
}

/// The outcome of `archive verify`.
#[derive(Clone, Debug, Serialize)]
pub struct Verification {
    pub file: PathBuf,
    pub ok: bool,
    /// The number of tags the manifest lists (0 when it cannot be read).
    pub tags: usize,
    pub before: Option<String>,
    pub created_at: Option<String>,
    pub checks: Vec<Check>,
}

/// What [`inspect`] found: the report, and the manifest when the archive passed every check.
struct Inspected {
    verification: Verification,
    manifest: Option<Manifest>,
}

/// Checks the archive `file` without any registry: its header is a bundle's with no
/// prerequisites; git unpacks it (the pack's checksum, every object its refs reach) into a
/// scratch repository below `scratch`; its manifest reads; every tag the manifest lists is a
/// ref of the bundle naming the listed tag object, an annotated tag of that name pointing at
/// the listed commit, whose tree holds the prompt's `prompt.yaml` and whose every file below
/// `prompts/<name>/` reads; and the bundle holds no version tag the manifest does not list.
pub fn verify(file: &Path, scratch: &Path) -> Result<Verification> {
    Ok(inspect(file, scratch)?.verification)
}

fn inspect(file: &Path, scratch: &Path) -> Result<Inspected> {
    let mut checks = Vec::new();
    let mut add = |check: &str, ok: bool, detail: String| {
        checks.push(Check {
            check: check.to_owned(),
            ok,
            detail,
        });
        ok
    };
    let mut manifest = None;
    let mut unpacked: Option<Unpacked> = None;
    let header = bundle::read_header(file);
    let header_ok = match &header {
        Err(reason) => add("bundle", false, reason.clone()),
        Ok(h) if !h.prerequisites.is_empty() => add(
            "bundle",
            false,
            format!(
                "it needs {} commit(s) it does not hold (not self-contained)",
                h.prerequisites.len()
            ),
        ),
        Ok(h) => add(
            "bundle",
            true,
            format!("git bundle v{}, {} ref(s)", h.version, h.refs.len()),
        ),
    };
    if header_ok {
        match Store::unpack_bundle(file, scratch)? {
            Ok(opened) => {
                add(
                    "objects",
                    true,
                    "the pack is intact and holds everything its refs reach".into(),
                );
                unpacked = Some(opened);
            }
            Err(reason) => {
                add("objects", false, first_lines(&reason));
            }
        }
    }
    if let Some(opened) = &unpacked {
        match read_manifest(&opened.store) {
            Ok(found) => {
                add(
                    "manifest",
                    true,
                    format!("{} tag(s) tagged before {}", found.tags.len(), found.before),
                );
                manifest = Some(found);
            }
            Err(reason) => {
                add("manifest", false, reason);
            }
        }
    }
    if let (Some(opened), Some(found)) = (&unpacked, &manifest) {
        let mut bad = 0;
        for tag in &found.tags {
            if let Err(reason) = check_tag(&opened.store, tag) {
                bad += 1;
                add(&format!("tag {}", tag.tag), false, reason);
            }
        }
        let listed: BTreeSet<String> = found.tags.iter().map(ManifestTag::refname).collect();
        let header = header.as_ref().map(|h| h.refs.as_slice()).unwrap_or(&[]);
        let unlisted: Vec<&str> = header
            .iter()
            .map(|(name, _)| name.as_str())
            .filter(|name| name.starts_with("refs/tags/") && !listed.contains(*name))
            .collect();
        if !unlisted.is_empty() {
            bad += unlisted.len();
            add(
                "unlisted",
                false,
                format!(
                    "the bundle holds tags the manifest does not list: {}",
                    unlisted.join(", ")
                ),
            );
        }
        let total = found.tags.len();
        add(
            "tags",
            bad == 0,
            if bad == 0 {
                format!("all {total} tag(s) present, with the listed ids, and readable")
            } else {
                format!("{bad} problem(s) among {total} tag(s)")
            },
        );
    }
    let ok = checks.iter().all(|c| c.ok);
    let verification = Verification {
        file: file.to_owned(),
        ok,
        tags: manifest.as_ref().map_or(0, |m| m.tags.len()),
        before: manifest.as_ref().map(|m| m.before.clone()),
        created_at: manifest.as_ref().map(|m| m.created_at.clone()),
        checks,
    };
    Ok(Inspected {
        verification,
        manifest: if ok { manifest } else { None },
    })
}

/// The first lines of git's stderr, enough to say what broke.
fn first_lines(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(3)
        .collect();
    lines.join("; ")
}

fn read_manifest(store: &Store) -> std::result::Result<Manifest, String> {
    let id = store
        .ref_target(MANIFEST_REF)
        .map_err(|e| format!("cannot read `{MANIFEST_REF}`: {}", e.message()))?
        .ok_or_else(|| format!("the bundle has no `{MANIFEST_REF}` (not a promptreg archive)"))?;
    let commit = store
        .find_commit(id)
        .map_err(|_| format!("`{MANIFEST_REF}` does not name a commit"))?;
    let tree = commit
        .tree()
        .map_err(|e| format!("cannot read the manifest's tree: {}", e.message()))?;
    let text = store
        .read_file(&tree, MANIFEST_FILE)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("the manifest commit holds no `{MANIFEST_FILE}`"))?;
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|e| format!("`{MANIFEST_FILE}` does not parse: {e}"))?;
    if manifest.format != MANIFEST_FORMAT {
        return Err(format!(
            "manifest format {} is not {MANIFEST_FORMAT}; a newer promptreg wrote it",
            manifest.format
        ));
    }
    Ok(manifest)
}

/// Checks one listed tag against what the unpacked bundle holds.
fn check_tag(store: &Store, tag: &ManifestTag) -> std::result::Result<(), String> {
    let name = PromptName::parse(&tag.prompt).map_err(|e| e.to_string())?;
    let version = Version::parse(&tag.version).map_err(|e| e.to_string())?;
    if version.tag_name(&name) != tag.tag {
        return Err(format!(
            "listed as prompt `{}` version {}, which is not the tag `{}`",
            tag.prompt, tag.version, tag.tag
        ));
    }
    let refname = tag.refname();
    let found = store
        .ref_target(&refname)
        .map_err(|e| e.message().to_owned())?
        .ok_or("missing from the bundle")?;
    if found.to_string() != tag.tag_id {
        return Err(format!(
            "the bundle's tag object is {found}, the manifest lists {}",
            tag.tag_id
        ));
    }
    let release = store
        .release_from(&name, &version, found)
        .map_err(|e| e.to_string())?;
    if release.commit.to_string() != tag.commit {
        return Err(format!(
            "it points at {}, the manifest lists {}",
            release.commit, tag.commit
        ));
    }
    let commit = store
        .find_commit(release.commit)
        .map_err(|e| e.message().to_owned())?;
    let tree = commit.tree().map_err(|e| e.message().to_owned())?;
    if store
        .read_file(&tree, &name.file())
        .map_err(|e| e.to_string())?
        .is_none()
    {
        return Err(format!("its commit holds no `{}`", name.file()));
    }
    let dir = store
        .path_id(tree.id(), &name.dir())
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("its commit holds no `{}`", name.dir()))?;
    store.read_every_blob(dir).map_err(|e| e.to_string())?;
    Ok(())
}

/// What `archive restore` did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Restored {
    /// Tags written (`<name>/v<version>`).
    pub restored: Vec<String>,
    /// Tags that were already here naming the same tag object.
    pub skipped: Vec<String>,
}

/// Brings the tags of the archive `file` back into `store`, after checking it as
/// [`verify`] does: tags already here naming the same object are skipped; a tag here naming
/// another object refuses the whole restore ([`Error::ArchiveConflict`], nothing written).
/// Each tag ref is created only if absent (a compare-and-swap), under the write lock.
pub fn restore(store: &Store, file: &Path, scratch: &Path) -> Result<Restored> {
    let manifest = verified_manifest(file, scratch)?;
    let lock = Lock::acquire(store.common_dir())?;
    let mut restored = Restored::default();
    let mut missing = Vec::new();
    let mut conflicts = Vec::new();
    for tag in &manifest.tags {
        let refname = tag.refname();
        match store
            .ref_target(&refname)
            .map_err(Error::git(format!("cannot read `{refname}`")))?
        {
            None => missing.push(tag),
            Some(id) if id.to_string() == tag.tag_id => restored.skipped.push(tag.tag.clone()),
            Some(_) => conflicts.push(tag.tag.clone()),
        }
    }
    if !conflicts.is_empty() {
        return Err(Error::ArchiveConflict { tags: conflicts });
    }
    if !missing.is_empty() {
        let refs: Vec<String> = missing.iter().map(|t| t.refname()).collect();
        store.fetch_bundle_objects(file, &refs)?;
    }
    for tag in missing {
        let id = ObjectId::from_str(&tag.tag_id).map_err(Error::git("a bad id"))?;
        match store.create_ref_if_absent(&tag.refname(), id)? {
            None => restored.restored.push(tag.tag.clone()),
            Some(existing) if existing == id => restored.skipped.push(tag.tag.clone()),
            // Written by someone else between our look and our write.
            Some(_) => conflicts.push(tag.tag.clone()),
        }
    }
    drop(lock);
    if !conflicts.is_empty() {
        return Err(Error::ArchiveConflict { tags: conflicts });
    }
    Ok(restored)
}

/// The manifest of an archive that passes every check, or [`Error::ArchiveInvalid`] naming the
/// first check it fails.
fn verified_manifest(file: &Path, scratch: &Path) -> Result<Manifest> {
    let inspected = inspect(file, scratch)?;
    match inspected.manifest {
        Some(manifest) => Ok(manifest),
        None => {
            let failed = inspected.verification.checks.iter().find(|c| !c.ok);
            Err(Error::ArchiveInvalid {
                path: file.to_owned(),
                reason: failed.map_or_else(String::new, |c| format!("{}: {}", c.check, c.detail)),
            })
        }
    }
}

/// What `archive prune` did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Pruned {
    /// Tags deleted from the registry.
    pub deleted: Vec<String>,
    /// Tags of the archive that were not here (or named another object: left alone).
    pub absent: Vec<String>,
}

/// Deletes the archive's tags from the registry once the archive passed every check; refuses,
/// deleting nothing, when an environment at the branch tip holds any of those versions
/// (a pointer or an entry of a split, [`Error::ArchiveHeld`]). A tag here that names another
/// object than the archive's is not the archived release and is left alone.
pub fn prune(store: &Store, file: &Path, scratch: &Path) -> Result<Pruned> {
    let manifest = verified_manifest(file, scratch)?;
    let lock = Lock::acquire(store.common_dir())?;
    let (branch, tip) = store.head_branch()?;
    let tip = tip.ok_or_else(|| Error::UnbornBranch {
        branch: crate::store::short_branch(&branch).to_owned(),
    })?;
    let commit = store
        .find_commit(tip)
        .map_err(Error::git("cannot read the branch tip"))?;
    let registry = registry_at(store, &commit, "HEAD", None)?;
    let mut held = Vec::new();
    for tag in &manifest.tags {
        let name = PromptName::parse(&tag.prompt)?;
        let version = Version::parse(&tag.version)?;
        let Some(pointers) = registry.prompts.get(&name) else {
            continue;
        };
        let holding: Vec<&str> = registry
            .environments
            .iter()
            .filter(|env| {
                pointers
                    .get(env.as_str())
                    .is_some_and(|pointer| pointer.versions().contains(&&version))
            })
            .map(String::as_str)
            .collect();
        if !holding.is_empty() {
            held.push(format!("{} ({})", tag.tag, holding.join(", ")));
        }
    }
    if !held.is_empty() {
        return Err(Error::ArchiveHeld { held });
    }
    let mut pruned = Pruned::default();
    for tag in &manifest.tags {
        let id = ObjectId::from_str(&tag.tag_id).map_err(Error::git("a bad id"))?;
        if store.delete_ref_if(&tag.refname(), id)? {
            pruned.deleted.push(tag.tag.clone());
        } else {
            pruned.absent.push(tag.tag.clone());
        }
    }
    drop(lock);
    Ok(pruned)
}
