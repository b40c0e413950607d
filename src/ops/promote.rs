//! `promote`: move an environment's pointer to a version, as a commit of `registry.yaml` alone.

use std::cell::RefCell;
use std::path::Path;

use git2::{FileMode, Oid};

use crate::identity::Signatures;
use crate::registry::Registry;
use crate::store::{PathUpdate, Store};
use crate::{registry_edit, Error, PromptName, Result, Version, REGISTRY_FILE};

/// A promotion to make.
#[derive(Clone, Debug)]
pub struct PromoteRequest {
    pub name: PromptName,
    pub version: Version,
    pub environment: String,
    pub reason: String,
    /// Skip the pipeline rule (recorded in the commit).
    pub force: bool,
}

/// What `promote` did.
#[derive(Clone, Debug)]
pub enum Promoted {
    Moved { from: Option<Version>, commit: Oid },
    AlreadyThere,
}

/// Moves the pointer; the pipeline rule: the first environment takes any released version,
/// every later one only the version the environment before it holds now.
pub fn promote(
    store: &Store,
    request: &PromoteRequest,
    signatures: &Signatures,
) -> Result<Promoted> {
    let start = super::write_start::begin(store, "promote")?;
    let (workdir, branch) = (&start.workdir, &start.branch);
    let head_tree = start.registry_tree(store)?;
    let committed =
        store
            .read_file(head_tree, REGISTRY_FILE)?
            .ok_or_else(|| Error::RegistryMissing {
                revision: crate::store::short_branch(branch).to_owned(),
            })?;
    let on_disk = std::fs::read(workdir.join(REGISTRY_FILE)).ok();
    if on_disk.as_deref() != Some(committed.as_slice())
        || store.index_differs(REGISTRY_FILE, head_tree)?
    {
        return Err(Error::RegistryDirty);
    }
    let registry = Registry::parse(&committed, Path::new(REGISTRY_FILE))?;
    let name = &request.name;
    let env = request.environment.as_str();
    registry.check_environment(env)?;
    if store.release(name, &request.version)?.is_none() {
        return Err(super::fetch::missing_version(store, name, &request.version));
    }
    let pointers = registry.pointers(name);
    let from = pointers.get(env).cloned();
    if from.as_ref() == Some(&request.version) {
        return Ok(Promoted::AlreadyThere);
    }
    let stage = registry
        .environments
        .iter()
        .position(|e| e == env)
        .unwrap_or(0);
    if stage > 0 && !request.force {
        let previous = &registry.environments[stage - 1];
        if pointers.get(previous) != Some(&request.version) {
            return Err(Error::PipelineSkipped {
                name: name.to_string(),
                version: request.version.to_string(),
                environment: env.to_owned(),
                previous: previous.clone(),
                held: pointers
                    .get(previous)
                    .map_or("nothing".to_owned(), |v| v.to_string()),
            });
        }
    }
    let mut message = format!(
        "promote {name} {} to {env}\n\n{}\n\n",
        request.version,
        request.reason.trim_end()
    );
    message.push_str(&format!(
        "Prompt: {name}\nVersion: {}\nEnvironment: {env}\nChange: promoted\n",
        request.version
    ));
    if request.force {
        message.push_str("Forced: true\n");
    }
    let written = RefCell::new(None);
    let committed = store.commit_on_branch(branch, &message, signatures, &|tree| {
        let tree = tree.ok_or_else(|| Error::RegistryMissing {
            revision: "HEAD".into(),
        })?;
        let current =
            store
                .read_file(tree, REGISTRY_FILE)?
                .ok_or_else(|| Error::RegistryMissing {
                    revision: "HEAD".into(),
                })?;
        let text = crate::yaml::utf8(&current, Path::new(REGISTRY_FILE))?;
        let (edited, parsed) = registry_edit::set_pointer(text, name, env, &request.version)?;
        let blob = store
            .repo()
            .blob(edited.as_bytes())
            .map_err(Error::git("cannot write registry.yaml"))?;
        *written.borrow_mut() = Some((edited, parsed, blob));
        Ok(vec![PathUpdate {
            path: REGISTRY_FILE.to_owned(),
            id: blob,
            mode: FileMode::Blob,
        }])
    })?;
    let (text, parsed, blob) = written.into_inner().ok_or_else(|| Error::RegistryMissing {
        revision: "HEAD".into(),
    })?;
    crate::store::write_atomic(&workdir.join(REGISTRY_FILE), text.as_bytes())?;
    // The next read of this index finds it parsed already.
    super::remember_registry(store, blob, &parsed);
    let files = store.hash_worktree_files(&[REGISTRY_FILE.to_owned()])?;
    store.sync_index_files(&files)?;
    Ok(Promoted::Moved {
        from,
        commit: committed.id(),
    })
}
