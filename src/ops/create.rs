//! `create`: release the working-tree content of `prompts/<name>/` as a new version.
//!
//! Like `git commit -- prompts/<name>`: the commit holds HEAD's tree with exactly that directory
//! replaced, the index entries of that directory are updated to match, and nothing else the user
//! has staged or changed is touched. The annotated tag `<name>/v<version>` is reserved (its ref
//! locked and checked writable) before the commit and landed right after it, so a tag that
//! cannot be written refuses the whole release. A writer killed between the two leaves an
//! untagged `create` commit: a retry of the same release finds its content at the tip and tags
//! it, and `doctor` reports (and with `--fix` tags) it.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use crate::model::prompt::PromptFile;
use crate::model::version::{auto_bump, Bump};
use crate::store::identity::Signatures;
use crate::store::DirComponents;
use crate::store::{ObjectId, PathUpdate, Store, TreeView, WriteGuard};
use crate::{Error, PromptName, Result, Version, PROMPT_FILE};

/// Which version to release.
#[derive(Clone, Debug)]
pub enum VersionChoice {
    Exact(Version),
    Bump(Bump),
    /// The bump [`auto_bump`] picks from what changed against the highest existing version;
    /// 1.0.0 when there is none (a first release is a complete contract).
    Auto,
}

/// The bump `--bump auto` chose, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AutoBump {
    pub bump: Bump,
    /// `variable `tone` removed`, or `first version`.
    pub reason: String,
}

/// Where the released `prompt.yaml` comes from. The rest of the prompt directory (component
/// files and anything else in it) is always the working tree's.
#[derive(Clone, Debug, Default)]
pub enum PromptSource {
    /// The working tree's `prompts/<name>/prompt.yaml`, as it is.
    #[default]
    WorkTree,
    /// A file (`create --file`) that becomes the prompt's `prompt.yaml` first; errors about its
    /// content name this path.
    File(PathBuf),
    /// Content (a server request's fields) that becomes the prompt's `prompt.yaml` first;
    /// errors about it name `prompts/<name>/prompt.yaml`.
    Content(Vec<u8>),
}

/// What to release.
#[derive(Clone, Debug)]
pub struct CreateRequest {
    pub name: PromptName,
    pub version: VersionChoice,
    /// The changelog, stored as the tag message.
    pub message: String,
    /// Where `prompt.yaml` comes from.
    pub source: PromptSource,
    /// Release even when the content equals the highest existing version.
    pub allow_unchanged: bool,
}

/// What `create` did.
#[derive(Clone, Debug)]
pub struct Created {
    pub name: PromptName,
    pub version: Version,
    pub tag: String,
    pub commit: ObjectId,
    /// False when HEAD already held exactly this content and was tagged as it is.
    pub new_commit: bool,
    /// What `VersionChoice::Auto` decided (`None` for the other choices).
    pub auto: Option<AutoBump>,
}

/// Releases a version; refuses (changing nothing) on any problem.
pub fn create(store: &Store, request: &CreateRequest, signatures: &Signatures) -> Result<Created> {
    // A link or special file in the prompt directory (or on the way to it) is refused before the
    // lock is taken and before libgit2 hashes anything: a FIFO must not block a writer.
    crate::fsread::WorkTree::new(store.workdir("create")?).check_dir(&request.name.dir())?;
    let start = super::write_start::begin(store, "create")?;
    let (workdir, branch) = (&start.workdir, &start.branch);
    let head_tree = start.registry_tree(store)?;
    let name = &request.name;
    // The release's identity is its tag's tagger, the committer (what `audit` judges).
    super::access::check_action_at(
        store,
        head_tree,
        &signatures.committer.email,
        crate::model::access::Action::Release,
        name,
    )?;
    let existing = store.versions(name)?;
    let highest = existing.last().map(|(v, _)| v.clone());
    let taken = |version: &Version| -> Result<()> {
        if existing.iter().any(|(v, _)| v == version) || store.version_exists(name, version) {
            return Err(Error::VersionExists {
                name: name.to_string(),
                version: version.to_string(),
                highest: highest.as_ref().map(ToString::to_string),
            });
        }
        Ok(())
    };
    // The automatic bump needs the content, so its version is settled after reading it.
    let chosen = match &request.version {
        VersionChoice::Exact(v) => Some(v.clone()),
        VersionChoice::Bump(bump) => Some(Version::bumped(highest.as_ref(), *bump)),
        VersionChoice::Auto => None,
    };
    if let Some(version) = &chosen {
        taken(version)?;
    }
    check_not_nested(store, workdir, head_tree, name)?;

    let dir = workdir.join(name.dir());
    let prompt_path = dir.join(PROMPT_FILE);
    let shown = PathBuf::from(name.file());
    let limit = crate::model::yaml::MAX_DOCUMENT_BYTES;
    // In-memory content gets the same size limit from the parser as a file read gets here.
    let (content, shown) = match &request.source {
        PromptSource::File(file) => (
            Cow::Owned(crate::fsread::read_named(file, limit)?),
            file.clone(),
        ),
        PromptSource::Content(bytes) => (Cow::Borrowed(bytes.as_slice()), shown),
        PromptSource::WorkTree => {
            match crate::fsread::WorkTree::new(workdir).read_bounded(&name.file(), limit)? {
                Some(bytes) => (Cow::Owned(bytes), shown),
                None => return Err(Error::PromptFileMissing { path: shown }),
            }
        }
    };
    let parsed = PromptFile::parse(&content, &shown)?;
    let components: Vec<String> = parsed.component_paths().map(str::to_owned).collect();
    let resolved = parsed.resolve(&DirComponents {
        root: workdir,
        dir: name.dir(),
    })?;
    let (version, auto) = match chosen {
        Some(version) => (version, None),
        None => {
            let auto = match &highest {
                None => AutoBump {
                    bump: Bump::Major,
                    reason: "first version".into(),
                },
                Some(highest) => {
                    let release = store
                        .release(name, highest)?
                        .ok_or_else(|| crate::read::missing_version(store, name, highest))?;
                    let old = crate::read::read_prompt(store, &release)?;
                    let (bump, reason) = auto_bump(&old, &resolved);
                    AutoBump { bump, reason }
                }
            };
            let version = Version::bumped(highest.as_ref(), auto.bump);
            taken(&version)?;
            (version, Some(auto))
        }
    };

    // From here on the working tree may change; undo puts `prompt.yaml` back on failure.
    let restore = match &request.source {
        PromptSource::WorkTree => None,
        PromptSource::File(_) | PromptSource::Content(_) => {
            Some(replace_file(&prompt_path, &content)?)
        }
    };
    let result = release(
        store,
        &start.guard,
        request,
        branch,
        &version,
        highest.as_ref(),
        &components,
        signatures,
    )
    .map(|created| Created { auto, ..created });
    if result.is_err() {
        // Only while nothing was committed: once the commit landed (the tag or the index step
        // failed after it), HEAD and the index hold the new file, and putting the old one back
        // would have the user's next `git commit -a` revert the release.
        let before = start.tip.as_ref().map(|(id, _)| *id);
        let landed = store.head_branch().map_or(true, |(_, tip)| tip != before);
        if let (Some(previous), false) = (restore, landed) {
            previous.undo(&prompt_path);
        }
    }
    result
}

#[allow(clippy::too_many_arguments)]
fn release(
    store: &Store,
    guard: &WriteGuard,
    request: &CreateRequest,
    branch: &str,
    version: &Version,
    highest: Option<&Version>,
    request_components: &[String],
    signatures: &Signatures,
) -> Result<Created> {
    let name = &request.name;
    let workdir = store.workdir("create")?;
    let mut paths = Vec::new();
    let dir = name.dir();
    let mut required = vec![format!("{dir}/{PROMPT_FILE}")];
    required.extend(request_components.iter().map(|c| format!("{dir}/{c}")));
    collect_files(store, workdir, &dir, &required, &mut paths)?;
    refuse_what_validate_rejects(store, &dir)?;
    let files = store.hash_worktree_files(&paths)?;
    let subtree = store.tree_of(&files, &name.dir())?;
    if let (Some(highest), false) = (highest, request.allow_unchanged) {
        if released_tree(store, name, highest)? == Some(subtree) {
            return Err(Error::Unchanged {
                name: name.to_string(),
                version: highest.to_string(),
            });
        }
    }
    let message = crate::model::trailers::create_message(name, version, &request.message);
    // The tag must be writable before anything is committed: its ref is locked and checked
    // now, and landed after the commit; a refusal here leaves nothing behind.
    let reservation = store.reserve_tag(guard, name, version)?;
    let committed = store.commit_on_branch(guard, branch, &message, signatures, &|_| {
        Ok(vec![PathUpdate::tree(name.dir(), subtree)])
    })?;
    let tagged = store.create_release_tag(
        reservation,
        name,
        version,
        committed.id(),
        &signatures.committer,
        &request.message,
    );
    // The commit landed: the index follows it whether or not the tag could be written.
    let synced = store.sync_index(guard, Some(&name.dir()), &files);
    tagged?;
    synced?;
    Ok(Created {
        name: name.clone(),
        version: version.clone(),
        tag: version.tag_name(name),
        commit: committed.id(),
        new_commit: matches!(committed, crate::store::Committed::New(_)),
        auto: None,
    })
}

/// Runs `validate`'s checks on the prompt as it is in the working tree (templates, the variable
/// contract, the token budget — beyond what parsing checks) and refuses the first error, so no
/// release is ever one that `validate` would reject.
fn refuse_what_validate_rejects(store: &Store, dir: &str) -> Result<()> {
    let options = crate::validate::Options {
        source: crate::validate::Source::WorkTree,
        paths: Some(vec![format!("{dir}/{PROMPT_FILE}")]),
    };
    let report = crate::validate::validate(store, &options)?;
    let inside = |f: &&crate::validate::Finding| f.file.starts_with(&format!("{dir}/"));
    match report
        .findings
        .iter()
        .filter(inside)
        .find(|f| f.severity == crate::validate::Severity::Error)
    {
        None => Ok(()),
        Some(finding) => Err(Error::Invalid {
            file: PathBuf::from(&finding.file),
            message: format!(
                "{}{} [{}]",
                finding
                    .line
                    .map_or(String::new(), |l| format!("line {l}: ")),
                finding.message,
                finding.code
            ),
        }),
    }
}

/// The tree id of `prompts/<name>` in a released version.
fn released_tree(store: &Store, name: &PromptName, version: &Version) -> Result<Option<ObjectId>> {
    let Some(release) = store.release(name, version)? else {
        return Ok(None);
    };
    let commit = store
        .find_commit(release.commit)
        .map_err(Error::git("cannot read a release commit"))?;
    let tree = commit
        .tree()
        .map_err(Error::git("cannot read a release tree"))?;
    Ok(store.entry_id(&tree, &name.dir()))
}

/// A prompt directory cannot sit inside another prompt's directory, nor hold one, whether the
/// other prompt is in the working tree, committed at HEAD, or only released as tags. Nor may
/// any directory on the way be a symbolic link (it could lead out of the repository).
fn check_not_nested(
    store: &Store,
    workdir: &Path,
    head: &TreeView<'_>,
    name: &PromptName,
) -> Result<()> {
    let nested = |message: String| {
        Err(Error::Invalid {
            file: PathBuf::from(name.dir()),
            message,
        })
    };
    let segments: Vec<&str> = name.as_str().split('/').collect();
    let mut on_disk = workdir.join(crate::PROMPTS_DIR);
    for segment in &segments {
        if std::fs::symlink_metadata(&on_disk).is_ok_and(|m| m.file_type().is_symlink()) {
            return nested(format!(
                "`{}` is a symbolic link; prompt directories must be real directories",
                on_disk.strip_prefix(workdir).unwrap_or(&on_disk).display()
            ));
        }
        on_disk.push(segment);
    }
    if std::fs::symlink_metadata(&on_disk).is_ok_and(|m| m.file_type().is_symlink()) {
        return nested("is a symbolic link; prompt directories must be real directories".into());
    }
    for depth in 1..segments.len() {
        let parent = PromptName::parse(&segments[..depth].join("/"))?;
        if workdir.join(parent.file()).exists()
            || store.entry_id(head, &parent.file()).is_some()
            || !store.versions(&parent)?.is_empty()
        {
            return nested(format!(
                "is inside the prompt `{parent}`; a prompt directory cannot contain another prompt"
            ));
        }
    }
    if let Some(child) = store.descendant_prompt(head, name)? {
        return nested(format!(
            "holds the prompt `{child}`; a prompt directory cannot contain another prompt"
        ));
    }
    Ok(())
}

/// Every regular file under `dir` (repository-relative) that is not ignored or is `required`
/// (prompt.yaml and the components it names are released even if ignored), refusing symlinks
/// and nested prompts.
fn collect_files(
    store: &Store,
    workdir: &Path,
    dir: &str,
    required: &[String],
    out: &mut Vec<String>,
) -> Result<()> {
    let full = workdir.join(dir);
    let mut entries: Vec<_> = std::fs::read_dir(&full)
        .map_err(Error::io(&full))?
        .collect::<std::io::Result<_>>()
        .map_err(Error::io(&full))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let Ok(file_name) = entry.file_name().into_string() else {
            return Err(Error::Invalid {
                file: entry.path(),
                message: "file names must be UTF-8".into(),
            });
        };
        let path = format!("{dir}/{file_name}");
        let needed = required.contains(&path);
        if file_name == ".git" || (!needed && store.is_ignored(&path)) {
            continue;
        }
        let kind = entry.file_type().map_err(Error::io(entry.path()))?;
        if kind.is_symlink() {
            return Err(Error::Invalid {
                file: PathBuf::from(&path),
                message: "is a symbolic link; prompt directories hold regular files only".into(),
            });
        } else if kind.is_dir() {
            if full.join(&file_name).join(PROMPT_FILE).exists() {
                return Err(Error::Invalid {
                    file: PathBuf::from(&path),
                    message:
                        "holds a prompt.yaml; a prompt directory cannot contain another prompt"
                            .into(),
                });
            }
            collect_files(store, workdir, &path, required, out)?;
        } else if kind.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

/// What was at a path before promptreg wrote it, and the directories made for it (deepest
/// first), so that undoing a refused release of a new prompt leaves no empty directory behind.
struct Previous(Option<Vec<u8>>, Vec<PathBuf>);

impl Previous {
    fn undo(self, path: &Path) {
        let _ = match self.0 {
            Some(bytes) => std::fs::write(path, bytes),
            None => std::fs::remove_file(path),
        };
        for dir in self.1 {
            // Only while empty: anything else in it is not ours to remove.
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Writes `content` to `path` atomically (temp file, then rename), returning what was there.
fn replace_file(path: &Path, content: &[u8]) -> Result<Previous> {
    let previous = std::fs::read(path).ok();
    let mut made = Vec::new();
    if let Some(parent) = path.parent() {
        made = parent
            .ancestors()
            .take_while(|dir| !dir.exists())
            .map(Path::to_path_buf)
            .collect();
        std::fs::create_dir_all(parent).map_err(Error::io(parent))?;
    }
    crate::store::write_atomic(path, content)?;
    Ok(Previous(previous, made))
}
