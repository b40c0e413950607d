//! Dates people and git write: the exact forms git accepts in `GIT_*_DATE` ([`parse_date`]) and,
//! for `history --since`, the relative forms of git's approxidate that people type
//! ([`parse_since`]: `yesterday`, `2.weeks.ago`, `last monday`). Pure: the current time is
//! passed in.

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, Months, NaiveDate, NaiveDateTime, TimeZone,
};

/// Parses the date formats git accepts in `GIT_*_DATE`: `@<seconds> <±hhmm>`, `<seconds> <±hhmm>`,
/// RFC 2822, and ISO 8601 / RFC 3339 (with `T` or a space, offset optional, UTC assumed).
pub fn parse_date(text: &str) -> Option<DateTime<FixedOffset>> {
    let text = text.trim();
    let raw = text.strip_prefix('@').unwrap_or(text);
    let mut parts = raw.split_whitespace();
    if let (Some(secs), offset, None) = (parts.next(), parts.next(), parts.next()) {
        if let Ok(secs) = secs.parse::<i64>() {
            let offset = match offset {
                None => FixedOffset::east_opt(0)?,
                Some(o) => parse_offset(o)?,
            };
            return offset.timestamp_opt(secs, 0).single();
        }
    }
    if let Ok(t) = DateTime::parse_from_rfc2822(text) {
        return Some(t);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t);
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%z",
        "%Y-%m-%d %H:%M:%S %z",
        "%Y-%m-%d %H:%M:%S%z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(text, format) {
            return Some(t);
        }
    }
    for format in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc().fixed_offset());
        }
    }
    None
}

fn parse_offset(text: &str) -> Option<FixedOffset> {
    let (sign, digits) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = digits[2..].parse().ok()?;
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

/// A `--since` date: any form [`parse_date`] reads; `YYYY-MM-DD` (midnight UTC); or a time
/// relative to `now`, in `now`'s offset:
///
/// - `now`; `today` and `yesterday` (the start of that day);
/// - `monday` … `sunday`, optionally after `last` (the start of the most recent such day before
///   today);
/// - `N UNIT ago`, with the words separated by spaces, dots or underscores (`2.weeks.ago`,
///   `3 days ago`, `1_hour_ago`); `N` a whole number, `a` or `an`; UNIT one of `second`,
///   `minute`, `hour`, `day`, `week`, `month`, `year` (singular or plural); months and years
///   are calendar months and years;
/// - `last week`, `last month`, `last year` (one unit ago).
///
/// Words are case-insensitive. Anything else is `None`.
pub fn parse_since(text: &str, now: DateTime<FixedOffset>) -> Option<DateTime<FixedOffset>> {
    let text = text.trim();
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(day.and_hms_opt(0, 0, 0)?.and_utc().fixed_offset());
    }
    if let Some(exact) = parse_date(text) {
        return Some(exact);
    }
    let lower = text.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| c.is_whitespace() || c == '.' || c == '_')
        .filter(|w| !w.is_empty())
        .collect();
    match words.as_slice() {
        ["now"] => Some(now),
        ["today"] => start_of_day(now, 0),
        ["yesterday"] => start_of_day(now, 1),
        [day] | ["last", day] if weekday(day).is_some() => {
            let wanted = weekday(day)?.num_days_from_monday();
            let today = now.weekday().num_days_from_monday();
            let back = (today + 7 - wanted - 1) % 7 + 1;
            start_of_day(now, i64::from(back))
        }
        ["last", unit] => ago(now, 1, unit),
        [count, unit, "ago"] => {
            let count = match *count {
                "a" | "an" => 1,
                digits if digits.bytes().all(|b| b.is_ascii_digit()) => digits.parse().ok()?,
                _ => return None,
            };
            ago(now, count, unit)
        }
        _ => None,
    }
}

/// The start of the day `days_back` days before `now`'s, in `now`'s offset.
fn start_of_day(now: DateTime<FixedOffset>, days_back: i64) -> Option<DateTime<FixedOffset>> {
    let day = now
        .date_naive()
        .checked_sub_signed(Duration::try_days(days_back)?)?;
    now.offset()
        .from_local_datetime(&day.and_hms_opt(0, 0, 0)?)
        .single()
}

/// `now` less `count` units.
fn ago(now: DateTime<FixedOffset>, count: u32, unit: &str) -> Option<DateTime<FixedOffset>> {
    let unit = unit.strip_suffix('s').unwrap_or(unit);
    let count64 = i64::from(count);
    let span = match unit {
        "second" | "sec" => Duration::try_seconds(count64)?,
        "minute" | "min" => Duration::try_minutes(count64)?,
        "hour" => Duration::try_hours(count64)?,
        "day" => Duration::try_days(count64)?,
        "week" => Duration::try_weeks(count64)?,
        "month" => return now.checked_sub_months(Months::new(count)),
        "year" => return now.checked_sub_months(Months::new(count.checked_mul(12)?)),
        _ => return None,
    };
    now.checked_sub_signed(span)
}

fn weekday(word: &str) -> Option<chrono::Weekday> {
    use chrono::Weekday::*;
    Some(match word {
        "monday" | "mon" => Mon,
        "tuesday" | "tue" => Tue,
        "wednesday" | "wed" => Wed,
        "thursday" | "thu" => Thu,
        "friday" | "fri" => Fri,
        "saturday" | "sat" => Sat,
        "sunday" | "sun" => Sun,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_git_date_formats() {
        let expect = "2005-04-07T22:13:13+02:00";
        for input in [
            "@1112904793 +0200",
            "1112904793 +0200",
            "Thu, 07 Apr 2005 22:13:13 +0200",
            "2005-04-07T22:13:13+02:00",
            "2005-04-07 22:13:13 +0200",
        ] {
            assert_eq!(
                parse_date(input).map(|d| d.to_rfc3339()),
                Some(expect.to_owned()),
                "{input}"
            );
        }
        assert_eq!(
            parse_date("2005-04-07T20:13:13").unwrap().timestamp(),
            1112904793
        );
        for bad in ["", "yesterday", "123 +99", "123 0200", "2005-13-40"] {
            assert!(parse_date(bad).is_none(), "{bad}");
        }
    }

    /// Wednesday 2026-12-02 15:30:00 at +01:00.
    fn now() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2026-12-02T15:30:00+01:00").unwrap()
    }

    fn since(text: &str) -> Option<String> {
        parse_since(text, now()).map(|t| t.to_rfc3339())
    }

    #[test]
    fn relative_days_start_at_midnight_in_the_offset_of_now() {
        assert_eq!(since("now").as_deref(), Some("2026-12-02T15:30:00+01:00"));
        assert_eq!(since("today").as_deref(), Some("2026-12-02T00:00:00+01:00"));
        assert_eq!(
            since(" Yesterday ").as_deref(),
            Some("2026-12-01T00:00:00+01:00")
        );
        // Wednesday: the most recent Monday is two days back, the most recent Wednesday a week.
        assert_eq!(
            since("last monday").as_deref(),
            Some("2026-11-30T00:00:00+01:00")
        );
        assert_eq!(
            since("monday").as_deref(),
            Some("2026-11-30T00:00:00+01:00")
        );
        assert_eq!(
            since("last.tuesday").as_deref(),
            Some("2026-12-01T00:00:00+01:00")
        );
        assert_eq!(
            since("last wednesday").as_deref(),
            Some("2026-11-25T00:00:00+01:00")
        );
        assert_eq!(
            since("last thursday").as_deref(),
            Some("2026-11-26T00:00:00+01:00")
        );
        assert_eq!(
            since("Sunday").as_deref(),
            Some("2026-11-29T00:00:00+01:00")
        );
    }

    #[test]
    fn ago_counts_back_from_now() {
        for (input, expect) in [
            ("2.weeks.ago", "2026-11-18T15:30:00+01:00"),
            ("3 days ago", "2026-11-29T15:30:00+01:00"),
            ("1.day.ago", "2026-12-01T15:30:00+01:00"),
            ("1_hour_ago", "2026-12-02T14:30:00+01:00"),
            ("90 minutes ago", "2026-12-02T14:00:00+01:00"),
            ("30.seconds.ago", "2026-12-02T15:29:30+01:00"),
            ("a week ago", "2026-11-25T15:30:00+01:00"),
            ("an hour ago", "2026-12-02T14:30:00+01:00"),
            ("1 month ago", "2026-11-02T15:30:00+01:00"),
            ("2.years.ago", "2024-12-02T15:30:00+01:00"),
            ("last week", "2026-11-25T15:30:00+01:00"),
            ("last month", "2026-11-02T15:30:00+01:00"),
            ("last year", "2025-12-02T15:30:00+01:00"),
            ("0 days ago", "2026-12-02T15:30:00+01:00"),
        ] {
            assert_eq!(since(input).as_deref(), Some(expect), "{input}");
        }
    }

    #[test]
    fn absolute_dates_are_kept() {
        assert_eq!(
            since("2026-01-31").as_deref(),
            Some("2026-01-31T00:00:00+00:00")
        );
        assert_eq!(
            since("2026-01-31T10:00:00+02:00").as_deref(),
            Some("2026-01-31T10:00:00+02:00")
        );
        assert_eq!(
            since("2026-01-31 10:00:00").as_deref(),
            Some("2026-01-31T10:00:00+00:00")
        );
    }

    #[test]
    fn other_words_are_refused() {
        for bad in [
            "",
            "tomorrow",
            "last",
            "ago",
            "days ago",
            "2 fortnights ago",
            "-2 days ago",
            "2 days",
            "2 days from now",
            "next monday",
            "99999999999999999999 days ago",
            "4294967295 years ago",
            "2026-13-45",
        ] {
            assert_eq!(since(bad), None, "{bad}");
        }
    }
}
