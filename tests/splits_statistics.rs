//! Statistical checks of traffic splits (docs/FORMAT.md §3.3) over 10,000 keys: each entry's
//! share is within one percentage point of its percent; a canary ramped 10 → 25 → 50 → 100
//! by `promote --canary` never loses a key; a rollback sends every key to the stable version,
//! and a canary started again takes back exactly the keys it had; another prompt or
//! environment draws an independent sample of keys.
//!
//! The keys are fixed (`user-0` … `user-9999`), so each check is deterministic: the bounds are
//! what a good hash gives this many keys (a 1/3 share has a standard deviation of 0.47 points
//! at 10,000 keys), asserted for the prompt and environments the example uses.

#[path = "cli/support/hermetic.rs"]
mod hermetic;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, Duration, FixedOffset};
use promptreg::model::registry::{Percent, Pointer, Registry, Split};
use promptreg::ops::create::{create, CreateRequest, PromptSource, VersionChoice};
use promptreg::ops::promote::{promote, PromoteRequest, Promoted};
use promptreg::ops::rollback::{rollback, RollbackRequest};
use promptreg::store::identity::{Identity, Signatures};
use promptreg::store::Store;
use promptreg::{PromptName, Version};
use tempfile::TempDir;

const KEYS: usize = 10_000;
const NAME: &str = "support/refund-agent";
const EMAIL: &str = "stats@example.com";

fn keys() -> Vec<String> {
    (0..KEYS).map(|i| format!("user-{i}")).collect()
}

fn v(text: &str) -> Version {
    Version::parse(text).expect("a version")
}

/// How many of `keys` each version of `pointer` gets in `name`'s `environment`, in the
/// pointer's order.
fn counts(pointer: &Pointer, name: &str, environment: &str, keys: &[String]) -> Vec<usize> {
    let versions = pointer.versions();
    let mut counts = vec![0; versions.len()];
    for key in keys {
        let (version, _) = pointer.assign(name, environment, key);
        let i = versions
            .iter()
            .position(|v| *v == version)
            .expect("a version of the split");
        counts[i] += 1;
    }
    counts
}

/// The keys `pointer` assigns `version`.
fn assigned<'k>(
    pointer: &Pointer,
    name: &str,
    environment: &str,
    keys: &'k [String],
    version: &Version,
) -> BTreeSet<&'k str> {
    keys.iter()
        .filter(|key| pointer.assign(name, environment, key).0 == version)
        .map(String::as_str)
        .collect()
}

/// Asserts each entry's share of `keys` is within one point (100 keys of 10,000) of its percent.
#[track_caller]
fn assert_shares(pointer: &Pointer, name: &str, environment: &str, keys: &[String]) {
    let split = pointer.split().expect("a split");
    let got = counts(pointer, name, environment, keys);
    for (share, count) in split.shares().iter().zip(&got) {
        // Hundredths of a percent are keys out of 10,000.
        let expected = share.percent.hundredths() as usize * KEYS / 10_000;
        assert!(
            count.abs_diff(expected) <= KEYS / 100,
            "{name}@{environment} {}: {} {}% got {count} of {KEYS} keys",
            split,
            share.version,
            share.percent
        );
    }
    assert_eq!(got.iter().sum::<usize>(), KEYS);
}

#[test]
fn each_entry_gets_its_percent_within_one_point() {
    let keys = keys();
    for text in [
        "1.1.0=90 1.2.0=10",
        "1.1.0=50 1.2.0=50",
        "1.0.0=33.33 1.1.0=33.33 2.0.0=33.34",
        "1.1.0=99 1.2.0=1",
    ] {
        let pointer = Pointer::Split(Split::parse(text).expect("a split"));
        for environment in ["production", "staging"] {
            assert_shares(&pointer, NAME, environment, &keys);
        }
    }
}

#[test]
fn a_split_written_in_another_order_gives_the_ranges_in_that_order() {
    // Entry order is part of the rule: the first entry covers the lowest buckets, whatever
    // its version. 10/90 with the versions swapped gives 1.2.0 the first 10% of buckets.
    let keys = keys();
    let canary = Pointer::Split(Split::parse("1.1.0=90 1.2.0=10").unwrap());
    let swapped = Pointer::Split(Split::parse("1.2.0=10 1.1.0=90").unwrap());
    for key in &keys {
        let (_, bucket) = canary.assign(NAME, "production", key);
        let bucket = bucket.expect("a split has buckets");
        let expect = if bucket < 9000 { "1.1.0" } else { "1.2.0" };
        assert_eq!(canary.assign(NAME, "production", key).0, &v(expect));
        let expect = if bucket < 1000 { "1.2.0" } else { "1.1.0" };
        assert_eq!(swapped.assign(NAME, "production", key).0, &v(expect));
    }
}

#[test]
fn another_prompt_or_environment_draws_an_independent_sample() {
    let keys = keys();
    let canary = Pointer::Split(Split::parse("1.1.0=90 1.2.0=10").unwrap());
    let new = v("1.2.0");
    let here = assigned(&canary, NAME, "production", &keys, &new);
    for (name, environment) in [
        ("summarize", "production"),
        (NAME, "staging"),
        ("support/refund-agent-v2", "production"),
    ] {
        let there = assigned(&canary, name, environment, &keys, &new);
        let overlap = here.intersection(&there).count();
        // Independent 10% samples share 1% of the keys (100 of 10,000, standard deviation
        // about 10); the same sample would share all of theirs (about 1,000).
        assert!(
            (50..=150).contains(&overlap),
            "{name}@{environment}: the 10% canaries share {overlap} keys with {NAME}@production ({} and {})",
            here.len(),
            there.len()
        );
    }
}

/// A temporary registry driven through the library, as `tests/model.rs` does.
struct TempRegistry {
    _dir: TempDir,
    root: PathBuf,
    home: PathBuf,
    store: Store,
    clock: i64,
}

impl TempRegistry {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("repo");
        let home = dir.path().join("home");
        std::fs::create_dir_all(&root).expect("repo dir");
        std::fs::create_dir_all(&home).expect("home dir");
        git(&root, &home, &["init", "-q", "-b", "main"]);
        let store = Store::discover(&root).expect("open the repository");
        let mut registry = TempRegistry {
            _dir: dir,
            root,
            home,
            store,
            clock: 0,
        };
        let signatures = registry.signatures();
        promptreg::ops::init::init(&registry.store, &signatures).expect("init");
        registry
    }

    fn signatures(&mut self) -> Signatures {
        self.clock += 1;
        let start =
            DateTime::<FixedOffset>::parse_from_rfc3339("2026-01-01T00:00:00+00:00").expect("date");
        let identity = Identity {
            name: "Stats Tester".to_owned(),
            email: EMAIL.to_owned(),
            when: start + Duration::seconds(self.clock),
        };
        Signatures {
            author: identity.clone(),
            committer: identity,
        }
    }

    fn release(&mut self, version: &str) {
        let dir = self.root.join("prompts").join(NAME);
        std::fs::create_dir_all(&dir).expect("prompt dir");
        std::fs::write(
            dir.join("prompt.yaml"),
            format!("summary: Refunds\nsystem_prompt: Version {version}.\n"),
        )
        .expect("write prompt");
        let request = CreateRequest {
            name: name(),
            version: VersionChoice::Exact(v(version)),
            message: format!("release {version}"),
            source: PromptSource::WorkTree,
            allow_unchanged: false,
        };
        let signatures = self.signatures();
        create(&self.store, &request, &signatures).expect("create");
    }

    /// `promote NAME VERSION --to ENV [--canary PERCENT]`, asserting it moved the pointer.
    fn promote(&mut self, version: &str, environment: &str, canary: Option<&str>) {
        let request = PromoteRequest {
            name: name(),
            version: v(version),
            environment: environment.to_owned(),
            reason: "ramp".to_owned(),
            force: false,
            canary: canary.map(|p| Percent::parse(p).expect("a percent")),
        };
        let signatures = self.signatures();
        match promote(&self.store, &request, &signatures).expect("promote") {
            Promoted::Moved { .. } => {}
            Promoted::AlreadyThere => panic!("promote {version} {canary:?}: nothing moved"),
        }
    }

    fn rollback(&mut self, environment: &str) {
        let request = RollbackRequest {
            name: name(),
            environment: environment.to_owned(),
            to: None,
            reason: "canary errors".to_owned(),
        };
        let signatures = self.signatures();
        rollback(&self.store, &request, &signatures).expect("rollback");
    }

    /// The pointer `registry.yaml` committed at HEAD holds for `environment`.
    fn pointer(&self, environment: &str) -> Pointer {
        let bytes = git_bytes(
            &self.root,
            &self.home,
            &["cat-file", "blob", "HEAD:registry.yaml"],
        );
        let registry = Registry::parse(&bytes, Path::new("registry.yaml")).expect("parse");
        registry
            .pointer(&name(), environment)
            .cloned()
            .expect("a pointer")
    }
}

fn name() -> PromptName {
    PromptName::parse(NAME).expect("a prompt name")
}

fn git_bytes(root: &Path, home: &Path, args: &[&str]) -> Vec<u8> {
    let mut command = Command::new("git");
    hermetic::apply_as(&mut command, home, "Stats Tester", EMAIL)
        .current_dir(root)
        .args(args);
    let out = command.output().expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn git(root: &Path, home: &Path, args: &[&str]) {
    git_bytes(root, home, args);
}

#[test]
fn a_ramp_only_adds_keys_a_rollback_sends_all_back_and_a_restart_takes_the_same_keys() {
    let keys = keys();
    let (stable, new) = (v("1.1.0"), v("1.2.0"));
    let mut repo = TempRegistry::new();
    repo.release("1.1.0");
    for env in ["dev", "staging", "production"] {
        repo.promote("1.1.0", env, None);
    }
    repo.release("1.2.0");
    repo.promote("1.2.0", "dev", None);
    repo.promote("1.2.0", "staging", None);

    // A ramp as `promote --canary` writes it: the stable version first, the canary last.
    let ramp = |repo: &mut TempRegistry| {
        let mut before: BTreeSet<&str> = BTreeSet::new();
        let mut first = None;
        for percent in ["10", "25", "50"] {
            repo.promote("1.2.0", "production", Some(percent));
            let pointer = repo.pointer("production");
            assert_eq!(
                pointer.to_string(),
                format!(
                    "1.1.0={} 1.2.0={percent}",
                    100 - percent.parse::<u32>().unwrap()
                )
            );
            assert_shares(&pointer, NAME, "production", &keys);
            let now = assigned(&pointer, NAME, "production", &keys, &new);
            let lost: Vec<_> = before.difference(&now).collect();
            assert!(
                lost.is_empty(),
                "ramping to {percent}% moved {} keys out of the canary, e.g. {:?}",
                lost.len(),
                lost.first()
            );
            assert!(now.len() > before.len());
            first.get_or_insert_with(|| now.clone());
            before = now;
        }
        first.expect("a first step")
    };

    let first_canary = ramp(&mut repo);
    // Rolled back: the environment holds the stable version alone, and every key gets it.
    repo.rollback("production");
    let pointer = repo.pointer("production");
    assert_eq!(pointer, Pointer::Version(stable.clone()));
    assert_eq!(counts(&pointer, NAME, "production", &keys), vec![KEYS]);
    assert!(assigned(&pointer, NAME, "production", &keys, &stable).len() == KEYS);

    // Started again: the 10% canary holds exactly the keys it held the first time.
    let again = ramp(&mut repo);
    assert_eq!(again, first_canary);

    // Completed (100%: the canary alone): every key, the earlier canary keys included.
    repo.promote("1.2.0", "production", None);
    let pointer = repo.pointer("production");
    assert_eq!(pointer, Pointer::Version(new.clone()));
    assert_eq!(
        assigned(&pointer, NAME, "production", &keys, &new).len(),
        KEYS
    );
}
