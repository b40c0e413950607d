//! Archives as git bundles (docs/FORMAT.md §11): writing one holding a set of version tags and a
//! manifest, unpacking one into a scratch repository to check it, and bringing its tags back.
//!
//! Bundles are git's own format, so this is the one place promptreg runs the `git` program: the
//! git directory is always given with `--git-dir`, no shell is involved, and stderr is captured
//! for the error. The user's repository is never written while an archive is made: the refs the
//! bundle records live in a scratch repository whose objects come from the registry's through
//! `objects/info/alternates`.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use chrono::{DateTime, FixedOffset};
use git2::{ErrorCode, Oid, Repository, Signature, Time};

use super::{atomic_temp, Store};
use crate::{Error, Result};

/// The ref a bundle records its manifest under: a commit whose tree holds [`MANIFEST_FILE`].
pub const MANIFEST_REF: &str = "refs/promptreg/archive-manifest";

/// The file of the manifest commit's tree.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The variables that would point a `git` process at another repository than the one named.
const LOCATING_VARIABLES: [&str; 8] = [
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_QUARANTINE_PATH",
];

/// The first lines of a bundle file: its version, the commits it needs but does not hold
/// (prerequisites) and the refs it records.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BundleHeader {
    /// 2 or 3.
    pub version: u8,
    pub prerequisites: Vec<String>,
    /// `(ref name, object id)`, in the file's order.
    pub refs: Vec<(String, Oid)>,
}

/// Reads a bundle's header; `Err` says, in words, why the file is not a bundle.
pub fn read_header(file: &Path) -> std::result::Result<BundleHeader, String> {
    let opened = std::fs::File::open(file).map_err(|e| format!("cannot open it: {e}"))?;
    let mut reader = BufReader::new(opened);
    let mut line = Vec::new();
    let mut header = BundleHeader::default();
    let mut first = true;
    loop {
        line.clear();
        // A header line is an id and a ref name; nothing legitimate comes near this bound.
        let read = (&mut reader)
            .take(64 * 1024)
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("cannot read it: {e}"))?;
        if read == 0 || line.last() != Some(&b'\n') {
            return Err("its header ends early (the file is truncated or not a bundle)".into());
        }
        let text = std::str::from_utf8(&line[..line.len() - 1])
            .map_err(|_| "its header is not text (not a git bundle)".to_owned())?;
        if first {
            header.version = match text {
                "# v2 git bundle" => 2,
                "# v3 git bundle" => 3,
                _ => {
                    return Err(
                        "it does not start with `# v2 git bundle` (not a git bundle)".into(),
                    )
                }
            };
            first = false;
            continue;
        }
        if text.is_empty() {
            return Ok(header);
        }
        if text.starts_with('@') && header.version == 3 {
            continue; // a capability (`@object-format=sha1`)
        }
        if let Some(prerequisite) = text.strip_prefix('-') {
            header.prerequisites.push(prerequisite.to_owned());
            continue;
        }
        let parsed = text
            .split_once(' ')
            .and_then(|(id, name)| Some((Oid::from_str(id).ok()?, name.to_owned())));
        match parsed {
            Some((id, name)) => header.refs.push((name, id)),
            None => return Err(format!("its header has a line that is no ref: `{text}`")),
        }
    }
}

/// A directory removed, with everything in it, when dropped.
struct ScratchDir(PathBuf);

impl ScratchDir {
    /// A new empty directory below `parent`.
    fn new(parent: &Path) -> Result<Self> {
        for attempt in 0..1000u32 {
            let dir = parent.join(format!(
                "promptreg-archive-{}-{attempt}",
                std::process::id()
            ));
            match std::fs::create_dir(&dir) {
                Ok(()) => return Ok(ScratchDir(dir)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::io(dir)(e)),
            }
        }
        Err(Error::io(parent)(std::io::Error::from(
            std::io::ErrorKind::AlreadyExists,
        )))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `git --git-dir <git_dir> <args>` with `stdin` as its input; its stdout, or
/// [`Error::GitCommand`] with its stderr.
fn run_git(git_dir: &Path, args: &[&OsStr], stdin: Option<&[u8]>) -> Result<Vec<u8>> {
    let shown = args
        .iter()
        .take(2)
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    let failed = |stderr: String| Error::GitCommand {
        command: shown.clone(),
        stderr,
    };
    let mut command = Command::new("git");
    command.arg("--git-dir").arg(git_dir).args(args);
    for variable in LOCATING_VARIABLES {
        command.env_remove(variable);
    }
    command
        .env("LC_ALL", "C")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .map_err(|e| failed(format!("cannot run git: {e}")))?;
    let writer = child.stdin.take().map(|mut pipe| {
        let input = stdin.unwrap_or_default().to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        })
    });
    let output = child
        .wait_with_output()
        .map_err(|e| failed(format!("cannot run git: {e}")))?;
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    if output.status.success() {
        Ok(output.stdout)
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        Err(failed(if stderr.is_empty() {
            format!("it exited with {}", output.status)
        } else {
            stderr
        }))
    }
}

/// The `packed-refs` text recording `refs` (sorted by name, as git requires).
fn packed_refs(refs: &mut [(String, Oid)]) -> String {
    refs.sort();
    let mut text = String::from("# pack-refs with: sorted \n");
    for (name, id) in refs.iter() {
        text.push_str(&format!("{id} {name}\n"));
    }
    text
}

/// A bundle unpacked into a scratch repository, opened as a [`Store`] to read what it holds.
pub struct Unpacked {
    // Declared first: the repository closes before its directory is removed.
    pub store: Store,
    _dir: ScratchDir,
}

impl Store {
    /// Writes a bundle at `out` (through a temporary file beside it, renamed into place) that
    /// records `tags` (full ref names and the tag objects they name) with everything they
    /// reach, and [`MANIFEST_REF`]: a commit (dated `when`) whose tree holds `manifest` as
    /// [`MANIFEST_FILE`]. The scratch repository is made below `scratch` and removed after.
    pub fn write_bundle(
        &self,
        out: &Path,
        tags: &[(String, Oid)],
        manifest: &[u8],
        when: DateTime<FixedOffset>,
        scratch: &Path,
    ) -> Result<()> {
        let dir = ScratchDir::new(scratch)?;
        let repo = Repository::init_bare(&dir.0)
            .map_err(Error::git("cannot create a scratch repository"))?;
        let objects = self.common_dir().join("objects");
        let objects = objects.canonicalize().unwrap_or(objects);
        let alternates = dir.0.join("objects/info/alternates");
        std::fs::write(&alternates, format!("{}\n", objects.display()))
            .map_err(Error::io(&alternates))?;
        let manifest_commit = (|| {
            let blob = repo.blob(manifest)?;
            let mut tree = repo.treebuilder(None)?;
            tree.insert(MANIFEST_FILE, blob, 0o100644)?;
            let tree = repo.find_tree(tree.write()?)?;
            let time = Time::new(when.timestamp(), when.offset().local_minus_utc() / 60);
            let who = Signature::new("promptreg archive", "archive@promptreg.invalid", &time)?;
            repo.commit(None, &who, &who, "promptreg archive manifest\n", &tree, &[])
        })()
        .map_err(Error::git("cannot write the archive's manifest"))?;
        drop(repo);
        let mut refs: Vec<(String, Oid)> = tags.to_vec();
        refs.push((MANIFEST_REF.to_owned(), manifest_commit));
        let names: String = refs.iter().map(|(name, _)| format!("{name}\n")).collect();
        let packed = dir.0.join("packed-refs");
        std::fs::write(&packed, packed_refs(&mut refs)).map_err(Error::io(&packed))?;

        let temp = atomic_temp(out);
        let written = run_git(
            &dir.0,
            &[
                OsStr::new("bundle"),
                OsStr::new("create"),
                OsStr::new("--quiet"),
                temp.as_os_str(),
                OsStr::new("--stdin"),
            ],
            Some(names.as_bytes()),
        )
        .and_then(|_| {
            std::fs::File::open(&temp)
                .and_then(|f| f.sync_all())
                .map_err(Error::io(&temp))?;
            std::fs::rename(&temp, out).map_err(Error::io(out))
        });
        if written.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        written
    }

    /// Unpacks the bundle `file` into a new scratch repository below `scratch` (git checks the
    /// pack's checksum and that every object the refs reach is there) and opens it; `Err` with
    /// git's words when it is damaged. The scratch repository goes when the result is dropped.
    pub fn unpack_bundle(
        file: &Path,
        scratch: &Path,
    ) -> Result<std::result::Result<Unpacked, String>> {
        let dir = ScratchDir::new(scratch)?;
        let repo = Repository::init_bare(&dir.0)
            .map_err(Error::git("cannot create a scratch repository"))?;
        drop(repo);
        let file = file.canonicalize().map_err(Error::io(file))?;
        let verified = run_git(
            &dir.0,
            &[
                OsStr::new("bundle"),
                OsStr::new("verify"),
                OsStr::new("--quiet"),
                file.as_os_str(),
            ],
            None,
        );
        if let Err(Error::GitCommand { stderr, .. }) = verified {
            return Ok(Err(stderr));
        }
        verified?;
        let fetched = run_git(
            &dir.0,
            &[
                OsStr::new("fetch"),
                OsStr::new("--quiet"),
                OsStr::new("--no-tags"),
                OsStr::new("--no-write-fetch-head"),
                file.as_os_str(),
                OsStr::new("refs/*:refs/*"),
            ],
            None,
        );
        if let Err(Error::GitCommand { stderr, .. }) = fetched {
            return Ok(Err(stderr));
        }
        fetched?;
        let repo = Repository::open_bare(&dir.0)
            .map_err(Error::git("cannot open the scratch repository"))?;
        Ok(Ok(Unpacked {
            store: Store::from_repository(repo),
            _dir: dir,
        }))
    }

    /// Copies the objects `refs` (full ref names) reach from the bundle `file` into this
    /// repository, without writing any ref.
    pub fn fetch_bundle_objects(&self, file: &Path, refs: &[String]) -> Result<()> {
        let file = file.canonicalize().map_err(Error::io(file))?;
        let names: String = refs.iter().map(|name| format!("{name}\n")).collect();
        run_git(
            self.common_dir(),
            &[
                OsStr::new("fetch"),
                OsStr::new("--quiet"),
                OsStr::new("--no-tags"),
                OsStr::new("--no-write-fetch-head"),
                OsStr::new("--stdin"),
                file.as_os_str(),
            ],
            Some(names.as_bytes()),
        )
        .map(drop)
    }

    /// Creates the ref `refname` naming `id` unless it exists: `Ok(None)` when created,
    /// `Ok(Some(existing))` when it was already there (whatever it names).
    pub fn create_ref_if_absent(&self, refname: &str, id: Oid) -> Result<Option<Oid>> {
        match self
            .repo
            .reference(refname, id, false, "promptreg archive restore")
        {
            Ok(_) => Ok(None),
            Err(e) if e.code() == ErrorCode::Exists => self
                .ref_target(refname)
                .map_err(Error::git(format!("cannot read `{refname}`")))?
                .map(Some)
                .ok_or_else(|| Error::git(format!("cannot create `{refname}`"))(e)),
            Err(e) => Err(Error::git(format!("cannot create `{refname}`"))(e)),
        }
    }

    /// Deletes the ref `refname` if it still names `expected` (a compare-and-swap); `false`
    /// when it names something else or is gone.
    pub fn delete_ref_if(&self, refname: &str, expected: Oid) -> Result<bool> {
        let mut reference = match self.repo.find_reference(refname) {
            Ok(r) => r,
            Err(e) if e.code() == ErrorCode::NotFound => return Ok(false),
            Err(e) => return Err(Error::git(format!("cannot read `{refname}`"))(e)),
        };
        if reference.target() != Some(expected) {
            return Ok(false);
        }
        reference
            .delete()
            .map_err(Error::git(format!("cannot delete `{refname}`")))?;
        Ok(true)
    }

    /// Every id of a blob below the tree `root`, each read once: `Err` names the first that
    /// cannot be read.
    pub fn read_every_blob(&self, root: Oid) -> Result<usize> {
        let tree = self
            .repo
            .find_tree(root)
            .map_err(Error::git(format!("cannot read the tree {root}")))?;
        let mut ids = Vec::new();
        tree.walk(git2::TreeWalkMode::PreOrder, |_, entry| {
            if entry.kind() == Some(git2::ObjectType::Blob) {
                ids.push(entry.id());
            }
            git2::TreeWalkResult::Ok
        })
        .map_err(Error::git(format!("cannot read the tree {root}")))?;
        for id in &ids {
            self.repo
                .find_blob(*id)
                .map_err(Error::git(format!("cannot read the blob {id}")))?;
        }
        Ok(ids.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_of_both_versions_are_read_and_anything_else_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let id = "0123456789012345678901234567890123456789";
        let v3 = dir.path().join("v3");
        std::fs::write(
            &v3,
            format!(
                "# v3 git bundle\n@object-format=sha1\n-{id} base\n{id} refs/tags/a/v1.0.0\n\nPACK"
            ),
        )
        .unwrap();
        let header = read_header(&v3).unwrap();
        assert_eq!(header.version, 3);
        assert_eq!(header.prerequisites.len(), 1);
        assert_eq!(
            header.refs,
            vec![("refs/tags/a/v1.0.0".to_owned(), Oid::from_str(id).unwrap())]
        );
        let other = dir.path().join("other");
        std::fs::write(&other, "hello\n").unwrap();
        assert!(read_header(&other)
            .unwrap_err()
            .contains("not a git bundle"));
        let truncated = dir.path().join("truncated");
        std::fs::write(&truncated, format!("# v2 git bundle\n{id} refs/x")).unwrap();
        assert!(read_header(&truncated).unwrap_err().contains("truncated"));
    }
}
