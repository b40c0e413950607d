//! `POST /api/prompts` hands the merged `prompt.yaml` to `create` as content: it is released
//! with the rest of the prompt directory from the working tree, exactly as `create --file`
//! releases a file, and a refusal leaves the working tree as it was.

use serde_json::json;

use crate::serve::{registry, send, tokens_file, Server, TOKEN};

const PROMPT: &str = "prompts/support/agent/prompt.yaml";

/// The names in `.git/` the server could have left a file of its own under.
fn server_files(repo: &crate::support::TestRepo) -> Vec<String> {
    std::fs::read_dir(repo.path(".git"))
        .expect("read .git")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("promptreg-serve"))
        .collect()
}

#[test]
fn a_created_release_takes_components_from_the_working_tree_and_becomes_its_prompt_yaml() {
    let repo = registry();
    repo.write(
        "prompts/support/agent/system.md",
        "From a file, {{ user_name }}.\n",
    );
    let tokens = tokens_file(&repo);
    let server = Server::start(&repo, &["--tokens", &tokens]);
    let created = send(
        "POST",
        &server.url("/api/prompts"),
        Some(TOKEN),
        &json!({
            "name": "support/agent", "version": "2.0.0", "description": "From a file",
            "system_prompt_file": "system.md",
        }),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(
        created.json()["system_prompt"],
        "From a file, {{ user_name }}.\n"
    );
    // The request's fields are now the working tree's prompt.yaml, committed and in the index.
    let file = repo.read(PROMPT);
    assert!(file.contains("system_prompt_file: system.md"), "{file}");
    assert!(!file.contains("system_prompt:"), "{file}");
    assert_eq!(repo.git(&["show", &format!("HEAD:{PROMPT}")]), file);
    let mut changed = repo.changed_paths("HEAD");
    changed.sort();
    assert_eq!(
        changed,
        [
            "prompts/support/agent/prompt.yaml",
            "prompts/support/agent/system.md"
        ]
    );
    assert_eq!(repo.git(&["status", "--porcelain", "--", "prompts"]), "");
    assert_eq!(server_files(&repo), Vec::<String>::new());
    repo.fsck();
}

#[test]
fn a_refused_release_leaves_the_working_tree_as_it_was() {
    let repo = registry();
    let tokens = tokens_file(&repo);
    let server = Server::start(&repo, &["--tokens", &tokens]);
    let before = repo.snapshot();
    // Parses, but its template reads a variable `variables:` does not declare: the checks
    // `validate` makes refuse it, against the prompt's own file name.
    let refused = send(
        "POST",
        &server.url("/api/prompts"),
        Some(TOKEN),
        &json!({
            "name": "support/agent", "version": "2.0.0", "description": "d",
            "system_prompt": "Hi {{ ghost }}\n",
        }),
    );
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(refused.json()["error"], "invalid-prompt");
    assert!(refused.body.contains(PROMPT), "{}", refused.body);
    assert!(
        refused.body.contains("undeclared-variable"),
        "{}",
        refused.body
    );
    assert_eq!(repo.snapshot(), before);
    assert_eq!(server_files(&repo), Vec::<String>::new());
}
