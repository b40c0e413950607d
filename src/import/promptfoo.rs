//! promptfoo's JSON report, the file `promptfoo eval --output results.json` writes.
//!
//! Its shape (promptfoo's `OutputFile`): `{ evalId, results, config, shareableUrl, … }`, where
//! `results` is the eval summary: `version` (3; 2 in files from older promptfoo, which have a
//! `table` instead of `prompts`), `timestamp` (JavaScript's `toISOString()`), one entry per test
//! case × prompt × provider in `results` (each with `success` and `score`), and the totals in
//! `stats` (`successes`, `failures`, `errors`; older files lack `errors`). Only the fields read here
//! are declared: serde skips the rest without building them, and they hold every prompt and
//! response of the run.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::error::Category;
use serde_json::Value;

use super::{brief, finite_score, mean, non_empty, parse_timestamp, Imported};

/// What to say when the JSON is not shaped like promptfoo's output at all.
const NOT_AN_EVAL_OUTPUT: &str =
    "is this the file written by `promptfoo eval --output results.json`?";

#[derive(Deserialize)]
struct OutputFile {
    results: Option<Object<Summary>>,
    config: Option<Object<Config>>,
    #[serde(rename = "shareableUrl")]
    shareable_url: Option<Value>,
}

#[derive(Deserialize)]
struct Summary {
    timestamp: Option<Value>,
    results: Option<Vec<Object<CaseResult>>>,
    stats: Option<Object<Stats>>,
}

/// One test case run against one prompt and provider.
#[derive(Deserialize)]
struct CaseResult {
    score: Option<Value>,
}

#[derive(Deserialize)]
struct Stats {
    successes: Option<Value>,
    failures: Option<Value>,
    errors: Option<Value>,
}

#[derive(Deserialize)]
struct Config {
    description: Option<Value>,
}

/// What a JSON object of this type is, for the message when something else stands in its place.
trait Described {
    const DESCRIPTION: &'static str;
}

impl Described for OutputFile {
    const DESCRIPTION: &'static str =
        "a JSON object, as `promptfoo eval --output results.json` writes";
}

impl Described for Summary {
    const DESCRIPTION: &'static str = "an object as promptfoo's `results`";
}

impl Described for CaseResult {
    const DESCRIPTION: &'static str = "an object as each entry of promptfoo's `results.results`";
}

impl Described for Stats {
    const DESCRIPTION: &'static str = "an object as promptfoo's `results.stats`";
}

impl Described for Config {
    const DESCRIPTION: &'static str = "an object as promptfoo's `config`";
}

/// `T` read from a JSON object only. serde's derived structs also accept an array, taking its
/// items as the fields in order, which would turn a misshapen file into a baffling message.
struct Object<T>(T);

impl<'de, T: Deserialize<'de> + Described> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de> + Described> Visitor<'de> for ObjectVisitor<T> {
            type Value = Object<T>;

            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str(T::DESCRIPTION)
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(Object)
            }
        }

        deserializer.deserialize_map(ObjectVisitor(PhantomData))
    }
}

/// Reads a promptfoo JSON report.
pub(super) fn parse(text: &str) -> Result<Imported, String> {
    let Object(output) = serde_json::from_str::<Object<OutputFile>>(text)
        .map_err(|error| json_error(text, error))?;
    let Object(summary) = output
        .results
        .ok_or_else(|| format!("no `results` object; {NOT_AN_EVAL_OUTPUT}"))?;
    let Object(stats) = summary
        .stats
        .ok_or_else(|| format!("no `results.stats` object; {NOT_AN_EVAL_OUTPUT}"))?;
    let required = |value: Option<&Value>, field: &str| {
        count(value, field)?
            .ok_or_else(|| format!("`results.stats.{field}` is missing; {NOT_AN_EVAL_OUTPUT}"))
    };
    let passed = required(stats.successes.as_ref(), "successes")?;
    let failed = required(stats.failures.as_ref(), "failures")?;
    let errored = count(stats.errors.as_ref(), "errors")?.unwrap_or(0);

    Ok(Imported {
        passed,
        failed,
        errored,
        avg_score: mean(&scores(summary.results.as_deref().unwrap_or_default())?),
        tested_at: summary
            .timestamp
            .as_ref()
            .and_then(Value::as_str)
            .and_then(parse_timestamp),
        url: output
            .shareable_url
            .as_ref()
            .and_then(Value::as_str)
            .filter(|url| crate::model::results::check_url(url).is_ok())
            .map(str::to_owned),
        suggested_name: output
            .config
            .and_then(|Object(config)| config.description)
            .as_ref()
            .and_then(Value::as_str)
            .and_then(non_empty),
    })
}

/// serde_json's message, which ends with the line and column, said as a user needs it.
fn json_error(text: &str, error: serde_json::Error) -> String {
    match error.classify() {
        Category::Data => error.to_string(),
        Category::Syntax | Category::Eof | Category::Io => {
            let hint = if text.trim_start().starts_with('<') {
                " (it looks like XML: is it a JUnit report?)"
            } else {
                ""
            };
            format!("not valid JSON: {error}{hint}")
        }
    }
}

/// One count of `results.stats`: a whole number from 0 to 2^64 - 1, `None` when absent or null.
fn count(value: Option<&Value>, field: &str) -> Result<Option<u64>, String> {
    let Some(value) = value else {
        return Ok(None);
    };
    if let Some(count) = value.as_u64() {
        return Ok(Some(count));
    }
    let problem = match value.as_f64() {
        None => "expected a number",
        Some(number) if number < 0.0 => "a count cannot be negative",
        Some(number) if number.fract() != 0.0 => "a count must be a whole number",
        // A whole number written as a float (`8.0`, `-0.0`), which some JSON writers produce.
        Some(number) if number < u64::MAX as f64 => return Ok(Some(number as u64)),
        Some(_) => "larger than the largest count, 2^64 - 1",
    };
    Err(format!(
        "`results.stats.{field}` is {}: {problem}",
        brief(&value.to_string())
    ))
}

/// The numeric scores of the cases, in order; a case without one (or with `null`) is skipped.
fn scores(cases: &[Object<CaseResult>]) -> Result<Vec<f64>, String> {
    let mut scores = Vec::with_capacity(cases.len());
    for (index, Object(case)) in cases.iter().enumerate() {
        match &case.score {
            None => {}
            Some(Value::Number(number)) => scores
                .push(finite_score(number.as_f64().unwrap_or(f64::NAN), || {
                    format!("`results.results[{index}]`")
                })?),
            Some(other) => {
                return Err(format!(
                    "`results.results[{index}].score` is {}, expected a number",
                    brief(&other.to_string())
                ))
            }
        }
    }
    Ok(scores)
}

#[cfg(test)]
mod tests {
    use super::super::{read, Format};
    use super::*;
    use std::path::Path;

    fn import(bytes: &[u8]) -> Result<Imported, String> {
        match read(Format::Promptfoo, bytes, Path::new("results.json")) {
            Ok(imported) => Ok(imported),
            Err(crate::Error::Import {
                message, format, ..
            }) => {
                assert_eq!(format, "promptfoo");
                Err(message)
            }
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }

    fn refusal(bytes: &[u8]) -> String {
        import(bytes).expect_err("the report should be refused")
    }

    /// A minimal report with `stats` as given.
    fn with_stats(stats: &str) -> Vec<u8> {
        format!(r#"{{"results": {{"version": 3, "results": [], "stats": {stats}}}}}"#).into_bytes()
    }

    #[test]
    fn passing_fixture() {
        let imported = import(include_bytes!(
            "../../fixtures/results/promptfoo-passing.json"
        ))
        .unwrap();
        assert_eq!(
            (imported.passed, imported.failed, imported.errored),
            (20, 0, 0)
        );
        let avg_score = imported.avg_score.expect("the results have scores");
        assert!((avg_score - 0.9).abs() < 1e-9, "{avg_score}");
        assert_eq!(
            imported.tested_at.map(|at| at.to_rfc3339()).as_deref(),
            Some("2026-11-24T10:00:00+00:00")
        );
        assert_eq!(
            imported.url.as_deref(),
            Some("https://app.promptfoo.dev/eval/eval-2Xq-2026-11-24T10:00:00")
        );
        assert_eq!(
            imported.suggested_name.as_deref(),
            Some("support reply quality")
        );
    }

    #[test]
    fn failing_fixture() {
        let imported = import(include_bytes!(
            "../../fixtures/results/promptfoo-failing.json"
        ))
        .unwrap();
        assert_eq!(
            (imported.passed, imported.failed, imported.errored),
            (8, 2, 0)
        );
        assert_eq!(imported.avg_score, Some(0.75));
        assert!(imported.tested_at.is_some());
        assert_eq!(imported.url, None, "shareableUrl is null");
        assert_eq!(imported.suggested_name, None, "no config.description");
    }

    #[test]
    fn old_fixture_without_errors() {
        let imported = import(include_bytes!("../../fixtures/results/promptfoo-old.json")).unwrap();
        assert_eq!(
            (imported.passed, imported.failed, imported.errored),
            (5, 1, 0)
        );
        let avg_score = imported.avg_score.expect("the results have scores");
        assert!((avg_score - 0.8).abs() < 1e-9, "{avg_score}");
        assert_eq!(
            imported.tested_at.map(|at| at.to_rfc3339()).as_deref(),
            Some("2024-03-05T14:22:10.123+00:00")
        );
        assert_eq!(
            imported.suggested_name.as_deref(),
            Some("summarizer regression")
        );
    }

    #[test]
    fn not_json_fixture() {
        let message = refusal(include_bytes!("../../fixtures/results/not-json.json"));
        assert!(message.starts_with("not valid JSON: "), "{message}");
        assert!(message.contains("at line 1 column"), "{message}");
    }

    #[test]
    fn json_that_is_not_promptfoo_fixture() {
        assert_eq!(
            refusal(include_bytes!("../../fixtures/results/json-not-promptfoo.json")),
            "no `results` object; is this the file written by `promptfoo eval --output results.json`?"
        );
        assert_eq!(
            refusal(br#"{"results": {"version": 3, "results": []}}"#),
            "no `results.stats` object; is this the file written by `promptfoo eval --output results.json`?"
        );
    }

    #[test]
    fn negative_fixture() {
        assert_eq!(
            refusal(include_bytes!(
                "../../fixtures/results/promptfoo-negative.json"
            )),
            "`results.stats.failures` is -2: a count cannot be negative"
        );
    }

    #[test]
    fn xml_given_as_promptfoo_gets_a_hint() {
        let message = refusal(include_bytes!("../../fixtures/results/junit-pytest.xml"));
        assert!(message.contains("looks like XML"), "{message}");
    }

    #[test]
    fn wrong_shapes_name_what_and_where() {
        let message = refusal(b"[1, 2]");
        assert!(message.contains("expected a JSON object"), "{message}");
        assert!(message.contains("line 1 column"), "{message}");
        let message = refusal(br#"{"results": {"stats": [1]}}"#);
        assert!(message.contains("`results.stats`"), "{message}");
        let message = refusal(br#"{"results": {"stats": {}, "results": [1]}}"#);
        assert!(
            message.contains("each entry of promptfoo's `results.results` at line 1 column"),
            "{message}"
        );
    }

    #[test]
    fn bad_counts_are_refused() {
        let cases = [
            (r#"{"successes": 1}"#, "`results.stats.failures` is missing"),
            (
                r#"{"successes": 1.5, "failures": 0}"#,
                "`results.stats.successes` is 1.5: a count must be a whole number",
            ),
            (
                r#"{"successes": "3", "failures": 0}"#,
                "`results.stats.successes` is \"3\": expected a number",
            ),
            (
                r#"{"successes": 1, "failures": 0, "errors": -1}"#,
                "`results.stats.errors` is -1: a count cannot be negative",
            ),
            (
                r#"{"successes": 1e30, "failures": 0}"#,
                "larger than the largest count",
            ),
            (
                r#"{"successes": 0, "failures": 0, "errors": 0}"#,
                "no test cases",
            ),
            (
                r#"{"successes": 18446744073709551615, "failures": 1}"#,
                "add up to more than",
            ),
        ];
        for (stats, expected) in cases {
            let message = refusal(&with_stats(stats));
            assert!(message.contains(expected), "{stats}: {message}");
        }
    }

    #[test]
    fn counts_at_the_edges() {
        let imported = import(&with_stats(
            r#"{"successes": 18446744073709551614, "failures": 1, "errors": null}"#,
        ))
        .unwrap();
        assert_eq!(
            (imported.passed, imported.failed, imported.errored),
            (u64::MAX - 1, 1, 0)
        );
        let imported = import(&with_stats(r#"{"successes": 8.0, "failures": -0.0}"#)).unwrap();
        assert_eq!((imported.passed, imported.failed), (8, 0));
    }

    #[test]
    fn scores() {
        let report = |results: &str| {
            format!(
                r#"{{"results": {{"results": {results}, "stats": {{"successes": 2, "failures": 0}}}}}}"#
            )
            .into_bytes()
        };
        let imported = import(&report(
            r#"[{"score": 1}, {"score": 0.5}, {}, {"score": null}]"#,
        ))
        .unwrap();
        assert_eq!(imported.avg_score, Some(0.75));
        assert_eq!(import(&report("[]")).unwrap().avg_score, None);
        assert_eq!(
            refusal(&report(r#"[{"score": 1}, {"score": "high"}]"#)),
            "`results.results[1].score` is \"high\", expected a number"
        );
        // JSON has no NaN or infinity: a number too large for f64 is refused by the JSON reader.
        let message = refusal(&report(r#"[{"score": 1e999}]"#));
        assert!(
            message.starts_with("not valid JSON: number out of range"),
            "{message}"
        );
        let huge = import(&report("[{\"score\": 1.7e308}, {\"score\": 1.7e308}]")).unwrap();
        assert!(huge.avg_score.is_some_and(f64::is_finite));
    }

    #[test]
    fn optional_fields_of_the_wrong_kind_are_ignored() {
        let imported = import(
            br#"{"results": {"timestamp": 1732442400000, "stats": {"successes": 1, "failures": 0}},
                 "config": {"description": "   "}, "shareableUrl": "file:///tmp/x"}"#,
        )
        .unwrap();
        assert_eq!(imported.tested_at, None);
        assert_eq!(imported.suggested_name, None);
        assert_eq!(imported.url, None);
        let imported = import(
            br#"{"results": {"timestamp": "not a date", "stats": {"successes": 1, "failures": 0}},
                 "config": {"description": 7}, "shareableUrl": ""}"#,
        )
        .unwrap();
        assert_eq!(
            (imported.tested_at, imported.suggested_name, imported.url),
            (None, None, None)
        );
    }

    #[test]
    fn unused_fields_may_hold_anything() {
        let imported = import(
            br#"{"evalId": null, "results": {"version": "x", "prompts": 1, "table": [],
                 "stats": {"successes": 3, "failures": 1, "tokenUsage": "n/a", "durationMs": 12}},
                 "metadata": {"promptfooVersion": "0.120.0"}}"#,
        )
        .unwrap();
        assert_eq!((imported.passed, imported.failed), (3, 1));
    }

    #[test]
    fn deep_nesting_does_not_crash() {
        // Skipped fields are skipped without recursion, however deep.
        let mut skipped =
            String::from(r#"{"results": {"stats": {"successes": 1, "failures": 0}}, "unused": "#);
        skipped.push_str(&"[".repeat(100_000));
        skipped.push_str(&"]".repeat(100_000));
        skipped.push('}');
        assert_eq!(import(skipped.as_bytes()).unwrap().passed, 1);
        // A value that is read is bounded by serde_json's recursion limit.
        let mut read = String::from(r#"{"results": {"stats": {"successes": "#);
        read.push_str(&"[".repeat(100_000));
        let message = refusal(read.as_bytes());
        assert!(message.contains("recursion limit exceeded"), "{message}");
    }
}
