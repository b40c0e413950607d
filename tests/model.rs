//! Model-based property test of the promotion pointers: random sequences of `create`, `promote`
//! and `rollback`, run through the library against a real temporary Git repository, are
//! compared after every step with a small in-memory model of the pipeline rule and the rollback
//! rule; at the end `history` must list exactly the model's moves, newest first.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use chrono::{DateTime, Duration, FixedOffset};
use promptreg::history::Change;
use promptreg::identity::{Identity, Signatures};
use promptreg::ops::create::{create, CreateRequest, VersionChoice};
use promptreg::ops::history::{history, Query};
use promptreg::ops::promote::{promote, PromoteRequest, Promoted};
use promptreg::ops::rollback::{rollback, RollbackRequest};
use promptreg::registry::Registry;
use promptreg::store::Store;
use promptreg::{PromptName, Version};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use tempfile::TempDir;

const PROMPTS: [&str; 2] = ["alpha", "support/beta"];
const ENVS: [&str; 3] = ["dev", "staging", "production"];
const EMAIL: &str = "model@example.com";

/// Which version a promotion names.
#[derive(Clone, Debug)]
enum Pick {
    /// The n-th released version other than the one the environment holds (modulo).
    Other(usize),
    /// What the environment before holds (the newest version for the first environment): a
    /// promotion the pipeline rule allows, so sequences reach production often.
    Previous,
}

/// Which version a rollback names with `--to`.
#[derive(Clone, Debug)]
enum To {
    /// The n-th version the environment's trail names (modulo): usually accepted.
    Held(usize),
    /// The n-th released version (modulo): often one the environment never held.
    Nth(usize),
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
    Rollback {
        prompt: usize,
        env: usize,
        to: Option<To>,
        /// Roll back, instead of `prompt` and `env`, one of the places (chosen by them, modulo)
        /// where the model says a plain rollback would succeed, if there is any: random
        /// places mostly have nothing to roll back to.
        aim: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    // Weighted towards one prompt and the first environment, so that trails get long enough
    // for the rollback rule to matter.
    let prompt = prop_oneof![3 => Just(0usize), 1 => Just(1)];
    let env = prop_oneof![2 => Just(0usize), 1 => Just(1), 1 => Just(2)];
    let pick = prop_oneof![
        1 => (0usize..6).prop_map(Pick::Other),
        1 => Just(Pick::Previous),
    ];
    let to = prop_oneof![
        2 => (0usize..6).prop_map(To::Held),
        1 => (0usize..6).prop_map(To::Nth),
    ];
    prop_oneof![
        2 => prompt.clone().prop_map(|prompt| Op::Create { prompt }),
        6 => (prompt.clone(), pick, env.clone(), prop::bool::weighted(0.2)).prop_map(
            |(prompt, version, env, force)| Op::Promote { prompt, version, env, force }
        ),
        3 => (prompt, env, prop::option::weighted(0.3, to), prop::bool::weighted(0.7))
            .prop_map(|(prompt, env, to, aim)| Op::Rollback { prompt, env, to, aim }),
    ]
}

/// One pointer move, as the model and `history` see it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Move {
    from: Option<Version>,
    to: Option<Version>,
    change: Change,
}

/// What an operation must do.
#[derive(Debug, PartialEq, Eq)]
enum Expect {
    Refused,
    /// Accepted, nothing to change (promoting where it already is).
    Nothing,
    Moved(Move),
}

#[derive(Default)]
struct Model {
    /// Released versions per prompt, in release order (which is also semver order).
    versions: [Vec<Version>; PROMPTS.len()],
    /// (prompt, environment) → version.
    pointers: BTreeMap<(usize, usize), Version>,
    /// (prompt, environment) → moves, oldest first.
    moves: BTreeMap<(usize, usize), Vec<Move>>,
}

fn v(text: &str) -> Version {
    Version::parse(text).expect("a version")
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

    fn pick(&self, prompt: usize, env: usize, pick: &Pick) -> Version {
        match pick {
            Pick::Other(n) => {
                let current = self.pointers.get(&(prompt, env));
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
            Pick::Previous if env == 0 => {
                self.nth(prompt, self.versions[prompt].len().saturating_sub(1))
            }
            Pick::Previous => self
                .pointers
                .get(&(prompt, env - 1))
                .cloned()
                .unwrap_or_else(|| self.nth(prompt, 0)),
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
            .collect();
        match to {
            To::Held(n) if !trail.is_empty() => trail[n % trail.len()].clone(),
            To::Held(n) | To::Nth(n) => self.nth(prompt, *n),
        }
    }

    /// The pipeline rule: the first environment takes any released version, every later one
    /// only what the one before it holds (unless forced).
    fn promote(&self, prompt: usize, version: &Version, env: usize, force: bool) -> Expect {
        if !self.versions[prompt].contains(version) {
            return Expect::Refused;
        }
        let current = self.pointers.get(&(prompt, env));
        if current == Some(version) {
            return Expect::Nothing;
        }
        if env > 0 && !force && self.pointers.get(&(prompt, env - 1)) != Some(version) {
            return Expect::Refused;
        }
        let change = match current {
            Some(held) if version < held => Change::Reverted,
            _ => Change::Promoted,
        };
        Expect::Moved(Move {
            from: current.cloned(),
            to: Some(version.clone()),
            change,
        })
    }

    /// The rollback rule (src/ops/rollback.rs): back to the most recent version the
    /// environment held other than the current one and any version it was already rolled back
    /// from — "rolled back from" being the `from` of every move the trail records as
    /// `reverted` that went down (a rollback to a higher version undoes a rollback and
    /// abandons nothing); or, with `to`, any version it
    /// ever held other than the current one. The pipeline rule does not apply.
    fn rollback(&self, prompt: usize, env: usize, to: Option<&Version>) -> Expect {
        let Some(current) = self.pointers.get(&(prompt, env)) else {
            return Expect::Refused;
        };
        let moves = self
            .moves
            .get(&(prompt, env))
            .map_or(&[][..], Vec::as_slice);
        let target = match to {
            Some(wanted) => {
                let held = moves
                    .iter()
                    .any(|m| m.to.as_ref() == Some(wanted) || m.from.as_ref() == Some(wanted));
                if !held {
                    return Expect::Refused;
                }
                wanted.clone()
            }
            None => {
                let rolled_back_from: Vec<&Version> = moves
                    .iter()
                    .filter(|m| m.change == Change::Reverted && m.to < m.from)
                    .filter_map(|m| m.from.as_ref())
                    .collect();
                let found = moves
                    .iter()
                    .rev()
                    .filter_map(|m| m.to.as_ref())
                    .find(|held| *held != current && !rolled_back_from.contains(held));
                match found {
                    Some(version) => version.clone(),
                    None => return Expect::Refused,
                }
            }
        };
        if &target == current {
            return Expect::Refused;
        }
        Expect::Moved(Move {
            from: Some(current.clone()),
            to: Some(target),
            change: Change::Reverted,
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
        }
    }

    /// The pointers as `registry.yaml` should hold them: name → environment → version.
    fn registry(&self) -> BTreeMap<String, BTreeMap<String, String>> {
        let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for ((prompt, env), version) in &self.pointers {
            out.entry(PROMPTS[*prompt].to_owned())
                .or_default()
                .insert(ENVS[*env].to_owned(), version.to_string());
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
}

fn git_command(root: &Path, home: &Path, args: &[&str]) -> Command {
    let mut command = Command::new("git");
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("LANG", "C")
        .env("GIT_AUTHOR_NAME", "Model Tester")
        .env("GIT_AUTHOR_EMAIL", EMAIL)
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00+00:00")
        .env("GIT_COMMITTER_NAME", "Model Tester")
        .env("GIT_COMMITTER_EMAIL", EMAIL)
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00+00:00")
        .current_dir(root)
        .stdin(Stdio::null())
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

/// Runs `ops`, checking every step against the model, then the history.
fn check(ops: &[Op]) -> Result<(), TestCaseError> {
    let mut repo = TempRegistry::new();
    let mut model = Model::default();
    let mut trace: Vec<String> = Vec::new();
    // Every prompt starts with 1.0.0, 1.0.1 and 1.0.2 released, so most operations have
    // something to act on.
    let setup = (0..3 * PROMPTS.len()).map(|n| Op::Create {
        prompt: n % PROMPTS.len(),
    });
    for (step, op) in setup.chain(ops.iter().cloned()).enumerate() {
        let op = &op;
        let signatures = repo.signatures();
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
                    file: None,
                    allow_unchanged: false,
                };
                match create(&repo.store, &request, &signatures) {
                    Ok(created) if created.version == version => {}
                    other => return Err(fail(&trace, format!("create: {other:?}"))),
                }
                model.versions[*prompt].push(version);
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
                };
                let got = promote(&repo.store, &request, &signatures);
                let agrees = match (&got, &expect) {
                    (Err(_), Expect::Refused) => true,
                    (Ok(Promoted::AlreadyThere), Expect::Nothing) => true,
                    (Ok(Promoted::Moved { from, .. }), Expect::Moved(mv)) => *from == mv.from,
                    _ => false,
                };
                if !agrees {
                    return Err(fail(&trace, format!("model: {expect:?}\npromote: {got:?}")));
                }
                model.apply(*prompt, *env, &expect);
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
                    (Err(_), Expect::Refused) => true,
                    (Ok(done), Expect::Moved(mv)) => {
                        Some(&done.from) == mv.from.as_ref() && Some(&done.to) == mv.to.as_ref()
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
            }
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
            let events =
                history(&repo.store, &query).map_err(|e| fail(&trace, format!("history: {e}")))?;
            let got: Vec<Move> = events
                .iter()
                .map(|e| Move {
                    from: e.from.as_deref().map(v),
                    to: e.to.as_deref().map(v),
                    change: e.event,
                })
                .collect();
            let mut expected = model.moves.get(&(prompt, env)).cloned().unwrap_or_default();
            expected.reverse();
            if got != expected {
                return Err(fail(
                    &trace,
                    format!(
                        "history {prompt_name} --env {env_name}:\n  got      {got:?}\n  expected {expected:?}"
                    ),
                ));
            }
            let dates: Vec<&str> = events.iter().map(|e| e.at.as_str()).collect();
            if dates.windows(2).any(|w| w[0] <= w[1]) || events.iter().any(|e| e.by != EMAIL) {
                return Err(fail(&trace, format!("history order or author: {events:?}")));
            }
        }
        // Without an environment: the releases too.
        let all = history(
            &repo.store,
            &Query {
                name: Some(name(prompt)),
                ..Query::default()
            },
        )
        .map_err(|e| fail(&trace, format!("history: {e}")))?;
        let created = all.iter().filter(|e| e.event == Change::Created).count();
        let moved: usize = (0..ENVS.len())
            .map(|env| model.moves.get(&(prompt, env)).map_or(0, Vec::len))
            .sum();
        if created != model.versions[prompt].len() || all.len() != created + moved {
            return Err(fail(&trace, format!("history {prompt_name}: {all:?}")));
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
    fn pointers_and_history_follow_the_model(ops in prop::collection::vec(op(), 5..=25)) {
        check(&ops)?;
    }
}
