//! `promptreg access`

use std::path::PathBuf;

use crate::cli::output::Cell;
use anyhow::Result;
use promptreg::ops::access::{codeowners, permissions};
use promptreg::PromptName;

use crate::cli::context::Format;
use crate::cli::{output, Context};

/// Show what the access rules let an identity do; write a CODEOWNERS file from them
///
/// The rules are `access:` in registry.yaml (docs/FORMAT.md §3.1): who may release, promote,
/// roll back and record results, per prompt, domain or every prompt.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    Check(CheckArgs),
    Codeowners(CodeownersArgs),
}

/// What EMAIL may do — release, promote, roll back, record results — to one prompt or to all
///
/// One row per prompt, action and (for promote and rollback) environment: whether it is
/// allowed, the rule that decides it (none: everyone may), and whom that rule lets.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  promptreg access check bob@support.example.com support/refund-agent"
)]
struct CheckArgs {
    /// The identity (an e-mail address)
    email: String,
    /// The prompt (default: every prompt with a pointer or a release)
    name: Option<String>,
}

/// Write a CODEOWNERS file from the access rules (GitHub and GitLab read the same syntax)
///
/// registry.yaml is owned by whoever may move the protected environments (with none
/// protected, the last environment); prompts/<domain>/ and prompts/<name>/ by whoever may
/// release there. Rules CODEOWNERS cannot express (`*@domain` patterns, rules for one domain's
/// moves) are listed on stderr.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  promptreg access codeowners --teams my-org --out .github/CODEOWNERS"
)]
struct CodeownersArgs {
    /// Write the file here (default: stdout)
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Write groups as forge teams `@ORG/<group>` instead of their addresses
    #[arg(long, value_name = "ORG")]
    teams: Option<String>,
}

pub fn run(context: &Context, args: &Args) -> Result<()> {
    match &args.command {
        Command::Check(args) => run_check(context, args),
        Command::Codeowners(args) => run_codeowners(context, args),
    }
}

fn run_check(context: &Context, args: &CheckArgs) -> Result<()> {
    let format = context.format(&[Format::Table, Format::Json], Format::Table)?;
    let name = args.name.as_deref().map(PromptName::parse).transpose()?;
    let store = context.store()?;
    let rows = permissions(
        &store,
        &args.email,
        name.as_ref(),
        context.revision.as_deref(),
    )?;
    if let Some(name) = &name {
        if store.versions(name)?.is_empty() {
            context.warning(&format!(
                "`{name}` has no release yet; these are the rules it would get"
            ));
        }
    }
    if format == Format::Json {
        return output::json(&rows);
    }
    if rows.is_empty() {
        context.status("no prompts yet; every action is open until access rules say otherwise");
        return Ok(());
    }
    let mut table = output::table(
        context,
        &[
            output::id("PROMPT"),
            output::id("ACTION"),
            output::id("ENV"),
            output::id("ALLOWED"),
            output::id("RULE"),
            output::text("WHO"),
        ],
    );
    for row in &rows {
        let allowed = match (row.allowed, row.protected) {
            (true, true) => "yes, by merge",
            (true, false) => "yes",
            (false, _) => "no",
        };
        table.add_row(vec![
            Cell::new(&row.prompt),
            Cell::new(row.action.as_str()),
            Cell::new(row.environment.as_deref().unwrap_or("-")),
            Cell::new(allowed),
            Cell::new(row.rule.as_deref().unwrap_or("(none)")),
            Cell::new(match row.members.is_empty() {
                true => "everyone".to_owned(),
                false => row.members.join(", "),
            }),
        ]);
    }
    output::print_table(table)
}

fn run_codeowners(context: &Context, args: &CodeownersArgs) -> Result<()> {
    let store = context.store()?;
    let owners = codeowners(&store, context.revision.as_deref(), args.teams.as_deref())?;
    if !owners.text.lines().any(|l| !l.starts_with('#')) {
        context.warning("the access rules name no owners (no `release` rule, no `promote` rule for the guarded environments): the file asks for no reviewers");
    }
    for line in &owners.unexpressed {
        context.warning(&format!("not in CODEOWNERS: {line}"));
    }
    match &args.out {
        None => output::print(&owners.text),
        Some(path) => {
            promptreg::store::write_atomic(path, owners.text.as_bytes())?;
            context.status(&format!("wrote {}", path.display()));
            Ok(())
        }
    }
}
