//! `init`: make the current branch a registry by committing `registry.yaml` and `prompts/`.

use std::path::Path;

use crate::store::identity::Signatures;
use crate::store::{ObjectId, PathUpdate, Store, WriteGuard};
use crate::{Error, Result, PROMPTS_DIR, REGISTRY_FILE};

/// The placeholder that makes git keep the empty `prompts/` directory.
const KEEP_FILE: &str = "prompts/.gitkeep";

/// What `init` did.
pub struct Initialized {
    pub branch: String,
    pub commit: ObjectId,
}

/// Writes and commits `registry.yaml` (and `prompts/.gitkeep` when `prompts/` is empty),
/// touching no other path and no other index entry.
pub fn init(store: &Store, signatures: &Signatures) -> Result<Initialized> {
    let start = super::write_start::begin(store, "init")?;
    let (workdir, branch) = (&start.workdir, &start.branch);
    let registry_path = workdir.join(REGISTRY_FILE);
    let committed = start
        .tip
        .as_ref()
        .is_some_and(|(_, tree)| store.entry_id(tree, REGISTRY_FILE).is_some());
    if committed || registry_path.exists() {
        return Err(Error::RegistryExists {
            path: registry_path,
        });
    }
    // A linked `prompts` would have the placeholder written (and hashed) wherever it points.
    match crate::fsread::WorkTree::new(workdir).kind(PROMPTS_DIR)? {
        Some(crate::fsread::Kind::Symlink) => {
            return Err(Error::NotRegular {
                path: PROMPTS_DIR.into(),
                reason: crate::fsread::Refusal::Symlink,
                committed: false,
            })
        }
        Some(crate::fsread::Kind::Special(what)) => {
            return Err(Error::NotRegular {
                path: PROMPTS_DIR.into(),
                reason: crate::fsread::Refusal::Special(what),
                committed: false,
            })
        }
        _ => {}
    }
    // Everything written below is removed again if a later step fails.
    let mut written: Vec<String> = Vec::new();
    let mut created_dir = false;
    let result = (|| {
        write_new(
            &registry_path,
            crate::model::registry::initial_text().as_bytes(),
        )?;
        written.push(REGISTRY_FILE.to_owned());
        let prompts_dir = workdir.join(PROMPTS_DIR);
        if !prompts_dir.exists() {
            std::fs::create_dir(&prompts_dir).map_err(Error::io(&prompts_dir))?;
            created_dir = true;
        }
        let empty = std::fs::read_dir(&prompts_dir)
            .map_err(Error::io(&prompts_dir))?
            .next()
            .is_none();
        if empty {
            write_new(&workdir.join(KEEP_FILE), b"")?;
            written.push(KEEP_FILE.to_owned());
        }
        commit_files(store, &start.guard, branch, &written, signatures)
    })();
    if result.is_err() {
        for path in &written {
            let _ = std::fs::remove_file(workdir.join(path));
        }
        if created_dir {
            let _ = std::fs::remove_dir(workdir.join(PROMPTS_DIR));
        }
    }
    Ok(Initialized {
        branch: crate::store::short_branch(branch).to_owned(),
        commit: result?.id(),
    })
}

fn commit_files(
    store: &Store,
    guard: &WriteGuard,
    branch: &str,
    paths: &[String],
    signatures: &Signatures,
) -> Result<crate::store::Committed> {
    let files = store.hash_worktree_files(paths)?;
    let updates = || -> Vec<PathUpdate> {
        files
            .iter()
            .map(|f| PathUpdate::file(f.path.clone(), f.id()))
            .collect()
    };
    let committed = store.commit_on_branch(
        guard,
        branch,
        "init promptreg registry\n",
        signatures,
        &|_| Ok(updates()),
    )?;
    store.sync_index(guard, None, &files)?;
    Ok(committed)
}

fn write_new(path: &Path, content: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(Error::io(path))?;
    file.write_all(content).map_err(Error::io(path))
}
