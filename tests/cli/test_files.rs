//! A guard: every test file is part of a test binary. A `.rs` file under `tests/cli/` that no
//! `mod` declaration reaches from `tests/cli/main.rs` is never compiled, so its tests would
//! silently never run; the same goes for anything in `tests/` that is not a test target.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The `tests/` directory of the package.
fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut BTreeSet<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.insert(path);
        }
    }
}

/// The file modules `file` declares (`mod name;`, optionally after `#[path = "…"]`), resolved
/// the way rustc resolves them: `path` relative to the directory of `file`; otherwise
/// `name.rs` or `name/mod.rs` in the directory `file` owns (its own directory for `main.rs`,
/// `lib.rs` and `mod.rs`, `<dir>/<stem>/` for any other file).
fn declared_modules(file: &Path) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(file).expect("read test file");
    let dir = file.parent().expect("parent");
    let stem = file.file_stem().expect("stem").to_string_lossy();
    let owned = if ["main", "lib", "mod"].contains(&stem.as_ref()) {
        dir.to_path_buf()
    } else {
        dir.join(stem.as_ref())
    };
    let mut modules = Vec::new();
    let mut path_attr: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if line.starts_with("//") {
            continue;
        }
        // `#[path = "x.rs"]`, alone on its line or before the `mod` on the same line.
        let mut rest = line;
        if let Some(after) = rest.strip_prefix("#[path") {
            let value = after
                .split('"')
                .nth(1)
                .unwrap_or_else(|| panic!("{}: unreadable #[path]: {line}", file.display()));
            path_attr = Some(value.to_owned());
            rest = after.split_once(']').map_or("", |(_, r)| r.trim());
            if rest.is_empty() {
                continue;
            }
        }
        while let Some(attr) = rest.strip_prefix("#[") {
            rest = attr.split_once(']').map_or("", |(_, r)| r.trim());
        }
        let rest = rest
            .strip_prefix("pub(crate) ")
            .or_else(|| rest.strip_prefix("pub(super) "))
            .or_else(|| rest.strip_prefix("pub "))
            .unwrap_or(rest);
        let declared = rest
            .strip_prefix("mod ")
            .and_then(|r| r.strip_suffix(';'))
            .map(str::trim);
        match declared {
            Some(name) => {
                let target = match path_attr.take() {
                    Some(path) => dir.join(path),
                    None => {
                        let flat = owned.join(format!("{name}.rs"));
                        if flat.exists() {
                            flat
                        } else {
                            owned.join(name).join("mod.rs")
                        }
                    }
                };
                modules.push(target);
            }
            // An attribute line applies to the next item only.
            None if !line.starts_with("#[") => path_attr = None,
            None => {}
        }
    }
    modules
}

/// The files reachable by `mod` declarations from `root`.
fn reachable(root: &Path) -> BTreeSet<PathBuf> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(file) = todo.pop() {
        let file = file
            .canonicalize()
            .unwrap_or_else(|e| panic!("a declared module is missing: {} ({e})", file.display()));
        if seen.insert(file.clone()) {
            todo.extend(declared_modules(&file));
        }
    }
    seen
}

/// The `.rs` files under `dir` that no `mod` declaration reaches from `dir/main.rs`.
fn unreachable_files(dir: &Path) -> Vec<String> {
    let reached = reachable(&dir.join("main.rs"));
    let mut all = BTreeSet::new();
    rust_files(dir, &mut all);
    all.into_iter()
        .filter(|f| !reached.contains(&f.canonicalize().expect("canonical path")))
        .map(|f| {
            f.strip_prefix(dir)
                .expect("under dir")
                .display()
                .to_string()
        })
        .collect()
}

#[test]
fn every_rust_file_under_tests_cli_is_a_module_of_the_cli_test_binary() {
    let stray = unreachable_files(&tests_dir().join("cli"));
    assert!(
        stray.is_empty(),
        "these files under tests/cli/ are not reached by any `mod` from tests/cli/main.rs, so \
         they are never compiled and their tests never run: {stray:?}"
    );
}

/// The paths of the `[[test]]` targets Cargo.toml declares, and whether it turns off the
/// automatic discovery of `tests/*.rs` and `tests/*/main.rs`.
fn declared_test_targets() -> (BTreeSet<PathBuf>, bool) {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .expect("Cargo.toml");
    let mut paths = BTreeSet::new();
    let mut in_test = false;
    let mut autotests = true;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_test = line == "[[test]]";
        } else if line.replace(' ', "").starts_with("autotests=false") {
            autotests = false;
        } else if in_test {
            if let Some(value) = line
                .strip_prefix("path")
                .and_then(|r| r.trim_start().strip_prefix('='))
            {
                let path = value.trim().trim_matches('"');
                paths.insert(Path::new(env!("CARGO_MANIFEST_DIR")).join(path));
            }
        }
    }
    (paths, autotests)
}

#[test]
fn everything_in_tests_is_a_test_target() {
    let (declared, autotests) = declared_test_targets();
    let mut stray = Vec::new();
    for entry in std::fs::read_dir(tests_dir()).expect("read tests/") {
        let path = entry.expect("dir entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let target = if path.is_dir() {
            path.join("main.rs")
        } else {
            path.clone()
        };
        let is_rust = target.extension().is_some_and(|e| e == "rs") && target.is_file();
        if !(is_rust && (autotests || declared.contains(&target))) {
            stray.push(name);
        }
    }
    assert!(
        stray.is_empty(),
        "these entries of tests/ are not test targets (a `tests/*.rs` file, or a directory with a \
         main.rs that Cargo discovers or Cargo.toml declares), so nothing there is compiled: \
         {stray:?}"
    );
    for target in &declared {
        assert!(
            target.is_file(),
            "[[test]] path {} is missing",
            target.display()
        );
    }
}
