//! Named fixture builders: the prompt files, releases, promotions and recorded runs that many
//! tests start from, so that a test's setup reads as what it sets up.

use super::TestRepo;

/// The environments of the registry `promptreg init` writes, in pipeline order.
pub const PIPELINE: [&str; 3] = ["dev", "staging", "production"];

/// `prompts/<name>/prompt.yaml`.
pub fn prompt_file(name: &str) -> String {
    format!("prompts/{name}/prompt.yaml")
}

/// A valid prompt definition.
pub fn prompt_yaml(name: &str, text: &str) -> String {
    format!(
        "summary: The {name} prompt\nmodel: gpt-4o\nsystem_prompt: |\n  {text}\nvariables:\n  user_name:\n    description: Who is asking\n"
    )
}

/// A fresh registry with `name` `version` released, its system prompt `text`.
pub fn released_prompt(name: &str, version: &str, text: &str) -> TestRepo {
    let repo = TestRepo::init();
    repo.release(name, version, text);
    repo
}

/// A fresh registry with `name` `version` released and promoted to every environment of the
/// [`PIPELINE`], in order.
pub fn promoted_through_pipeline(name: &str, version: &str, text: &str) -> TestRepo {
    let repo = released_prompt(name, version, text);
    repo.promote_through_pipeline(name, version);
    repo
}

impl TestRepo {
    /// Writes a valid `prompts/<name>/prompt.yaml` whose system prompt is `text` (plus a newline).
    pub fn write_prompt(&self, name: &str, text: &str) {
        self.write(&prompt_file(name), &prompt_yaml(name, text));
    }

    /// Writes a valid prompt and releases it, asserting success.
    #[track_caller]
    pub fn release(&self, name: &str, version: &str, text: &str) {
        self.write_prompt(name, text);
        let out = self.run(&["create", name, "--version", version, "-m", "release"]);
        out.ok();
        assert_eq!(out.stdout, format!("{version}\n"));
    }

    /// Promotes, asserting success.
    #[track_caller]
    pub fn promote(&self, name: &str, version: &str, env: &str) {
        self.run(&["promote", name, version, "--to", env, "--reason", "test"])
            .ok();
    }

    /// Promotes `name` `version` to every environment of the [`PIPELINE`] in order, asserting
    /// success.
    #[track_caller]
    pub fn promote_through_pipeline(&self, name: &str, version: &str) {
        for env in PIPELINE {
            self.promote(name, version, env);
        }
    }

    /// `results record SELECTOR --test TEST --passed P --failed F`, asserting success.
    #[track_caller]
    pub fn record_run(&self, selector: &str, test: &str, passed: u64, failed: u64) {
        let (passed, failed) = (passed.to_string(), failed.to_string());
        self.run(&[
            "results", "record", selector, "--test", test, "--passed", &passed, "--failed", &failed,
        ])
        .ok();
    }

    /// Writes `relative` and commits it with git alone, as somebody editing the repository by
    /// hand would.
    #[track_caller]
    pub fn commit_by_hand(&self, relative: &str, content: &str, message: &str) {
        self.write(relative, content);
        self.git(&["add", "--", relative]);
        self.git(&["commit", "-q", "-m", message]);
    }
}
