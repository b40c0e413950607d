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
    pub color: bool,
    pub color_stderr: bool,
    pub quiet: bool,
}

impl Context {
    pub fn new(args: &GlobalArgs) -> Self {
        let allowed = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && std::env::var("TERM").map_or(true, |t| t != "dumb");
        let decide = |terminal: bool| match args.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => allowed && terminal,
        };
        Context {
            repo: args.repo.clone(),
            format: args.format,
            revision: args.revision.clone(),
            color: decide(std::io::stdout().is_terminal()),
            color_stderr: decide(std::io::stderr().is_terminal()),
            quiet: args.quiet,
        }
    }

    /// Opens the registry repository.
    pub fn store(&self) -> Result<Store> {
        let path = match &self.repo {
            Some(path) => path.clone(),
            None => std::env::current_dir()?,
        };
        Ok(Store::discover(&path)?)
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
            Some(f) => Err(crate::cli::report::Usage(format!(
                "--format {} is not available here; choose one of: {}",
                name(f),
                supported
                    .iter()
                    .map(|f| name(*f))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .into()),
        }
    }

    /// A status line on stderr, unless `--quiet`.
    pub fn status(&self, message: &str) {
        if !self.quiet {
            eprintln!("{message}");
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
