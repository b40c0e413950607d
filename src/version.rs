//! Versions: strict semantic versions without build metadata, written `v<semver>` in tag names.

use std::fmt;

use crate::{Error, PromptName, Result};

/// A released (or to-be-released) version of a prompt.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(semver::Version);

/// How `create --bump` derives the next version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bump {
    Major,
    Minor,
    Patch,
}

impl Version {
    /// Parses `1.2.3` or `1.2.3-rc.1`; a leading `v` is accepted. Build metadata is refused
    /// because semver ignores it when comparing, so `1.0.0+a` and `1.0.0+b` would collide.
    pub fn parse(input: &str) -> Result<Self> {
        let text = input.strip_prefix('v').unwrap_or(input);
        let invalid = |reason: String| Error::InvalidVersion {
            input: input.to_owned(),
            reason,
        };
        let version = semver::Version::parse(text)
            .map_err(|e| invalid(format!("{e} (expected MAJOR.MINOR.PATCH, e.g. 1.2.0)")))?;
        if !version.build.is_empty() {
            return Err(invalid("build metadata (`+…`) is not allowed".into()));
        }
        Ok(Self(version))
    }

    /// Parses the last component of a tag name (`v1.2.0`); `None` when it is not a version.
    pub fn from_tag_component(component: &str) -> Option<Self> {
        let text = component.strip_prefix('v')?;
        let version = semver::Version::parse(text).ok()?;
        // Only the canonical spelling counts: `v01.2.0` or `v1.2.0+x` are not releases.
        (version.build.is_empty() && version.to_string() == text).then_some(Self(version))
    }

    /// The full tag name of this version of `name`: `<name>/v<version>`.
    pub fn tag_name(&self, name: &PromptName) -> String {
        format!("{name}/v{self}")
    }

    /// The full ref of this version's tag.
    pub fn tag_ref(&self, name: &PromptName) -> String {
        format!("refs/tags/{}", self.tag_name(name))
    }

    /// Whether this is a pre-release (`1.0.0-rc.1`).
    pub fn is_prerelease(&self) -> bool {
        !self.0.pre.is_empty()
    }

    /// The next version after `current` (or the first one when there is none).
    /// First versions: `--bump major` starts at 1.0.0, minor and patch at 0.1.0.
    pub fn bumped(current: Option<&Version>, bump: Bump) -> Version {
        let Some(current) = current else {
            return match bump {
                Bump::Major => Version(semver::Version::new(1, 0, 0)),
                Bump::Minor | Bump::Patch => Version(semver::Version::new(0, 1, 0)),
            };
        };
        let v = &current.0;
        let pre = !v.pre.is_empty();
        Version(match bump {
            // A pre-release bumps to its own release: 2.0.0-rc.1 → 2.0.0 (as npm and cargo do).
            Bump::Major if pre && v.minor == 0 && v.patch == 0 => {
                semver::Version::new(v.major, 0, 0)
            }
            Bump::Major => semver::Version::new(v.major + 1, 0, 0),
            Bump::Minor if pre && v.patch == 0 => semver::Version::new(v.major, v.minor, 0),
            Bump::Minor => semver::Version::new(v.major, v.minor + 1, 0),
            Bump::Patch if pre => semver::Version::new(v.major, v.minor, v.patch),
            Bump::Patch => semver::Version::new(v.major, v.minor, v.patch + 1),
        })
    }
}

/// The version `@latest` means: the highest release, or the highest pre-release when there are
/// only pre-releases. `versions` must be sorted ascending.
pub fn latest(versions: &[Version]) -> Option<&Version> {
    versions
        .iter()
        .rev()
        .find(|v| !v.is_prerelease())
        .or_else(|| versions.last())
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl serde::Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn parses_and_refuses() {
        assert_eq!(v("1.2.3").to_string(), "1.2.3");
        assert_eq!(v("v1.2.3").to_string(), "1.2.3");
        assert_eq!(v("2.0.0-rc.1").to_string(), "2.0.0-rc.1");
        for bad in [
            "1.2",
            "1",
            "",
            "x.y.z",
            "01.2.3",
            "1.2.3+build",
            "1.2.3 ",
            "vv1.2.3",
        ] {
            assert!(Version::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn orders_by_semver_not_text() {
        let mut list = [v("1.10.0"), v("1.2.0"), v("1.2.0-rc.1"), v("0.9.9")];
        list.sort();
        let text: Vec<String> = list.iter().map(ToString::to_string).collect();
        assert_eq!(text, ["0.9.9", "1.2.0-rc.1", "1.2.0", "1.10.0"]);
    }

    #[test]
    fn tag_component_must_be_canonical() {
        assert_eq!(Version::from_tag_component("v1.2.0"), Some(v("1.2.0")));
        assert_eq!(Version::from_tag_component("1.2.0"), None);
        assert_eq!(Version::from_tag_component("v1.02.0"), None);
        assert_eq!(Version::from_tag_component("v1.2.0+b"), None);
        assert_eq!(Version::from_tag_component("latest"), None);
    }

    #[test]
    fn bumps() {
        assert_eq!(Version::bumped(None, Bump::Major), v("1.0.0"));
        assert_eq!(Version::bumped(None, Bump::Minor), v("0.1.0"));
        assert_eq!(Version::bumped(None, Bump::Patch), v("0.1.0"));
        assert_eq!(Version::bumped(Some(&v("1.2.3")), Bump::Major), v("2.0.0"));
        assert_eq!(Version::bumped(Some(&v("1.2.3")), Bump::Minor), v("1.3.0"));
        assert_eq!(Version::bumped(Some(&v("1.2.3")), Bump::Patch), v("1.2.4"));
        assert_eq!(
            Version::bumped(Some(&v("2.0.0-rc.1")), Bump::Major),
            v("2.0.0")
        );
        assert_eq!(
            Version::bumped(Some(&v("1.3.0-rc.1")), Bump::Patch),
            v("1.3.0")
        );
    }

    #[test]
    fn latest_prefers_releases() {
        let list = [v("1.0.0"), v("1.1.0"), v("2.0.0-rc.1")];
        assert_eq!(latest(&list), Some(&v("1.1.0")));
        let only_pre = [v("0.1.0-alpha")];
        assert_eq!(latest(&only_pre), Some(&v("0.1.0-alpha")));
        assert_eq!(latest(&[]), None);
    }
}
