//! Versions: strict semantic versions without build metadata, written `v<semver>` in tag names.

use std::fmt;

use crate::model::prompt::Prompt;
use crate::{Error, PromptName, Result};

/// A released (or to-be-released) version of a prompt.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(semver::Version);

/// How `create --bump` derives the next version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Bump {
    Patch,
    Minor,
    Major,
}

impl Bump {
    /// `major`, `minor` or `patch`.
    pub fn as_str(self) -> &'static str {
        match self {
            Bump::Major => "major",
            Bump::Minor => "minor",
            Bump::Patch => "patch",
        }
    }
}

/// The bump a change from `old` to `new` calls for, and why (`variable `tone` removed`).
///
/// - **major** when callers break: a variable is removed (or renamed), a new variable is required
///   without a default, or an existing one becomes so;
/// - **minor** when what the model is sent or how it is called changes: the system prompt,
///   messages, model, temperature, token budget, examples, a new optional variable, a variable's
///   default, or a required variable becoming optional;
/// - **patch** otherwise: summary, tags, metadata, variable descriptions, or nothing at all in
///   the resolved prompt (a reformatted `prompt.yaml`, a component moved to its own file).
///
/// The reason lists every change of the chosen level, in the order above.
pub fn auto_bump(old: &Prompt, new: &Prompt) -> (Bump, String) {
    let mut reasons: Vec<(Bump, String)> = Vec::new();
    let mut note = |bump: Bump, reason: String| reasons.push((bump, reason));
    let must_give = |v: &crate::model::prompt::Variable| v.required && v.default.is_none();
    for (name, before) in &old.variables {
        match new.variables.get(name) {
            None => note(Bump::Major, format!("variable `{name}` removed")),
            Some(after) if must_give(after) && !must_give(before) => {
                note(Bump::Major, format!("variable `{name}` is now required"))
            }
            Some(after) => {
                if must_give(before) && !must_give(after) {
                    note(Bump::Minor, format!("variable `{name}` is now optional"));
                } else if before.default != after.default {
                    note(Bump::Minor, format!("default of variable `{name}` changed"));
                } else if before.required != after.required {
                    let now = if after.required {
                        "marked required"
                    } else {
                        "optional"
                    };
                    note(Bump::Minor, format!("variable `{name}` is now {now}"));
                }
                if before.description != after.description {
                    note(
                        Bump::Patch,
                        format!("description of variable `{name}` changed"),
                    );
                }
            }
        }
    }
    for (name, after) in &new.variables {
        if !old.variables.contains_key(name) {
            if must_give(after) {
                note(Bump::Major, format!("new required variable `{name}`"));
            } else if after.required {
                note(Bump::Minor, format!("new variable `{name}` with a default"));
            } else {
                note(Bump::Minor, format!("new optional variable `{name}`"));
            }
        }
    }
    let minor = [
        ("system prompt", old.system_prompt != new.system_prompt),
        ("messages", old.messages != new.messages),
        ("model", old.model != new.model),
        ("temperature", old.temperature != new.temperature),
        ("token_budget", old.token_budget != new.token_budget),
        ("examples", old.examples != new.examples),
    ];
    let patch = [
        ("summary", old.summary != new.summary),
        ("tags", old.tags != new.tags),
        ("metadata", old.metadata != new.metadata),
    ];
    for (bump, list) in [(Bump::Minor, &minor[..]), (Bump::Patch, &patch[..])] {
        for (what, changed) in list {
            if *changed {
                note(bump, format!("{what} changed"));
            }
        }
    }
    let Some(bump) = reasons.iter().map(|(b, _)| *b).max() else {
        return (
            Bump::Patch,
            "the resolved prompt is unchanged (only its files' layout or formatting)".into(),
        );
    };
    // Variables first for major; the fixed order of the lists above otherwise.
    let why: Vec<String> = reasons
        .into_iter()
        .filter(|(b, _)| *b == bump)
        .map(|(_, r)| r)
        .collect();
    (bump, why.join(", "))
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
    latest_by(versions, |v| v)
}

/// [`latest`] of items sorted by the version `version_of` gives.
pub fn latest_by<T>(items: &[T], version_of: impl Fn(&T) -> &Version) -> Option<&T> {
    items
        .iter()
        .rev()
        .find(|item| !version_of(item).is_prerelease())
        .or_else(|| items.last())
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

    fn base() -> Prompt {
        let file: crate::model::prompt::PromptFile = serde_saphyr::from_str(
            "summary: s\nsystem_prompt: Hi {{ who }}\nvariables:\n  who: {description: d}\n  tone: {required: false, default: calm}\ntags: [a]\n",
        )
        .unwrap();
        file.resolve(&crate::model::prompt::tests::NoComponents)
            .unwrap()
    }

    #[track_caller]
    fn classify(change: impl FnOnce(&mut Prompt)) -> (Bump, String) {
        let mut new = base();
        change(&mut new);
        auto_bump(&base(), &new)
    }

    #[test]
    fn auto_bump_major_when_callers_break() {
        let (bump, why) = classify(|p| {
            p.variables.remove("tone");
        });
        assert_eq!(
            (bump, why.as_str()),
            (Bump::Major, "variable `tone` removed")
        );
        let (bump, why) = classify(|p| {
            let v = p.variables.remove("who").unwrap();
            p.variables.insert("name".into(), v);
            p.system_prompt = "Hi {{ name }}".into();
        });
        assert_eq!(bump, Bump::Major);
        assert_eq!(why, "variable `who` removed, new required variable `name`");
        let (bump, why) = classify(|p| {
            let tone = p.variables.get_mut("tone").unwrap();
            tone.required = true;
            tone.default = None;
        });
        assert_eq!(
            (bump, why.as_str()),
            (Bump::Major, "variable `tone` is now required")
        );
    }

    #[test]
    fn auto_bump_minor_for_text_and_settings() {
        for (change, reason) in [
            (
                Box::new(|p: &mut Prompt| p.system_prompt.push('!')) as Box<dyn Fn(&mut Prompt)>,
                "system prompt changed",
            ),
            (Box::new(|p| p.temperature = 0.1), "temperature changed"),
            (Box::new(|p| p.token_budget = 9), "token_budget changed"),
            (Box::new(|p| p.model = Some("m".into())), "model changed"),
            (
                Box::new(|p| p.examples.push(serde_json::json!({"input": "x"}))),
                "examples changed",
            ),
            (
                Box::new(|p| {
                    p.messages.push(crate::model::prompt::Message {
                        role: crate::model::prompt::Role::User,
                        content: "q".into(),
                    })
                }),
                "messages changed",
            ),
            (
                Box::new(|p| {
                    p.variables.insert(
                        "extra".into(),
                        crate::model::prompt::Variable {
                            description: None,
                            required: true,
                            default: Some("x".into()),
                        },
                    );
                }),
                "new variable `extra` with a default",
            ),
            (
                Box::new(|p| p.variables.get_mut("tone").unwrap().default = Some("warm".into())),
                "default of variable `tone` changed",
            ),
            (
                Box::new(|p| p.variables.get_mut("who").unwrap().required = false),
                "variable `who` is now optional",
            ),
        ] {
            let (bump, why) = classify(|p| {
                change(p);
                p.tags.push("also".into());
            });
            assert_eq!((bump, why.as_str()), (Bump::Minor, reason));
        }
    }

    #[test]
    fn auto_bump_patch_for_metadata_only() {
        let (bump, why) = classify(|p| {
            p.summary = None;
            p.tags.clear();
            p.metadata.insert("owner".into(), "me".into());
            p.variables.get_mut("who").unwrap().description = None;
        });
        assert_eq!(bump, Bump::Patch);
        assert_eq!(
            why,
            "description of variable `who` changed, summary changed, tags changed, metadata changed"
        );
        let (bump, why) = classify(|_| {});
        assert_eq!(bump, Bump::Patch);
        assert!(why.contains("unchanged"), "{why}");
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
