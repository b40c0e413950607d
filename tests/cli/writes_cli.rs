//! The write commands as scripts and people drive them (issue 12): the global `--ref` refused,
//! a JSON/YAML result for every write, empty reasons refused, `--env` everywhere, and
//! `history --since` in git's relative forms.

use crate::support::{promoted_through_pipeline, released_prompt, TestRepo};

fn fixture(file: &str) -> String {
    format!("{}/fixtures/results/{file}", env!("CARGO_MANIFEST_DIR"))
}

/// x 1.0.0 and 1.1.0 released, 1.0.0 then 1.1.0 in dev (so dev can roll back).
fn moved_twice() -> TestRepo {
    let repo = released_prompt("x", "1.0.0", "one");
    repo.promote("x", "1.0.0", "dev");
    repo.release("x", "1.1.0", "two");
    repo.promote("x", "1.1.0", "dev");
    repo
}

const WRITES: [&[&str]; 6] = [
    &[
        "create",
        "x",
        "--bump",
        "patch",
        "-m",
        "three",
        "--allow-unchanged",
    ],
    &["promote", "x", "1.1.0", "--env", "staging", "--reason", "r"],
    &["rollback", "x", "--env", "dev", "--reason", "r"],
    &[
        "results", "record", "x@1.1.0", "--test", "t", "--passed", "1", "--failed", "0",
    ],
    &[
        "results",
        "import",
        "x@1.1.0",
        "--from",
        "promptfoo",
        "report.json",
    ],
    &["init"],
];

#[test]
fn ref_is_refused_by_every_write_and_changes_nothing() {
    let repo = moved_twice();
    repo.git(&["branch", "old"]);
    for write in WRITES {
        let args: Vec<&str> = ["--ref", "old"].iter().chain(write).copied().collect();
        let out = repo.unchanged_by(|| repo.run(&args));
        out.usage().stderr_has(&[
            "error: --ref `old` cannot be used with",
            "writes go to the checked-out branch",
            "hint: check it out first (`git switch old`",
        ]);
    }
    // Without --ref each of them writes (init aside: it is a registry already).
    let old = repo.rev("old");
    repo.run(WRITES[1]).ok();
    assert_ne!(repo.rev("HEAD"), old);
    assert_eq!(repo.rev("old"), old);
}

#[test]
fn unsupported_formats_are_usage_errors_that_change_nothing() {
    let repo = moved_twice();
    for (write, format, offered) in [
        (WRITES[0], "table", "text, json, yaml"),
        (WRITES[1], "table", "json, yaml"),
        (WRITES[1], "text", "json, yaml"),
        (WRITES[2], "github", "json, yaml"),
        (WRITES[3], "table", "json, yaml"),
        (WRITES[4], "text", "json, yaml"),
        (WRITES[5], "table", "json, yaml"),
    ] {
        let args: Vec<&str> = write.iter().copied().chain(["--format", format]).collect();
        let out = repo.unchanged_by(|| repo.run(&args));
        out.usage().stderr_has(&[&format!(
            "--format {format} is not available here; choose one of: {offered}"
        )]);
    }
}

#[test]
fn create_prints_its_result_as_json_and_yaml() {
    let repo = released_prompt("x", "1.0.0", "one");
    repo.write_prompt("x", "two");
    let out = repo.run(&[
        "create", "x", "--bump", "auto", "-m", "two", "--format", "json",
    ]);
    out.ok();
    let json = out.json();
    assert_eq!(
        json,
        serde_json::json!({
            "command": "create",
            "name": "x",
            "version": "1.1.0",
            "tag": "x/v1.1.0",
            "commit": repo.rev("HEAD"),
            "new_commit": true,
            "move": null,
            "test": null,
            "bump": {"bump": "minor", "reason": json["bump"]["reason"]},
            "branch": null,
            "directory": null,
            "events": null,
        })
    );
    assert!(json["bump"]["reason"]
        .as_str()
        .is_some_and(|r| !r.is_empty()));
    assert!(out.stderr.contains("created x 1.1.0"), "{}", out.stderr);
    repo.write_prompt("x", "three");
    let out = repo.run(&[
        "create",
        "x",
        "--version",
        "2.0.0",
        "-m",
        "3",
        "--format",
        "yaml",
    ]);
    out.ok();
    assert!(
        out.stdout
            .starts_with("command: create\nname: x\nversion: \"2.0.0\"\ntag: x/v2.0.0\n"),
        "{}",
        out.stdout
    );
    // The default stays the bare version.
    repo.write_prompt("x", "four");
    let out = repo.run(&["create", "x", "--bump", "patch", "-m", "4"]);
    assert_eq!(out.stdout, "2.0.1\n");
}

#[test]
fn promote_and_rollback_print_the_move_they_made() {
    let repo = released_prompt("x", "1.0.0", "one");
    repo.release("x", "1.1.0", "two");
    let out = repo.run(&[
        "promote", "x", "1.1.0", "--env", "dev", "--reason", "try", "--format", "json",
    ]);
    out.ok();
    let json = out.json();
    assert_eq!(json["command"], "promote");
    assert_eq!(json["version"], "1.1.0");
    assert_eq!(json["tag"], "x/v1.1.0");
    assert_eq!(json["commit"], repo.rev("HEAD"));
    assert_eq!(json["new_commit"], true);
    assert_eq!(
        json["move"],
        serde_json::json!({"environment": "dev", "change": "promoted", "from": null, "to": "1.1.0", "forced": false, "reason": "try"})
    );
    // Skipping dev with --force is recorded as forced.
    let out = repo.run(&[
        "promote", "x", "1.0.0", "--env", "staging", "--reason", "hotfix", "--force", "--format",
        "json",
    ]);
    out.ok();
    assert_eq!(out.json()["move"]["forced"], true);
    // Already there: nothing moved, no commit.
    let head = repo.rev("HEAD");
    let out = repo.run(&[
        "promote", "x", "1.1.0", "--to", "dev", "--reason", "again", "--format", "json",
    ]);
    out.ok();
    let json = out.json();
    assert_eq!(
        (
            json["commit"].clone(),
            json["new_commit"].clone(),
            json["move"].clone()
        ),
        (
            serde_json::Value::Null,
            false.into(),
            serde_json::Value::Null
        )
    );
    assert_eq!(repo.rev("HEAD"), head);

    // A move to a lower version is recorded as reverted.
    let out = repo.run(&[
        "promote", "x", "1.0.0", "--env", "dev", "--reason", "back", "--format", "json",
    ]);
    out.ok();
    assert_eq!(out.json()["move"]["change"], "reverted");
    let out = repo.run(&[
        "rollback", "x", "--env", "dev", "--to", "1.1.0", "--reason", "broke", "--format", "yaml",
    ]);
    out.ok();
    assert_eq!(
        out.stdout,
        format!(
            "command: rollback\nname: x\nversion: \"1.1.0\"\ntag: x/v1.1.0\ncommit: {}\nnew_commit: true\nmove:\n  environment: dev\n  change: reverted\n  from: \"1.0.0\"\n  to: \"1.1.0\"\n  forced: false\n  reason: broke\ntest: null\nbump: null\nbranch: null\ndirectory: null\nevents: null\n",
            repo.rev("HEAD")
        )
    );
}

#[test]
fn results_and_init_print_what_they_recorded() {
    let repo = released_prompt("x", "1.0.0", "one");
    let out = repo.run(&[
        "results", "record", "x@1.0.0", "--test", "golden", "--passed", "3", "--failed", "1",
        "--format", "json",
    ]);
    out.ok();
    let json = out.json();
    assert_eq!(json["command"], "results record");
    assert_eq!(json["commit"], repo.rev("HEAD"));
    assert_eq!(json["test"]["test"], "golden");
    assert_eq!(json["test"]["passed"], 3);
    assert_eq!(json["test"]["total"], 4);
    let report = fixture("promptfoo-passing.json");
    let out = repo.run(&[
        "results",
        "import",
        "x@1.0.0",
        "--from",
        "promptfoo",
        &report,
        "--format",
        "json",
    ]);
    out.ok();
    let json = out.json();
    assert_eq!(json["command"], "results import");
    assert_eq!(json["commit"], repo.rev("HEAD"));
    assert_eq!(json["test"]["source"], "promptfoo");

    let fresh = TestRepo::new();
    let out = fresh.run(&["init", "--format", "json"]);
    out.ok();
    let json = out.json();
    assert_eq!(json["command"], "init");
    assert_eq!(json["commit"], fresh.rev("HEAD"));
    assert!(json["branch"].is_string(), "{json}");

    let dir = fresh.tmp().join("demo");
    let out = fresh.run(&[
        "init",
        "--example",
        dir.to_str().unwrap(),
        "--format",
        "json",
    ]);
    out.ok();
    let json = out.json();
    assert_eq!(json["directory"], dir.display().to_string());
    let events = json["events"].as_array().expect("events");
    assert!(events.iter().any(|e| e["event"] == "created"), "{json}");
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "promoted" && e["environment"].is_string()),
        "{json}"
    );
}

#[test]
fn an_empty_reason_is_refused() {
    let repo = moved_twice();
    for reason in ["", "   ", "\n"] {
        for args in [
            &[
                "promote", "x", "1.1.0", "--env", "staging", "--reason", reason,
            ][..],
            &["rollback", "x", "--env", "dev", "--reason", reason],
        ] {
            let out = repo.unchanged_by(|| repo.run(args));
            out.usage().stderr_has(&[
                "error: the reason (--reason) is empty; say why the pointer moves",
                "hint: ",
            ]);
        }
    }
}

#[test]
fn env_names_the_environment_everywhere() {
    let repo = released_prompt("x", "1.0.0", "one");
    repo.run(&["promote", "x", "1.0.0", "--env", "dev", "--reason", "r"])
        .ok();
    repo.run(&["promote", "x", "1.0.0", "--to", "staging", "--reason", "r"])
        .ok();
    assert!(repo.read("registry.yaml").contains("dev: 1.0.0"));
    assert!(repo.read("registry.yaml").contains("staging: 1.0.0"));
    let help = repo.run(&["promote", "--help"]);
    help.ok();
    assert!(help.stdout.contains("--env <ENV>"), "{}", help.stdout);
    assert!(help.stdout.contains("--to"), "{}", help.stdout);
}

#[test]
fn an_environment_given_as_rollback_to_suggests_env() {
    let repo = moved_twice();
    let out = repo.unchanged_by(|| repo.run(&["rollback", "x", "--to", "dev", "--reason", "r"]));
    out.usage().stderr_has(&[
        "rollback takes the environment as --env, not --to (`--to dev`)",
        "hint: `promptreg rollback x --env dev",
    ]);
    let out = repo.unchanged_by(|| {
        repo.run(&[
            "rollback", "x", "--env", "dev", "--to", "dev", "--reason", "r",
        ])
    });
    out.usage().stderr_has(&[
        "--to `dev` is not a version",
        "hint: the environment is --env",
    ]);
    let out = repo.unchanged_by(|| repo.run(&["rollback", "x", "--reason", "r"]));
    out.usage()
        .stderr_has(&["rollback needs --env ENV", "hint: "]);
    // A mistyped version is still the version error it was.
    let out = repo.unchanged_by(|| {
        repo.run(&[
            "rollback", "x", "--env", "dev", "--to", "1.0", "--reason", "r",
        ])
    });
    out.refused();
    repo.run(&[
        "rollback", "x", "--env", "dev", "--to", "1.0.0", "--reason", "r",
    ])
    .ok();
}

#[test]
fn since_accepts_git_relative_dates() {
    // x 1.0.0 on the fixed test date (2026-01-01); 1.1.0 released and promoted now.
    let repo = released_prompt("x", "1.0.0", "old");
    let now = format!(
        "@{} +0000",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    );
    let dates = [
        ("GIT_AUTHOR_DATE", now.as_str()),
        ("GIT_COMMITTER_DATE", now.as_str()),
    ];
    repo.write_prompt("x", "new");
    repo.run_with(
        &["create", "x", "--version", "1.1.0", "-m", "new"],
        &dates,
        &[],
    )
    .ok();
    repo.run_with(
        &["promote", "x", "1.1.0", "--env", "dev", "--reason", "r"],
        &dates,
        &[],
    )
    .ok();
    let versions = |since: &str| -> Vec<String> {
        let out = repo.run(&["history", "x", "--since", since, "--format", "json"]);
        out.ok();
        out.json()
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e["event"].as_str().unwrap(),
                    e["to"].as_str().unwrap()
                )
            })
            .collect()
    };
    for since in [
        "today",
        "yesterday",
        "1.day.ago",
        "2.weeks.ago",
        "3 days ago",
        "last monday",
        "last week",
    ] {
        assert_eq!(
            versions(since),
            ["promoted 1.1.0", "created 1.1.0"],
            "{since}"
        );
    }
    assert_eq!(versions("2026-01-01").len(), 2 + 1);
    let out = repo.unchanged_by(|| repo.run(&["history", "--since", "tomorrow"]));
    out.usage().stderr_has(&[
        "error: --since `tomorrow` is not a date",
        "hint: give a day, a time or a relative date: 2026-01-31, 2026-01-31T12:00:00Z, yesterday, 2.weeks.ago",
    ]);
}

#[test]
fn promoted_through_the_pipeline_rolls_back_with_json_in_production() {
    let repo = promoted_through_pipeline("x", "1.0.0", "one");
    repo.release("x", "1.1.0", "two");
    repo.promote_through_pipeline("x", "1.1.0");
    let out = repo.run(&[
        "rollback",
        "x",
        "--env",
        "production",
        "--to",
        "1.0.0",
        "--reason",
        "r",
        "--format",
        "json",
    ]);
    out.ok();
    let json = out.json();
    assert_eq!(json["move"]["from"], "1.1.0");
    assert_eq!(json["move"]["to"], "1.0.0");
    assert_eq!(json["move"]["environment"], "production");
}

#[test]
fn rollbacks_spelling_given_to_promote_suggests_the_right_one() {
    let repo = released_prompt("x", "1.0.0", "one");
    for (args, message) in [
        (
            &[
                "promote", "x", "--env", "dev", "--to", "1.0.0", "--reason", "r",
            ][..],
            "promote takes the version as its second argument, not --to (`--to 1.0.0`)",
        ),
        (
            &[
                "promote", "x", "1.0.0", "--env", "dev", "--to", "staging", "--reason", "r",
            ],
            "--env `dev` and --to `staging` both name the environment; give one",
        ),
        (
            &["promote", "x", "1.0.0", "--reason", "r"],
            "promote needs --env ENV",
        ),
        (
            &["promote", "x", "--env", "dev", "--reason", "r"],
            "promote needs the VERSION to promote",
        ),
    ] {
        let out = repo.unchanged_by(|| repo.run(args));
        out.usage()
            .stderr_has(&[message, "hint: `promptreg promote x ", " --env "]);
    }
}
