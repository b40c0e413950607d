//! `init --example DIR`: a throwaway registry built from the bundled `prompts.example/`, with a
//! short history replayed from its `releases.yaml` (versions created, some tested, some
//! promoted).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::ops::create::{create, CreateRequest, PromptSource, VersionChoice};
use crate::ops::promote::{promote, PromoteRequest};
use crate::ops::results::{record, NewRun, RecordRequest};
use crate::store::identity::Signatures;
use crate::store::{ObjectId, PathUpdate, Store};
use crate::{Error, PromptName, Result, Version};

include!(concat!(env!("OUT_DIR"), "/example_files.rs"));

/// The script of the demo history; not copied into the registry.
const RELEASES_FILE: &str = "releases.yaml";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Releases {
    releases: Vec<Step>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    prompt: String,
    version: String,
    message: String,
    #[serde(default)]
    edit: Option<Edit>,
    /// Test runs recorded against the version before it is promoted.
    #[serde(default)]
    results: Vec<StepResult>,
    #[serde(default)]
    promote: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepResult {
    test: String,
    passed: u64,
    failed: u64,
    #[serde(default)]
    score: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Edit {
    append_system_prompt: Option<String>,
    set_temperature: Option<f64>,
}

/// One thing the demo did, for the caller to report.
#[derive(Clone, Debug)]
pub enum ExampleEvent {
    Created {
        name: String,
        version: String,
    },
    Tested {
        name: String,
        version: String,
        test: String,
    },
    Promoted {
        name: String,
        version: String,
        environment: String,
    },
}

/// Creates a repository at `dir` (which must be absent or empty) holding the example registry.
/// `signatures` sign only the demo's own commits and tags: nothing is written to the new
/// repository's configuration, so what a user does in the demo afterwards is theirs.
pub fn init_example(dir: &Path, signatures: &Signatures) -> Result<Vec<ExampleEvent>> {
    if std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(Error::Invalid {
            file: dir.to_owned(),
            message: "exists and is not empty; choose a new directory".into(),
        });
    }
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    let store = Store::init(dir, "main")?;
    let mut paths = Vec::new();
    let mut script = None;
    for (relative, content) in EXAMPLE_FILES {
        if *relative == RELEASES_FILE {
            script = Some(*content);
            continue;
        }
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(Error::io(parent))?;
        }
        std::fs::write(&path, content).map_err(Error::io(&path))?;
        paths.push((*relative).to_owned());
    }
    let files = store.hash_worktree_files(&paths)?;
    let updates: Vec<(String, ObjectId)> = files.iter().map(|f| (f.path.clone(), f.id())).collect();
    let guard = store.begin_write()?;
    store.commit_on_branch(
        &guard,
        "refs/heads/main",
        "add example prompts\n",
        signatures,
        &|_| {
            Ok(updates
                .iter()
                .map(|(path, id)| PathUpdate::file(path.clone(), *id))
                .collect())
        },
    )?;
    store.sync_index(&guard, None, &files)?;
    drop(guard);

    let script: Releases =
        crate::model::yaml::parse(script.unwrap_or_default(), Path::new(RELEASES_FILE))?;
    let mut events = Vec::new();
    for step in script.releases {
        let name = PromptName::parse(&step.prompt)?;
        let version = Version::parse(&step.version)?;
        if let Some(edit) = &step.edit {
            apply_edit(&dir.join(name.file()), edit)?;
        }
        let request = CreateRequest {
            name: name.clone(),
            version: VersionChoice::Exact(version.clone()),
            message: step.message.clone(),
            source: PromptSource::WorkTree,
            allow_unchanged: false,
        };
        create(&store, &request, signatures)?;
        events.push(ExampleEvent::Created {
            name: name.to_string(),
            version: version.to_string(),
        });
        for result in step.results {
            let run = NewRun {
                test: result.test.clone(),
                passed: result.passed,
                failed: result.failed,
                errored: 0,
                avg_score: result.score,
                tested_at: None,
                source: "manual".into(),
                url: None,
            };
            let request = RecordRequest {
                name: name.clone(),
                version: version.clone(),
                run,
            };
            record(&store, &request, signatures)?;
            events.push(ExampleEvent::Tested {
                name: name.to_string(),
                version: version.to_string(),
                test: result.test,
            });
        }
        for environment in step.promote {
            let request = PromoteRequest {
                name: name.clone(),
                version: version.clone(),
                environment: environment.clone(),
                reason: format!("Demo: {}", step.message),
                force: false,
                canary: None,
            };
            promote(&store, &request, signatures)?;
            events.push(ExampleEvent::Promoted {
                name: name.to_string(),
                version: version.to_string(),
                environment,
            });
        }
    }
    Ok(events)
}

/// Applies a scripted edit to a `prompt.yaml` as a person would: one changed or added line.
fn apply_edit(path: &PathBuf, edit: &Edit) -> Result<()> {
    let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let fail = |what: &str| Error::Invalid {
        file: path.clone(),
        message: format!("the demo cannot {what}"),
    };
    if let Some(t) = edit.set_temperature {
        let line = lines
            .iter_mut()
            .find(|l| l.starts_with("temperature:"))
            .ok_or_else(|| fail("find `temperature:`"))?;
        *line = format!("temperature: {t:?}");
    }
    if let Some(extra) = &edit.append_system_prompt {
        let start = lines
            .iter()
            .position(|l| l.starts_with("system_prompt: |"))
            .ok_or_else(|| fail("find `system_prompt: |`"))?;
        let end = lines[start + 1..]
            .iter()
            .position(|l| !l.is_empty() && !l.starts_with(' '))
            .map_or(lines.len(), |i| start + 1 + i);
        lines.insert(end, format!("  {extra}"));
    }
    std::fs::write(path, lines.join("\n") + "\n").map_err(Error::io(path))
}
