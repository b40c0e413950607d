//! `promptreg export`: the bundle holds exactly what an environment serves, as `fetch` records.

use serde_json::Value;

use crate::support::TestRepo;

/// summarize 1.0.0 and support/refund-agent 1.0.0 in production (refund-agent 1.1.0 only in
/// dev), support/triage never promoted.
fn registry() -> TestRepo {
    let repo = TestRepo::init();
    repo.release("summarize", "1.0.0", "s");
    repo.release("support/refund-agent", "1.0.0", "r1");
    for env in ["dev", "staging", "production"] {
        repo.promote("summarize", "1.0.0", env);
        repo.promote("support/refund-agent", "1.0.0", env);
    }
    repo.release("support/refund-agent", "1.1.0", "r2");
    repo.promote("support/refund-agent", "1.1.0", "dev");
    repo.release("support/triage", "0.1.0", "t");
    repo
}

fn prompt_names(bundle: &Value) -> Vec<&str> {
    bundle["prompts"]
        .as_object()
        .expect("prompts object")
        .keys()
        .map(String::as_str)
        .collect()
}

/// The files in the test's scratch directory with `bundle` in their name (a bundle, or a
/// temporary file left beside it).
fn bundle_files(repo: &TestRepo) -> Vec<String> {
    std::fs::read_dir(repo.tmp())
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("bundle"))
        .collect()
}

#[test]
fn bundle_holds_what_production_serves_as_fetch_records() {
    let repo = registry();
    let out = repo.run(&["export", "--env", "production"]);
    out.ok();
    let bundle = out.json();
    assert_eq!(bundle["format"], 1);
    assert_eq!(bundle["environment"], "production");
    assert_eq!(bundle["commit"], repo.rev("HEAD"));
    let exported_at = bundle["exported_at"].as_str().expect("exported_at");
    chrono::DateTime::parse_from_rfc3339(exported_at).expect("RFC 3339");
    assert_eq!(prompt_names(&bundle), ["summarize", "support/refund-agent"]);
    for name in ["summarize", "support/refund-agent"] {
        let fetched = repo
            .run(&["fetch", &format!("{name}@production"), "--format", "json"])
            .json();
        assert_eq!(bundle["prompts"][name], fetched, "{name}");
        assert_eq!(fetched["version"], "1.0.0");
        assert!(fetched["updated_at"].is_string(), "updated_* are computed");
    }
}

#[test]
fn default_environment_is_the_last_and_others_work() {
    let repo = registry();
    let default = repo.run(&["export"]);
    default.ok();
    assert_eq!(default.json()["environment"], "production");
    let dev = repo.run(&["export", "--env", "dev"]);
    dev.ok();
    let dev = dev.json();
    assert_eq!(prompt_names(&dev), ["summarize", "support/refund-agent"]);
    assert_eq!(dev["prompts"]["support/refund-agent"]["version"], "1.1.0");
}

#[test]
fn out_writes_the_file_and_nothing_to_stdout() {
    let repo = registry();
    let path = repo.tmp().join("bundle.json");
    let out = repo.run(&["export", "--out", path.to_str().expect("utf-8")]);
    out.ok();
    assert_eq!(out.stdout, "");
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("bundle file")).expect("JSON");
    assert_eq!(
        prompt_names(&written),
        ["summarize", "support/refund-agent"]
    );
    // No temporary file left beside it.
    assert_eq!(bundle_files(&repo), ["bundle.json"]);
    // The client's type reads it.
    let bundle: crate::support::library::Bundle =
        serde_json::from_value(written).expect("a Bundle");
    assert_eq!(bundle.prompts.len(), 2);
}

#[test]
fn yaml_format_holds_the_same_bundle() {
    let repo = registry();
    let json = repo.run(&["export"]).json();
    let out = repo.run(&["export", "--format", "yaml"]);
    out.ok();
    let yaml: Value = serde_saphyr::from_str(&out.stdout).expect("YAML");
    assert_eq!(prompt_names(&yaml), ["summarize", "support/refund-agent"]);
    assert_eq!(
        yaml["prompts"]["summarize"]["system_prompt"],
        json["prompts"]["summarize"]["system_prompt"]
    );
    assert_eq!(yaml["commit"], json["commit"]);
}

#[test]
fn unsupported_format_is_a_usage_error() {
    let repo = registry();
    repo.run(&["export", "--format", "table"]).usage();
}

#[test]
fn unknown_environment_is_refused() {
    let repo = registry();
    let path = repo.tmp().join("bundle.json");
    repo.run(&[
        "export",
        "--env",
        "prod",
        "--out",
        path.to_str().expect("utf-8"),
    ])
    .refused()
    .stderr_has(&["prod"]);
    assert!(!path.exists());
}

#[test]
fn an_environment_serving_nothing_gives_an_empty_bundle() {
    let repo = TestRepo::init();
    repo.release("summarize", "1.0.0", "s");
    let out = repo.run(&["export", "--env", "staging"]);
    out.ok();
    assert_eq!(out.json()["prompts"], serde_json::json!({}));
}

/// The records are read as the bundle is written: one that cannot be read stops the export
/// with its own error, and `--out` leaves the file as it was (no temporary file beside it).
#[test]
fn a_served_release_that_cannot_be_read_stops_the_export_and_writes_nothing() {
    let repo = registry();
    // The second prompt's production version loses its tag: the first is written before it.
    repo.git(&["tag", "-d", "support/refund-agent/v1.0.0"]);
    let path = repo.tmp().join("bundle.json");
    std::fs::write(&path, "the previous bundle\n").expect("write");
    let out = repo.run(&["export", "--out", path.to_str().expect("utf-8")]);
    out.refused().stderr_has(&["support/refund-agent", "1.0.0"]);
    assert_eq!(out.stdout, "");
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        "the previous bundle\n"
    );
    assert_eq!(bundle_files(&repo), ["bundle.json"]);
    // To stdout the same error, and the exit status says the bundle is not whole.
    repo.run(&["export"])
        .refused()
        .stderr_has(&["support/refund-agent", "1.0.0"]);
    // YAML, which is made whole before it is written, the same way.
    repo.run(&["export", "--format", "yaml"])
        .refused()
        .stderr_has(&["support/refund-agent", "1.0.0"]);
    repo.run(&[
        "export",
        "--format",
        "yaml",
        "--out",
        path.to_str().expect("utf-8"),
    ])
    .refused()
    .stderr_has(&["support/refund-agent", "1.0.0"]);
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        "the previous bundle\n"
    );
    assert_eq!(bundle_files(&repo), ["bundle.json"]);
}
