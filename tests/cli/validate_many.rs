//! `validate` of a registry large enough that it checks prompts, and parses releases, on several
//! threads: the same findings as on one CPU, and every problem still found (a broken release
//! whose working-tree file is fine, a working-tree file whose release is fine).

use crate::support::fixtures::prompt_yaml;
use crate::support::TestRepo;

/// More prompts than validate checks on one thread.
const PROMPTS: usize = 80;

fn many() -> TestRepo {
    let repo = TestRepo::init();
    for i in 0..PROMPTS {
        let text = format!("Prompt {i} greets {{{{ user_name }}}}.");
        repo.write(
            &format!("prompts/p{i}/prompt.yaml"),
            &prompt_yaml(&format!("p{i}"), &text),
        );
    }
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "prompts"]);
    for i in 0..PROMPTS {
        repo.git(&["tag", "-a", &format!("p{i}/v1.0.0"), "-m", "release"]);
    }
    // Releases that cannot be served, each @latest, with the working tree back to the good file.
    let good5 = repo.read("prompts/p5/prompt.yaml");
    repo.commit_by_hand(
        "prompts/p5/prompt.yaml",
        "system_prompt: hi\ntemperature: 9\n",
        "p5",
    );
    repo.git(&["tag", "-a", "p5/v2.0.0", "-m", "broken"]);
    repo.commit_by_hand("prompts/p5/prompt.yaml", &good5, "p5 back");
    let good9 = repo.read("prompts/p9/prompt.yaml");
    repo.commit_by_hand(
        "prompts/p9/prompt.yaml",
        "system_prompt_file: missing.md\n",
        "p9",
    );
    repo.git(&["tag", "-a", "p9/v2.0.0", "-m", "no component"]);
    repo.commit_by_hand("prompts/p9/prompt.yaml", &good9, "p9 back");
    // A lightweight tag, and a pointer to nothing.
    repo.git(&["tag", "p11/v3.0.0"]);
    repo.commit_by_hand(
        "registry.yaml",
        "format: 1\nprompts:\n  p12:\n    dev: 9.9.9\n  p13:\n    dev: 1.0.0\n",
        "pointers",
    );
    // Working-tree problems over fine releases.
    repo.write("prompts/p3/prompt.yaml", "system_prompt: 'open\n");
    repo.write(
        "prompts/p7/prompt.yaml",
        "system_prompt: Hello {{ tone }}\nvariables:\n  user_name: {}\n",
    );
    repo
}

fn findings(out: &crate::support::Output) -> Vec<(String, String)> {
    let report = out.json();
    let mut found: Vec<(String, String)> = report
        .as_array()
        .unwrap_or_else(|| panic!("{report}"))
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_owned(),
                f["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    found.sort();
    found
}

#[test]
fn many_prompts_give_every_finding_and_the_same_as_on_one_cpu() {
    let repo = many();
    let out = repo.run(&["validate", "--format", "json"]);
    out.code(1);
    let pair = |file: &str, code: &str| (file.to_owned(), code.to_owned());
    let mut expected = vec![
        pair("prompts/p3/prompt.yaml", "yaml-syntax"),
        pair("prompts/p7/prompt.yaml", "undeclared-variable"),
        pair("refs/tags/p5/v2.0.0", "tag-invalid-prompt"),
        pair("refs/tags/p9/v2.0.0", "tag-invalid-prompt"),
        pair("refs/tags/p11/v3.0.0", "lightweight-tag"),
        pair("registry.yaml", "dangling-pointer"),
    ];
    expected.sort();
    let found = findings(&out);
    // p7 may have more than one finding (an unused declared variable is a warning); each
    // expected one is there, and nothing is reported about the prompts that are fine.
    for want in &expected {
        assert!(found.contains(want), "missing {want:?} in {found:?}");
    }
    let unexpected: Vec<_> = found
        .iter()
        .filter(|f| !expected.contains(f) && f.0 != "prompts/p7/prompt.yaml")
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:?}");

    // The same report, byte for byte, every time and when only one CPU may run it.
    let again = repo.run(&["validate", "--format", "json"]);
    assert_eq!(again.stdout, out.stdout);
    let mut one_cpu = std::process::Command::new("taskset");
    one_cpu
        .args(["-c", "0"])
        .arg(env!("CARGO_BIN_EXE_promptreg"))
        .args(["validate", "--format", "json"]);
    // The hermetic environment of the repository's own commands.
    let command = repo.command(&[]);
    one_cpu.env_clear().current_dir(&repo.root);
    for (key, value) in command.get_envs() {
        if let Some(value) = value {
            one_cpu.env(key, value);
        }
    }
    if let Ok(single) = one_cpu.output() {
        if single.status.code() == Some(1) {
            assert_eq!(String::from_utf8_lossy(&single.stdout), out.stdout);
        }
    }
}
