//! The audit trail's vocabulary: events, how a pointer change is classified, and the git
//! trailers promptreg writes on its own commits (and reads back to avoid re-parsing the index).

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use crate::model::registry::{Pointer, Pointers};

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
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
    /// An environment's traffic was split (a canary started or re-weighted, an A/B test set).
    Split,
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
            Change::Split => "split",
            Change::Tested => "tested",
        }
    }

    pub fn parse(text: &str) -> Option<Change> {
        Some(match text {
            "created" => Change::Created,
            "promoted" => Change::Promoted,
            "reverted" => Change::Reverted,
            "demoted" => Change::Demoted,
            "split" => Change::Split,
            "tested" => Change::Tested,
            _ => return None,
        })
    }

    /// How an environment moving from `from` to `to` is recorded; `None` when nothing moved.
    /// Into a split is `split`; out of one, back to its first (stable) entry or to anything
    /// lower, is `reverted`; to a higher version (a completed canary) is `promoted`.
    pub fn classify(from: Option<&Pointer>, to: Option<&Pointer>) -> Option<Change> {
        match (from, to) {
            (a, b) if a == b => None,
            (_, None) => Some(Change::Demoted),
            (_, Some(Pointer::Split(_))) => Some(Change::Split),
            (Some(Pointer::Split(s)), Some(Pointer::Version(b))) if b == s.first() => {
                Some(Change::Reverted)
            }
            (Some(a), Some(Pointer::Version(b))) if b < a.first() => Some(Change::Reverted),
            _ => Some(Change::Promoted),
        }
    }
}

/// Text an event shares with others: the prompt, environment and version names, who and which
/// commit. `history` of every prompt holds 130,000 events at once, most of them naming the same
/// few authors, environments and versions, and every event of a commit its author, reason and
/// id; a shared string is one allocation for all of them (serialized as a plain string).
pub type Text = std::sync::Arc<str>;

/// One entry of the audit trail (the JSON of `history --format json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub event: Change,
    pub prompt: Text,
    /// `null` for `created`.
    pub environment: Option<Text>,
    /// The version the environment held before (`null`: none, or `created`); of a split, its
    /// first entry (`from_split` has the whole split).
    pub from: Option<Text>,
    /// The version it holds after (the released version for `created`; `null` when demoted);
    /// of a split, its first entry (`to_split` has the whole split).
    pub to: Option<Text>,
    /// The split the environment held before, when it was split.
    pub from_split: Option<Vec<promptreg_wire::SplitEntry>>,
    /// The split it holds after, when it is split: the weights before and after a ramp.
    pub to_split: Option<Vec<promptreg_wire::SplitEntry>>,
    /// E-mail address of the commit author (or tagger).
    pub by: Text,
    pub by_name: Text,
    /// When (the commit's author date, the tag's tagger date), written as RFC 3339 with the
    /// author's offset; kept as a date, not its 25-character text.
    #[serde(with = "rfc3339")]
    pub at: DateTime<FixedOffset>,
    /// The commit message body (or the changelog for `created`).
    pub reason: Text,
    /// The commit (or, for `created`, the tagged commit).
    pub commit: Text,
    /// A rule was overridden with `--force` (`Forced: true` trailer): the pipeline, the gate.
    pub forced: bool,
    /// The gate conditions the version did not meet when it was forced in (`Gate-Unmet`).
    pub gate_unmet: Vec<String>,
    /// For `tested`: the run recorded (`to` is the version tested). Boxed, as `merge`: few
    /// events have one, and `history` of every prompt holds 100,000 events at once.
    pub test: Option<Box<promptreg_wire::TestSummary>>,
    /// The merge on the branch's first-parent line that brought the commit in (a move made
    /// with `promote --branch` and merged through a pull request); `null` for a commit made on
    /// the branch itself.
    /// Not cached with the commit's events (it depends on the walk's start): `annotate` sets
    /// it after every walk.
    #[serde(default)]
    pub merge: Option<Box<Merge>>,
}

/// An event's date as RFC 3339 text (`2026-01-31T10:00:00+01:00`), as `history` has always
/// written it.
mod rfc3339 {
    use chrono::{DateTime, FixedOffset};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(at: &DateTime<FixedOffset>, out: S) -> Result<S::Ok, S::Error> {
        out.serialize_str(&at.to_rfc3339())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        input: D,
    ) -> Result<DateTime<FixedOffset>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(input)?;
        DateTime::parse_from_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

/// The merge that brought an event's commit into the branch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Merge {
    pub commit: String,
    /// E-mail address of the merge's author (who merged it).
    pub by: String,
    pub by_name: String,
    /// RFC 3339.
    pub at: String,
    /// The merge's subject line.
    pub subject: String,
}

/// One environment's change between two states of a prompt's entry.
pub type PointerMove = (String, Option<Pointer>, Option<Pointer>, Change);

/// The pointer moves between two states of one prompt's entry, in pipeline order.
pub fn pointer_moves(
    environments: &[String],
    before: &Pointers,
    after: &Pointers,
) -> Vec<PointerMove> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_date_is_written_with_its_offset_and_read_back() {
        let at = DateTime::parse_from_rfc3339("2026-01-31T10:00:00+01:00").unwrap();
        let event = Event {
            event: Change::Promoted,
            prompt: "p".into(),
            environment: Some("production".into()),
            from: None,
            to: Some("1.0.0".into()),
            from_split: None,
            to_split: None,
            by: "a@example.com".into(),
            by_name: "A".into(),
            at,
            reason: "why".into(),
            commit: "c".into(),
            forced: false,
            gate_unmet: Vec::new(),
            test: None,
            merge: None,
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["at"], "2026-01-31T10:00:00+01:00");
        assert_eq!(json["prompt"], "p");
        let back: Event = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
        let mut bad = serde_json::to_value(&event).unwrap();
        bad["at"] = "yesterday".into();
        assert!(serde_json::from_value::<Event>(bad).is_err());
    }

    fn v(s: &str) -> Pointer {
        Pointer::parse(s).unwrap()
    }

    #[test]
    fn classifies_split_moves() {
        let canary = v("1.1.0=90 1.2.0=10");
        let c = |a: &Pointer, b: &Pointer| Change::classify(Some(a), Some(b));
        assert_eq!(c(&v("1.1.0"), &canary), Some(Change::Split));
        assert_eq!(c(&canary, &v("1.1.0=50 1.2.0=50")), Some(Change::Split));
        assert_eq!(c(&canary, &v("1.2.0")), Some(Change::Promoted));
        assert_eq!(c(&canary, &v("1.1.0")), Some(Change::Reverted));
        assert_eq!(c(&canary, &v("1.0.0")), Some(Change::Reverted));
        assert_eq!(c(&canary, &canary), None);
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
