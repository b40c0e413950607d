//! What a write did, for scripts: the one object `create`, `promote`, `rollback`, `split`,
//! `results record|import` and `init` print with `--format json|yaml` (docs/FORMAT.md §8.1).
//! Every key is always present (null when it does not apply), in this order; the shape is
//! stable and new keys may be added at the end. Without `--format` these commands print as
//! before: `create` the new version, the others nothing on stdout; the human line is on stderr.

use anyhow::Result;
use serde::Serialize;

use super::context::Format;
use super::{output, Context};

/// What a write did.
#[derive(Debug, Default, Serialize)]
pub struct Written {
    /// `create`, `promote`, `rollback`, `split`, `results record`, `results import` or `init`.
    pub command: &'static str,
    /// The prompt.
    pub name: Option<String>,
    /// The version released, promoted (or canaried), rolled back to or tested; null for
    /// `split`.
    pub version: Option<String>,
    /// That version's tag, `name/vversion`.
    pub tag: Option<String>,
    /// The commit the write made or completed; null when nothing changed.
    pub commit: Option<String>,
    /// Whether this run made the commit (false: nothing to do, or `create` completing a
    /// release whose commit had landed before its tag).
    pub new_commit: bool,
    /// The pointer move of `promote`, `rollback` and `split`.
    #[serde(rename = "move")]
    pub movement: Option<Move>,
    /// The run `results record|import` recorded (docs/FORMAT.md §10).
    pub test: Option<promptreg_wire::TestSummary>,
    /// How `create --bump auto` chose the bump.
    pub bump: Option<Bump>,
    /// `init`: the branch made a registry.
    pub branch: Option<String>,
    /// `init --example`: the new repository.
    pub directory: Option<String>,
    /// `init --example`: what it released, tested and promoted, in order.
    pub events: Option<Vec<ExampleEvent>>,
}

/// A pointer move.
#[derive(Debug, Serialize)]
pub struct Move {
    pub environment: String,
    /// `promoted`, `reverted` or `split` (as in the audit trail).
    pub change: &'static str,
    /// What the environment held: a version, or a split as `1.1.0=90 1.2.0=10`.
    pub from: Option<String>,
    /// What it holds now, in the same form.
    pub to: String,
    /// Whether the pipeline rule or a gate was overridden with `--force`.
    pub forced: bool,
    pub reason: String,
}

/// The bump `create --bump auto` chose.
#[derive(Debug, Serialize)]
pub struct Bump {
    /// `major`, `minor` or `patch`.
    pub bump: &'static str,
    pub reason: String,
}

/// One step of `init --example`.
#[derive(Debug, Serialize)]
pub struct ExampleEvent {
    /// `created`, `tested` or `promoted`.
    pub event: &'static str,
    pub name: String,
    pub version: String,
    pub environment: Option<String>,
    pub test: Option<String>,
}

/// The formats a write that prints nothing on stdout by default accepts (`text`, its default,
/// is not offered: it prints nothing).
pub const FORMATS: [Format; 2] = [Format::Json, Format::Yaml];

/// Prints `written` in `format` (nothing for the default text, whose line is on stderr).
pub fn print(format: Format, written: &Written) -> Result<()> {
    match format {
        Format::Json => output::json(written),
        Format::Yaml => output::yaml(written),
        _ => Ok(()),
    }
}

impl Context {
    /// Refuses the global `--ref` for a write: writes go to the checked-out branch.
    pub fn refuse_ref(&self, command: &str) -> Result<()> {
        match &self.revision {
            None => Ok(()),
            Some(revision) => Err(super::CliError::usage_hint(
                format!(
                    "--ref `{revision}` cannot be used with `{command}`: writes go to the checked-out branch"
                ),
                format!(
                    "check it out first (`git switch {revision}`, or `git worktree add DIR {revision}` and --repo DIR) and run it without --ref"
                ),
            )
            .into()),
        }
    }
}
