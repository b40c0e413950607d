//! The state of a test repository that a refused command must leave exactly as it was, and the
//! one helper that asserts it.

use std::collections::BTreeMap;
use std::path::Path;

use super::{Output, TestRepo};

/// Everything a refused command must not change: where HEAD points, every ref and the object it
/// names, the index entries, `git status`, and every working-tree entry byte for byte.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub head: String,
    pub refs: String,
    pub status: String,
    pub index: String,
    pub files: BTreeMap<String, Bytes>,
}

/// File content compared byte for byte, shown as text in assertion messages.
#[derive(PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>);

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(&self.0))
    }
}

impl TestRepo {
    /// Everything a refused command must not change.
    pub fn snapshot(&self) -> Snapshot {
        let mut files = BTreeMap::new();
        collect(&self.root, &self.root, &mut files);
        Snapshot {
            head: std::fs::read_to_string(self.root.join(".git/HEAD")).unwrap_or_default(),
            refs: self.git(&["for-each-ref", "--format=%(refname) %(objectname)"]),
            status: self.git(&["status", "--porcelain=v1", "-uall"]),
            index: self.git(&["ls-files", "-s"]),
            files,
        }
    }

    /// Runs promptreg with `args` and asserts a refusal that left the repository as it was:
    /// exit 1, nothing on stdout, an `error:` on stderr, and the same [`Snapshot`] (HEAD, refs,
    /// index, status, working tree) after as before. Returns the output for further checks.
    #[track_caller]
    pub fn refuses_unchanged(&self, args: &[&str]) -> Output {
        let before = self.snapshot();
        let out = self.run(args);
        out.refused();
        assert_eq!(
            before,
            self.snapshot(),
            "a refused {args:?} changed the repository\n--- stderr ---\n{}",
            out.stderr
        );
        out
    }

    /// Runs `command` (any run of promptreg: other variables, another directory, a usage error)
    /// and asserts it left the repository's [`Snapshot`] as it was; returns its output.
    #[track_caller]
    pub fn unchanged_by(&self, command: impl FnOnce() -> Output) -> Output {
        let before = self.snapshot();
        let out = command();
        let after = self.snapshot();
        assert_eq!(
            before, after,
            "the command changed the repository\n--- stdout ---\n{}\n--- stderr ---\n{}",
            out.stdout, out.stderr
        );
        out
    }
}

/// Every entry under `dir` except `.git`: file contents, symlink targets, and directories.
fn collect(root: &Path, dir: &Path, out: &mut BTreeMap<String, Bytes>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let entry = entry.expect("dir entry");
        let path = entry.path();
        let relative = path
            .strip_prefix(root)
            .expect("under root")
            .to_string_lossy()
            .into_owned();
        if relative == ".git" {
            continue;
        }
        let kind = entry.file_type().expect("file type");
        if kind.is_symlink() {
            let target = std::fs::read_link(&path).expect("read link");
            out.insert(
                format!("{relative} -> symlink"),
                Bytes(target.to_string_lossy().into_owned().into_bytes()),
            );
        } else if kind.is_dir() {
            out.insert(format!("{relative}/"), Bytes(Vec::new()));
            collect(root, &path, out);
        } else {
            out.insert(relative, Bytes(std::fs::read(&path).expect("read file")));
        }
    }
}
