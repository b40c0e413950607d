//! `promptreg completions --man --dir DIR`: the main page and one page per subcommand, so that
//! every `promptreg-…(1)` the main page refers to exists.

use crate::support::TestRepo;

#[test]
fn every_page_the_main_page_refers_to_is_written() {
    let dir = TestRepo::bare_dir();
    let out_dir = dir.tmp().join("man/man1");
    let d = out_dir.to_string_lossy().into_owned();
    let out = dir.run(&["completions", "--man", "--dir", &d]);
    out.ok().stderr_has(&["man pages"]);
    assert_eq!(out.stdout, "", "the pages go to DIR, not stdout");

    let main = std::fs::read_to_string(out_dir.join("promptreg.1")).expect("promptreg.1");
    let printed = dir.run(&["completions", "--man"]);
    printed.ok();
    assert_eq!(main, printed.stdout, "--dir writes the page --man prints");

    // `promptreg\-init(1)` in roff.
    let referred: Vec<String> = main
        .lines()
        .filter_map(|l| l.strip_suffix("(1)"))
        .filter(|l| l.starts_with("promptreg\\-"))
        .map(|l| l.replace("\\-", "-"))
        .collect();
    assert!(referred.len() > 10, "{main}");
    assert!(
        !referred.iter().any(|r| r == "promptreg-help"),
        "{referred:?}"
    );
    for page in referred
        .iter()
        .chain(["promptreg-results-record".to_owned()].iter())
    {
        let text = std::fs::read_to_string(out_dir.join(format!("{page}.1")))
            .unwrap_or_else(|e| panic!("{page}.1: {e}"));
        assert!(text.contains(&format!(".TH {page} 1")), "{page}: {text}");
        assert!(text.contains(".SH SYNOPSIS"), "{page}");
    }
}

#[test]
fn dir_needs_man_and_a_directory() {
    let dir = TestRepo::bare_dir();
    let target = dir.tmp().join("pages");
    let t = target.to_string_lossy().into_owned();
    dir.run(&["completions", "--dir", &t]).usage();
    dir.run(&["completions", "bash", "--man", "--dir", &t])
        .usage();
    assert!(!target.exists());

    std::fs::write(&target, "a file\n").unwrap();
    dir.run(&["completions", "--man", "--dir", &t])
        .refused()
        .stderr_has(&["pages"]);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "a file\n");
}
