//! A hermetic test repository: a temporary directory holding a fresh Git repository and an empty
//! HOME, and helpers that run the built `promptreg` binary and the git CLI in the environment of
//! [`super::hermetic`].

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tempfile::TempDir;

use super::{hermetic, Output};

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
        hermetic::apply(command, &self.home).current_dir(&self.root);
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
        Output::of(&mut command)
    }

    /// Runs promptreg from another directory.
    pub fn run_in(&self, dir: &Path, args: &[&str]) -> Output {
        let mut command = self.command(args);
        command.current_dir(dir);
        Output::of(&mut command)
    }

    /// Runs promptreg with `input` on standard input.
    pub fn run_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        let mut command = self.command(args);
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn promptreg");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write stdin");
        Output::from(child.wait_with_output().expect("wait for promptreg"))
    }

    /// Runs git, returning whatever happened.
    pub fn git_output(&self, args: &[&str]) -> Output {
        let mut command = Command::new("git");
        self.hermetic(&mut command);
        command.args(args);
        Output::of(&mut command)
    }

    /// Runs git in another directory (`git -C dir`), with the same environment.
    pub fn git_in(&self, dir: &Path, args: &[&str]) -> Output {
        let mut command = Command::new("git");
        self.hermetic(&mut command);
        command.arg("-C").arg(dir).args(args);
        Output::of(&mut command)
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
