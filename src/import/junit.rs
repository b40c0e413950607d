//! JUnit XML reports: pytest `--junitxml`, promptfoo's `.xml` output, most CI test runners.
//!
//! The root is `<testsuites>` holding `<testsuite>` elements, or a single `<testsuite>`; suites may
//! nest. Each `<testcase>` is one case: failed with a `<failure>` child, errored with an `<error>`
//! child, not counted with only a `<skipped>` child, passed otherwise. A report without any
//! `<testcase>` is counted from its suites' `tests`/`failures`/`errors`/`skipped` attributes.
//! JUnit has no score; a `score` property on every counted case (pytest's `record_property`)
//! gives one. DTDs are refused (roxmltree's default), so entity-expansion bombs never expand.

use roxmltree::{Document, Node, ParsingOptions};

use super::{brief, finite_score, mean, non_empty, parse_timestamp, Imported};

/// What one `<testcase>` counts as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Passed,
    Failed,
    Errored,
    Skipped,
}

/// The counts of a report, and the scores of its counted cases while every one has a score.
#[derive(Default)]
struct Tally {
    passed: u64,
    failed: u64,
    errored: u64,
    skipped: u64,
    scores: Option<Vec<f64>>,
}

/// Reads a JUnit XML report.
pub(super) fn parse(text: &str) -> Result<Imported, String> {
    let options = ParsingOptions {
        allow_dtd: false,
        ..ParsingOptions::default()
    };
    let document =
        Document::parse_with_options(text, options).map_err(|error| xml_error(text, &error))?;
    let root = document.root_element();
    if !is_suite(root) {
        return Err(format!(
            "root element is <{}>, expected <testsuites> or <testsuite>",
            brief(root.tag_name().name())
        ));
    }

    let tally = match count_testcases(&document, root)? {
        Some(tally) => tally,
        None => count_from_suite_attributes(&document, root)?,
    };
    Ok(Imported {
        passed: tally.passed,
        failed: tally.failed,
        errored: tally.errored,
        avg_score: tally.scores.as_deref().and_then(mean),
        tested_at: root
            .descendants()
            .filter(|node| is_suite(*node))
            .find_map(|suite| suite.attribute("timestamp"))
            .and_then(parse_timestamp),
        url: None,
        suggested_name: suggested_name(root),
    })
}

/// roxmltree's message, which ends with the row and column; DTDs get a reason of their own.
fn xml_error(text: &str, error: &roxmltree::Error) -> String {
    match error {
        roxmltree::Error::DtdDetected => {
            "the file has a DTD (<!DOCTYPE … [ … ]>), which is refused: its entities could expand without bound".into()
        }
        _ => {
            let hint = if text.trim_start().starts_with(['{', '[']) {
                " (it looks like JSON: is it a promptfoo report?)"
            } else {
                ""
            };
            format!("not well-formed XML: {error}{hint}")
        }
    }
}

fn is_suite(node: Node) -> bool {
    node.has_tag_name("testsuites") || node.has_tag_name("testsuite")
}

/// `<testcase name="…"> at row:column`, to say where something is wrong.
fn describe(document: &Document, element: Node) -> String {
    let position = document.text_pos_at(element.range().start);
    let name = element.tag_name().name();
    match element.attribute("name") {
        Some(value) => format!("<{name} name=\"{}\"> at {position}", brief(value)),
        None => format!("<{name}> at {position}"),
    }
}

/// The counts of the `<testcase>` elements of all suites; `None` when there is none.
fn count_testcases(document: &Document, root: Node) -> Result<Option<Tally>, String> {
    let mut tally = Tally {
        scores: Some(Vec::new()),
        ..Tally::default()
    };
    let mut seen = false;
    let testcases = root.descendants().filter(|node| {
        node.has_tag_name("testcase") && node.parent_element().is_some_and(is_suite)
    });
    for testcase in testcases {
        seen = true;
        // A score is checked even where it will not be used: a malformed one is a broken report.
        let score = score(document, testcase)?;
        let outcome = outcome(testcase);
        match outcome {
            Outcome::Passed => tally.passed += 1,
            Outcome::Failed => tally.failed += 1,
            Outcome::Errored => tally.errored += 1,
            Outcome::Skipped => tally.skipped += 1,
        }
        if outcome != Outcome::Skipped {
            match (score, tally.scores.as_mut()) {
                (Some(score), Some(scores)) => scores.push(score),
                (None, _) => tally.scores = None,
                (Some(_), None) => {}
            }
        }
    }
    if !seen {
        return Ok(None);
    }
    if tally.passed == 0 && tally.failed == 0 && tally.errored == 0 {
        return Err(format!(
            "no test cases: all {} <testcase> elements are skipped",
            tally.skipped
        ));
    }
    Ok(Some(tally))
}

/// A failure or an error outweighs a skip: pytest marks a test that failed and then errored in
/// teardown with both, and such a test failed.
fn outcome(testcase: Node) -> Outcome {
    let has_child = |name: &str| testcase.children().any(|child| child.has_tag_name(name));
    if has_child("failure") {
        Outcome::Failed
    } else if has_child("error") {
        Outcome::Errored
    } else if has_child("skipped") {
        Outcome::Skipped
    } else {
        Outcome::Passed
    }
}

/// The case's `<properties><property name="score" value="0.9"/></properties>`, if it has one
/// (the value may also be the property's text).
fn score(document: &Document, testcase: Node) -> Result<Option<f64>, String> {
    let property = testcase
        .children()
        .filter(|child| child.has_tag_name("properties"))
        .flat_map(|properties| properties.children())
        .find(|property| {
            property.has_tag_name("property") && property.attribute("name") == Some("score")
        });
    let Some(property) = property else {
        return Ok(None);
    };
    let value = property
        .attribute("value")
        .or_else(|| property.text())
        .unwrap_or_default();
    let whose = || describe(document, testcase);
    match value.trim().parse::<f64>() {
        Ok(score) => finite_score(score, whose).map(Some),
        Err(_) => Err(format!(
            "the score of {} is \"{}\", not a number",
            whose(),
            brief(value)
        )),
    }
}

/// The counts the suites state in their attributes, for reports without `<testcase>` elements.
/// The outermost suites stating `tests` are summed, so nested suites are not counted twice.
fn count_from_suite_attributes(document: &Document, root: Node) -> Result<Tally, String> {
    let overflow = || format!("the suites' counts add up to more than {}", u64::MAX);
    let mut tally = Tally::default();
    let mut stated = false;
    let mut pending = vec![root];
    while let Some(suite) = pending.pop() {
        let Some(tests) = attribute_count(document, suite, "tests")? else {
            pending.extend(suite.children().filter(|child| is_suite(*child)));
            continue;
        };
        stated = true;
        let failures = attribute_count(document, suite, "failures")?.unwrap_or(0);
        let errors = attribute_count(document, suite, "errors")?.unwrap_or(0);
        let skipped = attribute_count(document, suite, "skipped")?.unwrap_or(0);
        let not_passed = failures
            .checked_add(errors)
            .and_then(|sum| sum.checked_add(skipped))
            .ok_or_else(overflow)?;
        let passed = tests.checked_sub(not_passed).ok_or_else(|| {
            format!(
                "{} says tests=\"{tests}\" but failures + errors + skipped = {not_passed}",
                describe(document, suite)
            )
        })?;
        let add = |sum: u64, count: u64| sum.checked_add(count).ok_or_else(overflow);
        tally.passed = add(tally.passed, passed)?;
        tally.failed = add(tally.failed, failures)?;
        tally.errored = add(tally.errored, errors)?;
        tally.skipped = add(tally.skipped, skipped)?;
    }
    if !stated {
        return Err("no test cases: no <testcase> element and no `tests` attribute".into());
    }
    Ok(tally)
}

/// A count attribute: a whole number from 0 to 2^64 - 1, `None` when absent.
fn attribute_count(document: &Document, suite: Node, name: &str) -> Result<Option<u64>, String> {
    let Some(value) = suite.attribute(name) else {
        return Ok(None);
    };
    value.trim().parse::<u64>().map(Some).map_err(|_| {
        format!(
            "{name}=\"{}\" of {} is not a count (a whole number from 0 to {})",
            brief(value),
            describe(document, suite),
            u64::MAX
        )
    })
}

/// The `<testsuites>` name, else the name of the report's only `<testsuite>`.
fn suggested_name(root: Node) -> Option<String> {
    if root.has_tag_name("testsuites") {
        if let Some(name) = root.attribute("name").and_then(non_empty) {
            return Some(name);
        }
    }
    let mut suites = root
        .descendants()
        .filter(|node| node.has_tag_name("testsuite"));
    let only = suites.next()?;
    if suites.next().is_some() {
        return None;
    }
    only.attribute("name").and_then(non_empty)
}

#[cfg(test)]
mod tests {
    use super::super::{read, Format};
    use super::*;
    use std::path::Path;

    fn import(bytes: &[u8]) -> Result<Imported, String> {
        match read(Format::Junit, bytes, Path::new("junit.xml")) {
            Ok(imported) => Ok(imported),
            Err(crate::Error::Import {
                message, format, ..
            }) => {
                assert_eq!(format, "JUnit");
                Err(message)
            }
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }

    fn refusal(xml: &[u8]) -> String {
        import(xml).expect_err("the report should be refused")
    }

    fn counts(imported: &Imported) -> (u64, u64, u64) {
        (imported.passed, imported.failed, imported.errored)
    }

    #[test]
    fn pytest_fixture() {
        let imported = import(include_bytes!("../../fixtures/results/junit-pytest.xml")).unwrap();
        assert_eq!(
            counts(&imported),
            (4, 1, 1),
            "the skipped case is not counted"
        );
        assert_eq!(imported.avg_score, None);
        assert_eq!(
            imported.tested_at.map(|at| at.to_rfc3339()).as_deref(),
            Some("2026-11-24T10:00:00.123456+00:00"),
            "no offset is taken as UTC"
        );
        assert_eq!(imported.url, None);
        assert_eq!(imported.suggested_name.as_deref(), Some("pytest tests"));
    }

    #[test]
    fn single_suite_fixture() {
        let imported = import(include_bytes!(
            "../../fixtures/results/junit-single-suite.xml"
        ))
        .unwrap();
        assert_eq!(counts(&imported), (3, 1, 0));
        let avg_score = imported.avg_score.expect("every case has a score property");
        assert!((avg_score - 0.8).abs() < 1e-9, "{avg_score}");
        assert_eq!(
            imported.tested_at.map(|at| at.to_rfc3339()).as_deref(),
            Some("2026-11-24T09:30:00+01:00")
        );
        assert_eq!(
            imported.suggested_name.as_deref(),
            Some("support-reply-evals")
        );
    }

    #[test]
    fn not_xml_fixture() {
        assert_eq!(
            refusal(include_bytes!("../../fixtures/results/not-xml.xml")),
            "not well-formed XML: unknown token at 1:1"
        );
    }

    #[test]
    fn xml_that_is_not_junit_fixture() {
        assert_eq!(
            refusal(include_bytes!("../../fixtures/results/xml-not-junit.xml")),
            "root element is <html>, expected <testsuites> or <testsuite>"
        );
    }

    #[test]
    fn empty_fixture() {
        assert_eq!(
            refusal(include_bytes!("../../fixtures/results/junit-empty.xml")),
            "no test cases: the report counts 0 passed, 0 failed and 0 errored"
        );
    }

    #[test]
    fn json_given_as_junit_gets_a_hint() {
        let message = refusal(include_bytes!(
            "../../fixtures/results/promptfoo-passing.json"
        ));
        assert!(message.contains("looks like JSON"), "{message}");
    }

    #[test]
    fn outcomes() {
        let imported = import(
            br#"<testsuites>
                 <testsuite name="a">
                   <testcase name="pass"/>
                   <testcase name="pass with output"><system-out>ok</system-out></testcase>
                   <testcase name="fail"><failure message="x"/></testcase>
                   <testcase name="error"><error/></testcase>
                   <testcase name="fail and teardown error"><failure/><error/></testcase>
                   <testcase name="skip"><skipped/></testcase>
                   <testcase name="xfail"><skipped type="pytest.xfail"/></testcase>
                   <testcase name="flaky, passed on rerun"><flakyFailure/></testcase>
                 </testsuite>
                 <testsuite name="b"><testsuite name="nested"><testcase name="deep"/></testsuite></testsuite>
               </testsuites>"#,
        )
        .unwrap();
        assert_eq!(counts(&imported), (4, 2, 1));
        assert_eq!(
            imported.suggested_name, None,
            "three suites, no testsuites name"
        );
    }

    #[test]
    fn all_skipped_is_no_test_cases() {
        assert_eq!(
            refusal(br#"<testsuite name="s"><testcase name="a"><skipped/></testcase><testcase name="b"><skipped/></testcase></testsuite>"#),
            "no test cases: all 2 <testcase> elements are skipped"
        );
    }

    #[test]
    fn scores_only_when_every_counted_case_has_one() {
        let scored = br#"<testsuite name="s">
            <testcase name="a"><properties><property name="score" value="1"/></properties></testcase>
            <testcase name="b"><properties><property name="other" value="x"/><property name="score">0.5</property></properties></testcase>
            <testcase name="skipped, no score"><skipped/></testcase>
          </testsuite>"#;
        assert_eq!(import(scored).unwrap().avg_score, Some(0.75));
        let partly = br#"<testsuite name="s">
            <testcase name="a"><properties><property name="score" value="1"/></properties></testcase>
            <testcase name="b"/>
          </testsuite>"#;
        assert_eq!(import(partly).unwrap().avg_score, None);
    }

    #[test]
    fn bad_scores_are_refused_with_their_place() {
        assert_eq!(
            refusal(b"<testsuite>\n  <testcase name=\"a\"><properties><property name=\"score\" value=\"high\"/></properties></testcase>\n</testsuite>"),
            "the score of <testcase name=\"a\"> at 2:3 is \"high\", not a number"
        );
        for value in ["NaN", "inf", "-infinity", "1e999"] {
            let xml = format!(
                r#"<testsuite><testcase name="a"><properties><property name="score" value="{value}"/></properties></testcase></testsuite>"#
            );
            let message = refusal(xml.as_bytes());
            assert!(
                message.contains("not a finite number"),
                "{value}: {message}"
            );
        }
    }

    #[test]
    fn counts_from_suite_attributes_without_testcases() {
        let imported = import(
            br#"<testsuites name="ci">
                 <testsuite name="a" tests="10" failures="2" errors="1" skipped="3"/>
                 <testsuite name="outer" tests="5" failures="1">
                   <testsuite name="inner, not counted twice" tests="5" failures="1"/>
                 </testsuite>
                 <testsuite name="no counts"/>
               </testsuites>"#,
        )
        .unwrap();
        assert_eq!(counts(&imported), (8, 3, 1));
        assert_eq!(imported.suggested_name.as_deref(), Some("ci"));
        let totals_on_the_root =
            import(br#"<testsuites tests="4" failures="1"><testsuite name="a"/></testsuites>"#)
                .unwrap();
        assert_eq!(counts(&totals_on_the_root), (3, 1, 0));
    }

    #[test]
    fn bad_count_attributes_are_refused() {
        let cases = [
            (
                r#"<testsuite name="s" tests="-1"/>"#,
                r#"tests="-1" of <testsuite name="s"> at 1:1 is not a count"#,
            ),
            (
                r#"<testsuite tests="2.5"/>"#,
                r#"tests="2.5" of <testsuite> at 1:1 is not a count"#,
            ),
            (r#"<testsuite tests="3" failures="x"/>"#, r#"failures="x""#),
            (
                r#"<testsuite tests="18446744073709551616"/>"#,
                "is not a count",
            ),
            (
                r#"<testsuite tests="2" failures="2" errors="1"/>"#,
                r#"says tests="2" but failures + errors + skipped = 3"#,
            ),
            (r#"<testsuite tests="0"/>"#, "no test cases"),
            (
                r#"<testsuites><testsuite name="a"/></testsuites>"#,
                "no test cases: no <testcase> element and no `tests` attribute",
            ),
        ];
        for (xml, expected) in cases {
            let message = refusal(xml.as_bytes());
            assert!(message.contains(expected), "{xml}: {message}");
        }
    }

    #[test]
    fn huge_counts_do_not_overflow() {
        let max = u64::MAX;
        let imported =
            import(format!(r#"<testsuite tests="{max}" failures="{max}"/>"#).as_bytes()).unwrap();
        assert_eq!(counts(&imported), (0, max, 0));
        let message = refusal(
            format!(r#"<testsuites><testsuite tests="{max}"/><testsuite tests="1"/></testsuites>"#)
                .as_bytes(),
        );
        assert!(message.contains("add up to more than"), "{message}");
        let message = refusal(
            format!(r#"<testsuite tests="{max}" failures="{max}" errors="1"/>"#).as_bytes(),
        );
        assert!(message.contains("add up to more than"), "{message}");
        let message = refusal(
            format!(r#"<testsuites><testsuite tests="{max}"/><testsuite tests="1" failures="1"/></testsuites>"#)
                .as_bytes(),
        );
        assert!(message.contains("add up to more than"), "{message}");
    }

    #[test]
    fn dtds_and_entity_bombs_are_refused() {
        let bomb = br#"<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<testsuite name="&lol3;"><testcase name="a"/></testsuite>"#;
        assert!(refusal(bomb).contains("has a DTD"));
        let external = br#"<!DOCTYPE testsuite SYSTEM "file:///etc/passwd"><testsuite><testcase name="a"/></testsuite>"#;
        assert!(refusal(external).contains("has a DTD"));
        let undeclared = br#"<testsuite name="&xxe;"><testcase name="a"/></testsuite>"#;
        assert!(refusal(undeclared).contains("unknown entity reference 'xxe'"));
    }

    #[test]
    fn timestamps_and_names() {
        let imported = import(
            br#"<testsuites name="  ">
                 <testsuite name="a"><testcase name="t"/></testsuite>
                 <testsuite name="b" timestamp="2026-11-24T10:00:00Z"><testsuite timestamp="2020-01-01T00:00:00Z"/></testsuite>
                 <testsuite name="c" timestamp="2027-01-01T00:00:00Z"/>
               </testsuites>"#,
        )
        .unwrap();
        assert_eq!(
            imported.tested_at.map(|at| at.to_rfc3339()).as_deref(),
            Some("2026-11-24T10:00:00+00:00"),
            "the first suite with a timestamp, in document order"
        );
        assert_eq!(
            imported.suggested_name, None,
            "a blank name suggests nothing"
        );
        let unparseable = import(
            br#"<testsuite name=" one " timestamp="today"><testcase name="t"/></testsuite>"#,
        )
        .unwrap();
        assert_eq!(unparseable.tested_at, None);
        assert_eq!(unparseable.suggested_name.as_deref(), Some("one"));
        let only_suite = import(
            br#"<testsuites><testsuite name="only"><testcase name="t"/></testsuite></testsuites>"#,
        )
        .unwrap();
        assert_eq!(only_suite.suggested_name.as_deref(), Some("only"));
    }

    #[test]
    fn namespaced_and_deeply_nested_reports_do_not_crash() {
        let namespaced =
            import(br#"<j:testsuite xmlns:j="urn:x"><j:testcase name="t"/></j:testsuite>"#)
                .unwrap();
        assert_eq!(counts(&namespaced), (1, 0, 0));
        let depth = 100_000;
        let mut deep = "<testsuite>".repeat(depth);
        deep.push_str(r#"<testcase name="t"><failure/></testcase>"#);
        deep.push_str(&"</testsuite>".repeat(depth));
        assert_eq!(counts(&import(deep.as_bytes()).unwrap()), (0, 1, 0));
        let mut deep_counts = "<testsuite>".repeat(depth);
        deep_counts.push_str(r#"<testsuite tests="2"/>"#);
        deep_counts.push_str(&"</testsuite>".repeat(depth));
        assert_eq!(counts(&import(deep_counts.as_bytes()).unwrap()), (2, 0, 0));
    }

    #[test]
    fn truncated_xml_names_the_position() {
        let message = refusal(b"<testsuites>\n  <testsuite name=\"a\">\n    <testcase name=\"t\">");
        assert!(message.starts_with("not well-formed XML: "), "{message}");
    }
}
