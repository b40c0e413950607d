//! `promptreg diff`

use crate::cli::output::Cell;
use anyhow::Result;
use promptreg::ops::diff::{diff, diff_environments, PromptDiff, Side};
use promptreg::PromptName;

use crate::cli::context::{Format, Paint, Stream};
use crate::cli::report::Usage;
use crate::cli::{output, CliError, Context};

/// Show what differs between two versions of a prompt, or between two environments
///
/// A and B are each a version (1.2.0), an environment (production), `latest`, or `worktree`
/// (the working-tree prompts/NAME/); B defaults to `worktree`. Prints a unified diff of the
/// prompt text (the system prompt, then each message as a [role] block, templates unrendered),
/// then each setting that differs (model, temperature, token_budget, variables, messages,
/// examples, tags, summary, metadata) as `field: A → B`.
///
/// With --env A B: every prompt whose version differs between the two environments (including
/// prompts only one of them serves), as a table; --text adds each prompt's diff. Both sides are
/// compared as written: A is the old side (`-`), B the new (`+`), so
/// `diff --env production staging` shows what promoting staging to production would ship as
/// additions.
///
/// Exit status, as diff(1): 0 when there are no differences, 1 when there are (no `error:` line),
/// and 1 with an `error:` line on stderr when the comparison could not be made; 2 for usage
/// errors.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  promptreg diff support/refund-agent production            # production vs the working tree\n  promptreg diff support/refund-agent 1.0.0 1.1.0\n  promptreg diff support/refund-agent staging production --format json\n  promptreg diff --env production staging --text\n\nFormats: text (default), json ({a, b, equal, text_diff, fields: [{field, a, b}]}; with --env\n{a, b, equal, prompts: [{name, a, b, change, diff}]})"
)]
pub struct Args {
    /// The prompt, e.g. support/refund-agent
    #[arg(required_unless_present = "env")]
    name: Option<String>,
    /// The old side: VERSION, ENVIRONMENT, latest or worktree
    #[arg(required_unless_present = "env")]
    a: Option<String>,
    /// The new side (default: worktree)
    b: Option<String>,
    /// Compare what two environments serve, across all prompts
    #[arg(
        long,
        num_args = 2,
        value_names = ["A", "B"],
        conflicts_with_all = ["name", "a", "b"]
    )]
    env: Option<Vec<String>>,
    /// With --env: also print each differing prompt's diff
    #[arg(long)]
    text: bool,
}

pub fn run(context: &Context, args: &Args) -> Result<()> {
    let format = context.format(&[Format::Text, Format::Json], Format::Text)?;
    if args.text && args.env.is_none() {
        return Err(Usage(
            "--text goes with --env A B".into(),
            "compare environments with `promptreg diff --env staging production --text`".into(),
        )
        .into());
    }
    let equal = match (&args.env, &args.name, &args.a) {
        (Some(envs), _, _) => environments(context, args, format, &envs[0], &envs[1])?,
        (None, Some(name), Some(a)) => {
            let name = PromptName::parse(name)?;
            let a = Side::parse(a)?;
            let b = match &args.b {
                Some(b) => Side::parse(b)?,
                None => Side::Worktree,
            };
            let store = context.store()?;
            let result = diff(&store, &name, &a, &b, context.revision.as_deref())?;
            if format == Format::Json {
                output::json(&result)?;
            } else {
                output::print(&show(context, &result))?;
            }
            if result.equal {
                context.status(&format!(
                    "no differences between {} and {}",
                    result.a, result.b
                ));
            }
            result.equal
        }
        _ => return Err(Usage(
            "give NAME and A (or --env A B)".into(),
            "e.g. `promptreg diff NAME 1.0.0 1.1.0`, `promptreg diff NAME staging production` or `promptreg diff --env staging production`".into(),
        ).into()),
    };
    if !equal {
        // Differences are the answer, not an error: no `error:` line, but exit status 1.
        return Err(CliError::Status { code: 1 }.into());
    }
    Ok(())
}

fn environments(context: &Context, args: &Args, format: Format, a: &str, b: &str) -> Result<bool> {
    let store = context.store()?;
    let result = diff_environments(&store, a, b, context.revision.as_deref())?;
    if format == Format::Json {
        output::json(&result)?;
    } else if !result.prompts.is_empty() {
        let (head_a, head_b) = (a.to_uppercase(), b.to_uppercase());
        let mut table = output::table(
            context,
            &[
                output::id("NAME"),
                output::id(&head_a),
                output::id(&head_b),
                output::text("CHANGE"),
            ],
        );
        for prompt in &result.prompts {
            table.add_row(vec![
                Cell::new(&prompt.name),
                Cell::new(held(prompt.a.as_deref())),
                Cell::new(held(prompt.b.as_deref())),
                Cell::new(&prompt.change),
            ]);
        }
        output::print_table(table)?;
        if args.text {
            for diff in result.prompts.iter().filter_map(|p| p.diff.as_ref()) {
                if !diff.equal {
                    output::print(&format!("\n{}", show(context, diff)))?;
                }
            }
        }
    }
    if result.equal {
        context.status(&format!("{a} and {b} serve the same versions"));
    } else {
        context.status(&format!(
            "{} prompt(s) differ between {a} and {b}",
            result.prompts.len()
        ));
    }
    Ok(result.equal)
}

/// A side of the environments table: `-` for nothing, a split with its weights
/// (`1.0.0 90% / 1.1.0 10%`, as `list` shows it), else the version.
fn held(pointer: Option<&str>) -> String {
    pointer.map_or_else(|| "-".to_owned(), output::pointer_text)
}

/// The unified diff (coloured when stdout wants colour), then `field: a → b` lines.
fn show(context: &Context, diff: &PromptDiff) -> String {
    let mut text = String::new();
    for line in diff.text_diff.split_inclusive('\n') {
        let paint = match line.as_bytes().first() {
            _ if line.starts_with("--- ") || line.starts_with("+++ ") => None,
            Some(b'-') => Some(Paint::Removed),
            Some(b'+') => Some(Paint::Added),
            _ => None,
        };
        match paint {
            Some(paint) => {
                let body = line.strip_suffix('\n').unwrap_or(line);
                text.push_str(&context.paint(Stream::Stdout, paint, body));
                if line.ends_with('\n') {
                    text.push('\n');
                }
            }
            None => text.push_str(line),
        }
    }
    if !diff.fields.is_empty() {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&format!("settings ({} → {}):\n", diff.a, diff.b));
        for change in &diff.fields {
            text.push_str(&format!(
                "  {}: {} → {}\n",
                change.field,
                change.a.as_deref().unwrap_or("(none)"),
                change.b.as_deref().unwrap_or("(none)")
            ));
        }
    }
    text
}
