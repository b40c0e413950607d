//! Evaluation results: what test runs found about each version of a prompt.
//!
//! They live in the registry branch, one file per prompt, `results/<name>.yaml`, keyed by version
//! (docs/FORMAT.md §5). A version's content never changes, but it can be tested any number of
//! times, so results sit beside the prompts rather than in them, and every run is kept: the file
//! only grows, and the latest run of each test name is what counts.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use promptreg_wire::TestSummary;

use crate::model::yaml;
use crate::{Error, PromptName, Result, Version};

/// The directory of results files at the repository root.
pub const RESULTS_DIR: &str = "results";
/// The format number of results files.
pub const FORMAT: u32 = 1;
/// Longest test name accepted.
const MAX_TEST_NAME: usize = 100;

/// The path of `name`'s results file, relative to the repository root.
pub fn path_of(name: &PromptName) -> String {
    format!("{RESULTS_DIR}/{name}.yaml")
}

/// One test run against one version, summed over its test cases.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestRun {
    /// The test's name (a suite, an eval set): runs with the same name supersede each other.
    pub test: String,
    pub passed: u64,
    pub failed: u64,
    #[serde(default)]
    pub errored: u64,
    /// The mean score of the run's cases, when the tool scores them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avg_score: Option<f64>,
    /// When the run happened (RFC 3339).
    pub tested_at: String,
    /// Who recorded it (an e-mail address).
    pub tested_by: String,
    /// Where the numbers came from: `manual`, `promptfoo`, `junit`.
    pub source: String,
    /// A link to the run (a CI job, a promptfoo share page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl TestRun {
    /// Every counted case.
    pub fn total(&self) -> u64 {
        self.passed
            .saturating_add(self.failed)
            .saturating_add(self.errored)
    }

    /// Passed cases over all counted cases, 0 to 1.
    pub fn pass_rate(&self) -> f64 {
        match self.total() {
            0 => 0.0,
            total => self.passed as f64 / total as f64,
        }
    }

    /// When the run happened.
    pub fn tested_at(&self) -> Option<DateTime<FixedOffset>> {
        DateTime::parse_from_rfc3339(&self.tested_at).ok()
    }

    /// Checks the numbers and names; the message says what is wrong.
    pub fn check(&self) -> std::result::Result<(), String> {
        check_test_name(&self.test)?;
        if self
            .passed
            .checked_add(self.failed)
            .and_then(|n| n.checked_add(self.errored))
            .is_none()
        {
            return Err("the counts add up to more than 2^64".into());
        }
        if self.total() == 0 {
            return Err(format!(
                "`{}` counts no test cases (passed, failed and errored are all 0)",
                self.test
            ));
        }
        if let Some(score) = self.avg_score {
            if !score.is_finite() {
                return Err(format!("score `{score}` is not a finite number"));
            }
        }
        if self.tested_at().is_none() {
            return Err(format!(
                "tested_at `{}` is not an RFC 3339 time",
                self.tested_at
            ));
        }
        if self.tested_by.trim().is_empty() || self.tested_by.contains('\n') {
            return Err("tested_by must be one non-empty line".into());
        }
        if self.source.is_empty()
            || !self
                .source
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "source `{}` must be a word such as manual, promptfoo or junit",
                self.source
            ));
        }
        if let Some(url) = &self.url {
            check_url(url)?;
        }
        Ok(())
    }
}

/// A test name: one line of printable text without surrounding spaces, at most 100 characters.
pub fn check_test_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() || name.trim() != name {
        return Err(format!(
            "test name `{name}` must not be empty or start or end with spaces"
        ));
    }
    if name.chars().count() > MAX_TEST_NAME {
        return Err(format!(
            "test name is longer than {MAX_TEST_NAME} characters"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("test name must not contain control characters".into());
    }
    Ok(())
}

/// A link to a run: an absolute http(s) URL on one line.
pub fn check_url(url: &str) -> std::result::Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(rest)
            if !rest.is_empty() && !url.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            Ok(())
        }
        _ => Err(format!("url `{url}` is not an http(s) address")),
    }
}

/// One line for people: `golden-set: 18/20 passed (90.0%), avg score 0.91`.
pub fn describe(summary: &TestSummary) -> String {
    let mut out = format!(
        "{}: {}/{} passed ({})",
        summary.test,
        summary.passed,
        summary.total,
        percent(summary.pass_rate)
    );
    if summary.errored > 0 {
        out.push_str(&format!(", {} errored", summary.errored));
    }
    if let Some(score) = summary.avg_score {
        out.push_str(&format!(", avg score {score}"));
    }
    out
}

impl From<&TestRun> for TestSummary {
    fn from(run: &TestRun) -> Self {
        TestSummary {
            test: run.test.clone(),
            passed: run.passed,
            failed: run.failed,
            errored: run.errored,
            total: run.total(),
            pass_rate: run.pass_rate(),
            avg_score: run.avg_score,
            tested_at: run.tested_at.clone(),
            tested_by: run.tested_by.clone(),
            source: run.source.clone(),
            url: run.url.clone(),
        }
    }
}

/// Every recorded run of one prompt, by version.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Results {
    pub versions: BTreeMap<Version, Vec<TestRun>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResults {
    format: u32,
    prompt: String,
    #[serde(default)]
    versions: Option<BTreeMap<String, Option<Vec<TestRun>>>>,
}

impl Results {
    /// Parses and checks `name`'s results file.
    pub fn parse(bytes: &[u8], file: &Path, name: &PromptName) -> Result<Self> {
        let raw: RawResults = yaml::parse(bytes, file)?;
        let invalid = |message: String| Error::Invalid {
            file: file.to_owned(),
            message,
        };
        if raw.format != FORMAT {
            return Err(invalid(format!(
                "unsupported format {}; this promptreg reads format {FORMAT}",
                raw.format
            )));
        }
        if raw.prompt != name.as_str() {
            return Err(invalid(format!(
                "`prompt: {}` does not match the file's place, which is for `{name}`",
                raw.prompt
            )));
        }
        let mut versions = BTreeMap::new();
        for (version, runs) in raw.versions.unwrap_or_default() {
            let parsed = Version::parse(&version).map_err(|e| invalid(e.to_string()))?;
            let runs = runs.unwrap_or_default();
            for run in &runs {
                run.check()
                    .map_err(|m| invalid(format!("version {version}: {m}")))?;
            }
            if versions.insert(parsed, runs).is_some() {
                return Err(invalid(format!("version {version} is listed twice")));
            }
        }
        Ok(Results { versions })
    }

    /// The file's text: a fixed layout, versions in semver order, runs in the order recorded.
    pub fn render(&self, name: &PromptName) -> String {
        let mut out = format!(
            "# promptreg results: test runs per version of `{name}`, oldest first.\n\
             # Add runs with `promptreg results record` or `promptreg results import`.\n\
             format: {FORMAT}\n\
             prompt: {}\n",
            quote(name.as_str())
        );
        if self.versions.is_empty() {
            out.push_str("versions: {}\n");
            return out;
        }
        out.push_str("versions:\n");
        for (version, runs) in &self.versions {
            out.push_str(&format!("  \"{version}\":\n"));
            for run in runs {
                out.push_str(&format!("    - test: {}\n", quote(&run.test)));
                out.push_str(&format!("      passed: {}\n", run.passed));
                out.push_str(&format!("      failed: {}\n", run.failed));
                out.push_str(&format!("      errored: {}\n", run.errored));
                if let Some(score) = run.avg_score {
                    out.push_str(&format!("      avg_score: {}\n", number(score)));
                }
                out.push_str(&format!("      tested_at: {}\n", quote(&run.tested_at)));
                out.push_str(&format!("      tested_by: {}\n", quote(&run.tested_by)));
                out.push_str(&format!("      source: {}\n", quote(&run.source)));
                if let Some(url) = &run.url {
                    out.push_str(&format!("      url: {}\n", quote(url)));
                }
            }
        }
        out
    }

    /// Every run of `version`, oldest first.
    pub fn runs(&self, version: &Version) -> &[TestRun] {
        self.versions.get(version).map_or(&[], Vec::as_slice)
    }

    /// The latest run of each test name of `version`, by test name: the one recorded last
    /// (imports may carry older `tested_at` times; what was recorded last is what counts).
    pub fn latest(&self, version: &Version) -> Vec<&TestRun> {
        let mut by_name: BTreeMap<&str, &TestRun> = BTreeMap::new();
        for run in self.runs(version) {
            by_name.insert(&run.test, run);
        }
        by_name.into_values().collect()
    }

    /// The summaries of [`Results::latest`].
    pub fn summaries(&self, version: &Version) -> Vec<TestSummary> {
        self.latest(version).into_iter().map(Into::into).collect()
    }

    /// Adds a run (checked) to `version`.
    pub fn add(&mut self, version: &Version, run: TestRun) -> Result<()> {
        run.check()
            .map_err(|message| Error::InvalidResult { message })?;
        self.versions.entry(version.clone()).or_default().push(run);
        Ok(())
    }
}

/// A rate as a percentage with one decimal, `0.955` → `95.5%`.
pub fn percent(rate: f64) -> String {
    format!("{:.1}%", rate * 100.0)
}

/// The pass rate over the latest run of every test: passed cases over all cases.
pub fn overall_pass_rate(latest: &[TestSummary]) -> Option<f64> {
    let (passed, total) = latest.iter().fold((0u64, 0u64), |(p, t), s| {
        (p.saturating_add(s.passed), t.saturating_add(s.total))
    });
    (total > 0).then(|| passed as f64 / total as f64)
}

/// The test whose latest run has the lowest pass rate (the first by name on a tie: `latest` is
/// sorted by name), `None` when there is none. Gates judge each test alone (§3.2), so this,
/// not [`overall_pass_rate`], is what a `min_pass_rate` is held against.
pub fn worst_pass_rate(latest: &[TestSummary]) -> Option<&TestSummary> {
    latest.iter().reduce(|worst, s| {
        if s.pass_rate < worst.pass_rate {
            s
        } else {
            worst
        }
    })
}

/// A YAML double-quoted scalar (JSON string syntax is valid YAML).
fn quote(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into())
}

/// A finite number as YAML reads it back unchanged.
fn number(value: f64) -> String {
    let text = value.to_string();
    if text.contains(['.', 'e', 'E']) {
        text
    } else {
        format!("{text}.0")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn name() -> PromptName {
        PromptName::parse("support/refund").unwrap()
    }

    /// A run of `test` with `passed`/`failed` cases at `at`, no errors, score 0.875.
    pub(crate) fn run(test: &str, passed: u64, failed: u64, at: &str) -> TestRun {
        TestRun {
            test: test.into(),
            passed,
            failed,
            errored: 0,
            avg_score: Some(0.875),
            tested_at: at.into(),
            tested_by: "ci@example.com".into(),
            source: "manual".into(),
            url: None,
        }
    }

    #[test]
    fn render_and_parse_round_trip() {
        let mut results = Results::default();
        let v1 = Version::parse("1.0.0").unwrap();
        let v2 = Version::parse("1.10.0").unwrap();
        results
            .add(&v1, run("golden set", 9, 1, "2026-11-24T10:00:00+00:00"))
            .unwrap();
        let mut linked = run("safety \"red team\"", 3, 0, "2026-11-24T11:00:00+01:00");
        linked.url = Some("https://ci.example.com/run/1".into());
        linked.avg_score = Some(1.0);
        results.add(&v2, linked).unwrap();
        let text = results.render(&name());
        let back = Results::parse(text.as_bytes(), Path::new("r.yaml"), &name()).unwrap();
        assert_eq!(back, results);
        let empty = Results::default().render(&name());
        assert_eq!(
            Results::parse(empty.as_bytes(), Path::new("r.yaml"), &name()).unwrap(),
            Results::default()
        );
    }

    #[test]
    fn latest_takes_the_last_recorded_run_of_each_test() {
        let mut results = Results::default();
        let v = Version::parse("1.0.0").unwrap();
        results
            .add(&v, run("a", 1, 9, "2026-11-24T10:00:00Z"))
            .unwrap();
        results
            .add(&v, run("b", 5, 5, "2026-11-24T09:00:00Z"))
            .unwrap();
        results
            .add(&v, run("a", 0, 1, "2026-11-24T11:00:00Z"))
            .unwrap();
        // Recorded last, though it ran earlier: what was recorded last counts.
        results
            .add(&v, run("a", 10, 0, "2026-11-23T10:00:00Z"))
            .unwrap();
        let latest = results.summaries(&v);
        assert_eq!(latest.len(), 2);
        assert_eq!((latest[0].test.as_str(), latest[0].passed), ("a", 10));
        assert_eq!(latest[1].pass_rate, 0.5);
        assert_eq!(overall_pass_rate(&latest), Some(0.75));
        assert_eq!(overall_pass_rate(&[]), None);
        let worst = worst_pass_rate(&latest).unwrap();
        assert_eq!((worst.test.as_str(), worst.pass_rate), ("b", 0.5));
        assert!(worst_pass_rate(&[]).is_none());
        // A tie goes to the first by name.
        let tied = [latest[1].clone(), {
            let mut c = latest[1].clone();
            c.test = "c".into();
            c
        }];
        assert_eq!(worst_pass_rate(&tied).unwrap().test, "b");
    }

    #[test]
    fn bad_runs_are_refused() {
        let v = Version::parse("1.0.0").unwrap();
        let mut results = Results::default();
        let mut bad = vec![
            run("", 1, 0, "2026-11-24T10:00:00Z"),
            run("a", 0, 0, "2026-11-24T10:00:00Z"),
            run("a", u64::MAX, 1, "2026-11-24T10:00:00Z"),
            run("a", 1, 0, "yesterday"),
            run("a\nb", 1, 0, "2026-11-24T10:00:00Z"),
        ];
        let mut nan = run("a", 1, 0, "2026-11-24T10:00:00Z");
        nan.avg_score = Some(f64::NAN);
        bad.push(nan);
        let mut ftp = run("a", 1, 0, "2026-11-24T10:00:00Z");
        ftp.url = Some("ftp://x".into());
        bad.push(ftp);
        for run in bad {
            assert!(results.add(&v, run.clone()).is_err(), "{run:?}");
        }
        assert!(results.versions.is_empty());
    }

    #[test]
    fn parse_names_what_is_wrong() {
        let wrong_prompt = "format: 1\nprompt: other\nversions: {}\n";
        let err = Results::parse(wrong_prompt.as_bytes(), Path::new("r"), &name()).unwrap_err();
        assert!(err.to_string().contains("does not match"), "{err}");
        let bad_version = "format: 1\nprompt: support/refund\nversions:\n  \"1.0\": []\n";
        assert!(Results::parse(bad_version.as_bytes(), Path::new("r"), &name()).is_err());
        let unknown = "format: 1\nprompt: support/refund\nversions:\n  \"1.0.0\":\n    - {test: a, passed: 1, failed: 0, tested_at: \"2026-11-24T10:00:00Z\", tested_by: x, source: manual, extra: 1}\n";
        let err = Results::parse(unknown.as_bytes(), Path::new("r"), &name()).unwrap_err();
        assert!(matches!(err, Error::Yaml { line: 5, .. }), "{err:?}");
        let negative = "format: 1\nprompt: support/refund\nversions:\n  \"1.0.0\":\n    - {test: a, passed: -1, failed: 0, tested_at: \"2026-11-24T10:00:00Z\", tested_by: x, source: manual}\n";
        assert!(Results::parse(negative.as_bytes(), Path::new("r"), &name()).is_err());
    }
}
