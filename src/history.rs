//! The audit trail's vocabulary: events, how a pointer change is classified, and the git
//! trailers promptreg writes on its own commits (and reads back to avoid re-parsing the index).

use serde::Serialize;

use crate::registry::Pointers;
use crate::Version;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// A version was released (a tag).
    Created,
    /// An environment moved to a version (first time, or a higher one).
    Promoted,
    /// An environment moved to a lower version than it held.
    Reverted,
    /// An environment's pointer was removed.
    Demoted,
    /// A test run was recorded against a version.
    Tested,
}

impl Change {
    /// The word used in trailers and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Created => "created",
            Change::Promoted => "promoted",
            Change::Reverted => "reverted",
            Change::Demoted => "demoted",
            Change::Tested => "tested",
        }
    }

    fn parse(text: &str) -> Option<Change> {
        Some(match text {
            "created" => Change::Created,
            "promoted" => Change::Promoted,
            "reverted" => Change::Reverted,
            "demoted" => Change::Demoted,
            "tested" => Change::Tested,
            _ => return None,
        })
    }

    /// How an environment moving from `from` to `to` is recorded; `None` when nothing moved.
    pub fn classify(from: Option<&Version>, to: Option<&Version>) -> Option<Change> {
        match (from, to) {
            (a, b) if a == b => None,
            (_, None) => Some(Change::Demoted),
            (Some(a), Some(b)) if b < a => Some(Change::Reverted),
            _ => Some(Change::Promoted),
        }
    }
}

/// One entry of the audit trail (the JSON of `history --format json`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    pub event: Change,
    pub prompt: String,
    /// `null` for `created`.
    pub environment: Option<String>,
    /// The version the environment held before (`null`: none, or `created`).
    pub from: Option<String>,
    /// The version it holds after (the released version for `created`; `null` when demoted).
    pub to: Option<String>,
    /// E-mail address of the commit author (or tagger).
    pub by: String,
    pub by_name: String,
    /// RFC 3339.
    pub at: String,
    /// The commit message body (or the changelog for `created`).
    pub reason: String,
    /// The commit (or, for `created`, the tagged commit).
    pub commit: String,
    /// A rule was overridden with `--force` (`Forced: true` trailer): the pipeline, the gate.
    pub forced: bool,
    /// The gate conditions the version did not meet when it was forced in (`Gate-Unmet`).
    pub gate_unmet: Vec<String>,
    /// For `tested`: the run recorded (`to` is the version tested).
    pub test: Option<crate::results::TestSummary>,
}

/// The pointer moves between two states of one prompt's entry, in pipeline order.
pub fn pointer_moves(
    environments: &[String],
    before: &Pointers,
    after: &Pointers,
) -> Vec<(String, Option<Version>, Option<Version>, Change)> {
    let mut envs: Vec<&String> = environments.iter().collect();
    for env in before.keys().chain(after.keys()) {
        if !envs.contains(&env) {
            envs.push(env);
        }
    }
    envs.into_iter()
        .filter_map(|env| {
            let (from, to) = (before.get(env), after.get(env));
            Change::classify(from, to)
                .map(|change| (env.clone(), from.cloned(), to.cloned(), change))
        })
        .collect()
}

/// What promptreg records in the trailers of a pointer-moving commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trailers {
    pub prompt: String,
    pub environment: String,
    /// The version the environment holds afterwards (`None` when demoted).
    pub version: Option<Version>,
    pub previous: Option<Version>,
    pub change: Change,
    pub forced: bool,
    /// Gate conditions overridden with `--force`, one `Gate-Unmet:` line each.
    pub gate_unmet: Vec<String>,
}

impl Trailers {
    /// The trailer block, one `Key: value` per line.
    pub fn render(&self) -> String {
        let version =
            |v: &Option<Version>| v.as_ref().map_or("none".to_owned(), ToString::to_string);
        let mut out = format!(
            "Prompt: {}\nEnvironment: {}\nVersion: {}\nPrevious: {}\nChange: {}\n",
            self.prompt,
            self.environment,
            version(&self.version),
            version(&self.previous),
            self.change.as_str()
        );
        if self.forced {
            out.push_str("Forced: true\n");
        }
        for unmet in &self.gate_unmet {
            // One line each, whatever the condition's text holds.
            out.push_str(&format!("Gate-Unmet: {}\n", unmet.replace('\n', " ")));
        }
        out
    }

    /// Reads the trailers from the last paragraph of a commit message, if they are complete.
    pub fn parse(message: &str) -> Option<Trailers> {
        let last = trailer_block(message);
        let get = |key: &'static str| trailer_values(last, key).next().map(str::trim);
        let version = |text: &str| -> Option<Option<Version>> {
            if text == "none" {
                Some(None)
            } else {
                Version::parse(text).ok().map(Some)
            }
        };
        Some(Trailers {
            prompt: get("Prompt")?.to_owned(),
            environment: get("Environment")?.to_owned(),
            version: version(get("Version")?)?,
            previous: version(get("Previous")?)?,
            change: Change::parse(get("Change")?)?,
            forced: get("Forced") == Some("true"),
            gate_unmet: trailer_values(last, "Gate-Unmet")
                .map(|t| t.trim().to_owned())
                .collect(),
        })
    }
}

/// The last paragraph of a commit message, where git and promptreg put trailers.
pub(crate) fn trailer_block(message: &str) -> &str {
    message.trim_end().rsplit("\n\n").next().unwrap_or_default()
}

/// The values of the `key` trailers in `block` (`Key: value` lines), in order, each without
/// the one space after the colon.
pub(crate) fn trailer_values<'a>(
    block: &'a str,
    key: &'static str,
) -> impl Iterator<Item = &'a str> {
    block.lines().filter_map(move |line| {
        let value = line.strip_prefix(key)?.strip_prefix(':')?;
        Some(value.strip_prefix(' ').unwrap_or(value))
    })
}

/// Whether a paragraph is a promptreg trailer block (a move's, or a recorded test run's).
fn is_trailer_block(paragraph: &str) -> bool {
    paragraph.starts_with("Prompt: ")
        && paragraph.lines().all(|line| {
            line.split_once(": ").is_some_and(|(key, _)| {
                !key.is_empty() && key.chars().all(|c| c.is_ascii_alphabetic() || c == '-')
            })
        })
}

/// The body of a commit message: everything between the subject and the trailer block.
pub fn reason_of(message: &str) -> String {
    let mut paragraphs: Vec<&str> = message.trim_end().split("\n\n").collect();
    if paragraphs.len() > 1 && paragraphs.last().is_some_and(|p| is_trailer_block(p)) {
        paragraphs.pop();
    }
    paragraphs
        .get(1..)
        .map(|rest| rest.join("\n\n"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn classifies_moves() {
        assert_eq!(
            Change::classify(None, Some(&v("1.0.0"))),
            Some(Change::Promoted)
        );
        assert_eq!(
            Change::classify(Some(&v("1.0.0")), Some(&v("1.1.0"))),
            Some(Change::Promoted)
        );
        assert_eq!(
            Change::classify(Some(&v("1.1.0")), Some(&v("1.0.0"))),
            Some(Change::Reverted)
        );
        assert_eq!(
            Change::classify(Some(&v("1.1.0")), None),
            Some(Change::Demoted)
        );
        assert_eq!(Change::classify(Some(&v("1.1.0")), Some(&v("1.1.0"))), None);
        assert_eq!(Change::classify(None, None), None);
    }

    #[test]
    fn trailers_round_trip_and_reason_excludes_them() {
        let trailers = Trailers {
            prompt: "support/refund".into(),
            environment: "production".into(),
            version: Some(v("1.2.0")),
            previous: None,
            change: Change::Promoted,
            forced: true,
            gate_unmet: vec!["`golden` pass rate 80.0% (16/20) is below 95.0%".into()],
        };
        let message = format!(
            "promote support/refund 1.2.0 to production\n\nQA passed\nand signed off\n\n{}",
            trailers.render()
        );
        assert_eq!(Trailers::parse(&message), Some(trailers));
        assert_eq!(reason_of(&message), "QA passed\nand signed off");
        assert_eq!(Trailers::parse("edit registry.yaml\n\nby hand\n"), None);
        assert_eq!(reason_of("edit registry.yaml\n\nby hand\n"), "by hand");
        assert_eq!(reason_of("subject only"), "");
        let tested = "results: a 1.0.0 golden 9/10 passed\n\nPrompt: a\nVersion: 1.0.0\nTest: golden\nChange: tested\n";
        assert_eq!(reason_of(tested), "");
    }

    #[test]
    fn pointer_moves_in_pipeline_order() {
        let envs: Vec<String> = ["dev", "staging", "production"].map(String::from).to_vec();
        let before: Pointers = [
            ("dev".to_owned(), v("1.0.0")),
            ("production".to_owned(), v("1.0.0")),
        ]
        .into();
        let after: Pointers = [
            ("dev".to_owned(), v("2.0.0")),
            ("staging".to_owned(), v("1.0.0")),
        ]
        .into();
        let moves = pointer_moves(&envs, &before, &after);
        let kinds: Vec<(&str, Change)> =
            moves.iter().map(|(e, _, _, c)| (e.as_str(), *c)).collect();
        assert_eq!(
            kinds,
            [
                ("dev", Change::Promoted),
                ("staging", Change::Promoted),
                ("production", Change::Demoted)
            ]
        );
    }
}
