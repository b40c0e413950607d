//! Promotion gates: the `policy:` section of `registry.yaml` says, per environment, what test
//! results a version needs before it may enter that environment.
//!
//! ```yaml
//! policy:
//!   staging:
//!     min_pass_rate: 0.9
//!   production:
//!     required_tests: [golden-set, safety]
//!     min_pass_rate: 0.95
//!     min_avg_score: 0.8
//!     tested_after_release: true
//! ```
//! Only the latest run of each test name counts (see [`Results::latest`]). With
//! `required_tests`, those tests are the ones checked; without, every test recorded for the
//! version is, and at least one must be.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use crate::model::results::{check_test_name, Results, TestRun};
use crate::Version;

/// Environment → the gate a version must pass to enter it.
pub type Policy = BTreeMap<String, Gate>;

/// What a version needs before it may enter one environment.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Gate {
    /// Tests that must have a result for the version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_tests: Vec<String>,
    /// Lowest pass rate (0 to 1) each checked test's latest run may have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub min_pass_rate: Option<f64>,
    /// Lowest average score each checked test's latest run may have; a run without a score
    /// does not meet it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_avg_score: Option<f64>,
    /// The checked runs must have happened after the version was released (no results carried
    /// over from a draft).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tested_after_release: bool,
}

/// Checks a policy against the pipeline; the message says what is wrong.
pub fn check(policy: &Policy, environments: &[String]) -> Result<(), String> {
    for (env, gate) in policy {
        if !environments.contains(env) {
            return Err(format!(
                "policy for `{env}`: not in environments [{}]",
                environments.join(", ")
            ));
        }
        if let Some(rate) = gate.min_pass_rate {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!(
                    "policy for `{env}`: min_pass_rate {rate} is not between 0 and 1 (0.95 means 95%)"
                ));
            }
        }
        if let Some(score) = gate.min_avg_score {
            if !score.is_finite() {
                return Err(format!(
                    "policy for `{env}`: min_avg_score must be a number"
                ));
            }
        }
        for (i, test) in gate.required_tests.iter().enumerate() {
            check_test_name(test).map_err(|m| format!("policy for `{env}`: {m}"))?;
            if gate.required_tests[..i].contains(test) {
                return Err(format!(
                    "policy for `{env}`: required test `{test}` is listed twice"
                ));
            }
        }
    }
    Ok(())
}

impl Gate {
    /// Each condition `version` does not meet, with the numbers; empty when it passes.
    /// `released_at` is when the version was released (its tag).
    pub fn unmet(
        &self,
        results: &Results,
        version: &Version,
        released_at: DateTime<FixedOffset>,
    ) -> Vec<String> {
        let latest = results.latest(version);
        let mut unmet = Vec::new();
        let checked: Vec<&TestRun> = if self.required_tests.is_empty() {
            latest
        } else {
            let mut found = Vec::new();
            for test in &self.required_tests {
                match latest.iter().find(|run| &run.test == test) {
                    Some(run) => found.push(*run),
                    None => unmet.push(format!("required test `{test}` has no result")),
                }
            }
            found
        };
        let conditions = self.min_pass_rate.is_some()
            || self.min_avg_score.is_some()
            || self.tested_after_release;
        if self.required_tests.is_empty() && checked.is_empty() && conditions {
            unmet.push(format!("no test results are recorded for {version}"));
        }
        for run in checked {
            if self.tested_after_release && run.tested_at().is_none_or(|at| at < released_at) {
                unmet.push(format!(
                    "`{}` ran at {}, before {version} was released ({})",
                    run.test,
                    run.tested_at,
                    released_at.to_rfc3339()
                ));
            }
            if let Some(min) = self.min_pass_rate {
                if run.pass_rate() < min {
                    let (rate, min) = distinct_percents(run.pass_rate(), min);
                    unmet.push(format!(
                        "`{}` pass rate {rate} ({}/{}) is below {min}",
                        run.test,
                        run.passed,
                        run.total(),
                    ));
                }
            }
            if let Some(min) = self.min_avg_score {
                match run.avg_score {
                    None => unmet.push(format!(
                        "`{}` has no score (needs an average score of at least {min})",
                        run.test
                    )),
                    Some(score) if score < min => unmet.push(format!(
                        "`{}` average score {score} is below {min}",
                        run.test
                    )),
                    Some(_) => {}
                }
            }
        }
        unmet
    }
}

/// A rate and the minimum it is below, as percentages: the minimum exactly (up to six
/// decimals), the rate truncated to as many decimals as it takes to read below it
/// (`99.99%` below `100.0%`, never `100.0%` below `100.0%`).
fn distinct_percents(a: f64, b: f64) -> (String, String) {
    let mut decimals = 1;
    while decimals < 6 {
        let scaled = b * 100.0 * 10f64.powi(decimals);
        if (scaled - scaled.round()).abs() < 1e-6 {
            break;
        }
        decimals += 1;
    }
    loop {
        // Truncated, not rounded, so a rate below the minimum never reads as reaching it.
        let scale = 10f64.powi(decimals);
        let x = format!(
            "{:.*}%",
            decimals as usize,
            (a * 100.0 * scale).floor() / scale
        );
        let y = format!("{:.*}%", decimals as usize, b * 100.0);
        if x != y || decimals >= 8 {
            return (x, y);
        }
        decimals += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v() -> Version {
        Version::parse("1.2.0").unwrap()
    }

    fn released() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2026-11-24T10:00:00Z").unwrap()
    }

    fn results(runs: &[(&str, u64, u64, Option<f64>, &str)]) -> Results {
        let mut results = Results::default();
        for (test, passed, failed, score, at) in runs {
            results
                .add(
                    &v(),
                    TestRun {
                        test: (*test).into(),
                        passed: *passed,
                        failed: *failed,
                        errored: 0,
                        avg_score: *score,
                        tested_at: (*at).into(),
                        tested_by: "ci@example.com".into(),
                        source: "manual".into(),
                        url: None,
                    },
                )
                .unwrap();
        }
        results
    }

    const LATER: &str = "2026-11-24T11:00:00Z";
    const EARLIER: &str = "2026-11-24T09:00:00Z";

    #[test]
    fn an_empty_gate_always_passes() {
        assert!(Gate::default()
            .unmet(&Results::default(), &v(), released())
            .is_empty());
    }

    #[test]
    fn each_condition_is_named_with_its_numbers() {
        let gate = Gate {
            required_tests: vec!["golden".into(), "safety".into()],
            min_pass_rate: Some(0.95),
            min_avg_score: Some(0.8),
            tested_after_release: true,
        };
        let r = results(&[("golden", 18, 2, Some(0.7), EARLIER)]);
        let unmet = gate.unmet(&r, &v(), released());
        assert_eq!(unmet.len(), 4, "{unmet:#?}");
        assert!(unmet[0].contains("`safety` has no result"));
        assert!(unmet[1].contains("before 1.2.0 was released"));
        assert!(
            unmet[2].contains("90.0% (18/20) is below 95.0%"),
            "{}",
            unmet[2]
        );
        assert!(unmet[3].contains("0.7 is below 0.8"));
        let passing = results(&[
            ("golden", 18, 2, Some(0.7), LATER),
            ("golden", 20, 0, Some(0.9), LATER),
            ("safety", 5, 0, Some(1.0), LATER),
        ]);
        assert!(gate.unmet(&passing, &v(), released()).is_empty());
    }

    #[test]
    fn without_required_tests_every_test_counts_and_one_must_exist() {
        let gate = Gate {
            min_pass_rate: Some(0.5),
            ..Gate::default()
        };
        let none = gate.unmet(&Results::default(), &v(), released());
        assert_eq!(none, ["no test results are recorded for 1.2.0"]);
        let r = results(&[("a", 9, 1, None, LATER), ("b", 1, 9, None, LATER)]);
        let unmet = gate.unmet(&r, &v(), released());
        assert_eq!(unmet.len(), 1);
        assert!(unmet[0].starts_with("`b` pass rate 10.0%"));
        let scored = Gate {
            min_avg_score: Some(0.5),
            ..Gate::default()
        };
        assert!(scored.unmet(&r, &v(), released())[0].contains("has no score"));
    }

    #[test]
    fn a_rate_just_below_the_minimum_reads_below_it() {
        assert_eq!(
            distinct_percents(0.99995, 1.0),
            ("99.9%".to_owned(), "100.0%".to_owned())
        );
        assert_eq!(
            distinct_percents(0.8, 0.95),
            ("80.0%".to_owned(), "95.0%".to_owned())
        );
        assert_eq!(
            distinct_percents(0.9, 0.9995),
            ("90.00%".to_owned(), "99.95%".to_owned())
        );
        assert_eq!(
            distinct_percents(0.99949, 0.9995),
            ("99.94%".to_owned(), "99.95%".to_owned())
        );
    }

    #[test]
    fn policy_check_names_the_problem() {
        let envs: Vec<String> = vec!["dev".into(), "production".into()];
        let mut policy = Policy::new();
        policy.insert("qa".into(), Gate::default());
        assert!(check(&policy, &envs)
            .unwrap_err()
            .contains("not in environments"));
        let mut policy = Policy::new();
        policy.insert(
            "production".into(),
            Gate {
                min_pass_rate: Some(95.0),
                ..Gate::default()
            },
        );
        assert!(check(&policy, &envs)
            .unwrap_err()
            .contains("between 0 and 1"));
        let mut policy = Policy::new();
        policy.insert(
            "production".into(),
            Gate {
                required_tests: vec!["a".into(), "a".into()],
                ..Gate::default()
            },
        );
        assert!(check(&policy, &envs).unwrap_err().contains("twice"));
    }
}
