//! Moving one environment's pointer: what `promote` and `rollback` share — loading the index
//! under the write lock, the access rules, the commit with its trailers, and bringing the
//! working copy, the index entry and the read cache of `registry.yaml` up to date.

use std::cell::RefCell;
use std::path::Path;

use crate::model::history::Change;
use crate::model::registry::edit as registry_edit;
use crate::model::registry::{Pointer, Registry};
use crate::model::trailers::Trailers;
use crate::store::identity::Signatures;
use crate::store::{short_branch, ObjectId, PathUpdate, Store};
use crate::{Error, PromptName, Result, REGISTRY_FILE};

use super::write_start::{begin, WriteStart};
use crate::read::{registry_of_blob, remember_registry};

/// The committed index a move starts from, read under the write lock.
pub struct Loaded<'r> {
    pub start: WriteStart<'r>,
    pub registry: Registry,
}

/// One pointer move.
pub struct Move<'a> {
    pub name: &'a PromptName,
    pub environment: &'a str,
    /// What the environment holds afterwards: a version or a split.
    pub version: &'a Pointer,
    pub previous: Option<&'a Pointer>,
    pub change: Change,
    pub subject: String,
    pub reason: &'a str,
    pub forced: bool,
    /// Gate conditions overridden with `--force`.
    pub gate_unmet: Vec<String>,
    /// `Some(refs/heads/NAME)`: commit on that new branch, made from the registry branch's
    /// tip, for review (HEAD, the index and the working tree untouched); `None`: on the
    /// checked-out branch, refused for a protected environment.
    pub branch: Option<&'a str>,
    /// `promote`, `rollback` or `split` (named in the refusal of a protected environment).
    pub operation: &'static str,
}

/// Takes the lock and loads the committed index, refusing uncommitted edits to it (staged or
/// not) so a move never overwrites work in progress.
///
/// For a move to commit on a new `branch`, the working copy and the index of `registry.yaml`
/// are never written, so edits in progress there do not matter.
pub fn load<'r>(
    store: &'r Store,
    operation: &'static str,
    branch: Option<&str>,
) -> Result<Loaded<'r>> {
    let start = begin(store, operation)?;
    let tree = start.registry_tree(store)?;
    let id = store
        .entry_id(tree, REGISTRY_FILE)
        .ok_or_else(|| Error::RegistryMissing {
            revision: short_branch(&start.branch).to_owned(),
        })?;
    let committed = store
        .read_blob(id)
        .map_err(Error::git("cannot read registry.yaml"))?;
    // Never through a link, never a FIFO (it would block under the lock).
    let on_disk = crate::fsread::WorkTree::new(&start.workdir)
        .read_bounded(REGISTRY_FILE, crate::model::yaml::MAX_DOCUMENT_BYTES)?;
    let dirty = || -> Result<bool> {
        Ok(on_disk.as_deref() != Some(&*committed) || store.index_differs(REGISTRY_FILE, tree)?)
    };
    if branch.is_none() && dirty()? {
        return Err(Error::RegistryDirty);
    }
    let registry = registry_of_blob(store, id)?;
    Ok(Loaded { start, registry })
}

/// Refuses an identity the access rules do not allow to move `environment` of `name`
/// (`action`: promote for promote and split, rollback for rollback).
pub fn check_access(
    registry: &Registry,
    email: &str,
    name: &PromptName,
    environment: &str,
    action: crate::model::access::Action,
) -> Result<()> {
    super::access::check_action(registry, email, action, name, Some(environment))
}

/// Commits the move (only `registry.yaml`), then updates its working copy, index entry and
/// read cache. Retries on a moving branch re-apply the edit to the new tip's index.
pub fn commit_move(
    store: &Store,
    loaded: &Loaded<'_>,
    mv: &Move<'_>,
    signatures: &Signatures,
) -> Result<ObjectId> {
    let trailers = Trailers {
        prompt: mv.name.to_string(),
        environment: mv.environment.to_owned(),
        version: Some(mv.version.clone()),
        previous: mv.previous.cloned(),
        change: mv.change,
        forced: mv.forced,
        gate_unmet: mv.gate_unmet.clone(),
    };
    let message = format!(
        "{}\n\n{}\n\n{}",
        mv.subject,
        mv.reason.trim_end(),
        trailers.render()
    );
    if let Some(refname) = mv.branch {
        return commit_on_new_branch(store, loaded, mv, refname, &message, signatures);
    }
    if loaded
        .registry
        .access
        .as_ref()
        .is_some_and(|a| a.is_protected(mv.environment))
    {
        return Err(Error::ProtectedEnvironment {
            name: mv.name.to_string(),
            environment: mv.environment.to_owned(),
            branch: short_branch(&loaded.start.branch).to_owned(),
            operation: mv.operation,
        });
    }
    let written = RefCell::new(None);
    let committed = store.commit_on_branch(
        &loaded.start.guard,
        &loaded.start.branch,
        &message,
        signatures,
        &|tree| {
            let missing = || Error::RegistryMissing {
                revision: "HEAD".into(),
            };
            let tree = tree.ok_or_else(missing)?;
            let id = store.entry_id(tree, REGISTRY_FILE).ok_or_else(missing)?;
            let before = match store.entry_id(loaded.start.registry_tree(store)?, REGISTRY_FILE) {
                Some(loaded_id) if loaded_id == id => loaded.registry.clone(),
                // Someone committed meanwhile (not through promptreg, which holds the lock).
                _ => registry_of_blob(store, id)?,
            };
            let current = store.read_file(tree, REGISTRY_FILE)?.ok_or_else(missing)?;
            let text = crate::model::yaml::utf8(&current, Path::new(REGISTRY_FILE))?;
            let (edited, after) =
                registry_edit::set_pointer(text, &before, mv.name, mv.environment, mv.version)?;
            let blob = store
                .write_blob(edited.as_bytes())
                .map_err(Error::git("cannot write registry.yaml"))?;
            *written.borrow_mut() = Some((edited, after, blob));
            Ok(vec![PathUpdate::file(REGISTRY_FILE, blob)])
        },
    )?;
    let (text, after, blob) = written.into_inner().ok_or_else(|| Error::RegistryMissing {
        revision: "HEAD".into(),
    })?;
    loaded
        .start
        .mirror(store, REGISTRY_FILE, text.as_bytes(), blob)?;
    // The next read of this index finds it parsed already.
    remember_registry(store, blob, &after);
    Ok(committed.id())
}

/// The move as one commit on the new branch `refname`, whose parent is the tip the move was
/// computed from (read under the lock); nothing of the checkout changes.
fn commit_on_new_branch(
    store: &Store,
    loaded: &Loaded<'_>,
    mv: &Move<'_>,
    refname: &str,
    message: &str,
    signatures: &Signatures,
) -> Result<ObjectId> {
    let missing = || Error::RegistryMissing {
        revision: short_branch(&loaded.start.branch).to_owned(),
    };
    let (tip, tree) = loaded.start.tip.as_ref().ok_or_else(missing)?;
    let current = store.read_file(tree, REGISTRY_FILE)?.ok_or_else(missing)?;
    let text = crate::model::yaml::utf8(&current, Path::new(REGISTRY_FILE))?;
    let (edited, _) =
        registry_edit::set_pointer(text, &loaded.registry, mv.name, mv.environment, mv.version)?;
    let blob = store
        .write_blob(edited.as_bytes())
        .map_err(Error::git("cannot write registry.yaml"))?;
    store.commit_on_new_branch(
        refname,
        *tip,
        message,
        signatures,
        &[PathUpdate::file(REGISTRY_FILE, blob)],
    )
}
