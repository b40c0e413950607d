//! `promptreg init`

use std::path::PathBuf;

use anyhow::Result;
use promptreg::ops::example::{init_example, ExampleEvent};
use promptreg::ops::init::init;

use crate::cli::written::{self, Written};
use crate::cli::Context;

/// Make the current Git repository a prompt registry (commits registry.yaml and prompts/)
///
/// With --format json|yaml, prints what it did (docs/FORMAT.md §8.1).
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  git init && promptreg init\n  promptreg init --example /tmp/demo   # a throwaway registry with example prompts"
)]
pub struct Args {
    /// Instead: create a new repository in DIR holding the bundled example registry, with a few
    /// versions released and promoted
    #[arg(long, value_name = "DIR")]
    example: Option<PathBuf>,
}

pub fn run(context: &Context, args: &Args) -> Result<()> {
    let format = context.format(&written::FORMATS, crate::cli::context::Format::Text)?;
    context.refuse_ref("init")?;
    if let Some(dir) = &args.example {
        if std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
            return Err(crate::cli::report::Failed(
                format!("{}: exists and is not empty", dir.display()),
                "choose a directory that does not exist yet, e.g. `promptreg init --example /tmp/promptreg-demo`; nothing was written".into(),
            )
            .into());
        }
        // A throwaway demo must build on a machine with no git identity configured: its own
        // commits are then the demo's. Nothing is written to the demo's configuration, so what
        // the user does in it afterwards is signed as everywhere else (or refused for want of an
        // identity, with the usual hint).
        let signatures = match context.signatures(None) {
            Ok(signatures) => signatures,
            Err(_) => demo_signatures()?,
        };
        let events = init_example(dir, &signatures)?;
        for event in &events {
            match event {
                ExampleEvent::Created { name, version } => {
                    context.status(&format!("created  {name} {version}"))
                }
                ExampleEvent::Tested {
                    name,
                    version,
                    test,
                } => context.status(&format!("tested   {name} {version} ({test})")),
                ExampleEvent::Promoted {
                    name,
                    version,
                    environment,
                } => context.status(&format!("promoted {name} {version} to {environment}")),
            }
        }
        context.status(&format!(
            "example registry ready in {}\ntry: promptreg --repo {} list",
            dir.display(),
            dir.display()
        ));
        return written::print(
            format,
            &Written {
                command: "init",
                directory: Some(dir.display().to_string()),
                events: Some(events.iter().map(example_event).collect()),
                ..Written::default()
            },
        );
    }
    let store = context.store()?;
    let signatures = context.signatures(Some(&store))?;
    let done = init(&store, &signatures)?;
    context.status(&format!(
        "initialized a prompt registry on branch {} (commit {})\nnext: add prompts/NAME/prompt.yaml and run `promptreg create NAME --version 1.0.0 -m \"…\"`",
        done.branch,
        promptreg::store::short_id(done.commit)
    ));
    written::print(
        format,
        &Written {
            command: "init",
            commit: Some(done.commit.to_string()),
            new_commit: true,
            branch: Some(done.branch.clone()),
            ..Written::default()
        },
    )
}

fn example_event(event: &ExampleEvent) -> written::ExampleEvent {
    let (kind, name, version, environment, test) = match event {
        ExampleEvent::Created { name, version } => ("created", name, version, None, None),
        ExampleEvent::Tested {
            name,
            version,
            test,
        } => ("tested", name, version, None, Some(test.clone())),
        ExampleEvent::Promoted {
            name,
            version,
            environment,
        } => ("promoted", name, version, Some(environment.clone()), None),
    };
    written::ExampleEvent {
        event: kind,
        name: name.clone(),
        version: version.clone(),
        environment,
        test,
    }
}

fn demo_signatures() -> Result<promptreg::store::identity::Signatures> {
    let env = |key: &str| std::env::var(key).ok();
    let config = |key: &str| match key {
        "user.name" => Some("promptreg demo".to_owned()),
        "user.email" => Some("demo@promptreg.invalid".to_owned()),
        _ => None,
    };
    Ok(promptreg::store::identity::resolve(&env, &config)?)
}
