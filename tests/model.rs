//! Model-based property test of the promotion pointers and the production gate: random
//! sequences of `create`, `promote`, `promote --canary` (start and re-weight a split; a plain
//! promotion of a version the split serves completes it), `rollback` (which ends a split) and
//! `results record`, run through the library against a real temporary Git repository, are
//! compared after every step with a small in-memory model of the pipeline rule, the canary
//! rules, the rollback rule, the recorded test runs and the gate `production` has (`golden`
//! must pass at 80% or more); at the end `history` must list exactly the model's releases,
//! moves (with the splits before and after, forced or not, with the gate conditions
//! overridden) and recorded runs, newest first.

#[path = "cli/support/hermetic.rs"]
mod hermetic;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, Duration, FixedOffset};
use git2::Oid;
use promptreg::model::history::{Change, Event};
use promptreg::model::registry::{Percent, Pointer, Registry, Share, Split};
use promptreg::model::results::{Results, TestRun};
use promptreg::ops::create::{create, CreateRequest, PromptSource, VersionChoice};
use promptreg::ops::history::{history, Query};
use promptreg::ops::promote::{promote, PromoteRequest, Promoted};
use promptreg::ops::results::{record, NewRun, RecordRequest};
use promptreg::ops::rollback::{rollback, RollbackRequest};
use promptreg::read::results_at;
use promptreg::store::identity::{Identity, Signatures};
use promptreg::store::Store;
use promptreg::{Error, PromptName, Version};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use tempfile::TempDir;

const PROMPTS: [&str; 2] = ["alpha", "support/beta"];
const ENVS: [&str; 3] = ["dev", "staging", "production"];
const EMAIL: &str = "model@example.com";
/// The test names runs are recorded under: the gate requires the first.
const TESTS: [&str; 2] = ["golden", "other"];
/// The only environment with a gate.
const GATED: usize = 2;
/// The gate, added to `registry.yaml` before the first operation.
const POLICY: &str =
    "policy:\n  production:\n    required_tests: [golden]\n    min_pass_rate: 0.8\n";

/// Which version a promotion names.
#[derive(Clone, Debug)]
enum Pick {
    /// The n-th released version other than the one the environment holds (modulo).
    Other(usize),
    /// What the environment before holds (the newest version for the first environment), or
    /// the last entry of its split (its canary): a promotion the pipeline rule allows, so
    /// sequences reach production often, and one that completes a split the environment has
    /// of it.
    Previous,
}

/// Which version a canary names.
#[derive(Clone, Debug)]
enum CanaryPick {
    /// The environment's canary (the last entry of its split): a re-weight; when it does not
    /// split, as [`CanaryPick::Previous`].
    Current,
    /// The last entry of what the environment before serves (for the first environment, the
    /// newest version other than its stable one): a canary the pipeline rule allows.
    Previous,
    /// The n-th released version (modulo).
    Nth(usize),
}

/// Which version a rollback names with `--to`.
#[derive(Clone, Debug)]
enum To {
    /// The n-th version the environment's trail names (modulo): usually accepted.
    Held(usize),
    /// The n-th released version (modulo): often one the environment never held.
    Nth(usize),
}

/// Which version a run is recorded against.
#[derive(Clone, Debug)]
enum Tested {
    /// What the environment holds (the newest version when it holds nothing): mostly staging,
    /// so that what comes up for production next has results.
    In(usize),
    /// The n-th released version (modulo).
    Nth(usize),
    /// The next version, not released yet: refused.
    Unreleased,
}

#[derive(Clone, Debug)]
enum Op {
    Create {
        prompt: usize,
    },
    Promote {
        prompt: usize,
        version: Pick,
        env: usize,
        force: bool,
    },
    /// `promote --canary PERCENT` (in hundredths: 0 and 10000 are refused).
    Canary {
        prompt: usize,
        version: CanaryPick,
        env: usize,
        hundredths: u32,
        force: bool,
        /// Start the canary, instead of in `prompt` and `env`, in one of the places (chosen by
        /// them, modulo) that hold something, if there is any: a canary needs a stable version.
        aim: bool,
    },
    Rollback {
        prompt: usize,
        env: usize,
        to: Option<To>,
        /// Roll back, instead of `prompt` and `env`, one of the places (chosen by them, modulo)
        /// where the model says a plain rollback would succeed, if there is any: random
        /// places mostly have nothing to roll back to.
        aim: bool,
    },
    Record {
        prompt: usize,
        version: Tested,
        /// Index into [`TESTS`].
        test: usize,
        passed: u64,
        failed: u64,
        errored: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    // Weighted towards one prompt and the first environment, so that trails get long enough
    // for the rollback rule to matter.
    let prompt = prop_oneof![3 => Just(0usize), 1 => Just(1)];
    let env = prop_oneof![2 => Just(0usize), 1 => Just(1), 1 => Just(2)];
    // Promotions reach the gated environment a little more often.
    let promote_env = prop_oneof![3 => Just(0usize), 2 => Just(1), 2 => Just(2)];
    let pick = prop_oneof![
        1 => (0usize..6).prop_map(Pick::Other),
        2 => Just(Pick::Previous),
    ];
    let to = prop_oneof![
        2 => (0usize..6).prop_map(To::Held),
        1 => (0usize..6).prop_map(To::Nth),
    ];
    let tested = prop_oneof![
        6 => Just(Tested::In(1)),
        1 => Just(Tested::In(2)),
        2 => (0usize..6).prop_map(Tested::Nth),
        1 => Just(Tested::Unreleased),
    ];
    // About half the runs pass the gate's 80%; a few count no case at all (refused).
    let counts = prop_oneof![
        1 => Just((0u64, 0u64, 0u64)),
        12 => (
            0u64..=10,
            prop_oneof![2 => 0u64..=2, 1 => 0u64..=10],
            prop_oneof![4 => Just(0u64), 1 => 0u64..=2],
        ),
    ];
    // Canaries mostly at the shares people use, re-weighted by repeating them; a few out of
    // range.
    let hundredths = prop_oneof![
        4 => prop_oneof![Just(1000u32), Just(2500), Just(5000)],
        2 => 1u32..10_000,
        1 => prop_oneof![Just(0u32), Just(10_000)],
    ];
    let canary_env = prop_oneof![1 => Just(0usize), 1 => Just(1), 2 => Just(2)];
    let canary_pick = prop_oneof![
        3 => Just(CanaryPick::Current),
        3 => Just(CanaryPick::Previous),
        1 => (0usize..6).prop_map(CanaryPick::Nth),
    ];
    prop_oneof![
        2 => prompt.clone().prop_map(|prompt| Op::Create { prompt }),
        6 => (prompt.clone(), pick.clone(), promote_env, prop::bool::weighted(0.2)).prop_map(
            |(prompt, version, env, force)| Op::Promote { prompt, version, env, force }
        ),
        4 => (
            (prompt.clone(), canary_pick, canary_env),
            (hundredths, prop::bool::weighted(0.15), prop::bool::weighted(0.8)),
        )
            .prop_map(|((prompt, version, env), (hundredths, force, aim))| Op::Canary {
                prompt,
                version,
                env,
                hundredths,
                force,
                aim,
            }),
        3 => (prompt.clone(), env, prop::option::weighted(0.3, to), prop::bool::weighted(0.7))
            .prop_map(|(prompt, env, to, aim)| Op::Rollback { prompt, env, to, aim }),
        3 => (prompt, tested, prop_oneof![4 => Just(0usize), 1 => Just(1)], counts).prop_map(
            |(prompt, version, test, (passed, failed, errored))| Op::Record {
                prompt,
                version,
                test,
                passed,
                failed,
                errored,
            }
        ),
    ]
}

/// Why the gate is not met, as the model predicts it and as the library words it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Unmet {
    /// No `golden` run for the version.
    NoGolden,
    /// The latest `golden` run passed `passed` of `total` cases, under 80%.
    Below { passed: u64, total: u64 },
    /// Conditions the library reported that are neither of the above.
    Unrecognised(Vec<String>),
}

/// How the library's list of unmet conditions reads (`None`: empty).
fn unmet_of(conditions: &[String]) -> Option<Unmet> {
    let [one] = conditions else {
        return (!conditions.is_empty()).then(|| Unmet::Unrecognised(conditions.to_vec()));
    };
    if one.contains("`golden`") && one.contains("no result") {
        return Some(Unmet::NoGolden);
    }
    let counts = one
        .strip_prefix("`golden` pass rate ")
        .and_then(|rest| rest.split_once('(')?.1.split_once(')'))
        .and_then(|(inside, _)| inside.split_once('/'))
        .and_then(|(p, t)| Some((p.parse().ok()?, t.parse().ok()?)));
    Some(match counts {
        Some((passed, total)) => Unmet::Below { passed, total },
        None => Unmet::Unrecognised(conditions.to_vec()),
    })
}

/// One pointer move, as the model and `history` see it: what the environment held before and
/// after (a version or a split).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Move {
    from: Option<Pointer>,
    to: Option<Pointer>,
    change: Change,
    /// A rule (the pipeline, the gate) was overridden: `Forced: true`.
    forced: bool,
    /// The gate conditions overridden (`Gate-Unmet:`).
    gate_unmet: Option<Unmet>,
}

/// One recorded test run, as the model, the results file and `history` see it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Run {
    test: String,
    passed: u64,
    failed: u64,
    errored: u64,
    tested_at: String,
}

impl Run {
    fn total(&self) -> u64 {
        self.passed + self.failed + self.errored
    }
}

impl From<&TestRun> for Run {
    fn from(run: &TestRun) -> Self {
        Run {
            test: run.test.clone(),
            passed: run.passed,
            failed: run.failed,
            errored: run.errored,
            tested_at: run.tested_at.clone(),
        }
    }
}

/// One entry of a prompt's audit trail.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Ev {
    Created(Version),
    /// A move of the environment (index into [`ENVS`]).
    Moved(usize, Move),
    Tested(Version, Run),
    /// An event `history` returned that fits none of the above.
    Unexpected(String),
}

/// Why an operation must be refused.
#[derive(Debug, PartialEq, Eq)]
enum Why {
    Unreleased,
    Pipeline,
    Gate(Unmet),
    NoCases,
    Rollback,
    /// A canary's share is not above 0 and below 100.
    Share,
    /// A canary into an environment that holds nothing.
    NoStable,
    /// A canary of the version the environment serves as stable.
    CanaryOfStable,
}

impl Why {
    /// Whether `error` is the refusal expected.
    fn matches(&self, error: &Error) -> bool {
        match (self, error) {
            (Why::Unreleased, Error::VersionNotFound { .. })
            | (Why::Pipeline, Error::PipelineSkipped { .. })
            | (Why::NoCases, Error::InvalidResult { .. })
            | (Why::Share, Error::InvalidSplit { .. })
            | (Why::NoStable, Error::NoStableVersion { .. })
            | (Why::CanaryOfStable, Error::CanaryOfStable { .. })
            | (
                Why::Rollback,
                Error::NotInEnvironment { .. }
                | Error::NeverInEnvironment { .. }
                | Error::NothingToRollBack { .. },
            ) => true,
            (Why::Gate(expected), Error::GateNotMet { unmet, .. }) => {
                unmet_of(unmet).as_ref() == Some(expected)
            }
            _ => false,
        }
    }
}

/// What an operation must do.
#[derive(Debug, PartialEq, Eq)]
enum Expect {
    Refused(Why),
    /// Accepted, nothing to change (promoting where it already is).
    Nothing,
    Moved(Move),
}

#[derive(Default)]
struct Model {
    /// Released versions per prompt, in release order (which is also semver order).
    versions: [Vec<Version>; PROMPTS.len()],
    /// (prompt, environment) → what it holds: a version, or a split.
    pointers: BTreeMap<(usize, usize), Pointer>,
    /// (prompt, environment) → moves, oldest first.
    moves: BTreeMap<(usize, usize), Vec<Move>>,
    /// (prompt, version) → recorded runs, oldest first.
    runs: BTreeMap<(usize, Version), Vec<Run>>,
    /// Per prompt, everything `history` lists, oldest first.
    trail: [Vec<Ev>; PROMPTS.len()],
}

fn v(text: &str) -> Version {
    Version::parse(text).expect("a version")
}

/// Whether `pointer` serves `version`, in whole or as an entry of its split.
fn serves(pointer: Option<&Pointer>, version: &Version) -> bool {
    pointer.is_some_and(|p| p.versions().contains(&version))
}

/// The canary split: `stable` keeps the rest, first; `canary` gets `hundredths`, last.
fn canary_of(stable: &Version, canary: &Version, hundredths: u32) -> Pointer {
    let share = |version: &Version, hundredths| Share {
        version: version.clone(),
        percent: Percent::from_hundredths(hundredths).expect("at most 100%"),
    };
    Pointer::Split(
        Split::new(vec![
            share(stable, 10_000 - hundredths),
            share(canary, hundredths),
        ])
        .expect("a valid split"),
    )
}

impl Model {
    fn next_version(&self, prompt: usize) -> Version {
        match self.versions[prompt].len() {
            0 => v("1.0.0"),
            n => v(&format!("1.0.{n}")),
        }
    }

    /// The n-th released version, or one that was never released when there is none.
    fn nth(&self, prompt: usize, n: usize) -> Version {
        let all = &self.versions[prompt];
        if all.is_empty() {
            v("1.0.0")
        } else {
            all[n % all.len()].clone()
        }
    }

    fn newest(&self, prompt: usize) -> Version {
        self.nth(prompt, self.versions[prompt].len().saturating_sub(1))
    }

    fn pick(&self, prompt: usize, env: usize, pick: &Pick) -> Version {
        match pick {
            Pick::Other(n) => {
                let current = self.pointers.get(&(prompt, env)).map(Pointer::first);
                let others: Vec<&Version> = self.versions[prompt]
                    .iter()
                    .filter(|v| Some(*v) != current)
                    .collect();
                if others.is_empty() {
                    self.nth(prompt, *n)
                } else {
                    others[n % others.len()].clone()
                }
            }
            Pick::Previous if env == 0 => self.newest(prompt),
            Pick::Previous => self
                .pointers
                .get(&(prompt, env - 1))
                .and_then(|p| p.versions().last().copied().cloned())
                .unwrap_or_else(|| self.nth(prompt, 0)),
        }
    }

    fn canary_pick(&self, prompt: usize, env: usize, pick: &CanaryPick) -> Version {
        let current = self.pointers.get(&(prompt, env));
        match pick {
            CanaryPick::Current if current.is_some_and(|p| p.split().is_some()) => current
                .and_then(|p| p.versions().last().copied().cloned())
                .expect("a split has entries"),
            CanaryPick::Current | CanaryPick::Previous if env == 0 => {
                let stable = current.map(Pointer::first);
                self.versions[prompt]
                    .iter()
                    .rev()
                    .find(|v| Some(*v) != stable)
                    .cloned()
                    .unwrap_or_else(|| self.newest(prompt))
            }
            CanaryPick::Current | CanaryPick::Previous => self.pick(prompt, env, &Pick::Previous),
            CanaryPick::Nth(n) => self.nth(prompt, *n),
        }
    }

    fn tested(&self, prompt: usize, tested: &Tested) -> Version {
        match tested {
            Tested::In(env) => self
                .pointers
                .get(&(prompt, *env))
                .and_then(|p| p.versions().last().copied().cloned())
                .unwrap_or_else(|| self.newest(prompt)),
            Tested::Nth(n) => self.nth(prompt, *n),
            Tested::Unreleased => self.next_version(prompt),
        }
    }

    /// The prompt and environment a canary starts in (see [`Op::Canary`]).
    fn canary_place(&self, prompt: usize, env: usize, aim: bool) -> (usize, usize) {
        let held: Vec<(usize, usize)> = self.pointers.keys().copied().collect();
        if aim && !held.is_empty() {
            held[(prompt * ENVS.len() + env) % held.len()]
        } else {
            (prompt, env)
        }
    }

    /// The prompt and environment a rollback works on (see [`Op::Rollback`]).
    fn rollback_place(&self, prompt: usize, env: usize, aim: bool) -> (usize, usize) {
        let viable: Vec<(usize, usize)> = (0..PROMPTS.len())
            .flat_map(|p| (0..ENVS.len()).map(move |e| (p, e)))
            .filter(|(p, e)| matches!(self.rollback(*p, *e, None), Expect::Moved(_)))
            .collect();
        if aim && !viable.is_empty() {
            viable[(prompt * ENVS.len() + env) % viable.len()]
        } else {
            (prompt, env)
        }
    }

    fn rollback_to(&self, prompt: usize, env: usize, to: &To) -> Version {
        let trail: Vec<&Version> = self
            .moves
            .get(&(prompt, env))
            .into_iter()
            .flatten()
            .flat_map(|m| [m.from.as_ref(), m.to.as_ref()])
            .flatten()
            .flat_map(Pointer::versions)
            .collect();
        match to {
            To::Held(n) if !trail.is_empty() => trail[n % trail.len()].clone(),
            To::Held(n) | To::Nth(n) => self.nth(prompt, *n),
        }
    }

    /// The latest run of each test of `version`, by test name: the one recorded last.
    fn latest(&self, prompt: usize, version: &Version) -> Vec<Run> {
        let mut by_name: BTreeMap<&str, &Run> = BTreeMap::new();
        for run in self
            .runs
            .get(&(prompt, version.clone()))
            .into_iter()
            .flatten()
        {
            by_name.insert(&run.test, run);
        }
        by_name.into_values().cloned().collect()
    }

    /// The gate of `env`: production needs a `golden` run whose latest run passed at least
    /// 80% of its cases (errored ones count as not passed); the other environments have none.
    fn gate(&self, prompt: usize, version: &Version, env: usize) -> Option<Unmet> {
        if env != GATED {
            return None;
        }
        let latest = self.latest(prompt, version);
        match latest.iter().find(|run| run.test == TESTS[0]) {
            None => Some(Unmet::NoGolden),
            // passed / total < 4 / 5, in integers.
            Some(run) if run.passed * 5 < run.total() * 4 => Some(Unmet::Below {
                passed: run.passed,
                total: run.total(),
            }),
            Some(_) => None,
        }
    }

    /// The pipeline rule: the first environment takes any released version, every later one
    /// only what the one before it serves (in whole or in part) or what it serves itself (a
    /// split being completed); then the gate. `force` overrides both, and the move records
    /// that it was forced only when it overrode something. A pipeline skip is reported before
    /// an unmet gate. A promotion of a version a split serves completes the split: `promoted`,
    /// or `reverted` when it is the split's stable entry or lower than it.
    fn promote(&self, prompt: usize, version: &Version, env: usize, force: bool) -> Expect {
        if !self.versions[prompt].contains(version) {
            return Expect::Refused(Why::Unreleased);
        }
        let current = self.pointers.get(&(prompt, env));
        let to = Pointer::Version(version.clone());
        if current == Some(&to) {
            return Expect::Nothing;
        }
        let change = match current {
            Some(Pointer::Split(split)) if split.first() == version => Change::Reverted,
            Some(held) if version < held.first() => Change::Reverted,
            _ => Change::Promoted,
        };
        self.admit((prompt, env), version, force, to, change)
    }

    /// The rules a version entering `env` obeys (see [`Model::promote`]) — the gate only when
    /// the move gives it more traffic and it is not the stable version — then the move to `to`.
    fn admit(
        &self,
        (prompt, env): (usize, usize),
        version: &Version,
        force: bool,
        to: Pointer,
        change: Change,
    ) -> Expect {
        let current = self.pointers.get(&(prompt, env));
        let skips = env > 0
            && !serves(self.pointers.get(&(prompt, env - 1)), version)
            && !serves(current, version);
        if skips && !force {
            return Expect::Refused(Why::Pipeline);
        }
        // The gate stands before more traffic for a version other than the stable one (what
        // `env` serves without a key); a canary re-weighted down, or traffic going back to the
        // stable version, never waits for it (`ops::promote::gaining`).
        let gains = to.share_of(version) > current.and_then(|p| p.share_of(version))
            && current.map(Pointer::first) != Some(version);
        let unmet = self.gate(prompt, version, env).filter(|_| gains);
        if let (Some(unmet), false) = (&unmet, force) {
            return Expect::Refused(Why::Gate(unmet.clone()));
        }
        Expect::Moved(Move {
            from: current.cloned(),
            to: Some(to),
            change,
            forced: skips || unmet.is_some(),
            gate_unmet: unmet,
        })
    }

    /// A canary of `version` at `hundredths` in `env`: refused outside (0, 100), into an
    /// environment holding nothing, or of its stable version (what it serves without a key);
    /// otherwise the split of the stable version and the canary, admitted as a promotion of
    /// the canary is (re-weighting one the environment serves needs nothing of the stage
    /// before).
    fn canary(
        &self,
        prompt: usize,
        version: &Version,
        env: usize,
        hundredths: u32,
        force: bool,
    ) -> Expect {
        if hundredths == 0 || hundredths >= 10_000 {
            return Expect::Refused(Why::Share);
        }
        let current = self.pointers.get(&(prompt, env));
        let Some(stable) = current.map(Pointer::first) else {
            return Expect::Refused(Why::NoStable);
        };
        if stable == version {
            return Expect::Refused(Why::CanaryOfStable);
        }
        if !self.versions[prompt].contains(version) {
            return Expect::Refused(Why::Unreleased);
        }
        let to = canary_of(stable, version, hundredths);
        if current == Some(&to) {
            return Expect::Nothing;
        }
        self.admit((prompt, env), version, force, to, Change::Split)
    }

    /// The rollback rule (src/ops/rollback.rs): back to the most recent version the
    /// environment held other than the current one and any version it was already rolled back
    /// from — "rolled back from" being the `from` of every move the trail records as
    /// `reverted` that went down (a rollback to a higher version undoes a rollback and
    /// abandons nothing); or, with `to`, any version it
    /// ever held other than the current one. Neither the pipeline rule nor the gate applies.
    ///
    /// With splits: a split without `to` goes back to its first (stable) entry; the trail the
    /// rule reads names a split by its first entry, and `to` may name any version the
    /// environment served in part.
    fn rollback(&self, prompt: usize, env: usize, to: Option<&Version>) -> Expect {
        let Some(current) = self.pointers.get(&(prompt, env)) else {
            return Expect::Refused(Why::Rollback);
        };
        let moves = self
            .moves
            .get(&(prompt, env))
            .map_or(&[][..], Vec::as_slice);
        let first = |p: &Option<Pointer>| p.as_ref().map(|p| p.first().clone());
        let target = match (to, current) {
            (Some(wanted), _) => {
                let held = moves
                    .iter()
                    .any(|m| serves(m.to.as_ref(), wanted) || serves(m.from.as_ref(), wanted));
                if !held {
                    return Expect::Refused(Why::Rollback);
                }
                wanted.clone()
            }
            (None, Pointer::Split(split)) => split.first().clone(),
            (None, Pointer::Version(current)) => {
                let rolled_back_from: Vec<Version> = moves
                    .iter()
                    .filter(|m| m.change == Change::Reverted && first(&m.to) < first(&m.from))
                    .filter_map(|m| first(&m.from))
                    .collect();
                let found = moves
                    .iter()
                    .rev()
                    .filter_map(|m| first(&m.to))
                    .find(|held| held != current && !rolled_back_from.contains(held));
                match found {
                    Some(version) => version,
                    None => return Expect::Refused(Why::Rollback),
                }
            }
        };
        let target = Pointer::Version(target);
        if &target == current {
            return Expect::Refused(Why::Rollback);
        }
        Expect::Moved(Move {
            from: Some(current.clone()),
            to: Some(target),
            change: Change::Reverted,
            forced: false,
            gate_unmet: None,
        })
    }

    fn apply(&mut self, prompt: usize, env: usize, expect: &Expect) {
        if let Expect::Moved(mv) = expect {
            let to = mv.to.clone().expect("no demotions here");
            self.pointers.insert((prompt, env), to);
            self.moves
                .entry((prompt, env))
                .or_default()
                .push(mv.clone());
            self.trail[prompt].push(Ev::Moved(env, mv.clone()));
        }
    }

    /// Recording `run` against `version`: refused when it counts no case (checked first) or
    /// the version was never released.
    fn record(&self, prompt: usize, version: &Version, run: &Run) -> Result<(), Why> {
        if run.total() == 0 {
            Err(Why::NoCases)
        } else if !self.versions[prompt].contains(version) {
            Err(Why::Unreleased)
        } else {
            Ok(())
        }
    }

    fn apply_record(&mut self, prompt: usize, version: &Version, run: Run) {
        self.runs
            .entry((prompt, version.clone()))
            .or_default()
            .push(run.clone());
        self.trail[prompt].push(Ev::Tested(version.clone(), run));
    }

    fn apply_create(&mut self, prompt: usize, version: Version) {
        self.trail[prompt].push(Ev::Created(version.clone()));
        self.versions[prompt].push(version);
    }

    /// The pointers as `registry.yaml` should hold them: name → environment → version, or a
    /// split in its text form (`1.0.0=90 1.0.1=10`).
    fn registry(&self) -> BTreeMap<String, BTreeMap<String, String>> {
        let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for ((prompt, env), pointer) in &self.pointers {
            out.entry(PROMPTS[*prompt].to_owned())
                .or_default()
                .insert(ENVS[*env].to_owned(), pointer.to_string());
        }
        out
    }
}

/// A temporary registry driven through the library.
struct TempRegistry {
    _dir: TempDir,
    root: PathBuf,
    home: PathBuf,
    store: Store,
    /// Seconds since the start: every write is one second later than the one before.
    clock: i64,
    start: DateTime<FixedOffset>,
}

impl TempRegistry {
    /// A registry made by `init`, with [`POLICY`] added and committed with git.
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
            start: DateTime::parse_from_rfc3339("2026-01-01T00:00:00+00:00").expect("date"),
        };
        let signatures = registry.signatures();
        promptreg::ops::init::init(&registry.store, &signatures).expect("init");
        let path = registry.root.join("registry.yaml");
        let text = std::fs::read_to_string(&path).expect("read registry.yaml");
        assert!(text.ends_with("prompts: {}\n"), "{text}");
        let with_policy = text.replace("prompts: {}\n", &format!("{POLICY}prompts: {{}}\n"));
        std::fs::write(&path, with_policy).expect("write registry.yaml");
        registry.git(&["add", "registry.yaml"]);
        registry.git(&["commit", "-q", "-m", "production gate"]);
        registry
    }

    fn signatures(&mut self) -> Signatures {
        self.clock += 1;
        let identity = Identity {
            name: "Model Tester".to_owned(),
            email: EMAIL.to_owned(),
            when: self.start + Duration::seconds(self.clock),
        };
        Signatures {
            author: identity.clone(),
            committer: identity,
        }
    }

    fn git(&self, args: &[&str]) -> String {
        git(&self.root, &self.home, args)
    }

    fn head(&self) -> Oid {
        self.store.commit(None).expect("HEAD").id()
    }

    /// The pointers in the `registry.yaml` committed at HEAD.
    fn committed_pointers(&self) -> Result<BTreeMap<String, BTreeMap<String, String>>, String> {
        let bytes = git_bytes(
            &self.root,
            &self.home,
            &["cat-file", "blob", "HEAD:registry.yaml"],
        );
        let parsed =
            Registry::parse(&bytes, Path::new("registry.yaml")).map_err(|e| e.to_string())?;
        Ok(parsed
            .prompts
            .iter()
            .filter(|(_, pointers)| !pointers.is_empty())
            .map(|(name, pointers)| {
                (
                    name.to_string(),
                    pointers
                        .iter()
                        .map(|(env, version)| (env.clone(), version.to_string()))
                        .collect(),
                )
            })
            .collect())
    }

    /// Compares `prompt`'s results committed at HEAD with the model: every run, in order,
    /// and the latest run of each test of every released version.
    fn check_results(&self, model: &Model, prompt: usize) -> Result<(), String> {
        let results: Results =
            results_at(&self.store, &name(prompt), None).map_err(|e| format!("results: {e}"))?;
        let got: BTreeMap<Version, Vec<Run>> = results
            .versions
            .iter()
            .filter(|(_, runs)| !runs.is_empty())
            .map(|(version, runs)| (version.clone(), runs.iter().map(Run::from).collect()))
            .collect();
        let expected: BTreeMap<Version, Vec<Run>> = model
            .runs
            .iter()
            .filter(|((p, _), _)| *p == prompt)
            .map(|((_, version), runs)| (version.clone(), runs.clone()))
            .collect();
        if got != expected {
            return Err(format!(
                "results of {}:\n  got      {got:?}\n  expected {expected:?}",
                PROMPTS[prompt]
            ));
        }
        for version in &model.versions[prompt] {
            let latest: Vec<Run> = results.latest(version).into_iter().map(Run::from).collect();
            let expected = model.latest(prompt, version);
            if latest != expected {
                return Err(format!(
                    "latest runs of {} {version}:\n  got      {latest:?}\n  expected {expected:?}",
                    PROMPTS[prompt]
                ));
            }
        }
        Ok(())
    }
}

fn git_command(root: &Path, home: &Path, args: &[&str]) -> Command {
    let mut command = Command::new("git");
    hermetic::apply_as(&mut command, home, "Model Tester", EMAIL)
        .current_dir(root)
        .args(args);
    command
}

fn git_bytes(root: &Path, home: &Path, args: &[&str]) -> Vec<u8> {
    let out = git_command(root, home, args).output().expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn git(root: &Path, home: &Path, args: &[&str]) -> String {
    String::from_utf8(git_bytes(root, home, args)).expect("UTF-8 from git")
}

fn name(prompt: usize) -> PromptName {
    PromptName::parse(PROMPTS[prompt]).expect("a prompt name")
}

fn fail(trace: &[String], what: String) -> TestCaseError {
    TestCaseError::fail(format!("{what}\nafter:\n  {}", trace.join("\n  ")))
}

/// One side of a move as `history` lists it: the version, or the split (whose first entry
/// the version must be); `Err` when they disagree.
fn pointer_of(
    version: Option<&str>,
    split: Option<&Vec<promptreg_wire::SplitEntry>>,
) -> Result<Option<Pointer>, String> {
    let Some(split) = split else {
        return Ok(version.map(|t| Pointer::Version(v(t))));
    };
    let shares = split
        .iter()
        .map(|e| Share {
            version: v(&e.version),
            percent: e.percent,
        })
        .collect();
    let pointer = Pointer::Split(Split::new(shares)?);
    if version != Some(pointer.first().to_string().as_str()) {
        return Err(format!("{version:?} is not the first entry of {pointer}"));
    }
    Ok(Some(pointer))
}

/// A move as `history` lists it (`Err`: its version and its split disagree).
fn move_of(event: &Event) -> Result<Move, String> {
    Ok(Move {
        from: pointer_of(event.from.as_deref(), event.from_split.as_ref())?,
        to: pointer_of(event.to.as_deref(), event.to_split.as_ref())?,
        change: event.event,
        forced: event.forced,
        gate_unmet: unmet_of(&event.gate_unmet),
    })
}

/// An event of a prompt's history as the model's trail holds it.
fn ev_of(event: &Event) -> Ev {
    let env = event
        .environment
        .as_deref()
        .and_then(|e| ENVS.iter().position(|known| *known == e));
    match (event.event, env, &event.test, event.to.as_deref()) {
        (Change::Created, None, None, Some(to)) if !event.forced => Ev::Created(v(to)),
        (Change::Promoted | Change::Reverted | Change::Split, Some(env), None, _) => {
            match move_of(event) {
                Ok(mv) => Ev::Moved(env, mv),
                Err(e) => Ev::Unexpected(format!("{e}: {event:?}")),
            }
        }
        (Change::Tested, None, Some(test), Some(to))
            if !event.forced
                && event.gate_unmet.is_empty()
                && event.from.is_none()
                && test.total == test.passed + test.failed + test.errored
                && test.tested_by == EMAIL
                && test.source == "manual"
                && test.tested_at == event.at.to_rfc3339() =>
        {
            Ev::Tested(
                v(to),
                Run {
                    test: test.test.clone(),
                    passed: test.passed,
                    failed: test.failed,
                    errored: test.errored,
                    tested_at: test.tested_at.clone(),
                },
            )
        }
        _ => Ev::Unexpected(format!("{event:?}")),
    }
}

/// Whether `promote` (with or without a canary) did what the model expects: the refusal, or
/// nothing, or exactly the move (made as the commit at HEAD).
fn promoted_as_expected(got: &Result<Promoted, Error>, expect: &Expect, head: Oid) -> bool {
    match (got, expect) {
        (Err(e), Expect::Refused(why)) => why.matches(e),
        (Ok(Promoted::AlreadyThere), Expect::Nothing) => true,
        (
            Ok(Promoted::Moved {
                from,
                to,
                commit,
                change,
                forced,
            }),
            Expect::Moved(mv),
        ) => {
            *from == mv.from
                && Some(to) == mv.to.as_ref()
                && *change == mv.change
                && *forced == mv.forced
                && *commit == head
        }
        _ => false,
    }
}

/// Runs `ops`, checking every step against the model, then the history.
fn check(ops: &[Op]) -> Result<(), TestCaseError> {
    let mut repo = TempRegistry::new();
    let mut model = Model::default();
    let mut trace: Vec<String> = Vec::new();
    // Every prompt starts with 1.0.0, 1.0.1 and 1.0.2 released, so most operations have
    // something to act on, and the first has 1.0.2 in dev and staging, so promotions to the
    // gated environment come early (the other starts with every environment empty).
    let setup = (0..3 * PROMPTS.len())
        .map(|n| Op::Create {
            prompt: n % PROMPTS.len(),
        })
        .chain((0..2).map(|env| Op::Promote {
            prompt: 0,
            version: Pick::Previous,
            env,
            force: false,
        }));
    for (step, op) in setup.chain(ops.iter().cloned()).enumerate() {
        let op = &op;
        let signatures = repo.signatures();
        let before = repo.head();
        // Whether the step must make a commit.
        let commits: bool;
        match op {
            Op::Create { prompt } => {
                let version = model.next_version(*prompt);
                trace.push(format!("create {} {version}", PROMPTS[*prompt]));
                let dir = repo.root.join("prompts").join(PROMPTS[*prompt]);
                std::fs::create_dir_all(&dir).expect("prompt dir");
                std::fs::write(
                    dir.join("prompt.yaml"),
                    format!(
                        "system_prompt: |\n  Step {step}: {} {version}.\n",
                        PROMPTS[*prompt]
                    ),
                )
                .expect("write prompt");
                let request = CreateRequest {
                    name: name(*prompt),
                    version: VersionChoice::Exact(version.clone()),
                    message: format!("release {version}"),
                    source: PromptSource::WorkTree,
                    allow_unchanged: false,
                };
                match create(&repo.store, &request, &signatures) {
                    Ok(created) if created.version == version => {}
                    other => return Err(fail(&trace, format!("create: {other:?}"))),
                }
                model.apply_create(*prompt, version);
                commits = true;
            }
            Op::Promote {
                prompt,
                version,
                env,
                force,
            } => {
                let version = model.pick(*prompt, *env, version);
                trace.push(format!(
                    "promote {} {version} --to {}{}",
                    PROMPTS[*prompt],
                    ENVS[*env],
                    if *force { " --force" } else { "" }
                ));
                let expect = model.promote(*prompt, &version, *env, *force);
                let request = PromoteRequest {
                    name: name(*prompt),
                    version,
                    environment: ENVS[*env].to_owned(),
                    reason: format!("step {step}"),
                    force: *force,
                    canary: None,
                };
                let got = promote(&repo.store, &request, &signatures);
                if !promoted_as_expected(&got, &expect, repo.head()) {
                    return Err(fail(&trace, format!("model: {expect:?}\npromote: {got:?}")));
                }
                model.apply(*prompt, *env, &expect);
                commits = matches!(expect, Expect::Moved(_));
            }
            Op::Canary {
                prompt,
                version,
                env,
                hundredths,
                force,
                aim,
            } => {
                let (prompt, env) = model.canary_place(*prompt, *env, *aim);
                let (prompt, env) = (&prompt, &env);
                let version = model.canary_pick(*prompt, *env, version);
                trace.push(format!(
                    "promote {} {version} --to {} --canary {}{}",
                    PROMPTS[*prompt],
                    ENVS[*env],
                    f64::from(*hundredths) / 100.0,
                    if *force { " --force" } else { "" }
                ));
                let expect = model.canary(*prompt, &version, *env, *hundredths, *force);
                let request = PromoteRequest {
                    name: name(*prompt),
                    version,
                    environment: ENVS[*env].to_owned(),
                    reason: format!("step {step}"),
                    force: *force,
                    canary: Some(Percent::from_hundredths(*hundredths).expect("at most 100%")),
                };
                let got = promote(&repo.store, &request, &signatures);
                if !promoted_as_expected(&got, &expect, repo.head()) {
                    return Err(fail(&trace, format!("model: {expect:?}\ncanary: {got:?}")));
                }
                model.apply(*prompt, *env, &expect);
                commits = matches!(expect, Expect::Moved(_));
            }
            Op::Rollback {
                prompt,
                env,
                to,
                aim,
            } => {
                let (prompt, env) = model.rollback_place(*prompt, *env, *aim);
                let (prompt, env) = (&prompt, &env);
                let to = to.as_ref().map(|to| model.rollback_to(*prompt, *env, to));
                trace.push(format!(
                    "rollback {} --env {}{}",
                    PROMPTS[*prompt],
                    ENVS[*env],
                    to.as_ref().map_or(String::new(), |v| format!(" --to {v}"))
                ));
                let expect = model.rollback(*prompt, *env, to.as_ref());
                let request = RollbackRequest {
                    name: name(*prompt),
                    environment: ENVS[*env].to_owned(),
                    to,
                    reason: format!("step {step}"),
                };
                let got = rollback(&repo.store, &request, &signatures);
                let agrees = match (&got, &expect) {
                    (Err(e), Expect::Refused(why)) => why.matches(e),
                    (Ok(done), Expect::Moved(mv)) => {
                        Some(&done.from) == mv.from.as_ref()
                            && Some(Pointer::Version(done.to.clone())) == mv.to
                            && done.commit == repo.head()
                    }
                    _ => false,
                };
                if !agrees {
                    return Err(fail(
                        &trace,
                        format!("model: {expect:?}\nrollback: {got:?}"),
                    ));
                }
                model.apply(*prompt, *env, &expect);
                commits = matches!(expect, Expect::Moved(_));
            }
            Op::Record {
                prompt,
                version,
                test,
                passed,
                failed,
                errored,
            } => {
                let version = model.tested(*prompt, version);
                let run = Run {
                    test: TESTS[*test].to_owned(),
                    passed: *passed,
                    failed: *failed,
                    errored: *errored,
                    tested_at: signatures.author.when.to_rfc3339(),
                };
                trace.push(format!(
                    "results record {}@{version} --test {} --passed {passed} --failed {failed} --errored {errored}",
                    PROMPTS[*prompt], run.test
                ));
                let expect = model.record(*prompt, &version, &run);
                let request = RecordRequest {
                    name: name(*prompt),
                    version: version.clone(),
                    run: NewRun {
                        test: run.test.clone(),
                        passed: run.passed,
                        failed: run.failed,
                        errored: run.errored,
                        avg_score: None,
                        // The author date, as the model's run says.
                        tested_at: None,
                        source: "manual".to_owned(),
                        url: None,
                    },
                };
                let got = record(&repo.store, &request, &signatures);
                let agrees = match (&got, &expect) {
                    (Err(e), Err(why)) => why.matches(e),
                    (Ok(recorded), Ok(())) => recorded.commit == repo.head(),
                    _ => false,
                };
                if !agrees {
                    return Err(fail(&trace, format!("model: {expect:?}\nrecord: {got:?}")));
                }
                commits = expect.is_ok();
                if commits {
                    model.apply_record(*prompt, &version, run);
                }
            }
        }
        if (repo.head() != before) != commits {
            return Err(fail(
                &trace,
                format!(
                    "HEAD {} the step; the model says it {}",
                    if commits {
                        "stayed put after"
                    } else {
                        "moved in"
                    },
                    if commits {
                        "commits"
                    } else {
                        "changes nothing"
                    }
                ),
            ));
        }
        let committed = repo.committed_pointers().map_err(|e| fail(&trace, e))?;
        if committed != model.registry() {
            return Err(fail(
                &trace,
                format!(
                    "registry.yaml holds {committed:?}\nthe model {:?}",
                    model.registry()
                ),
            ));
        }
        for prompt in 0..PROMPTS.len() {
            repo.check_results(&model, prompt)
                .map_err(|e| fail(&trace, e))?;
        }
    }
    let status = repo.git(&["status", "--porcelain=v1", "-uall"]);
    if !status.is_empty() {
        return Err(fail(
            &trace,
            format!("the working tree is not clean:\n{status}"),
        ));
    }
    for (prompt, prompt_name) in PROMPTS.iter().enumerate() {
        for (env, env_name) in ENVS.iter().enumerate() {
            let query = Query {
                name: Some(name(prompt)),
                environment: Some((*env_name).to_owned()),
                ..Query::default()
            };
            let events = history(&repo.store, &query)
                .map_err(|e| fail(&trace, format!("history: {e}")))?
                .events;
            let got: Vec<Result<Move, String>> = events.iter().map(move_of).collect();
            let mut expected: Vec<Result<Move, String>> = model
                .moves
                .get(&(prompt, env))
                .into_iter()
                .flatten()
                .cloned()
                .map(Ok)
                .collect();
            expected.reverse();
            if got != expected {
                return Err(fail(
                    &trace,
                    format!(
                        "history {prompt_name} --env {env_name}:\n  got      {got:?}\n  expected {expected:?}"
                    ),
                ));
            }
        }
        // Without an environment: the releases and the recorded runs too, each step one
        // second after the one before, so the order is the model's, reversed.
        let all = history(
            &repo.store,
            &Query {
                name: Some(name(prompt)),
                ..Query::default()
            },
        )
        .map_err(|e| fail(&trace, format!("history: {e}")))?
        .events;
        let got: Vec<Ev> = all.iter().map(ev_of).collect();
        let mut expected = model.trail[prompt].clone();
        expected.reverse();
        if got != expected {
            return Err(fail(
                &trace,
                format!("history {prompt_name}:\n  got      {got:#?}\n  expected {expected:#?}"),
            ));
        }
        let dates: Vec<_> = all.iter().map(|e| e.at).collect();
        if dates.windows(2).any(|w| w[0] <= w[1]) || all.iter().any(|e| &*e.by != EMAIL) {
            return Err(fail(&trace, format!("history order or author: {all:?}")));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: None,
        max_shrink_iters: 400,
        ..ProptestConfig::default()
    })]

    #[test]
    fn pointers_results_and_history_follow_the_model(ops in prop::collection::vec(op(), 5..=30)) {
        check(&ops)?;
    }
}
