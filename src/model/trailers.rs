//! The trailers promptreg writes on its own commits, and reads back so `history`, `audit` and
//! `fetch` need not re-parse the index: a pointer move's (`Prompt:`, `Environment:`, `Version:`,
//! `Previous:`, `Change:` …) and a recorded test run's (`Change: tested` with the whole run).

use crate::model::history::Change;
use crate::model::registry::{Pointer, Split};
use crate::model::results::TestRun;
use crate::{PromptName, Version};

/// What promptreg records in the trailers of a pointer-moving commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trailers {
    pub prompt: String,
    pub environment: String,
    /// What the environment holds afterwards (`None` when demoted).
    pub version: Option<Pointer>,
    pub previous: Option<Pointer>,
    pub change: Change,
    pub forced: bool,
    /// Gate conditions overridden with `--force`, one `Gate-Unmet:` line each.
    pub gate_unmet: Vec<String>,
}

impl Trailers {
    /// The trailer block, one `Key: value` per line. `Version:` and `Previous:` name what a
    /// reader without a key is served (a split's first entry); a split is recorded whole in
    /// `Split:` (after) and `Previous-Split:` (before), as `1.1.0=90 1.2.0=10`.
    pub fn render(&self) -> String {
        let version = |v: &Option<Pointer>| {
            v.as_ref()
                .map_or("none".to_owned(), |p| p.first().to_string())
        };
        let mut out = format!(
            "Prompt: {}\nEnvironment: {}\nVersion: {}\nPrevious: {}\nChange: {}\n",
            self.prompt,
            self.environment,
            version(&self.version),
            version(&self.previous),
            self.change.as_str()
        );
        for (key, pointer) in [("Split", &self.version), ("Previous-Split", &self.previous)] {
            if let Some(split) = pointer.as_ref().and_then(Pointer::split) {
                out.push_str(&format!("{key}: {split}\n"));
            }
        }
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
        let pointer = |text: &str, split: Option<&str>| -> Option<Option<Pointer>> {
            if let Some(split) = split {
                let split = Split::parse(split).ok()?;
                return (split.first().to_string() == text).then_some(Some(Pointer::Split(split)));
            }
            if text == "none" {
                Some(None)
            } else {
                Version::parse(text).ok().map(|v| Some(Pointer::Version(v)))
            }
        };
        Some(Trailers {
            prompt: get("Prompt")?.to_owned(),
            environment: get("Environment")?.to_owned(),
            version: pointer(get("Version")?, get("Split"))?,
            previous: pointer(get("Previous")?, get("Previous-Split"))?,
            change: Change::parse(get("Change")?)?,
            forced: get("Forced") == Some("true"),
            gate_unmet: trailer_values(last, "Gate-Unmet")
                .map(|t| t.trim().to_owned())
                .collect(),
        })
    }
}

/// The last paragraph of a commit message, where git and promptreg put trailers.
fn trailer_block(message: &str) -> &str {
    message.trim_end().rsplit("\n\n").next().unwrap_or_default()
}

/// The values of the `key` trailers in `block` (`Key: value` lines), in order, each without
/// the one space after the colon.
fn trailer_values<'a>(block: &'a str, key: &'static str) -> impl Iterator<Item = &'a str> {
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

/// The reason `history` shows for a commit: its body ([`reason_of`]); for a commit promptreg
/// did not write (no `Prompt: …` trailer block, e.g. a hand edit of registry.yaml) whose message
/// is a subject line alone, that subject. promptreg's own commits keep an empty reason when
/// none was given: their subject is generated ("promote x 1.0.0 to dev") and says nothing the
/// event does not.
pub fn shown_reason(message: &str) -> String {
    let body = reason_of(message);
    let has_trailers = message
        .trim_end()
        .rsplit_once("\n\n")
        .is_some_and(|(_, last)| is_trailer_block(last));
    if !body.is_empty() || has_trailers {
        return body;
    }
    message.lines().next().unwrap_or_default().trim().to_owned()
}

/// The trailer block of a commit that records `run` against `name`@`version`: the whole run,
/// so `history` can read it from the message alone (see [`parse_tested`]).
pub fn render_tested(name: &PromptName, version: &Version, run: &TestRun) -> String {
    let mut out = format!(
        "Prompt: {name}\nVersion: {version}\nTest: {}\nPassed: {}\nFailed: {}\nErrored: {}\n",
        run.test, run.passed, run.failed, run.errored
    );
    if let Some(score) = run.avg_score {
        out.push_str(&format!("Score: {score}\n"));
    }
    out.push_str(&format!(
        "Tested-At: {}\nTested-By: {}\nSource: {}\n",
        run.tested_at, run.tested_by, run.source
    ));
    if let Some(url) = &run.url {
        out.push_str(&format!("Url: {url}\n"));
    }
    out.push_str("Change: tested\n");
    out
}

/// The run a commit message's trailer block records, if it is a complete, valid one.
pub fn parse_tested(message: &str) -> Option<(PromptName, Version, TestRun)> {
    let block = trailer_block(message);
    let get = |key: &'static str| trailer_values(block, key).next();
    if get("Change")? != "tested" {
        return None;
    }
    let run = TestRun {
        test: get("Test")?.to_owned(),
        passed: get("Passed")?.parse().ok()?,
        failed: get("Failed")?.parse().ok()?,
        errored: get("Errored")?.parse().ok()?,
        avg_score: match get("Score") {
            Some(text) => Some(text.parse().ok()?),
            None => None,
        },
        tested_at: get("Tested-At")?.to_owned(),
        tested_by: get("Tested-By")?.to_owned(),
        source: get("Source")?.to_owned(),
        url: get("Url").map(str::to_owned),
    };
    run.check().ok()?;
    Some((
        PromptName::parse(get("Prompt")?).ok()?,
        Version::parse(get("Version")?).ok()?,
        run,
    ))
}

/// The message of the commit that creates `name`@`version`: the subject, the changelog, and the
/// trailers that let `doctor` recognise a create whose tag was never written.
pub fn create_message(name: &PromptName, version: &Version, changelog: &str) -> String {
    format!(
        "create {name} {version}\n\n{}\n\nPrompt: {name}\nVersion: {version}\n",
        changelog.trim_end()
    )
}

/// The release a create commit's message names, if its subject and trailers agree.
pub fn parse_created(message: &str) -> Option<(PromptName, Version)> {
    let summary = message.lines().next()?;
    let block = trailer_block(message);
    let name = trailer_values(block, "Prompt").next()?;
    let version = trailer_values(block, "Version").next()?;
    if summary != format!("create {name} {version}") {
        return None;
    }
    Some((PromptName::parse(name).ok()?, Version::parse(version).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::results::tests::{name, run};

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn trailers_round_trip_and_reason_excludes_them() {
        let trailers = Trailers {
            prompt: "support/refund".into(),
            environment: "production".into(),
            version: Some(v("1.2.0").into()),
            previous: None,
            change: Change::Promoted,
            forced: true,
            gate_unmet: vec!["`golden` pass rate 80.0% (16/20) is below 95.0%".into()],
        };
        let message = format!(
            "promote support/refund 1.2.0 to production\n\nQA passed\nand signed off\n\n{}",
            trailers.render()
        );
        assert_eq!(Trailers::parse(&message), Some(trailers.clone()));
        assert_eq!(reason_of(&message), "QA passed\nand signed off");
        // A canary: both sides of the move kept whole.
        let split = Pointer::parse("1.1.0=90 1.2.0=10").unwrap();
        let canary = Trailers {
            version: Some(split.clone()),
            previous: Some(v("1.1.0").into()),
            change: Change::Split,
            ..trailers.clone()
        };
        let rendered = canary.render();
        assert!(
            rendered.contains(
                "Version: 1.1.0\nPrevious: 1.1.0\nChange: split\nSplit: 1.1.0=90 1.2.0=10\n"
            ),
            "{rendered}"
        );
        assert_eq!(
            Trailers::parse(&format!("s\n\n{rendered}")),
            Some(canary.clone())
        );
        let ended = Trailers {
            version: Some(v("1.1.0").into()),
            previous: Some(split),
            change: Change::Reverted,
            ..canary
        };
        assert_eq!(
            Trailers::parse(&format!("s\n\n{}", ended.render())),
            Some(ended)
        );
        assert_eq!(Trailers::parse("edit registry.yaml\n\nby hand\n"), None);
        assert_eq!(reason_of("edit registry.yaml\n\nby hand\n"), "by hand");
        assert_eq!(reason_of("subject only"), "");
        let tested = "results: a 1.0.0 golden 9/10 passed\n\nPrompt: a\nVersion: 1.0.0\nTest: golden\nChange: tested\n";
        assert_eq!(reason_of(tested), "");
        // What history shows: a hand edit's subject when it has no body; promptreg's own
        // commits never show their generated subject.
        assert_eq!(shown_reason("edit registry.yaml\n"), "edit registry.yaml");
        assert_eq!(shown_reason("edit registry.yaml\n\nby hand\n"), "by hand");
        assert_eq!(shown_reason("  "), "");
        assert_eq!(shown_reason(tested), "");
        let promoted = format!(
            "promote support/refund 1.2.0 to production\n\n{}",
            trailers.render()
        );
        assert_eq!(shown_reason(&promoted), "");
        assert_eq!(shown_reason(&message), "QA passed\nand signed off");
    }

    #[test]
    fn tested_trailers_round_trip() {
        let v = Version::parse("1.2.0").unwrap();
        let mut linked = run("golden: set", 9, 1, "2026-11-24T10:00:00.5+01:00");
        linked.url = Some("https://ci.example.com/run/7?x=a:b".into());
        linked.avg_score = Some(0.1 + 0.2);
        let mut plain = run("t", 1, 0, "2026-11-24T10:00:00Z");
        plain.avg_score = None;
        for run in [linked, plain] {
            let message = format!("results: …\n\n{}", render_tested(&name(), &v, &run));
            assert_eq!(parse_tested(&message), Some((name(), v.clone(), run)));
        }
        assert_eq!(parse_tested("edit\n\nPrompt: a\nChange: promoted\n"), None);
        let broken = format!(
            "x\n\n{}",
            render_tested(&name(), &v, &run("t", 1, 0, "2026-11-24T10:00:00Z"))
        )
        .replace("Passed: 1", "Passed: -1");
        assert_eq!(parse_tested(&broken), None);
    }

    #[test]
    fn create_messages_round_trip() {
        let name = PromptName::parse("support/refund").unwrap();
        let message = create_message(&name, &v("1.2.0"), "first cut\n");
        assert_eq!(parse_created(&message), Some((name, v("1.2.0"))));
        let forged = message.replacen("create support/refund 1.2.0", "create other 1.2.0", 1);
        assert_eq!(parse_created(&forged), None);
    }
}
