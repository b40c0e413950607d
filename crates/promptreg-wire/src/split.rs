//! Traffic splits: the normative rule that assigns a key (a user, a session, a tenant) to one
//! version of a split environment, the same in every reader — the CLI, `serve`, the Rust and
//! Python clients and an exported bundle — so a user sees one version wherever they are served
//! from, offline included (docs/FORMAT.md §3.3).
//!
//! `bucket = first 8 bytes of SHA-256(name "\n" environment "\n" key), big-endian, mod 10000`;
//! entry *i* covers buckets `[100·(p₁+…+pᵢ₋₁), 100·(p₁+…+pᵢ))`. Percentages are kept as whole
//! hundredths ([`Percent`]) so the arithmetic is exact.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// How many buckets a split divides keys into: one per hundredth of a percent.
pub const BUCKETS: u32 = 10_000;

/// A share of traffic, 0.01% to 100%, held as whole hundredths of a percent. In JSON it is a
/// number (`90`, `12.5`); in text, the same digits (`12.5`, at most two decimals).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Percent(u32);

impl Percent {
    /// All of the traffic.
    pub const WHOLE: Percent = Percent(BUCKETS);

    /// From hundredths of a percent (`1000` is 10%); `None` beyond 100%.
    pub fn from_hundredths(hundredths: u32) -> Option<Percent> {
        (hundredths <= BUCKETS).then_some(Percent(hundredths))
    }

    /// Hundredths of a percent: how many buckets the share covers.
    pub fn hundredths(self) -> u32 {
        self.0
    }

    /// Reads `90`, `12.5`, `0.01`: digits, at most two decimals, 0 to 100.
    pub fn parse(text: &str) -> Result<Percent, String> {
        let bad =
            || format!("`{text}` is not a percentage from 0.01 to 100 with at most two decimals");
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(fraction) || text.ends_with('.') {
            return Err(bad());
        }
        if fraction.len() > 2 {
            return Err(format!(
                "`{text}` has more than two decimals (0.01% is the finest share)"
            ));
        }
        let whole: u32 = whole.parse().map_err(|_| bad())?;
        let fraction: u32 = format!("{fraction:0<2}").parse().map_err(|_| bad())?;
        whole
            .checked_mul(100)
            .and_then(|w| w.checked_add(fraction))
            .and_then(Percent::from_hundredths)
            .ok_or_else(bad)
    }

    /// From a number as YAML or JSON gives it; refused when it is not a whole number of
    /// hundredths (`12.345`) or lies outside 0 to 100.
    pub fn from_number(number: f64) -> Result<Percent, String> {
        let scaled = number * 100.0;
        let rounded = scaled.round();
        if !number.is_finite() || !(0.0..=f64::from(BUCKETS)).contains(&rounded) {
            return Err(format!("{number} is not a percentage from 0.01 to 100"));
        }
        if (scaled - rounded).abs() > 1e-6 {
            return Err(format!(
                "{number} has more than two decimals (0.01% is the finest share)"
            ));
        }
        Ok(Percent(rounded as u32))
    }

    /// The number JSON carries: whole when it is whole.
    pub fn as_number(self) -> f64 {
        f64::from(self.0) / 100.0
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, fraction) = (self.0 / 100, self.0 % 100);
        match fraction {
            0 => write!(f, "{whole}"),
            f10 if f10 % 10 == 0 => write!(f, "{whole}.{}", f10 / 10),
            _ => write!(f, "{whole}.{fraction:02}"),
        }
    }
}

impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.is_multiple_of(100) {
            serializer.serialize_u32(self.0 / 100)
        } else {
            serializer.serialize_f64(self.as_number())
        }
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Percent, D::Error> {
        let number = f64::deserialize(deserializer)?;
        Percent::from_number(number).map_err(serde::de::Error::custom)
    }
}

/// One entry of a split: a version and the share of keys it serves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitEntry {
    pub version: String,
    pub percent: Percent,
}

/// The bucket, 0 to 9999, that `key` falls into for `name`'s split in `environment`.
pub fn bucket(name: &str, environment: &str, key: &str) -> u32 {
    let mut hash = Sha256::new();
    hash.update(name.as_bytes());
    hash.update(b"\n");
    hash.update(environment.as_bytes());
    hash.update(b"\n");
    hash.update(key.as_bytes());
    let digest = hash.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) % u64::from(BUCKETS)) as u32
}

/// The entry covering `bucket`: entries take consecutive ranges in the order written. `None`
/// only when the shares add up to less than the bucket (a split [`check`] refuses).
pub fn assign(entries: &[SplitEntry], bucket: u32) -> Option<&SplitEntry> {
    let mut end = 0u32;
    entries.iter().find(|entry| {
        end = end.saturating_add(entry.percent.hundredths());
        bucket < end
    })
}

/// Refuses what cannot be a split key: empty, or with a line break (the hash's separator).
pub fn check_key(key: &str) -> Result<(), &'static str> {
    if key.is_empty() {
        Err("a split key is a non-empty string (a user, session or tenant id)")
    } else if key.contains(['\n', '\r']) {
        Err("a split key cannot contain a line break")
    } else {
        Ok(())
    }
}

/// The rules every split obeys, as one sentence when one is broken: two or more entries,
/// distinct versions, each share above zero, adding up to exactly 100.
pub fn check(entries: &[SplitEntry]) -> Result<(), String> {
    if entries.len() < 2 {
        return Err(
            "a split needs two or more entries; a single version is written as the pointer itself"
                .into(),
        );
    }
    for (i, entry) in entries.iter().enumerate() {
        if entry.percent.hundredths() == 0 {
            return Err(format!(
                "version {} has percent 0; every entry serves some traffic (remove it instead)",
                entry.version
            ));
        }
        if entries[..i].iter().any(|e| e.version == entry.version) {
            return Err(format!(
                "version {} appears twice in the split",
                entry.version
            ));
        }
    }
    let total: u32 = entries.iter().map(|e| e.percent.hundredths()).sum();
    if total != BUCKETS {
        return Err(format!(
            "the percentages add up to {}, not 100",
            Percent(total.min(u32::MAX / 2))
        ));
    }
    Ok(())
}

/// `1.1.0=90 1.2.0=10`: the text form of trailers and the CLI.
pub fn render(entries: &[SplitEntry]) -> String {
    entries
        .iter()
        .map(|e| format!("{}={}", e.version, e.percent))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Reads [`render`]'s form back (the rules of [`check`] are not applied here).
pub fn parse(text: &str) -> Result<Vec<SplitEntry>, String> {
    text.split_whitespace()
        .map(|field| {
            let (version, percent) = field
                .split_once('=')
                .ok_or_else(|| format!("`{field}` is not VERSION=PERCENT"))?;
            Ok(SplitEntry {
                version: version.to_owned(),
                percent: Percent::parse(percent)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(version: &str, percent: &str) -> SplitEntry {
        SplitEntry {
            version: version.into(),
            percent: Percent::parse(percent).unwrap(),
        }
    }

    #[test]
    fn percent_text_and_numbers() {
        for (text, hundredths, shown) in [
            ("90", 9000, "90"),
            ("12.5", 1250, "12.5"),
            ("0.01", 1, "0.01"),
            ("100", 10000, "100"),
            ("7.50", 750, "7.5"),
        ] {
            let p = Percent::parse(text).unwrap();
            assert_eq!(p.hundredths(), hundredths);
            assert_eq!(p.to_string(), shown);
            assert_eq!(Percent::from_number(p.as_number()).unwrap(), p);
        }
        for bad in ["", "-5", "12.345", "150", "1e2", ".5", "5.", "x", "1.2.3"] {
            assert!(Percent::parse(bad).is_err(), "{bad}");
        }
        assert!(Percent::from_number(12.345).is_err());
        assert!(Percent::from_number(-5.0).is_err());
        assert!(Percent::from_number(150.0).is_err());
        assert!(Percent::from_number(f64::NAN).is_err());
        assert_eq!(Percent::from_number(0.29).unwrap().hundredths(), 29);
        assert_eq!(
            serde_json::to_string(&Percent::parse("90").unwrap()).unwrap(),
            "90"
        );
        assert_eq!(
            serde_json::to_string(&Percent::parse("12.5").unwrap()).unwrap(),
            "12.5"
        );
    }

    #[test]
    fn assignment_covers_consecutive_ranges() {
        let split = [entry("1.1.0", "90"), entry("1.2.0", "10")];
        assert_eq!(assign(&split, 0).unwrap().version, "1.1.0");
        assert_eq!(assign(&split, 8999).unwrap().version, "1.1.0");
        assert_eq!(assign(&split, 9000).unwrap().version, "1.2.0");
        assert_eq!(assign(&split, 9999).unwrap().version, "1.2.0");
        assert!(assign(&split, 10000).is_none());
    }

    #[test]
    fn checks() {
        assert!(check(&[entry("1.1.0", "90"), entry("1.2.0", "10")]).is_ok());
        assert!(check(&[entry("1.1.0", "100")]).is_err());
        assert!(check(&[entry("1.1.0", "90"), entry("1.1.0", "10")]).is_err());
        assert!(check(&[entry("1.1.0", "90"), entry("1.2.0", "20")]).is_err());
        assert!(check(&[entry("1.1.0", "100"), entry("1.2.0", "0")]).is_err());
        assert!(check_key("").is_err());
        assert!(check_key("a\nb").is_err());
        assert!(check_key("user-42").is_ok());
        let text = "1.1.0=90 1.2.0=10";
        assert_eq!(render(&parse(text).unwrap()), text);
    }
}
