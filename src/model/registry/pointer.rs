//! What an environment holds for one prompt: one version, or a traffic split of two or more
//! released versions with their shares (docs/FORMAT.md §3.3). Keys are assigned to a split's
//! entries by the rule in [`promptreg_wire::split`]; without a key the first entry is served.

use std::fmt;

use promptreg_wire::split::{self, SplitEntry};
pub use promptreg_wire::Percent;

use crate::Version;

/// One environment's pointer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pointer {
    Version(Version),
    Split(Split),
}

/// A checked split: two or more distinct versions, each with a share above zero, adding up
/// to 100%, in the order written (the stable version first, the newest last).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split(Vec<Share>);

/// One entry of a split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Share {
    pub version: Version,
    pub percent: Percent,
}

impl Split {
    /// Checks the rules of a split (see [`promptreg_wire::split::check`]).
    pub fn new(shares: Vec<Share>) -> Result<Split, String> {
        split::check(&to_wire(&shares))?;
        Ok(Split(shares))
    }

    pub fn shares(&self) -> &[Share] {
        &self.0
    }

    /// The entry served without a key: the first.
    pub fn first(&self) -> &Version {
        &self.0[0].version
    }

    /// The entry `bucket` falls into.
    pub fn entry_for(&self, bucket: u32) -> &Version {
        let mut end = 0;
        for share in &self.0 {
            end += share.percent.hundredths();
            if bucket < end {
                return &share.version;
            }
        }
        // Unreachable for a checked split (the shares cover every bucket).
        self.first()
    }

    /// The split as the wire shows it.
    pub fn to_wire(&self) -> Vec<SplitEntry> {
        to_wire(&self.0)
    }

    /// Reads the text form (`1.1.0=90 1.2.0=10`), checking the rules.
    pub fn parse(text: &str) -> Result<Split, String> {
        let entries = split::parse(text)?;
        let shares = entries
            .into_iter()
            .map(|e| {
                Ok(Share {
                    version: Version::parse(&e.version).map_err(|err| err.to_string())?,
                    percent: e.percent,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Split::new(shares)
    }
}

fn to_wire(shares: &[Share]) -> Vec<SplitEntry> {
    shares
        .iter()
        .map(|s| SplitEntry {
            version: s.version.to_string(),
            percent: s.percent,
        })
        .collect()
}

impl fmt::Display for Split {
    /// `1.1.0=90 1.2.0=10`, the form of the `Split:` trailer.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&split::render(&self.to_wire()))
    }
}

impl Pointer {
    /// What the environment serves without a key: the version, or the split's first entry.
    pub fn first(&self) -> &Version {
        match self {
            Pointer::Version(v) => v,
            Pointer::Split(s) => s.first(),
        }
    }

    /// Every version it serves, in the order written.
    pub fn versions(&self) -> Vec<&Version> {
        match self {
            Pointer::Version(v) => vec![v],
            Pointer::Split(s) => s.0.iter().map(|share| &share.version).collect(),
        }
    }

    /// Whether it serves `version`, in whole or in part.
    pub fn serves(&self, version: &Version) -> bool {
        self.share_of(version).is_some()
    }

    /// The share of traffic `version` gets (`WHOLE` for a plain pointer to it).
    pub fn share_of(&self, version: &Version) -> Option<Percent> {
        match self {
            Pointer::Version(v) => (v == version).then_some(Percent::WHOLE),
            Pointer::Split(s) => {
                s.0.iter()
                    .find(|e| &e.version == version)
                    .map(|e| e.percent)
            }
        }
    }

    /// The split, if it is one.
    pub fn split(&self) -> Option<&Split> {
        match self {
            Pointer::Version(_) => None,
            Pointer::Split(s) => Some(s),
        }
    }

    /// The version `key` is assigned in `name`'s `environment`, and its bucket (`None` for a
    /// plain pointer, where every key gets the one version).
    pub fn assign(&self, name: &str, environment: &str, key: &str) -> (&Version, Option<u32>) {
        match self {
            Pointer::Version(v) => (v, None),
            Pointer::Split(s) => {
                let bucket = split::bucket(name, environment, key);
                (s.entry_for(bucket), Some(bucket))
            }
        }
    }

    /// Reads a version (`1.2.0`) or the split text form (`1.1.0=90 1.2.0=10`).
    pub fn parse(text: &str) -> Result<Pointer, String> {
        if text.contains('=') {
            Split::parse(text).map(Pointer::Split)
        } else {
            Version::parse(text)
                .map(Pointer::Version)
                .map_err(|e| e.to_string())
        }
    }

    /// How a person reads it: `1.2.0`, or `1.1.0 90% / 1.2.0 10%`.
    pub fn describe(&self) -> String {
        match self {
            Pointer::Version(v) => v.to_string(),
            Pointer::Split(s) => {
                s.0.iter()
                    .map(|e| format!("{} {}%", e.version, e.percent))
                    .collect::<Vec<_>>()
                    .join(" / ")
            }
        }
    }
}

impl From<Version> for Pointer {
    fn from(version: Version) -> Pointer {
        Pointer::Version(version)
    }
}

impl fmt::Display for Pointer {
    /// The text form [`Pointer::parse`] reads: the version, or `1.1.0=90 1.2.0=10`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pointer::Version(v) => write!(f, "{v}"),
            Pointer::Split(s) => write!(f, "{s}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms_round_trip() {
        for text in [
            "1.2.0",
            "1.1.0=90 1.2.0=10",
            "1.0.0=33.33 1.1.0=33.33 2.0.0=33.34",
        ] {
            assert_eq!(Pointer::parse(text).unwrap().to_string(), text);
        }
        for bad in [
            "1.1.0=90",
            "1.1.0=90 1.1.0=10",
            "1.1.0=90 1.2.0=20",
            "1.1=50 1.2.0=50",
        ] {
            assert!(Pointer::parse(bad).is_err(), "{bad}");
        }
        let p = Pointer::parse("1.1.0=90 1.2.0=10").unwrap();
        assert_eq!(p.describe(), "1.1.0 90% / 1.2.0 10%");
        assert_eq!(p.first().to_string(), "1.1.0");
        assert_eq!(
            p.share_of(&Version::parse("1.2.0").unwrap()),
            Percent::from_hundredths(1000)
        );
        assert!(!p.serves(&Version::parse("2.0.0").unwrap()));
    }
}
