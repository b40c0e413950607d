//! Reading the reports evaluation tools write, each turned into ONE aggregated test result.
//!
//! Two formats: promptfoo's JSON (`promptfoo eval --output results.json`) and JUnit XML (pytest
//! `--junitxml`, promptfoo's `.xml` output, most CI runners). A report's test cases are summed
//! into passed / failed / errored counts, next to what else the report tells (mean score, when it
//! ran, a link, a name for the test). The caller reads the file; nothing here touches the file
//! system or prints. Every failure is an [`Error::Import`] whose message says what is wrong and,
//! where the format allows, where.

mod junit;
mod promptfoo;

use std::path::Path;

use chrono::{DateTime, FixedOffset, NaiveDateTime};

use crate::{Error, Result};

/// Reports larger than this are refused before parsing: real reports are far smaller, and both
/// parsers hold the whole document in memory.
pub const MAX_REPORT_BYTES: usize = 64 * 1024 * 1024;

/// A report format promptreg can import.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Promptfoo,
    Junit,
}

impl Format {
    /// The word used on the command line and in the `source` field of a recorded result: "promptfoo" / "junit".
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Promptfoo => "promptfoo",
            Format::Junit => "junit",
        }
    }

    /// The name used in error messages ("not a JUnit report").
    fn display_name(self) -> &'static str {
        match self {
            Format::Promptfoo => "promptfoo",
            Format::Junit => "JUnit",
        }
    }
}

/// What one report says, summed over all its test cases.
#[derive(Clone, Debug, PartialEq)]
pub struct Imported {
    pub passed: u64,
    pub failed: u64,
    pub errored: u64,
    pub avg_score: Option<f64>,
    pub tested_at: Option<DateTime<FixedOffset>>,
    pub url: Option<String>,
    /// A test name the report suggests (promptfoo's description, the JUnit suite name).
    pub suggested_name: Option<String>,
}

/// Reads `bytes` (the content of `file`, used in messages) as a report of `format`.
pub fn read(format: Format, bytes: &[u8], file: &Path) -> Result<Imported> {
    read_report(format, bytes).map_err(|message| Error::Import {
        file: file.to_path_buf(),
        format: format.display_name(),
        message,
    })
}

/// [`read`] without the file: the error is the message alone.
fn read_report(format: Format, bytes: &[u8]) -> std::result::Result<Imported, String> {
    if bytes.len() > MAX_REPORT_BYTES {
        return Err(format!(
            "the file is {} bytes; reports over 64 MiB are refused",
            bytes.len()
        ));
    }
    let text = decode(bytes)?;
    if text.trim().is_empty() {
        return Err("the file is empty".into());
    }
    let imported = match format {
        Format::Promptfoo => promptfoo::parse(text)?,
        Format::Junit => junit::parse(text)?,
    };
    check_counts(&imported)?;
    Ok(imported)
}

/// The report as text: UTF-8, with the byte-order mark some Windows tools write removed.
fn decode(bytes: &[u8]) -> std::result::Result<&str, String> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err("the file is UTF-16; save it as UTF-8".into());
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|error| {
        let valid = bytes.get(..error.valid_up_to()).unwrap_or_default();
        let line = 1 + valid.iter().filter(|&&byte| byte == b'\n').count();
        format!(
            "invalid UTF-8 on line {line} (byte offset {})",
            error.valid_up_to()
        )
    })
}

/// The checks both formats share: the counts add up without overflow and count something.
fn check_counts(imported: &Imported) -> std::result::Result<(), String> {
    let Imported {
        passed,
        failed,
        errored,
        ..
    } = *imported;
    let total = passed
        .checked_add(failed)
        .and_then(|sum| sum.checked_add(errored))
        .ok_or_else(|| {
            format!(
                "the counts ({passed} passed, {failed} failed, {errored} errored) add up to more than {}",
                u64::MAX
            )
        })?;
    if total == 0 {
        return Err("no test cases: the report counts 0 passed, 0 failed and 0 errored".into());
    }
    Ok(())
}

/// Checks one score read from a report; `whose` names the test case, for the message.
fn finite_score(score: f64, whose: impl FnOnce() -> String) -> std::result::Result<f64, String> {
    if score.is_finite() {
        Ok(score)
    } else {
        Err(format!(
            "the score of {} is {score}, not a finite number",
            whose()
        ))
    }
}

/// The mean of finite `scores`, `None` when there are none. Sums first, the plain way for
/// ordinary scores; divides first only when that sum overflows (scores near `f64::MAX`).
fn mean(scores: &[f64]) -> Option<f64> {
    if scores.is_empty() {
        return None;
    }
    let count = scores.len() as f64;
    let sum: f64 = scores.iter().sum();
    if sum.is_finite() {
        return Some(sum / count);
    }
    // Rounding may still carry the divided sum past the scores (even to infinity): the true mean
    // lies between the smallest and the largest score, so clamp to them.
    let divided: f64 = scores.iter().map(|score| score / count).sum();
    let lowest = scores.iter().copied().fold(f64::INFINITY, f64::min);
    let highest = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Some(divided.max(lowest).min(highest))
}

/// A report's timestamp: RFC 3339 (promptfoo writes JavaScript's `toISOString()`), or ISO 8601
/// with an offset lacking its colon, or without an offset, taken as UTC (older pytest writes the
/// runner's local time without one, so such a reading may be off by the runner's offset).
fn parse_timestamp(text: &str) -> Option<DateTime<FixedOffset>> {
    let text = text.trim();
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .or_else(|| {
            ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
                .iter()
                .find_map(|layout| NaiveDateTime::parse_from_str(text, layout).ok())
                .map(|naive| naive.and_utc().fixed_offset())
        })
}

/// `text` trimmed, when anything is left: a name a report suggests.
fn non_empty(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// `text` cut to a length that fits in a one-line message.
fn brief(text: &str) -> String {
    const MAX_CHARS: usize = 60;
    match text.char_indices().nth(MAX_CHARS) {
        Some((end, _)) => format!("{}…", text.get(..end).unwrap_or_default()),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(format: Format, bytes: &[u8]) -> String {
        match read(format, bytes, Path::new("report")) {
            Err(Error::Import { message, .. }) => message,
            other => panic!("expected an import error, got {other:?}"),
        }
    }

    #[test]
    fn format_words() {
        assert_eq!(Format::Promptfoo.as_str(), "promptfoo");
        assert_eq!(Format::Junit.as_str(), "junit");
    }

    #[test]
    fn the_error_names_file_and_format() {
        let error = read(Format::Junit, b"", Path::new("out/junit.xml")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "out/junit.xml: not a JUnit report: the file is empty"
        );
        let error = read(Format::Promptfoo, b" \n", Path::new("r.json")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "r.json: not a promptfoo report: the file is empty"
        );
    }

    #[test]
    fn files_over_64_mib_are_refused_before_parsing() {
        let huge = vec![b' '; MAX_REPORT_BYTES + 1];
        for format in [Format::Promptfoo, Format::Junit] {
            assert!(message(format, &huge).contains("over 64 MiB"));
        }
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let bytes = b"{\n  \"results\": \"\xff\"\n}";
        assert_eq!(
            message(Format::Promptfoo, bytes),
            "invalid UTF-8 on line 2 (byte offset 16)"
        );
        assert!(message(Format::Junit, b"\xff\xfe<\0t\0").contains("UTF-16"));
    }

    #[test]
    fn a_byte_order_mark_is_skipped() {
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend_from_slice(br#"<testsuite name="s"><testcase name="t"/></testsuite>"#);
        let imported = read(Format::Junit, &bytes, Path::new("r.xml")).unwrap();
        assert_eq!(imported.passed, 1);
    }

    #[test]
    fn timestamps() {
        let at = |text| parse_timestamp(text).map(|at| at.to_rfc3339());
        assert_eq!(
            at("2026-11-24T10:00:00.000Z").as_deref(),
            Some("2026-11-24T10:00:00+00:00")
        );
        assert_eq!(
            at("2026-11-24T10:00:00").as_deref(),
            Some("2026-11-24T10:00:00+00:00")
        );
        assert_eq!(
            at("2026-11-24T10:00:00.123456").as_deref(),
            Some("2026-11-24T10:00:00.123456+00:00")
        );
        assert_eq!(
            at("2026-11-24T10:00:00.5+01:00").as_deref(),
            Some("2026-11-24T10:00:00.500+01:00")
        );
        assert_eq!(
            at("2026-11-24T10:00:00+0100").as_deref(),
            Some("2026-11-24T10:00:00+01:00")
        );
        assert_eq!(
            at(" 2026-11-24 10:00:00 ").as_deref(),
            Some("2026-11-24T10:00:00+00:00")
        );
        for bad in ["", "yesterday", "2026-13-01T00:00:00", "1732442400"] {
            assert_eq!(at(bad), None, "{bad}");
        }
    }

    #[test]
    fn mean_does_not_overflow() {
        assert_eq!(mean(&[]), None);
        assert_eq!(mean(&[1.0, 0.5, 0.75]), Some(0.75));
        assert_eq!(mean(&[f64::MAX, f64::MAX, f64::MAX]), Some(f64::MAX));
        assert_eq!(mean(&[f64::MIN, f64::MIN]), Some(f64::MIN));
        let mixed = mean(&[f64::MAX, f64::MAX, -1.0]).unwrap();
        assert!(mixed.is_finite() && mixed > 0.6 * f64::MAX, "{mixed}");
    }

    #[test]
    fn counts_that_overflow_are_refused() {
        let imported = Imported {
            passed: u64::MAX,
            failed: 1,
            errored: 0,
            avg_score: None,
            tested_at: None,
            url: None,
            suggested_name: None,
        };
        assert!(check_counts(&imported)
            .unwrap_err()
            .contains("add up to more than 18446744073709551615"));
        let at_the_limit = Imported {
            passed: u64::MAX - 1,
            ..imported
        };
        assert_eq!(check_counts(&at_the_limit), Ok(()));
    }

    #[test]
    fn brief_cuts_long_text_on_a_char_boundary() {
        assert_eq!(brief("short"), "short");
        let long = "é".repeat(100);
        assert_eq!(brief(&long).chars().count(), 61);
    }
}
