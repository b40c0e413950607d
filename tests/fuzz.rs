//! The stable fuzz harness: every fuzz target (`fuzz/src/lib.rs`, shared with the cargo-fuzz
//! binaries) fed its seeds and then seeded random mutations of them, under `cargo test` on the
//! stable toolchain with nothing to install. Each case must return without a panic and within
//! [`TIME_LIMIT`].
//!
//! The seeds are the fixtures (`fixtures/invalid/`, `fixtures/results/`, `prompts.example/`),
//! `fuzz/seeds/<target>/` and every past finding in `fixtures/fuzz/<target>/`, which therefore
//! all run unchanged first: that is the regression test of each finding. The mutations are bit
//! flips, byte changes, deletions, duplications, splices of two seeds, truncations and
//! insertions of the target's dictionary tokens (`fuzz/dicts/`, the files libFuzzer uses).
//!
//! `PROMPTREG_FUZZ_CASES` sets the number of mutated cases per target (default
//! [`DEFAULT_CASES`]), `PROMPTREG_FUZZ_SEED` the random seed (default fixed, so a run is
//! repeatable). A failure names the target, seed and case, and writes the input to
//! `target/fuzz-failures/` so it can be replayed (`cargo fuzz run <target> FILE`) and kept
//! under `fixtures/fuzz/<target>/`. See docs/FUZZING.md.

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod targets;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Mutated cases per target when `PROMPTREG_FUZZ_CASES` is not set: enough to shake each
/// parser, few enough that the whole file takes seconds in a debug build.
const DEFAULT_CASES: u64 = 3000;
/// The seed when `PROMPTREG_FUZZ_SEED` is not set.
const DEFAULT_SEED: u64 = 0x5eed_f0f0_1234_abcd;
/// Longest one input may take. The bar for a hang is 1 s, for optimised code: the
/// libFuzzer runs enforce it (`-timeout=1`). Unoptimised code is up to ten times slower (the
/// alias-bomb fixture takes ~1.2 s of CPU to be refused in a debug build) and shares two cores
/// with the other tests, so a debug build here catches spins and runaway growth, not 1 s.
const TIME_LIMIT: Duration = if cfg!(debug_assertions) {
    Duration::from_secs(10)
} else {
    Duration::from_secs(1)
};
/// Times a slow case is run before it counts as a hang (the fastest run counts), so that a
/// moment of load on a shared machine is not taken for one.
const TIME_TRIES: usize = 3;
/// Largest input a mutation may grow (seeds are a few KiB; parsers are fuzzed, not size limits).
const MAX_INPUT: usize = 64 << 10;

/// Where each target's seeds live, relative to the repository root (searched recursively).
fn seed_dirs(target: &str) -> Vec<String> {
    let mut dirs: Vec<String> = match target {
        "prompt_yaml" => vec!["fixtures/invalid".into(), "prompts.example/prompts".into()],
        "registry_yaml" => vec!["fixtures/invalid".into()],
        "promptfoo_json" | "junit_xml" => vec!["fixtures/results".into()],
        "bridge" => vec!["fixtures/import".into()],
        _ => vec![],
    };
    dirs.push(format!("fuzz/seeds/{target}"));
    dirs.push(format!("fixtures/fuzz/{target}"));
    dirs
}

/// The dictionary file of each target, in `fuzz/dicts/`.
fn dictionary(target: &str) -> &'static str {
    match target {
        "prompt_yaml" | "registry_yaml" | "results_yaml" => "yaml.dict",
        "promptfoo_json" => "json.dict",
        "junit_xml" => "xml.dict",
        "selector" => "selector.dict",
        "trailers" => "trailers.dict",
        "http" => "http.dict",
        "bridge" => "bridge.dict",
        other => panic!("no dictionary for target {other}"),
    }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn env_number(key: &str, default: u64) -> u64 {
    match std::env::var(key) {
        Ok(text) => {
            let text = text.trim();
            let parsed = match text.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => text.parse(),
            };
            parsed.unwrap_or_else(|_| panic!("{key}={text} is not a number"))
        }
        Err(_) => default,
    }
}

/// The files under `dir`, recursively, in a fixed order (symlinks are not followed: some
/// fixtures are deliberate symlinks, possibly dangling).
fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            files_under(&entry.path(), out);
        } else if kind.is_file() {
            out.push(entry.path());
        }
    }
}

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for dir in seed_dirs(target) {
        files_under(&root().join(dir), &mut files);
    }
    let seeds: Vec<_> = files
        .into_iter()
        .filter_map(|path| {
            let bytes = std::fs::read(&path).ok()?;
            let shown = path.strip_prefix(root()).unwrap_or(&path).display();
            (bytes.len() <= MAX_INPUT).then(|| (shown.to_string(), bytes))
        })
        .collect();
    assert!(!seeds.is_empty(), "no seeds for {target}");
    seeds
}

/// Reads a libFuzzer dictionary: one `"token"` a line (`\\`, `\"` and `\xNN` escapes), `#`
/// comments.
fn read_dictionary(file: &str) -> Vec<Vec<u8>> {
    let path = root().join("fuzz/dicts").join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut tokens = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let quoted = &line[line.find('"').expect("a quoted token")..];
        let inner = quoted
            .strip_prefix('"')
            .and_then(|q| q.strip_suffix('"'))
            .unwrap_or_else(|| panic!("{file}: malformed line {line}"));
        let mut token = Vec::new();
        let mut bytes = inner.bytes();
        while let Some(b) = bytes.next() {
            if b != b'\\' {
                token.push(b);
                continue;
            }
            match bytes.next() {
                Some(b'x') => {
                    let hex: Vec<u8> = bytes.by_ref().take(2).collect();
                    let hex = std::str::from_utf8(&hex).expect("ASCII");
                    token.push(u8::from_str_radix(hex, 16).expect("two hex digits"));
                }
                Some(other) => token.push(other),
                None => panic!("{file}: trailing backslash in {line}"),
            }
        }
        tokens.push(token);
    }
    tokens
}

/// splitmix64: small, fast and good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// One to four stacked mutations of `input`.
fn mutate(rng: &mut Rng, input: &[u8], seeds: &[(String, Vec<u8>)], tokens: &[Vec<u8>]) -> Vec<u8> {
    let mut data = input.to_vec();
    for _ in 0..=rng.below(4) {
        let len = data.len();
        match rng.below(9) {
            // Flip one bit.
            0 if len > 0 => {
                let at = rng.below(len);
                data[at] ^= 1 << rng.below(8);
            }
            // Set one byte, favouring the interesting ones.
            1 if len > 0 => {
                let at = rng.below(len);
                const SPECIAL: &[u8] = b"\x00\x7f\xff\x80\xc3\n\r\t :-#\"'{}[]<>&*!|@/\\%";
                data[at] = if rng.below(2) == 0 {
                    SPECIAL[rng.below(SPECIAL.len())]
                } else {
                    rng.next() as u8
                };
            }
            // Delete a range.
            2 if len > 0 => {
                let at = rng.below(len);
                let n = 1 + rng.below((len - at).min(32));
                data.drain(at..at + n);
            }
            // Duplicate a range somewhere (repeats a key, deepens nesting).
            3 if len > 0 => {
                let from = rng.below(len);
                let n = 1 + rng.below((len - from).min(64));
                let chunk = data[from..from + n].to_vec();
                let at = rng.below(len + 1);
                for _ in 0..=rng.below(3) {
                    data.splice(at..at, chunk.iter().copied());
                }
            }
            // Splice: this input's head with another seed's tail.
            4 => {
                let other = &seeds[rng.below(seeds.len())].1;
                let cut = rng.below(len + 1);
                let from = rng.below(other.len() + 1);
                data.truncate(cut);
                data.extend_from_slice(&other[from..]);
            }
            // Truncate.
            5 if len > 0 => data.truncate(rng.below(len)),
            // Insert a dictionary token (three times as likely: it builds structure).
            _ if !tokens.is_empty() => {
                let token = &tokens[rng.below(tokens.len())];
                let at = rng.below(len + 1);
                data.splice(at..at, token.iter().copied());
            }
            _ => {}
        }
    }
    data.truncate(MAX_INPUT);
    data
}

/// Why a case failed: a panic's message, or the time it took.
fn check_case(run: fn(&[u8]), input: &[u8]) -> Result<(), String> {
    let mut fastest = Duration::MAX;
    for _ in 0..TIME_TRIES {
        let start = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| run(input)));
        fastest = fastest.min(start.elapsed());
        if let Err(payload) = outcome {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "a panic without a message".into());
            return Err(format!("panicked: {message}"));
        }
        if fastest <= TIME_LIMIT {
            return Ok(());
        }
    }
    Err(format!(
        "took {fastest:?} at best of {TIME_TRIES} runs (limit {TIME_LIMIT:?})"
    ))
}

/// Keeps a failing input where it can be replayed, and says where.
fn keep(target: &str, label: &str, input: &[u8]) -> String {
    let dir = root().join("target/fuzz-failures");
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("{target}-{label}"));
    match std::fs::write(&path, input) {
        Ok(()) => path.display().to_string(),
        Err(e) => format!("(not written: {e})"),
    }
}

fn fuzz(target: &str) {
    let run = targets::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, run)| *run)
        .unwrap_or_else(|| panic!("unknown target {target}"));
    let cases = env_number("PROMPTREG_FUZZ_CASES", DEFAULT_CASES);
    let seed = env_number("PROMPTREG_FUZZ_SEED", DEFAULT_SEED);
    let seeds = seeds(target);
    let tokens = read_dictionary(dictionary(target));
    // The first call may set things up (the http target builds a registry): not timed.
    let _ = catch_unwind(AssertUnwindSafe(|| run(&seeds[0].1)));

    for (shown, input) in &seeds {
        if let Err(why) = check_case(run, input) {
            panic!("{target}: seed {shown} {why}");
        }
    }
    // Each target draws from its own stream, so adding a target does not change the others.
    let stream = target.bytes().fold(seed, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let mut rng = Rng(stream);
    let mut corpus: Vec<Vec<u8>> = seeds.iter().map(|(_, bytes)| bytes.clone()).collect();
    for case in 0..cases {
        let parent = &corpus[rng.below(corpus.len())];
        let input = mutate(&mut rng, parent, &seeds, &tokens);
        if let Err(why) = check_case(run, &input) {
            let kept = keep(target, &format!("{seed:#x}-{case}"), &input);
            panic!(
                "{target}: case {case} with PROMPTREG_FUZZ_SEED={seed:#x} {why}\n\
                 input ({} bytes, kept in {kept}): {:?}",
                input.len(),
                String::from_utf8_lossy(&input)
            );
        }
        // Keep some mutants as parents, so mutations stack over the run (bounded pool).
        if rng.below(8) == 0 {
            if corpus.len() < 4096 {
                corpus.push(input);
            } else {
                let at = rng.below(corpus.len());
                corpus[at] = input;
            }
        }
    }
}

#[test]
fn prompt_yaml() {
    fuzz("prompt_yaml");
}

#[test]
fn registry_yaml() {
    fuzz("registry_yaml");
}

#[test]
fn results_yaml() {
    fuzz("results_yaml");
}

#[test]
fn promptfoo_json() {
    fuzz("promptfoo_json");
}

#[test]
fn junit_xml() {
    fuzz("junit_xml");
}

#[test]
fn selector() {
    fuzz("selector");
}

#[test]
fn trailers() {
    fuzz("trailers");
}

#[test]
fn http() {
    fuzz("http");
}

#[test]
fn bridge() {
    fuzz("bridge");
}

/// Every target has a test above, a libFuzzer binary, a dictionary and seeds: a target added
/// to `fuzz/src/lib.rs` alone would otherwise go unfuzzed.
#[test]
fn every_target_is_wired() {
    let manifest =
        std::fs::read_to_string(root().join("fuzz/Cargo.toml")).expect("fuzz/Cargo.toml");
    let this = std::fs::read_to_string(root().join("tests/fuzz.rs")).expect("tests/fuzz.rs");
    for (target, _) in targets::TARGETS {
        assert!(
            root()
                .join(format!("fuzz/fuzz_targets/{target}.rs"))
                .is_file(),
            "{target} has no fuzz/fuzz_targets/{target}.rs"
        );
        assert!(
            manifest.contains(&format!("name = \"{target}\"")),
            "{target} is not a [[bin]] in fuzz/Cargo.toml"
        );
        assert!(
            this.contains(&format!("fn {target}() {{\n    fuzz(\"{target}\");")),
            "{target} has no #[test] here"
        );
        assert!(!read_dictionary(dictionary(target)).is_empty());
        assert!(!seeds(target).is_empty());
    }
}

/// The mutator changes inputs and the dictionary reader decodes escapes: a harness whose
/// mutations were all no-ops would pass while testing nothing.
#[test]
fn mutations_change_inputs() {
    assert_eq!(
        read_dictionary("yaml.dict")
            .iter()
            .find(|t| t.as_slice() == b"\n- ")
            .map(Vec::len),
        Some(3)
    );
    let seeds = seeds("prompt_yaml");
    let tokens = read_dictionary("yaml.dict");
    let mut rng = Rng(DEFAULT_SEED);
    let changed = (0..200)
        .filter(|i| {
            let parent = &seeds[i % seeds.len()].1;
            mutate(&mut rng, parent, &seeds, &tokens) != *parent
        })
        .count();
    assert!(
        changed > 150,
        "only {changed} of 200 mutations changed their input"
    );
}

/// A panicking target is reported with its message: the harness can fail.
#[test]
fn a_panic_is_a_failure() {
    fn boom(data: &[u8]) {
        assert!(data.is_empty(), "boom on {} bytes", data.len());
    }
    assert_eq!(check_case(boom, b""), Ok(()));
    let why = check_case(boom, b"xyz").unwrap_err();
    assert!(why.contains("boom on 3 bytes"), "{why}");
}
