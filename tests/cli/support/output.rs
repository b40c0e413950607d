//! What a command did, and the assertions the tests make of it.

use std::process::Command;

/// What a command did.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Runs `command` to completion, capturing both streams.
    pub fn of(command: &mut Command) -> Self {
        Self::from(command.output().expect("spawn command"))
    }

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

impl From<std::process::Output> for Output {
    fn from(out: std::process::Output) -> Self {
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}
