//! How a command that does not succeed ends: [`CliError`] says which exit status it ends with
//! and whether an `error:` line is printed. Library errors (`promptreg::Error`) and everything
//! else a command can fail with end with status 1 and an `error:` line; `main` alone turns an
//! outcome into the process's exit status.

/// A command's own way of not succeeding.
#[derive(Debug)]
pub enum CliError {
    /// A usage error found after argument parsing: `error: <message>`, `hint: <hint>`, exit
    /// status 2.
    Usage(String, String),
    /// A command refused, or a check ran and found problems it has already printed:
    /// `error: <message>`, `hint: <hint>`, status 1.
    Failed(String, String),
    /// The command printed its whole answer and the answer is "no" — `diff` found differences
    /// (as `diff(1)` and `git diff --exit-code` do), `doctor` left problems: no `error:` line,
    /// exit status `code`.
    Status { code: u8 },
}

impl CliError {
    /// A usage error with a hint.
    pub fn usage_hint(message: impl Into<String>, hint: impl Into<String>) -> Self {
        CliError::Usage(message.into(), hint.into())
    }

    /// The exit status this ends the process with.
    pub fn code(&self) -> u8 {
        match self {
            CliError::Usage(..) => 2,
            CliError::Failed(..) => 1,
            CliError::Status { code } => *code,
        }
    }

    /// Whether the reporter prints an `error:` line for it.
    pub fn prints_error(&self) -> bool {
        match self {
            CliError::Usage(..) | CliError::Failed(..) => true,
            CliError::Status { .. } => false,
        }
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CliError::Usage(message, _) | CliError::Failed(message, _) => f.write_str(message),
            CliError::Status { code } => write!(f, "exit status {code}"),
        }
    }
}

impl std::error::Error for CliError {}

impl CliError {
    /// What to do about it, for the `hint:` line (`None`: nothing is printed).
    pub fn hint(&self) -> Option<&str> {
        match self {
            CliError::Usage(_, hint) | CliError::Failed(_, hint) => Some(hint),
            CliError::Status { .. } => None,
        }
    }
}
