//! `promptreg results`

use std::path::PathBuf;

use crate::cli::output::Cell;
use anyhow::{Context as _, Result};
use promptreg::import::{self, Format as ReportFormat};
use promptreg::model::selector::{Selector, Target};
use promptreg::ops::results::{record, show, tested_version, NewRun, RecordRequest};

use crate::cli::context::Format;
use crate::cli::report::Usage;
use crate::cli::written::{self, Written};
use crate::cli::{output, Context};

/// Record, import and show test results per version (kept in results/NAME.yaml)
///
/// Each run is committed on its own (results/NAME.yaml alone); promotion gates in
/// registry.yaml's `policy:` read the latest run of each test.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    Record(RecordArgs),
    Import(ImportArgs),
    Show(ShowArgs),
}

/// Record the numbers of one test run against a version
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  promptreg results record support/refund-agent@1.1.0 --test golden-set --passed 19 --failed 1 --score 0.92"
)]
struct RecordArgs {
    /// NAME@VERSION (or NAME@ENVIRONMENT, NAME@latest): the version tested
    selector: String,
    /// The test's name; a later run of the same test supersedes this one
    #[arg(long, value_name = "NAME")]
    test: String,
    /// Cases that passed
    #[arg(long, value_name = "N")]
    passed: u64,
    /// Cases that failed
    #[arg(long, value_name = "N")]
    failed: u64,
    /// Cases that could not run
    #[arg(long, value_name = "N", default_value_t = 0)]
    errored: u64,
    /// The average score of the cases
    #[arg(long, value_name = "X", allow_negative_numbers = true)]
    score: Option<f64>,
    /// A link to the run (CI job, report)
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// When the run happened (default: now, or GIT_AUTHOR_DATE)
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
}

/// Read an eval tool's report and record it as one run
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  promptfoo eval --output results.json && promptreg results import support/refund-agent@1.1.0 --from promptfoo results.json\n  pytest --junitxml report.xml && promptreg results import support/refund-agent@1.1.0 --from junit report.xml --test regression"
)]
struct ImportArgs {
    /// NAME@VERSION (or NAME@ENVIRONMENT, NAME@latest): the version tested
    selector: String,
    /// The report's format
    #[arg(long, value_name = "FORMAT")]
    from: ImportFormat,
    /// The report file (`-` for standard input)
    file: PathBuf,
    /// The test's name (default: the report's description or suite name)
    #[arg(long, value_name = "NAME")]
    test: Option<String>,
    /// A link to the run (default: the report's share URL, if any)
    #[arg(long, value_name = "URL")]
    url: Option<String>,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum ImportFormat {
    /// `promptfoo eval --output results.json`
    Promptfoo,
    /// JUnit XML (pytest --junitxml, promptfoo, most CI test runners)
    Junit,
}

/// Show recorded runs: the latest of each test per version, or every run of one version
#[derive(clap::Args, Debug)]
struct ShowArgs {
    /// NAME or NAME@VERSION
    selector: String,
}

pub fn run(context: &Context, args: &Args) -> Result<()> {
    match &args.command {
        Command::Record(args) => run_record(context, args),
        Command::Import(args) => run_import(context, args),
        Command::Show(args) => run_show(context, args),
    }
}

fn run_record(context: &Context, args: &RecordArgs) -> Result<()> {
    let format = context.format(&written::FORMATS, Format::Text)?;
    context.refuse_ref("results record")?;
    let at = match &args.at {
        None => None,
        Some(text) => Some(promptreg::store::identity::parse_date(text).ok_or_else(|| {
            Usage(
                format!("--at `{text}` is not a time"),
                "give an RFC 3339 time: 2026-11-24T10:00:00Z".into(),
            )
        })?),
    };
    let run = NewRun {
        test: args.test.clone(),
        passed: args.passed,
        failed: args.failed,
        errored: args.errored,
        avg_score: args.score,
        tested_at: at,
        source: "manual".into(),
        url: args.url.clone(),
    };
    commit_run(context, "results record", format, &args.selector, run)
}

fn run_import(context: &Context, args: &ImportArgs) -> Result<()> {
    let output_format = context.format(&written::FORMATS, Format::Text)?;
    context.refuse_ref("results import")?;
    let format = match args.from {
        ImportFormat::Promptfoo => ReportFormat::Promptfoo,
        ImportFormat::Junit => ReportFormat::Junit,
    };
    let bytes = if args.file.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
            .context("cannot read standard input")?;
        bytes
    } else {
        std::fs::read(&args.file)
            .with_context(|| format!("cannot read `{}`", args.file.display()))?
    };
    let shown = if args.file.as_os_str() == "-" {
        PathBuf::from("<standard input>")
    } else {
        args.file.clone()
    };
    let report = import::read(format, &bytes, &shown)?;
    let test = args
        .test
        .clone()
        .or(report.suggested_name.clone())
        .ok_or_else(|| {
            Usage(
                format!("`{}` does not name its test", shown.display()),
                "name it with --test NAME (e.g. --test golden-set)".into(),
            )
        })?;
    let run = NewRun {
        test,
        passed: report.passed,
        failed: report.failed,
        errored: report.errored,
        avg_score: report.avg_score,
        tested_at: report.tested_at,
        source: format.as_str().into(),
        url: args.url.clone().or(report.url),
    };
    commit_run(
        context,
        "results import",
        output_format,
        &args.selector,
        run,
    )
}

fn commit_run(
    context: &Context,
    command: &'static str,
    format: Format,
    selector: &str,
    run: NewRun,
) -> Result<()> {
    let selector = Selector::parse(selector)?;
    let (store, signatures) = context.writer("results")?;
    let version = tested_version(&store, &selector, None)?;
    let request = RecordRequest {
        name: selector.name.clone(),
        version,
        run,
    };
    let recorded = record(&store, &request, &signatures)?;
    let summary: promptreg_wire::TestSummary = (&recorded.run).into();
    context.status(&format!(
        "recorded {} {} {} (commit {})",
        request.name,
        request.version,
        promptreg::model::results::describe(&summary),
        promptreg::store::short_id(recorded.commit)
    ));
    written::print(
        format,
        &Written {
            command,
            name: Some(request.name.to_string()),
            version: Some(request.version.to_string()),
            tag: Some(request.version.tag_name(&request.name)),
            commit: Some(recorded.commit.to_string()),
            new_commit: true,
            test: Some(summary),
            ..Written::default()
        },
    )
}

fn run_show(context: &Context, args: &ShowArgs) -> Result<()> {
    let format = context.format(&[Format::Table, Format::Json], Format::Table)?;
    let selector = Selector::parse(&args.selector)?;
    let version = match &selector.target {
        None => None,
        Some(Target::Version(v)) => Some(v.clone()),
        Some(_) => return Err(Usage(
            format!("`{}`: show takes NAME or NAME@VERSION", args.selector),
            "see which version an environment holds with `promptreg list`, then show NAME@VERSION"
                .into(),
        )
        .into()),
    };
    let store = context.store()?;
    let rows = show(
        &store,
        &selector.name,
        version.as_ref(),
        context.revision.as_deref(),
    )?;
    if format == Format::Json {
        return output::json(&rows);
    }
    if rows.is_empty() {
        context.status(&format!("no results recorded for {}", args.selector));
        return Ok(());
    }
    let mut table = output::table(
        context,
        &[
            output::id("VERSION"),
            output::id("TEST"),
            output::id("PASSED"),
            output::id("FAILED"),
            output::id("ERRORED"),
            output::id("PASS RATE"),
            output::id("SCORE"),
            output::id("TESTED"),
            output::id("BY"),
            output::text("SOURCE"),
        ],
    );
    for row in &rows {
        let run = &row.run;
        let mut test = run.test.clone();
        if !row.latest {
            test.push_str(" (superseded)");
        }
        table.add_row(vec![
            Cell::new(&row.version),
            Cell::new(test),
            Cell::new(run.passed),
            Cell::new(run.failed),
            Cell::new(run.errored),
            Cell::new(promptreg::model::results::percent(run.pass_rate)),
            Cell::new(run.avg_score.map_or(String::new(), |s| s.to_string())),
            Cell::new(output::short_time(&run.tested_at)),
            Cell::new(&run.tested_by),
            Cell::new(&run.source),
        ]);
    }
    output::print_table(table)
}
