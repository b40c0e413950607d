//! `promptreg completions`

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{output, Cli, Context};

/// Print a shell completion script, or the man page with --man
///
/// The script completes subcommands, options and their fixed values. See docs/EDITORS.md for
/// where to install it.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  promptreg completions bash > ~/.local/share/bash-completion/completions/promptreg\n  promptreg completions zsh > ~/.zfunc/_promptreg\n  promptreg completions fish > ~/.config/fish/completions/promptreg.fish\n  promptreg completions --man --dir ~/.local/share/man/man1   # promptreg.1 and promptreg-init.1, …\n  promptreg completions --man > promptreg.1                    # the main page alone"
)]
#[command(group(
    clap::ArgGroup::new("what").required(true).multiple(false).args(["shell", "man"])
))]
pub struct Args {
    /// The shell to complete for
    #[arg(value_enum)]
    shell: Option<Shell>,
    /// Print the man page (roff) instead
    #[arg(long)]
    man: bool,
    /// With --man: write every man page into DIR (created if missing) instead of printing the
    /// main one: promptreg.1 and one per subcommand (promptreg-init.1, promptreg-results-record.1, …)
    #[arg(long, value_name = "DIR", requires = "man")]
    dir: Option<PathBuf>,
}

pub fn run(context: &Context, args: &Args) -> Result<()> {
    let mut command = Cli::command();
    let mut out = Vec::new();
    match (args.shell, &args.dir) {
        (Some(shell), _) => {
            let name = command.get_name().to_owned();
            clap_complete::generate(shell, &mut command, name, &mut out);
        }
        (None, Some(dir)) => return write_man_pages(context, dir),
        (None, None) => clap_mangen::Man::new(man_command()).render(&mut out)?,
    }
    output::print(&String::from_utf8(out)?)
}

/// The command tree the man pages describe: without clap's `help` subcommand, which has no page
/// of its own (`promptreg help X` is `promptreg X --help`).
fn man_command() -> clap::Command {
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    command
}

/// Writes `promptreg.1` and a page for every visible subcommand, at any depth, into `dir`.
fn write_man_pages(context: &Context, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let mut pages = Vec::new();
    let mut pending = vec![man_command()];
    while let Some(command) = pending.pop() {
        pending.extend(
            command
                .get_subcommands()
                .filter(|c| !c.is_hide_set())
                .cloned(),
        );
        let man = clap_mangen::Man::new(command);
        let mut roff = Vec::new();
        man.render(&mut roff)?;
        let path = dir.join(man.get_filename());
        promptreg::store::write_atomic(&path, &roff)?;
        pages.push(man.get_filename());
    }
    pages.sort();
    context.status(&format!(
        "wrote {} man pages to {}: {}",
        pages.len(),
        dir.display(),
        pages.join(", ")
    ));
    Ok(())
}
