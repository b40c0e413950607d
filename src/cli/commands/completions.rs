//! `promptreg completions`

use anyhow::Result;
use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{output, Cli, Context};

/// Print a shell completion script, or the man page with --man
///
/// The script completes subcommands, options and their fixed values. See docs/EDITORS.md for
/// where to install it.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  promptreg completions bash > ~/.local/share/bash-completion/completions/promptreg\n  promptreg completions zsh > ~/.zfunc/_promptreg\n  promptreg completions fish > ~/.config/fish/completions/promptreg.fish\n  promptreg completions --man > ~/.local/share/man/man1/promptreg.1"
)]
#[group(id = "what", required = true, multiple = false, args = ["shell", "man"])]
pub struct Args {
    /// The shell to complete for
    #[arg(value_enum)]
    shell: Option<Shell>,
    /// Print the man page (roff) instead
    #[arg(long)]
    man: bool,
}

pub fn run(_context: &Context, args: &Args) -> Result<()> {
    let mut command = Cli::command();
    let mut out = Vec::new();
    match args.shell {
        Some(shell) => {
            let name = command.get_name().to_owned();
            clap_complete::generate(shell, &mut command, name, &mut out);
        }
        None => clap_mangen::Man::new(command).render(&mut out)?,
    }
    output::print(&String::from_utf8(out)?)
}
