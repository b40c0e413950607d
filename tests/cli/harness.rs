//! A hermetic test repository: a temporary directory holding a fresh Git repository and an empty
//! HOME, and helpers that run the built `promptreg` binary and the git CLI with a fixed
//! environment (fixed identities and dates, no user or system git configuration).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tempfile::TempDir;

pub const AUTHOR_NAME: &str = "Test Author";
pub const AUTHOR_EMAIL: &str = "author@example.com";
pub const COMMITTER_NAME: &str = "Test Committer";
pub const COMMITTER_EMAIL: &str = "committer@example.com";
pub const DATE: &str = "2026-01-01T00:00:00+00:00";

/// The variables that make git and promptreg resolve an identity.
pub const IDENTITY_VARS: [&str; 6] = [
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_AUTHOR_DATE",
    "GIT_COMMITTER_NAME",
    "GIT_COMMITTER_EMAIL",
    "GIT_COMMITTER_DATE",
];

/// What a command did.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Asserts the exit code, showing both streams when it differs.
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code, expected,
            "unexpected exit code\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts success.
    #[track_caller]
    pub fn ok(&self) -> &Self {
        self.code(0)
    }

    /// Asserts a refusal: exit 1, nothing on stdout, an `error:` on stderr.
    #[track_caller]
    pub fn refused(&self) -> &Self {
        self.code(1);
        assert_eq!(self.stdout, "", "stdout must be empty on errors");
        assert!(self.stderr.contains("error"), "stderr: {}", self.stderr);
        self
    }

    /// Asserts a usage error: exit 2, nothing on stdout.
    #[track_caller]
    pub fn usage(&self) -> &Self {
        self.code(2);
        assert_eq!(self.stdout, "", "stdout must be empty on usage errors");
        self
    }

    /// Asserts that stderr contains every one of `needles`.
    #[track_caller]
    pub fn stderr_has(&self, needles: &[&str]) -> &Self {
        for needle in needles {
            assert!(
                self.stderr.contains(needle),
                "stderr lacks {needle:?}:\n{}",
                self.stderr
            );
        }
        self
    }

    /// Parses stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// The state a refused command must leave exactly as it was.
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

/// A temporary Git repository and an empty HOME.
pub struct TestRepo {
    dir: TempDir,
    pub root: PathBuf,
    pub home: PathBuf,
}

impl TestRepo {
    /// A fresh repository on branch `main`, with no commit and no registry.
    pub fn new() -> Self {
        let repo = Self::bare_dir();
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    /// A directory that is not a Git repository (HOME beside it).
    pub fn bare_dir() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("repo");
        let home = dir.path().join("home");
        std::fs::create_dir_all(&root).expect("create repo dir");
        std::fs::create_dir_all(&home).expect("create home dir");
        TestRepo { dir, root, home }
    }

    /// A fresh repository with `promptreg init` done.
    pub fn init() -> Self {
        let repo = Self::new();
        repo.run(&["init"]).ok();
        repo
    }

    /// The temporary directory that holds the repository and HOME.
    pub fn tmp(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside the working tree.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    fn hermetic(&self, command: &mut Command) {
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("LANG", "C")
            .env("NO_COLOR", "1")
            .env("GIT_AUTHOR_NAME", AUTHOR_NAME)
            .env("GIT_AUTHOR_EMAIL", AUTHOR_EMAIL)
            .env("GIT_AUTHOR_DATE", DATE)
            .env("GIT_COMMITTER_NAME", COMMITTER_NAME)
            .env("GIT_COMMITTER_EMAIL", COMMITTER_EMAIL)
            .env("GIT_COMMITTER_DATE", DATE)
            .current_dir(&self.root)
            .stdin(Stdio::null());
    }

    /// The promptreg command with the hermetic environment, not yet run.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_promptreg"));
        self.hermetic(&mut command);
        command.args(args);
        command
    }

    /// Runs promptreg.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, &[], &[])
    }

    /// Runs promptreg with extra variables set and some removed.
    pub fn run_with(&self, args: &[&str], set: &[(&str, &str)], remove: &[&str]) -> Output {
        let mut command = self.command(args);
        for key in remove {
            command.env_remove(key);
        }
        for (key, value) in set {
            command.env(key, value);
        }
        output(&mut command)
    }

    /// Runs promptreg from another directory.
    pub fn run_in(&self, dir: &Path, args: &[&str]) -> Output {
        let mut command = self.command(args);
        command.current_dir(dir);
        output(&mut command)
    }

    /// Runs git, returning whatever happened.
    pub fn git_output(&self, args: &[&str]) -> Output {
        let mut command = Command::new("git");
        self.hermetic(&mut command);
        command.args(args);
        output(&mut command)
    }

    /// Runs git in another directory (`git -C dir`), with the same environment.
    pub fn git_in(&self, dir: &Path, args: &[&str]) -> Output {
        let mut command = Command::new("git");
        self.hermetic(&mut command);
        command.arg("-C").arg(dir).args(args);
        output(&mut command)
    }

    /// Runs git, asserting success, and returns its stdout.
    #[track_caller]
    pub fn git(&self, args: &[&str]) -> String {
        let out = self.git_output(args);
        assert_eq!(out.code, 0, "git {args:?} failed:\n{}", out.stderr);
        out.stdout
    }

    /// `git rev-parse` of `revision`.
    #[track_caller]
    pub fn rev(&self, revision: &str) -> String {
        self.git(&["rev-parse", "--verify", "-q", revision])
            .trim()
            .to_owned()
    }

    /// Writes a working-tree file, creating directories.
    pub fn write(&self, relative: &str, content: &str) {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("create dirs");
        std::fs::write(&path, content).expect("write file");
    }

    /// Reads a working-tree file.
    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path(relative)).expect("read file")
    }

    /// Writes a valid `prompts/<name>/prompt.yaml` whose system prompt is `text` (plus a newline).
    pub fn write_prompt(&self, name: &str, text: &str) {
        self.write(&prompt_file(name), &prompt_yaml(name, text));
    }

    /// Writes a valid prompt and releases it, asserting success.
    #[track_caller]
    pub fn release(&self, name: &str, version: &str, text: &str) {
        self.write_prompt(name, text);
        let out = self.run(&["create", name, "--version", version, "-m", "release"]);
        out.ok();
        assert_eq!(out.stdout, format!("{version}\n"));
    }

    /// Promotes, asserting success.
    #[track_caller]
    pub fn promote(&self, name: &str, version: &str, env: &str) {
        self.run(&["promote", name, version, "--to", env, "--reason", "test"])
            .ok();
    }

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

    /// Asserts `git fsck --strict` passes.
    #[track_caller]
    pub fn fsck(&self) {
        let out = self.git_output(&["fsck", "--strict"]);
        assert_eq!(out.code, 0, "git fsck --strict failed:\n{}", out.stderr);
    }

    /// The paths a commit changed, relative to its first parent (or all, for a root commit).
    pub fn changed_paths(&self, commit: &str) -> Vec<String> {
        self.git(&[
            "diff-tree",
            "--root",
            "--no-commit-id",
            "--name-only",
            "-r",
            commit,
        ])
        .lines()
        .map(str::to_owned)
        .collect()
    }

    /// The number of commits reachable from HEAD.
    pub fn commit_count(&self) -> usize {
        self.git(&["rev-list", "--count", "HEAD"])
            .trim()
            .parse()
            .expect("a count")
    }
}

/// `prompts/<name>/prompt.yaml`.
pub fn prompt_file(name: &str) -> String {
    format!("prompts/{name}/prompt.yaml")
}

/// A valid prompt definition.
pub fn prompt_yaml(name: &str, text: &str) -> String {
    format!(
        "summary: The {name} prompt\nmodel: gpt-4o\nsystem_prompt: |\n  {text}\nvariables:\n  user_name:\n    description: Who is asking\n"
    )
}

fn output(command: &mut Command) -> Output {
    let out = command.output().expect("spawn command");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
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

/// A memory figure of a running process from `/proc/<pid>/status`, in KiB: `VmRSS` (resident
/// now) or `VmHWM` (peak resident).
pub fn proc_memory_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"))
}
