//! What every command shares: global options, the repository, identity, and output settings.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};
use promptreg::store::identity::{self, Signatures};
use promptreg::store::Store;

/// Options accepted by every command.
#[derive(Args, Debug)]
pub struct GlobalArgs {
    /// The registry repository (default: discovered from the current directory, as git does)
    #[arg(long, global = true, env = "PROMPTREG_REPO", value_name = "PATH")]
    pub repo: Option<PathBuf>,
    /// Output format (commands accept the subset they can produce)
    #[arg(long, global = true, value_enum)]
    pub format: Option<Format>,
    /// Read promotion state from this revision instead of HEAD
    #[arg(long = "ref", global = true, value_name = "REF")]
    pub revision: Option<String>,
    /// When to use colour
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Print only data, no status messages
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Yaml,
    Text,
    /// GitHub Actions workflow commands (annotations), for `validate`.
    Github,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Settled global options.
pub struct Context {
    pub repo: Option<PathBuf>,
    pub format: Option<Format>,
    pub revision: Option<String>,
    /// Whether stdout (tables, diffs) is coloured: see [`colour`].
    pub color: bool,
    /// Whether stderr (`error:`, `hint:`, `warning:`) is coloured: see [`colour`].
    pub color_stderr: bool,
    /// How wide tables may be, in columns: see [`width`]. `None`: no limit.
    pub width: Option<u16>,
    pub quiet: bool,
}

/// Where a piece of output goes, for the colour decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// What a coloured piece of output is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Paint {
    Error,
    Hint,
    Warning,
    Removed,
    Added,
}

/// The one colour rule. An explicit `--color always|never` wins; otherwise (`auto`) a non-empty
/// `NO_COLOR` (no-color.org) or `TERM=dumb` turns colour off, and else the stream is coloured
/// when it is a terminal.
pub fn colour(
    choice: ColorChoice,
    no_color: Option<&std::ffi::OsStr>,
    term: Option<&str>,
    terminal: bool,
) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            no_color.is_none_or(|v| v.is_empty()) && term != Some("dumb") && terminal
        }
    }
}

/// The width rule, separate from colour: the terminal's width when stdout is a terminal that
/// reports one, else a positive `COLUMNS`, else no limit.
pub fn width(terminal: Option<u16>, columns: Option<&str>) -> Option<u16> {
    terminal.filter(|w| *w > 0).or_else(|| {
        columns
            .and_then(|c| c.trim().parse::<u16>().ok())
            .filter(|w| *w > 0)
    })
}

/// The width stdout's terminal reports (0 when it reports none), `None` when it is no terminal.
fn terminal_width() -> Option<u16> {
    let stdout = std::io::stdout();
    if !stdout.is_terminal() {
        return None;
    }
    rustix::termios::tcgetwinsize(&stdout)
        .ok()
        .map(|size| size.ws_col)
}

impl Context {
    pub fn new(args: &GlobalArgs) -> Self {
        let no_color = std::env::var_os("NO_COLOR");
        let term = std::env::var("TERM").ok();
        let decide =
            |terminal: bool| colour(args.color, no_color.as_deref(), term.as_deref(), terminal);
        let color = decide(std::io::stdout().is_terminal());
        // comfy-table styles through crossterm, which reads NO_COLOR on its own: tell it the
        // decision made here, so that `--color always` colours every cell, not just bold ones.
        crossterm::style::Colored::set_ansi_color_disabled(!color);
        Context {
            repo: args.repo.clone(),
            format: args.format,
            revision: args.revision.clone(),
            color,
            color_stderr: decide(std::io::stderr().is_terminal()),
            width: width(terminal_width(), std::env::var("COLUMNS").ok().as_deref()),
            quiet: args.quiet,
        }
    }

    /// `text` in the colour of `paint` when `stream` is coloured, else `text` as it is.
    pub fn paint(&self, stream: Stream, paint: Paint, text: &str) -> String {
        let on = match stream {
            Stream::Stdout => self.color,
            Stream::Stderr => self.color_stderr,
        };
        if !on {
            return text.to_owned();
        }
        let code = match paint {
            Paint::Error => "1;31",
            Paint::Hint | Paint::Warning => "1;33",
            Paint::Removed => "31",
            Paint::Added => "32",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    /// Opens the registry repository.
    pub fn store(&self) -> Result<Store> {
        let path = match &self.repo {
            Some(path) => path.clone(),
            None => std::env::current_dir()?,
        };
        Ok(Store::discover(&path)?)
    }

    /// Opens the registry for a write: a bare repository is refused first (a missing identity
    /// is the second thing to fix, not the first), then the author and committer are resolved.
    pub fn writer(&self, operation: &'static str) -> Result<(Store, Signatures)> {
        let store = self.store()?;
        store.workdir(operation)?;
        let signatures = self.signatures(Some(&store))?;
        Ok((store, signatures))
    }

    /// Author and committer, from the environment and git configuration, as git resolves them.
    pub fn signatures(&self, store: Option<&Store>) -> Result<Signatures> {
        let env = |key: &str| std::env::var(key).ok();
        let config = |key: &str| match store {
            Some(store) => store.config_value(key),
            None => identity::user_config_value(key),
        };
        Ok(identity::resolve(&env, &config)?)
    }

    /// The output format: the one asked for if the command supports it, else its default.
    pub fn format(&self, supported: &[Format], default: Format) -> Result<Format> {
        match self.format {
            None => Ok(default),
            Some(f) if supported.contains(&f) => Ok(f),
            Some(f) => Err(crate::cli::error::CliError::Usage(
                format!(
                    "--format {} is not available here; choose one of: {}",
                    name(f),
                    supported
                        .iter()
                        .map(|f| name(*f))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                format!(
                    "drop --format (the default is {}) or choose one of the formats listed",
                    name(default)
                ),
            )
            .into()),
        }
    }

    /// A status line on stderr, unless `--quiet`.
    pub fn status(&self, message: &str) {
        if !self.quiet {
            eprintln!("{message}");
        }
    }

    /// `note: message` on stderr, unless `--quiet`: something worth knowing about the answer
    /// that is not wrong (a split environment served without a key).
    pub fn note(&self, message: &str) {
        if !self.quiet {
            eprintln!("note: {message}");
        }
    }

    /// `warning: message` on stderr, unless `--quiet`.
    pub fn warning(&self, message: &str) {
        if !self.quiet {
            eprintln!(
                "{}: {message}",
                self.paint(Stream::Stderr, Paint::Warning, "warning")
            );
        }
    }
}

fn name(format: Format) -> &'static str {
    match format {
        Format::Table => "table",
        Format::Json => "json",
        Format::Yaml => "yaml",
        Format::Text => "text",
        Format::Github => "github",
    }
}
