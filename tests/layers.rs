//! The layering of `src/`, kept by its imports (read from the source text; nothing is built).
//!
//! - Only `src/store/` (and `src/error.rs`, whose `Error::Git` carries the git library's error)
//!   names the git library, and only the store calls `Store::repo()`.
//! - No module imports from a layer above its own: model (with `import`, `bridge`, `fsread`, `error`
//!   and the crate root) < store < read < ops and validate < server < the CLI.
//! - No import cycle between modules. A module using its parent (`super::Store`) and a parent
//!   declaring, re-exporting or calling its own children is structure, not a dependency, so
//!   edges from a module into its own descendants are left out; everything else counts.
//!
//! Test code (`#[cfg(test)]` items and modules), comments and string literals are ignored.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A parsed source file: where it is, its module path, and its code without comments, string
/// contents and test items.
struct Source {
    file: String,
    /// `["store", "tags"]`; empty for a crate root.
    module: Vec<String>,
    /// Whether it belongs to the binary (`src/main.rs`, `src/cli/`), whose `crate::` is the
    /// binary's root and which reaches the library as `promptreg::`.
    binary: bool,
    code: String,
}

#[test]
fn only_the_store_names_git2() {
    let sources = sources();
    let mut offenders = Vec::new();
    for source in &sources {
        let names_git2 = source.code.contains("git2::")
            || source.code.contains("use git2")
            || source.code.contains("extern crate git2");
        let calls_repo = source.code.contains(".repo()");
        if source.file.starts_with("src/store/") || !(names_git2 || calls_repo) {
            continue;
        }
        if source.file == "src/error.rs" && !calls_repo {
            continue;
        }
        let what = match (names_git2, calls_repo) {
            (true, true) => "names git2 and calls Store::repo()",
            (true, false) => "names git2",
            _ => "calls Store::repo()",
        };
        offenders.push(format!("{} {what}", source.file));
    }
    assert!(
        offenders.is_empty(),
        "only src/store/ may use the git library; use or add a Store method instead:\n  {}",
        offenders.join("\n  ")
    );
}

#[test]
fn no_module_imports_from_a_higher_layer() {
    let sources = sources();
    let graph = Graph::of(&sources);
    let mut upward = Vec::new();
    for (from, targets) in &graph.edges {
        for (to, file) in targets {
            if layer(to) > layer(from) {
                upward.push(format!(
                    "{file}: {} (layer {}) uses {} (layer {})",
                    show(from),
                    layer(from),
                    show(to),
                    layer(to)
                ));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports against the layering (model < store < read < ops, validate < server < cli):\n  {}",
        upward.join("\n  ")
    );
}

#[test]
fn no_import_cycles() {
    let sources = sources();
    let graph = Graph::of(&sources);
    let cycles = graph.cycles();
    let shown: Vec<String> = cycles
        .iter()
        .map(|cycle| {
            let mut text: Vec<String> = cycle.iter().map(|m| show(m)).collect();
            text.push(show(&cycle[0]));
            text.join(" -> ")
        })
        .collect();
    assert!(
        shown.is_empty(),
        "import cycles between modules:\n  {}",
        shown.join("\n  ")
    );
}

/// The layer of a module (library modules; the binary is `bin::…`).
fn layer(module: &[String]) -> u8 {
    match module.first().map(String::as_str) {
        None => 0,
        Some("bin") => 5,
        Some("model" | "import" | "bridge" | "fsread" | "error") => 0,
        Some("store") => 1,
        Some("read") => 2,
        Some("ops" | "validate") => 3,
        Some("server") => 4,
        Some(other) => panic!("src/{other}: a module the layering does not place; add it"),
    }
}

fn show(module: &[String]) -> String {
    if module.is_empty() {
        "crate".to_owned()
    } else {
        module.join("::")
    }
}

/// Module → the modules it uses (outside its own subtree), each with a file that does.
struct Graph {
    edges: BTreeMap<Vec<String>, BTreeMap<Vec<String>, String>>,
}

impl Graph {
    fn of(sources: &[Source]) -> Graph {
        let modules: BTreeSet<Vec<String>> = sources.iter().map(full_module).collect();
        let mut edges: BTreeMap<Vec<String>, BTreeMap<Vec<String>, String>> = BTreeMap::new();
        for source in sources {
            let from = full_module(source);
            for path in referenced_paths(source) {
                // The longest prefix that is a module: `store::Store` is the module `store`.
                let mut to = path;
                while !modules.contains(&to) && !to.is_empty() {
                    to.pop();
                }
                if to.starts_with(&from) {
                    continue; // Itself or one of its own children.
                }
                edges
                    .entry(from.clone())
                    .or_default()
                    .entry(to)
                    .or_insert_with(|| source.file.clone());
            }
        }
        Graph { edges }
    }

    /// Every cycle, one per strongly connected component of more than one module, shown as a
    /// path through it.
    fn cycles(&self) -> Vec<Vec<Vec<String>>> {
        let nodes: Vec<&Vec<String>> = self.edges.keys().collect();
        let reach = |from: &Vec<String>| -> BTreeMap<Vec<String>, Vec<String>> {
            // Breadth-first, remembering each module's predecessor.
            let mut seen: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
            let mut queue = std::collections::VecDeque::from([from.clone()]);
            while let Some(at) = queue.pop_front() {
                for next in self.edges.get(&at).into_iter().flat_map(|t| t.keys()) {
                    if !seen.contains_key(next) {
                        seen.insert(next.clone(), at.clone());
                        queue.push_back(next.clone());
                    }
                }
            }
            seen
        };
        let mut reported: BTreeSet<Vec<String>> = BTreeSet::new();
        let mut cycles = Vec::new();
        for start in nodes {
            if reported.contains(start) {
                continue;
            }
            let back = reach(start);
            if !back.contains_key(start) {
                continue;
            }
            // Walk the predecessors from `start` back to itself: a shortest cycle through it.
            let mut cycle = vec![start.clone()];
            let mut at = back[start].clone();
            while at != *start {
                cycle.push(at.clone());
                at = back[&at].clone();
            }
            cycle.reverse();
            cycle.rotate_right(1);
            reported.extend(cycle.iter().cloned());
            cycles.push(cycle);
        }
        cycles
    }
}

/// A module path in one namespace: the binary's modules are under `bin`.
fn full_module(source: &Source) -> Vec<String> {
    let mut module = source.module.clone();
    if source.binary {
        module.insert(0, "bin".to_owned());
    }
    module
}

/// The module paths `source` refers to with `crate::`, `super::`, `self::` (and, in the
/// binary, `promptreg::`), in `use` trees and inline, resolved to full module paths.
fn referenced_paths(source: &Source) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let code = &source.code;
    // `use` trees, expanded: `use crate::{a::{b, c}, d};`.
    let mut rest = code.as_str();
    while let Some(at) = find_word(rest, "use") {
        let after = &rest[at + 3..];
        let end = after.find(';').unwrap_or(after.len());
        let mut expanded = Vec::new();
        expand(after[..end].trim(), String::new(), &mut expanded);
        paths.extend(expanded);
        rest = &after[end..];
    }
    // Inline paths: `crate::store::Store::discover(…)`, `super::tested::run_changes(…)`.
    let bytes = code.as_bytes();
    for start in ["crate::", "super::", "self::", "promptreg::"] {
        let mut from = 0;
        while let Some(found) = code[from..].find(start) {
            let at = from + found;
            from = at + start.len();
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
                continue;
            }
            if at > 1 && &code[at - 2..at] == "::" {
                continue; // The `super` of `super::super::x`, counted from its start.
            }
            let mut end = at;
            while end < bytes.len()
                && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_' || bytes[end] == b':')
            {
                end += 1;
            }
            paths.push(code[at..end].trim_end_matches(':').to_owned());
        }
    }
    paths
        .into_iter()
        .filter_map(|path| resolve(source, &path))
        .collect()
}

/// Expands a use tree (`a::{b, c::d as e, self}`) into its paths.
fn expand(tree: &str, prefix: String, out: &mut Vec<String>) {
    let tree = tree.trim();
    let join = |p: &str| {
        if prefix.is_empty() {
            p.to_owned()
        } else {
            format!("{prefix}::{p}")
        }
    };
    match tree.find('{') {
        None => {
            let path = tree.split(" as ").next().unwrap_or("").trim();
            if !path.is_empty() {
                out.push(join(
                    path.trim_end_matches("::*").trim_end_matches("::self"),
                ));
            }
        }
        Some(open) => {
            let head = tree[..open].trim().trim_end_matches("::");
            let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
            let base = if head.is_empty() {
                prefix.clone()
            } else {
                join(head)
            };
            let mut depth = 0;
            let mut part = String::new();
            for c in inner.chars().chain(std::iter::once(',')) {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand(&part, base.clone(), out);
                        part.clear();
                        continue;
                    }
                    _ => {}
                }
                part.push(c);
            }
        }
    }
}

/// A path as a full module path (`None`: an external crate, or nothing to resolve).
fn resolve(source: &Source, path: &str) -> Option<Vec<String>> {
    let mut parts = path.split("::").map(str::trim).filter(|p| !p.is_empty());
    let first = parts.next()?;
    let mut module = match first {
        "crate" if source.binary => vec!["bin".to_owned()],
        "crate" => Vec::new(),
        "promptreg" if source.binary => Vec::new(),
        "self" => full_module(source),
        "super" => {
            let mut m = full_module(source);
            m.pop()?;
            m
        }
        _ => return None,
    };
    for part in parts {
        match part {
            "super" => {
                module.pop()?;
            }
            "self" | "*" => {}
            _ => module.push(part.to_owned()),
        }
    }
    Some(module)
}

/// The position of `word` as a whole word in `text`.
fn find_word(text: &str, word: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut from = 0;
    while let Some(found) = text[from..].find(word) {
        let at = from + found;
        let end = at + word.len();
        if (at == 0 || !ident(bytes[at - 1])) && (end == bytes.len() || !ident(bytes[end])) {
            return Some(at);
        }
        from = end;
    }
    None
}

fn sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    collect(&root.join("src"), &mut files);
    assert!(
        files.len() > 50,
        "found only {} files under src/",
        files.len()
    );
    files
        .into_iter()
        .map(|path| {
            let relative = path.strip_prefix(root).expect("under the root");
            let file = relative.to_string_lossy().replace('\\', "/");
            let text = std::fs::read_to_string(&path).expect("readable source");
            let binary = file == "src/main.rs" || file.starts_with("src/cli/");
            let mut module: Vec<String> = file
                .trim_start_matches("src/")
                .trim_end_matches(".rs")
                .split('/')
                .map(str::to_owned)
                .collect();
            if matches!(
                module.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                module.pop();
            }
            let code = without_tests(&strip(&text));
            Source {
                file,
                module,
                binary,
                code,
            }
        })
        .collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("readable directory")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code without comments and with string and character literals emptied.
fn strip(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && (!ident_before(&chars, i) || (chars[i - 1] == 'b' && !ident_before(&chars, i - 1)))
        {
            // A raw string: r"…", r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && next == Some('\\') {
            i += 3; // The quote, the backslash and the escaped character.
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
            out.push_str("' '");
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            i += 3;
            out.push_str("' '");
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_before(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

/// The code without the items marked `#[cfg(test)]` (a test module, or one item).
fn without_tests(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let item = &rest[at..];
        // The item ends at its first `;` outside braces, or where its first brace closes.
        let mut depth = 0usize;
        let mut end = item.len();
        for (i, c) in item.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                ';' if depth == 0 => {
                    end = i + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

#[test]
fn the_reader_understands_rust() {
    let code = strip(
        "let a = \"crate::ops\"; // crate::server\n/* git2:: */ 'x'; r#\"git2::\"#; 'a: loop {}",
    );
    assert!(!code.contains("crate::ops") && !code.contains("git2") && !code.contains("server"));
    assert!(code.contains("'a: loop"));
    let tests =
        without_tests("use a;\n#[cfg(test)]\nmod tests { use crate::ops; fn f() {} }\nfn g() {}");
    assert!(!tests.contains("ops") && tests.contains("fn g"));
    let mut out = Vec::new();
    expand("crate::{a::{b, c as d}, e, f::*}", String::new(), &mut out);
    assert_eq!(out, ["crate::a::b", "crate::a::c", "crate::e", "crate::f"]);
}
